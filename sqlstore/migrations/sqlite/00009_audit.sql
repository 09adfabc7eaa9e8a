-- The audit log (usher.Service.AuditLog), for SQLite: who acted on each
-- event, and indexes for the log's filters.
--
-- SQLite has no ADD COLUMN IF NOT EXISTS: when two processes migrate at the
-- same moment, the second one's ALTER fails once the first has committed,
-- and Migrate then finds nothing pending and succeeds (as in 00005).

-- +goose Up

-- The actor (usher.Actor): kind is user, admin, apikey, cli or system; id
-- and name say which one. Existing events get '' (unknown).
ALTER TABLE events ADD COLUMN actor_kind TEXT NOT NULL DEFAULT '';
ALTER TABLE events ADD COLUMN actor_id   TEXT NOT NULL DEFAULT '';
ALTER TABLE events ADD COLUMN actor_name TEXT NOT NULL DEFAULT '';
-- The log is read newest first by id; these serve its filters by actor
-- and by type (by user: events_user_id; by time: events_at).
CREATE INDEX IF NOT EXISTS events_actor_id ON events (actor_id, id);
CREATE INDEX IF NOT EXISTS events_type ON events (type, id);

-- +goose Down
DROP INDEX IF EXISTS events_type;
DROP INDEX IF EXISTS events_actor_id;
ALTER TABLE events DROP COLUMN actor_name;
ALTER TABLE events DROP COLUMN actor_id;
ALTER TABLE events DROP COLUMN actor_kind;
