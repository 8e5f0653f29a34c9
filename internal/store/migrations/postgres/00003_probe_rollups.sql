-- +goose Up
-- One row per target and minute (bucket = the minute's start, UTC), written in the
-- same transaction as the raw rows it counts. hist is the fixed log-linear RTT
-- histogram (see internal/store/histogram.go) as (bucket, count) uvarint pairs;
-- encodings concatenate, so an upsert merges by appending. Partitioned by month so
-- retention drops whole partitions; the store creates them ahead, like probe_results'.
CREATE TABLE probe_rollups_1m (
    target_id  uuid        NOT NULL,
    bucket     timestamptz NOT NULL,
    sent       integer     NOT NULL,
    received   integer     NOT NULL,
    rtt_sum_us bigint      NOT NULL,
    rtt_sumsq  bigint      NOT NULL,
    rtt_min_us integer,
    rtt_max_us integer,
    hist       bytea       NOT NULL,
    PRIMARY KEY (target_id, bucket)
) PARTITION BY RANGE (bucket);

-- +goose Down
DROP TABLE probe_rollups_1m;
