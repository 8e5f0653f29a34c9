-- +goose Up
-- Alert rules per group (internal/alerts); see the Postgres migration.
CREATE TABLE alert_rules (
    id          text PRIMARY KEY,
    group_id    text     NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    name        text     NOT NULL,
    state       text     NOT NULL,
    min_targets integer  NOT NULL,
    min_pct     real     NOT NULL,
    for_seconds integer  NOT NULL,
    channel_ids text     NOT NULL,
    muted_until datetime,
    created_at  datetime NOT NULL
);
CREATE TABLE alerts (
    id          text PRIMARY KEY,
    rule_id     text     NOT NULL REFERENCES alert_rules (id) ON DELETE CASCADE,
    group_id    text     NOT NULL,
    started_at  datetime NOT NULL,
    resolved_at datetime
);
CREATE INDEX alerts_open ON alerts (rule_id) WHERE resolved_at IS NULL;

-- +goose Down
DROP TABLE alerts;
DROP TABLE alert_rules;
