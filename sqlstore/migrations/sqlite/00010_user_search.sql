-- Indexes for the admin console's users table (usher.UserQuery), for
-- SQLite.
--
-- Every CREATE is IF NOT EXISTS, as in 00001.

-- +goose Up

-- Sorting by last log-in (UserQuery.Sort = "last_login"), either way, with
-- keyset paging: the first page reads 50 index entries instead of sorting
-- every user.
CREATE INDEX IF NOT EXISTS users_last_login_at ON users (last_login_at, id);

-- A substring search (LIKE '%x%') cannot seek in any index, so it reads
-- every user; this covering index of the two searched keys lets it read
-- a narrow index instead of the whole rows (profiles, password hashes).
-- docs/benchmarks.md has the figures.
CREATE INDEX IF NOT EXISTS users_search_keys ON users (email_key, username_key);

-- +goose Down
DROP INDEX IF EXISTS users_search_keys;
DROP INDEX IF EXISTS users_last_login_at;
