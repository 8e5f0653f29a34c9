-- +goose Up
-- State thresholds and maintenance windows; see the Postgres migration. Silence times
-- are unix microseconds.
CREATE TABLE group_thresholds (
    group_id          text PRIMARY KEY REFERENCES groups (id) ON DELETE CASCADE,
    window_probes     integer,
    down_loss_pct     real,
    degraded_loss_pct real,
    degraded_rtt_ms   real,
    rtt_percentile    integer,
    consecutive       integer,
    flap_changes      integer,
    flap_window_s     integer
);
CREATE TABLE target_thresholds (
    target_id         text PRIMARY KEY REFERENCES targets (id) ON DELETE CASCADE,
    group_id          text NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    window_probes     integer,
    down_loss_pct     real,
    degraded_loss_pct real,
    degraded_rtt_ms   real,
    rtt_percentile    integer,
    consecutive       integer,
    flap_changes      integer,
    flap_window_s     integer
);
CREATE INDEX target_thresholds_group ON target_thresholds (group_id);
CREATE TABLE silences (
    id         text PRIMARY KEY,
    group_id   text    NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    target_id  text    REFERENCES targets (id) ON DELETE CASCADE,
    from_at    integer NOT NULL,
    to_at      integer NOT NULL,
    comment    text    NOT NULL,
    created_by text    REFERENCES users (id) ON DELETE SET NULL,
    created_at integer NOT NULL
);
CREATE INDEX silences_group_to ON silences (group_id, to_at);
CREATE INDEX silences_to ON silences (to_at);
ALTER TABLE alerts ADD COLUMN targets integer NOT NULL DEFAULT 0;
CREATE INDEX alerts_group_started ON alerts (group_id, started_at);

-- +goose Down
DROP INDEX alerts_group_started;
ALTER TABLE alerts DROP COLUMN targets;
DROP TABLE silences;
DROP TABLE target_thresholds;
DROP TABLE group_thresholds;
