-- +goose Up
-- Every change of a target's state (up, degraded, down, unknown) at a location, with
-- the figures that caused it (internal/alerts). at is unix microseconds.
CREATE TABLE target_events (
    id         integer PRIMARY KEY AUTOINCREMENT,
    target_id  text    NOT NULL,
    group_id   text    NOT NULL,
    location   text    NOT NULL,
    from_state text    NOT NULL,
    to_state   text    NOT NULL,
    at         integer NOT NULL,
    loss_pct   real    NOT NULL,
    rtt_ms     real,
    flapping   integer NOT NULL
);
CREATE INDEX target_events_target ON target_events (target_id, at);
CREATE INDEX target_events_group ON target_events (group_id, at);

-- +goose Down
DROP TABLE target_events;
