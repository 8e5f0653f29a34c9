-- +goose Up
-- Hourly sums of probe_rollups_1m; bucket is the hour's start in unix microseconds.
CREATE TABLE probe_rollups_1h (
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
CREATE INDEX probe_rollups_1h_bucket ON probe_rollups_1h (bucket);

-- +goose Down
DROP TABLE probe_rollups_1h;
