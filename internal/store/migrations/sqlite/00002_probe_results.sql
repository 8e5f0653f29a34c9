-- +goose Up
-- One row per probe; sent_at is unix microseconds (UTC) so ranges compare as integers.
CREATE TABLE probe_results (
    target_id text    NOT NULL,
    sent_at   integer NOT NULL,
    rtt_us    integer,
    ok        integer NOT NULL,
    PRIMARY KEY (target_id, sent_at)
) WITHOUT ROWID;

-- +goose Down
DROP TABLE probe_results;
