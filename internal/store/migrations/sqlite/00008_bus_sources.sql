-- +goose Up
-- How many results each publisher on the bus (one run of one prober) had published up to
-- its newest batch stored: the database writer counts a jump in a batch's "before" as
-- results the bus dropped, also across its own restarts (PROTOCOL.md, "Result batches").
CREATE TABLE bus_sources (
    source      text PRIMARY KEY,
    next_result bigint NOT NULL,
    seen_unix   bigint NOT NULL
);

-- +goose Down
DROP TABLE bus_sources;
