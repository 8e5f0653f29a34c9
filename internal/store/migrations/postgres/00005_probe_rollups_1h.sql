-- +goose Up
-- Hourly sums of probe_rollups_1m (bucket = the hour's start, UTC), written in the same
-- transaction, so long windows read 60 times fewer rows. Same columns and partitioning.
CREATE TABLE probe_rollups_1h (
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
DROP TABLE probe_rollups_1h;
