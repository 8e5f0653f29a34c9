-- +goose Up
-- Results carry the location they were probed from; rows written before are the
-- server's own, 'local'. See the Postgres migration of the same number. SQLite cannot
-- change a WITHOUT ROWID table's primary key: each table is made anew, filled, and
-- put in the old one's place, with its indexes.
CREATE TABLE probe_results_new (
    target_id text    NOT NULL,
    location  text    NOT NULL DEFAULT 'local',
    sent_at   integer NOT NULL,
    rtt_us    integer,
    ok        integer NOT NULL,
    unsent    integer NOT NULL DEFAULT 0,
    PRIMARY KEY (target_id, location, sent_at)
) WITHOUT ROWID;
INSERT INTO probe_results_new (target_id, location, sent_at, rtt_us, ok, unsent)
    SELECT target_id, 'local', sent_at, rtt_us, ok, unsent FROM probe_results;
DROP TABLE probe_results;
ALTER TABLE probe_results_new RENAME TO probe_results;

CREATE TABLE probe_rollups_1m_new (
    target_id  text    NOT NULL,
    location   text    NOT NULL DEFAULT 'local',
    bucket     integer NOT NULL,
    sent       integer NOT NULL,
    received   integer NOT NULL,
    rtt_sum_us integer NOT NULL,
    rtt_sumsq  integer NOT NULL,
    rtt_min_us integer,
    rtt_max_us integer,
    hist       blob    NOT NULL,
    errors     integer NOT NULL DEFAULT 0,
    PRIMARY KEY (target_id, location, bucket)
) WITHOUT ROWID;
INSERT INTO probe_rollups_1m_new (target_id, location, bucket, sent, received, rtt_sum_us, rtt_sumsq, rtt_min_us, rtt_max_us, hist, errors)
    SELECT target_id, 'local', bucket, sent, received, rtt_sum_us, rtt_sumsq, rtt_min_us, rtt_max_us, hist, errors FROM probe_rollups_1m;
DROP TABLE probe_rollups_1m;
ALTER TABLE probe_rollups_1m_new RENAME TO probe_rollups_1m;
CREATE INDEX probe_rollups_1m_bucket ON probe_rollups_1m (bucket);

CREATE TABLE probe_rollups_1h_new (
    target_id  text    NOT NULL,
    location   text    NOT NULL DEFAULT 'local',
    bucket     integer NOT NULL,
    sent       integer NOT NULL,
    received   integer NOT NULL,
    rtt_sum_us integer NOT NULL,
    rtt_sumsq  integer NOT NULL,
    rtt_min_us integer,
    rtt_max_us integer,
    hist       blob    NOT NULL,
    errors     integer NOT NULL DEFAULT 0,
    PRIMARY KEY (target_id, location, bucket)
) WITHOUT ROWID;
INSERT INTO probe_rollups_1h_new (target_id, location, bucket, sent, received, rtt_sum_us, rtt_sumsq, rtt_min_us, rtt_max_us, hist, errors)
    SELECT target_id, 'local', bucket, sent, received, rtt_sum_us, rtt_sumsq, rtt_min_us, rtt_max_us, hist, errors FROM probe_rollups_1h;
DROP TABLE probe_rollups_1h;
ALTER TABLE probe_rollups_1h_new RENAME TO probe_rollups_1h;
CREATE INDEX probe_rollups_1h_bucket ON probe_rollups_1h (bucket);

-- Every location results were ever stored from (see the Postgres migration).
CREATE TABLE probe_locations (
    location text PRIMARY KEY
) WITHOUT ROWID;
INSERT INTO probe_locations (location) VALUES ('local');

-- Where a group is probed from: location names, comma-separated; empty means the
-- server's own prober only.
ALTER TABLE groups ADD COLUMN locations text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE groups DROP COLUMN locations;
DROP TABLE probe_locations;

CREATE TABLE probe_results_old (
    target_id text    NOT NULL,
    sent_at   integer NOT NULL,
    rtt_us    integer,
    ok        integer NOT NULL,
    unsent    integer NOT NULL DEFAULT 0,
    PRIMARY KEY (target_id, sent_at)
) WITHOUT ROWID;
INSERT INTO probe_results_old (target_id, sent_at, rtt_us, ok, unsent)
    SELECT target_id, sent_at, rtt_us, ok, unsent FROM probe_results WHERE location = 'local';
DROP TABLE probe_results;
ALTER TABLE probe_results_old RENAME TO probe_results;

CREATE TABLE probe_rollups_1m_old (
    target_id  text    NOT NULL,
    bucket     integer NOT NULL,
    sent       integer NOT NULL,
    received   integer NOT NULL,
    rtt_sum_us integer NOT NULL,
    rtt_sumsq  integer NOT NULL,
    rtt_min_us integer,
    rtt_max_us integer,
    hist       blob    NOT NULL,
    errors     integer NOT NULL DEFAULT 0,
    PRIMARY KEY (target_id, bucket)
) WITHOUT ROWID;
INSERT INTO probe_rollups_1m_old (target_id, bucket, sent, received, rtt_sum_us, rtt_sumsq, rtt_min_us, rtt_max_us, hist, errors)
    SELECT target_id, bucket, sent, received, rtt_sum_us, rtt_sumsq, rtt_min_us, rtt_max_us, hist, errors FROM probe_rollups_1m WHERE location = 'local';
DROP TABLE probe_rollups_1m;
ALTER TABLE probe_rollups_1m_old RENAME TO probe_rollups_1m;
CREATE INDEX probe_rollups_1m_bucket ON probe_rollups_1m (bucket);

CREATE TABLE probe_rollups_1h_old (
    target_id  text    NOT NULL,
    bucket     integer NOT NULL,
    sent       integer NOT NULL,
    received   integer NOT NULL,
    rtt_sum_us integer NOT NULL,
    rtt_sumsq  integer NOT NULL,
    rtt_min_us integer,
    rtt_max_us integer,
    hist       blob    NOT NULL,
    errors     integer NOT NULL DEFAULT 0,
    PRIMARY KEY (target_id, bucket)
) WITHOUT ROWID;
INSERT INTO probe_rollups_1h_old (target_id, bucket, sent, received, rtt_sum_us, rtt_sumsq, rtt_min_us, rtt_max_us, hist, errors)
    SELECT target_id, bucket, sent, received, rtt_sum_us, rtt_sumsq, rtt_min_us, rtt_max_us, hist, errors FROM probe_rollups_1h WHERE location = 'local';
DROP TABLE probe_rollups_1h;
ALTER TABLE probe_rollups_1h_old RENAME TO probe_rollups_1h;
CREATE INDEX probe_rollups_1h_bucket ON probe_rollups_1h (bucket);
