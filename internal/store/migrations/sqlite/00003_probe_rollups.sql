-- +goose Up
-- One row per target and minute; bucket is the minute's start in unix microseconds
-- (UTC), like probe_results.sent_at. hist: see internal/store/histogram.go.
CREATE TABLE probe_rollups_1m (
    target_id  text    NOT NULL,
    bucket     integer NOT NULL,
    sent       integer NOT NULL,
    received   integer NOT NULL,
    rtt_sum_us integer NOT NULL,
    rtt_sumsq  integer NOT NULL,
    rtt_min_us integer,
    rtt_max_us integer,
    hist       blob    NOT NULL,
    PRIMARY KEY (target_id, bucket)
) WITHOUT ROWID;
CREATE INDEX probe_rollups_1m_bucket ON probe_rollups_1m (bucket);

-- +goose Down
DROP TABLE probe_rollups_1m;
