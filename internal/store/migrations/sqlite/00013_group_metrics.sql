-- +goose Up
-- Whether a group's targets are exported at /metrics/targets (Prometheus, per target):
-- off by default, so how many series a server exports is each group's choice.
ALTER TABLE groups ADD COLUMN metrics integer NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE groups DROP COLUMN metrics;
