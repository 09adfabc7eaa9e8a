-- Sessions keyed by their token hash, for SQLite.
--
-- The session check (SessionUser) looks a session up by the SHA-256 of its
-- token on every request the cache does not answer. In the table of version
-- 1 that is two b-tree descents: the unique index on token_hash, then the
-- table by rowid. A WITHOUT ROWID table whose primary key is token_hash
-- keeps the row in the key's own b-tree: one descent, and one index fewer
-- to keep (docs/benchmarks.md, "Cost at a million users"). Lookups by id
-- (touches, revocation) go through the unique index on id, as before
-- through its automatic index.
--
-- The table is rebuilt: a copy of every session, so the migration takes a
-- few seconds per million sessions. It is safe to run twice (two processes
-- migrating at once): the second copies the new table onto itself.

-- +goose Up
CREATE TABLE IF NOT EXISTS sessions_by_hash (
    token_hash           BLOB    NOT NULL PRIMARY KEY,
    id                   TEXT    NOT NULL UNIQUE,
    user_id              TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at           INTEGER,
    last_seen_at         INTEGER,
    expires_at           INTEGER,
    remember             INTEGER NOT NULL DEFAULT 0,
    ip                   TEXT    NOT NULL DEFAULT '',
    user_agent           TEXT    NOT NULL DEFAULT '',
    must_change_password INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
INSERT INTO sessions_by_hash (token_hash, id, user_id, created_at, last_seen_at, expires_at,
        remember, ip, user_agent, must_change_password)
    SELECT token_hash, id, user_id, created_at, last_seen_at, expires_at,
        remember, ip, user_agent, must_change_password
    FROM sessions
    ORDER BY token_hash; -- in key order: full pages instead of random splits
DROP TABLE sessions;
ALTER TABLE sessions_by_hash RENAME TO sessions;
CREATE INDEX IF NOT EXISTS sessions_user_id ON sessions (user_id);
CREATE INDEX IF NOT EXISTS sessions_expires_at ON sessions (expires_at);

-- +goose Down
CREATE TABLE IF NOT EXISTS sessions_by_rowid (
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
INSERT INTO sessions_by_rowid (id, user_id, token_hash, created_at, last_seen_at, expires_at,
        remember, ip, user_agent, must_change_password)
    SELECT id, user_id, token_hash, created_at, last_seen_at, expires_at,
        remember, ip, user_agent, must_change_password
    FROM sessions;
DROP TABLE sessions;
ALTER TABLE sessions_by_rowid RENAME TO sessions;
CREATE INDEX IF NOT EXISTS sessions_user_id ON sessions (user_id);
CREATE INDEX IF NOT EXISTS sessions_expires_at ON sessions (expires_at);
