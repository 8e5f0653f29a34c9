-- +goose Up
-- Alert rules per group (internal/alerts): fire when at least min_targets of the group's
-- targets (and, when min_pct > 0, at least that share) have been in state (down, or
-- degraded-or-worse) for for_seconds; resolve when no longer. channel_ids: the
-- notify_channels to tell, comma-separated. alerts: each firing, open until resolved.
CREATE TABLE alert_rules (
    id          uuid PRIMARY KEY,
    group_id    uuid        NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    name        text        NOT NULL,
    state       text        NOT NULL,
    min_targets integer     NOT NULL,
    min_pct     double precision NOT NULL,
    for_seconds integer     NOT NULL,
    channel_ids text        NOT NULL,
    muted_until timestamptz,
    created_at  timestamptz NOT NULL
);
CREATE TABLE alerts (
    id          uuid PRIMARY KEY,
    rule_id     uuid        NOT NULL REFERENCES alert_rules (id) ON DELETE CASCADE,
    group_id    uuid        NOT NULL,
    started_at  timestamptz NOT NULL,
    resolved_at timestamptz
);
CREATE INDEX alerts_open ON alerts (rule_id) WHERE resolved_at IS NULL;

-- +goose Down
DROP TABLE alerts;
DROP TABLE alert_rules;
