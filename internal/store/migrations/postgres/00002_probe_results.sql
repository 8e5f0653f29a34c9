-- +goose Up
-- One row per probe. Partitioned by day (UTC) so retention drops whole partitions;
-- the store creates partitions ahead of time. No foreign key: results of a deleted
-- target are not reported and leave with their partition.
CREATE TABLE probe_results (
    target_id uuid        NOT NULL,
    sent_at   timestamptz NOT NULL,
    rtt_us    integer,
    ok        boolean     NOT NULL,
    PRIMARY KEY (target_id, sent_at)
) PARTITION BY RANGE (sent_at);

-- +goose Down
DROP TABLE probe_results;
