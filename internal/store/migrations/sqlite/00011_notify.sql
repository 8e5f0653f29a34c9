-- +goose Up
-- Notification channels (issue 22): each belongs to a user or to a group. config is
-- the kind's settings as JSON; secret is write-only in the API. allow_internal is set
-- only by an admin's create/update and lets sends reach loopback/link-local addresses.
CREATE TABLE notify_channels (
    id             text PRIMARY KEY,
    owner_user_id  text REFERENCES users (id) ON DELETE CASCADE,
    owner_group_id text REFERENCES groups (id) ON DELETE CASCADE,
    kind           text        NOT NULL,
    name           text        NOT NULL,
    config         text        NOT NULL,
    secret         text        NOT NULL DEFAULT '',
    allow_internal boolean     NOT NULL DEFAULT false,
    created_at     datetime    NOT NULL,
    updated_at     datetime    NOT NULL,
    CHECK ((owner_user_id IS NULL) <> (owner_group_id IS NULL))
);
CREATE INDEX notify_channels_user ON notify_channels (owner_user_id);
CREATE INDEX notify_channels_group ON notify_channels (owner_group_id);

-- One row per (notification, channel), stored before the first try: the unique key
-- makes a repeated enqueue a no-op; status turns 'sent' in the transaction that
-- records the confirmation. claim counts dispatcher claims (optimistic lock).
CREATE TABLE notify_deliveries (
    id              text PRIMARY KEY,
    channel_id      text        NOT NULL REFERENCES notify_channels (id) ON DELETE CASCADE,
    notification_id text        NOT NULL,
    payload         text        NOT NULL,
    attempts        integer     NOT NULL DEFAULT 0,
    next_at         datetime    NOT NULL,
    status          text        NOT NULL,
    last_error      text        NOT NULL DEFAULT '',
    claim           integer     NOT NULL DEFAULT 0,
    created_at      datetime    NOT NULL,
    delivered_at    datetime   ,
    UNIQUE (channel_id, notification_id)
);
CREATE INDEX notify_deliveries_due ON notify_deliveries (status, next_at);
CREATE INDEX notify_deliveries_channel ON notify_deliveries (channel_id, created_at);

-- The delivery log: one row per try.
CREATE TABLE notify_attempts (
    delivery_id text        NOT NULL REFERENCES notify_deliveries (id) ON DELETE CASCADE,
    n           integer     NOT NULL,
    at          datetime    NOT NULL,
    status      text        NOT NULL,
    error       text        NOT NULL DEFAULT '',
    PRIMARY KEY (delivery_id, n)
);

-- +goose Down
DROP TABLE notify_attempts;
DROP TABLE notify_deliveries;
DROP TABLE notify_channels;
