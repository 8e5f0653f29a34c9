-- +goose Up
-- Enrolled agents (DESIGN §9): each probes from its own location and connects to the
-- bus with an nkey; only the public key is kept. Deleting the row revokes the agent.
CREATE TABLE agents (
    id         uuid PRIMARY KEY,
    name       text        NOT NULL UNIQUE,
    location   text        NOT NULL UNIQUE,
    public_key text        NOT NULL UNIQUE,
    created_by uuid        REFERENCES users (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL
);

-- +goose Down
DROP TABLE agents;
