-- The audit log (usher.Service.AuditLog), for PostgreSQL: who acted on
-- each event, and indexes for the log's filters.

-- +goose Up

-- The actor (usher.Actor): kind is user, admin, apikey, cli or system; id
-- and name say which one. Existing events get '' (unknown).
ALTER TABLE events ADD COLUMN actor_kind text NOT NULL DEFAULT '';
ALTER TABLE events ADD COLUMN actor_id   text NOT NULL DEFAULT '';
ALTER TABLE events ADD COLUMN actor_name text NOT NULL DEFAULT '';
-- The log is read newest first by id; these serve its filters by actor
-- and by type (by user: events_user_id; by time: events_at).
CREATE INDEX events_actor_id ON events (actor_id, id);
CREATE INDEX events_type ON events (type, id);

-- +goose Down
DROP INDEX events_type;
DROP INDEX events_actor_id;
ALTER TABLE events DROP COLUMN actor_name;
ALTER TABLE events DROP COLUMN actor_id;
ALTER TABLE events DROP COLUMN actor_kind;
