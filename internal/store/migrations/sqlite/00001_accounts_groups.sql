-- +goose Up
CREATE TABLE users (
    id            text PRIMARY KEY,
    username      text NOT NULL UNIQUE,
    display_name  text NOT NULL DEFAULT '',
    password_hash text NOT NULL,
    is_admin      integer NOT NULL DEFAULT 0,
    created_at    datetime NOT NULL
);

CREATE TABLE sessions (
    id           text PRIMARY KEY, -- sha256 of the cookie token
    user_id      text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   datetime NOT NULL,
    expires_at   datetime NOT NULL,
    last_seen_at datetime NOT NULL
);
CREATE INDEX sessions_user_id ON sessions (user_id);
CREATE INDEX sessions_expires_at ON sessions (expires_at);

CREATE TABLE api_tokens (
    id           text PRIMARY KEY,
    user_id      text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         text NOT NULL,
    token_hash   text NOT NULL UNIQUE,
    created_at   datetime NOT NULL,
    last_used_at datetime,
    expires_at   datetime
);
CREATE INDEX api_tokens_user_id ON api_tokens (user_id);

CREATE TABLE groups (
    id          text PRIMARY KEY,
    owner_id    text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name        text NOT NULL,
    visibility  text NOT NULL CHECK (visibility IN ('private', 'public')),
    interval_ms integer NOT NULL CHECK (interval_ms > 0),
    timeout_ms  integer NOT NULL CHECK (timeout_ms > 0),
    packet_size integer NOT NULL CHECK (packet_size > 0),
    paused      integer NOT NULL DEFAULT 0,
    created_at  datetime NOT NULL,
    updated_at  datetime NOT NULL
);
CREATE INDEX groups_owner_id ON groups (owner_id);
CREATE INDEX groups_public ON groups (visibility) WHERE visibility = 'public';

CREATE TABLE targets (
    id         text PRIMARY KEY,
    group_id   text NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    address    text NOT NULL,
    ip         text,
    paused     integer NOT NULL DEFAULT 0,
    created_at datetime NOT NULL,
    UNIQUE (group_id, address)
);

CREATE TABLE shares (
    group_id   text NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    user_id    text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role       text NOT NULL CHECK (role IN ('viewer', 'editor')),
    created_at datetime NOT NULL,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX shares_user_id ON shares (user_id);

CREATE TABLE pins (
    user_id    text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    group_id   text NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    created_at datetime NOT NULL,
    PRIMARY KEY (user_id, group_id)
);
CREATE INDEX pins_group_id ON pins (group_id);

CREATE TABLE notifications (
    id           text PRIMARY KEY,
    user_id      text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    from_user_id text REFERENCES users (id) ON DELETE SET NULL,
    kind         text NOT NULL,
    group_id     text REFERENCES groups (id) ON DELETE CASCADE,
    message      text NOT NULL DEFAULT '',
    created_at   datetime NOT NULL,
    read_at      datetime
);
CREATE INDEX notifications_user_created ON notifications (user_id, created_at);

-- +goose Down
DROP TABLE notifications;
DROP TABLE pins;
DROP TABLE shares;
DROP TABLE targets;
DROP TABLE groups;
DROP TABLE api_tokens;
DROP TABLE sessions;
DROP TABLE users;
