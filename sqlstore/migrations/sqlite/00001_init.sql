-- Usher schema for SQLite.
--
-- Times are INTEGER microseconds since the Unix epoch, UTC; NULL is the zero
-- time. Booleans are INTEGER 0 or 1. Every statement is IF NOT EXISTS so that
-- two processes migrating a new file at the same moment both succeed.

-- +goose Up
CREATE TABLE IF NOT EXISTS users (
    id                      TEXT    NOT NULL PRIMARY KEY,
    email                   TEXT    NOT NULL,
    email_key               TEXT    NOT NULL UNIQUE,  -- usher.FoldEmail(email)
    username                TEXT,
    username_key            TEXT    UNIQUE,           -- usher.FoldUsername(username); NULL when none
    password_hash           TEXT    NOT NULL DEFAULT '',
    enabled                 INTEGER NOT NULL DEFAULT 1,
    email_confirmed_at      INTEGER,
    signed_up_at            INTEGER,
    last_login_at           INTEGER,
    password_changed_at     INTEGER,
    password_failures       INTEGER NOT NULL DEFAULT 0,
    locked_at               INTEGER,
    password_reset_required INTEGER NOT NULL DEFAULT 0,
    profile                 TEXT                      -- JSON object; NULL when empty
);
CREATE INDEX IF NOT EXISTS users_signed_up_at ON users (signed_up_at, id);

CREATE TABLE IF NOT EXISTS user_roles (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role    TEXT NOT NULL,
    PRIMARY KEY (user_id, role)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS user_roles_role ON user_roles (role, user_id);

CREATE TABLE IF NOT EXISTS sessions (
    id                   TEXT    NOT NULL PRIMARY KEY,
    user_id              TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash           BLOB    NOT NULL UNIQUE,
    created_at           INTEGER,
    last_seen_at         INTEGER,
    expires_at           INTEGER,
    remember             INTEGER NOT NULL DEFAULT 0,
    ip                   TEXT    NOT NULL DEFAULT '',
    user_agent           TEXT    NOT NULL DEFAULT '',
    must_change_password INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS sessions_user_id ON sessions (user_id);
CREATE INDEX IF NOT EXISTS sessions_expires_at ON sessions (expires_at);

CREATE TABLE IF NOT EXISTS throttle (
    key          TEXT    NOT NULL,
    window_start INTEGER NOT NULL,
    count        INTEGER NOT NULL,
    PRIMARY KEY (key, window_start)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS throttle_window_start ON throttle (window_start);

-- events.user_id has no foreign key: the audit trail outlives the account.
CREATE TABLE IF NOT EXISTS events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id    TEXT,
    type       TEXT    NOT NULL,
    ip         TEXT    NOT NULL DEFAULT '',
    user_agent TEXT    NOT NULL DEFAULT '',
    detail     TEXT    NOT NULL DEFAULT '',
    at         INTEGER
);
CREATE INDEX IF NOT EXISTS events_user_id ON events (user_id, id);
CREATE INDEX IF NOT EXISTS events_at ON events (at, id);

-- +goose Down
DROP TABLE IF EXISTS events;
DROP TABLE IF EXISTS throttle;
DROP TABLE IF EXISTS sessions;
DROP TABLE IF EXISTS user_roles;
DROP TABLE IF EXISTS users;
