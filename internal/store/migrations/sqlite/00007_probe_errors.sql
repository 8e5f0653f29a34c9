-- +goose Up
-- Probes that never left are counted apart, as errors: see the Postgres migration of
-- the same number for the codes of probe_results.unsent (0 means the probe left).
ALTER TABLE probe_results ADD COLUMN unsent integer NOT NULL DEFAULT 0;
ALTER TABLE probe_rollups_1m ADD COLUMN errors integer NOT NULL DEFAULT 0;
ALTER TABLE probe_rollups_1h ADD COLUMN errors integer NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE probe_rollups_1h DROP COLUMN errors;
ALTER TABLE probe_rollups_1m DROP COLUMN errors;
ALTER TABLE probe_results DROP COLUMN unsent;
