-- The admin API's keys (usher.APIKey), for SQLite.
--
-- Times are INTEGER microseconds since the Unix epoch, UTC; NULL is the zero
-- time. Every CREATE is IF NOT EXISTS, as in 00001.

-- +goose Up

-- api_keys holds one row per key: its unique name and the SHA-256 of the
-- key (never the key). APIKeyByHash is a probe into api_keys_hash.
CREATE TABLE IF NOT EXISTS api_keys (
    id           TEXT    NOT NULL PRIMARY KEY,
    name         TEXT    NOT NULL,
    key_hash     BLOB    NOT NULL,
    created_at   INTEGER,
    last_used_at INTEGER
);
CREATE UNIQUE INDEX IF NOT EXISTS api_keys_name ON api_keys (name);
CREATE UNIQUE INDEX IF NOT EXISTS api_keys_hash ON api_keys (key_hash);

-- +goose Down
DROP TABLE IF EXISTS api_keys;
