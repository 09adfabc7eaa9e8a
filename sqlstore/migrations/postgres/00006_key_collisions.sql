-- Accounts whose keys the re-fold of version 7 could not change, for
-- PostgreSQL.
--
-- Version 7 (a Go migration, refold.go) recomputes users.email_key,
-- users.username_key and user_emails.email_key with the current
-- usher.FoldEmail and usher.FoldUsername. Where two rows would then share a
-- key, it leaves both as they were and lists them here; `usher migrate`
-- prints the list and runs the re-fold again.

-- +goose Up

-- One row per account involved: kind is 'email' or 'username', key the
-- key the rows would share, value the stored address or username.
CREATE TABLE IF NOT EXISTS key_collisions (
    kind    TEXT NOT NULL,
    key     TEXT NOT NULL,
    user_id TEXT NOT NULL,
    value   TEXT NOT NULL,
    PRIMARY KEY (kind, key, user_id, value)
);

-- +goose Down
DROP TABLE IF EXISTS key_collisions;
