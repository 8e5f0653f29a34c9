-- +goose Up
-- Probes that never left (the hostname had no address, the kernel refused the send)
-- are not lost packets: reports count them apart, as errors, and keep them out of
-- sent and loss. probe_results.unsent says why a probe did not leave (0: it left,
-- answered or not; 1: no such host; 2: the name did not resolve otherwise (DNS
-- failure, no allowed address); 3: the send was refused; 4: another failure). A
-- column with a constant default is only catalog work, on the partitioned parents
-- and every partition alike. The rollups' sent and received keep their meaning;
-- errors counts the unsent probes of the bucket. Rows written before this migration
-- counted such probes as lost: they stay as they were.
ALTER TABLE probe_results ADD COLUMN unsent smallint NOT NULL DEFAULT 0;
ALTER TABLE probe_rollups_1m ADD COLUMN errors integer NOT NULL DEFAULT 0;
ALTER TABLE probe_rollups_1h ADD COLUMN errors integer NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE probe_rollups_1h DROP COLUMN errors;
ALTER TABLE probe_rollups_1m DROP COLUMN errors;
ALTER TABLE probe_results DROP COLUMN unsent;
