-- Indexes for the admin console's users table (usher.UserQuery), for
-- PostgreSQL.

-- +goose Up

-- Sorting by last log-in (UserQuery.Sort = "last_login"), either way, with
-- keyset paging: never-logged-in users first ascending, last descending,
-- as the query orders them.
CREATE INDEX IF NOT EXISTS users_last_login_at ON users (last_login_at NULLS FIRST, id);

-- A substring search (LIKE '%x%') reads every user, as on SQLite; this
-- covering index of the two searched keys lets an index-only scan read
-- less than the whole rows. (A trigram index would need the pg_trgm
-- extension, which Usher does not assume.)
CREATE INDEX IF NOT EXISTS users_search_keys ON users (email_key, username_key);

-- +goose Down
DROP INDEX IF EXISTS users_search_keys;
DROP INDEX IF EXISTS users_last_login_at;
