-- Session touches, for PostgreSQL.
--
-- SQLite's version 12 rebuilds sessions keyed by the token hash (a
-- WITHOUT ROWID table); PostgreSQL has no such tables and already finds a
-- session by its token hash with one probe into the unique index. What
-- costs here is the last-seen write (TouchSessions) that follows a check
-- at most once a minute per session: an UPDATE that cannot stay on the
-- row's page writes a new entry into each of the table's four indexes.
-- Leaving a fifth of each page free lets most of these updates be HOT
-- (heap-only: last_seen_at is in no index), so they touch one page and no
-- index. Pages written before this change get the room as they are
-- vacuumed and refilled.

-- +goose Up
ALTER TABLE sessions SET (fillfactor = 80);

-- +goose Down
ALTER TABLE sessions RESET (fillfactor);
