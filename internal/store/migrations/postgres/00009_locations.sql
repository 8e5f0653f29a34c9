-- +goose Up
-- Results carry the location they were probed from (DESIGN §9): the server's own
-- prober ("local" unless renamed with --location) or an agent's site. Rows written
-- before are the server's own: 'local'. A result is now stored once per target,
-- location and send time, and the rollups sum per location. The parents' primary keys
-- are replaced: Postgres drops the partitions' indexes with the parent's constraint and
-- builds the new ones on every partition (the partitions created later inherit them).
ALTER TABLE probe_results ADD COLUMN location text NOT NULL DEFAULT 'local';
ALTER TABLE probe_results DROP CONSTRAINT probe_results_pkey;
ALTER TABLE probe_results ADD PRIMARY KEY (target_id, location, sent_at);

ALTER TABLE probe_rollups_1m ADD COLUMN location text NOT NULL DEFAULT 'local';
ALTER TABLE probe_rollups_1m DROP CONSTRAINT probe_rollups_1m_pkey;
ALTER TABLE probe_rollups_1m ADD PRIMARY KEY (target_id, location, bucket);

ALTER TABLE probe_rollups_1h ADD COLUMN location text NOT NULL DEFAULT 'local';
ALTER TABLE probe_rollups_1h DROP CONSTRAINT probe_rollups_1h_pkey;
ALTER TABLE probe_rollups_1h ADD PRIMARY KEY (target_id, location, bucket);

-- Every location results were ever stored from. Reads that span all locations name
-- them, so they use the (target_id, location, time) keys as ranges instead of
-- scanning all of a target's rows (PostgreSQL before 18 and SQLite cannot skip over a
-- key column). The result writer adds a location with its first results.
CREATE TABLE probe_locations (
    location text PRIMARY KEY
);
INSERT INTO probe_locations (location) VALUES ('local');

-- Where a group is probed from: location names, comma-separated. Empty means the
-- server's own prober only, whatever --location names it.
ALTER TABLE groups ADD COLUMN locations text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE groups DROP COLUMN locations;
DROP TABLE probe_locations;

DELETE FROM probe_rollups_1h WHERE location <> 'local';
ALTER TABLE probe_rollups_1h DROP CONSTRAINT probe_rollups_1h_pkey;
ALTER TABLE probe_rollups_1h ADD PRIMARY KEY (target_id, bucket);
ALTER TABLE probe_rollups_1h DROP COLUMN location;

DELETE FROM probe_rollups_1m WHERE location <> 'local';
ALTER TABLE probe_rollups_1m DROP CONSTRAINT probe_rollups_1m_pkey;
ALTER TABLE probe_rollups_1m ADD PRIMARY KEY (target_id, bucket);
ALTER TABLE probe_rollups_1m DROP COLUMN location;

DELETE FROM probe_results WHERE location <> 'local';
ALTER TABLE probe_results DROP CONSTRAINT probe_results_pkey;
ALTER TABLE probe_results ADD PRIMARY KEY (target_id, sent_at);
ALTER TABLE probe_results DROP COLUMN location;
