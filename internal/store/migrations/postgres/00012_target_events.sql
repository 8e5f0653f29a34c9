-- +goose Up
-- Every change of a target's state (up, degraded, down, unknown) at a location, with
-- the figures that caused it (internal/alerts). No foreign key, like probe_results: a
-- deleted target's history leaves with retention.
CREATE TABLE target_events (
    id         bigserial PRIMARY KEY,
    target_id  uuid        NOT NULL,
    group_id   uuid        NOT NULL,
    location   text        NOT NULL,
    from_state text        NOT NULL,
    to_state   text        NOT NULL,
    at         timestamptz NOT NULL,
    loss_pct   double precision NOT NULL,
    rtt_ms     double precision,
    flapping   boolean     NOT NULL
);
CREATE INDEX target_events_target ON target_events (target_id, at);
CREATE INDEX target_events_group ON target_events (group_id, at);

-- +goose Down
DROP TABLE target_events;
