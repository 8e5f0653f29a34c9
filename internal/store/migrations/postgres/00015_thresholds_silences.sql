-- +goose Up
-- State thresholds (internal/alerts): a group's defaults over the built-in values and a
-- target's overrides over its group's; a NULL column inherits. flap_window in seconds.
-- window_probes: "window" is a reserved word.
CREATE TABLE group_thresholds (
    group_id          uuid PRIMARY KEY REFERENCES groups (id) ON DELETE CASCADE,
    window_probes     integer,
    down_loss_pct     double precision,
    degraded_loss_pct double precision,
    degraded_rtt_ms   double precision,
    rtt_percentile    integer,
    consecutive       integer,
    flap_changes      integer,
    flap_window_s     integer
);
CREATE TABLE target_thresholds (
    target_id         uuid PRIMARY KEY REFERENCES targets (id) ON DELETE CASCADE,
    group_id          uuid NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    window_probes     integer,
    down_loss_pct     double precision,
    degraded_loss_pct double precision,
    degraded_rtt_ms   double precision,
    rtt_percentile    integer,
    consecutive       integer,
    flap_changes      integer,
    flap_window_s     integer
);
CREATE INDEX target_thresholds_group ON target_thresholds (group_id);
-- Maintenance windows: while one covers a target (target_id NULL: the whole group) the
-- group's alert rules do not count it (nor notify).
CREATE TABLE silences (
    id         uuid PRIMARY KEY,
    group_id   uuid        NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    target_id  uuid        REFERENCES targets (id) ON DELETE CASCADE,
    from_at    timestamptz NOT NULL,
    to_at      timestamptz NOT NULL,
    comment    text        NOT NULL,
    created_by uuid        REFERENCES users (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL
);
CREATE INDEX silences_group_to ON silences (group_id, to_at);
CREATE INDEX silences_to ON silences (to_at);
-- How many targets met the rule when it fired (kept current while it fires).
ALTER TABLE alerts ADD COLUMN targets integer NOT NULL DEFAULT 0;
CREATE INDEX alerts_group_started ON alerts (group_id, started_at);

-- +goose Down
DROP INDEX alerts_group_started;
ALTER TABLE alerts DROP COLUMN targets;
DROP TABLE silences;
DROP TABLE target_thresholds;
DROP TABLE group_thresholds;
