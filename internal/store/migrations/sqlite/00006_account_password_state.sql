-- +goose Up
-- must_change_password: an administrator set the password; until its owner picks a new
-- one, their sessions may only read /me, change the password and sign out.
-- last_sign_in_at: when the account last signed in (the admin page shows it).
ALTER TABLE users ADD COLUMN must_change_password integer NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN last_sign_in_at datetime;

-- +goose Down
ALTER TABLE users DROP COLUMN last_sign_in_at;
ALTER TABLE users DROP COLUMN must_change_password;
