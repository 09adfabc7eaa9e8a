-- The admin API's keys (usher.APIKey), for PostgreSQL.
--
-- Times are timestamptz (microseconds); NULL is the zero time.

-- +goose Up

-- api_keys holds one row per key: its unique name and the SHA-256 of the
-- key (never the key). APIKeyByHash is a probe into api_keys_hash.
CREATE TABLE api_keys (
    id           text        NOT NULL PRIMARY KEY,
    name         text        NOT NULL,
    key_hash     bytea       NOT NULL,
    created_at   timestamptz,
    last_used_at timestamptz
);
CREATE UNIQUE INDEX api_keys_name ON api_keys (name);
CREATE UNIQUE INDEX api_keys_hash ON api_keys (key_hash);

-- +goose Down
DROP TABLE api_keys;
