-- Each user's language (usher.User.Locale), for SQLite.
--
-- SQLite has no ADD COLUMN IF NOT EXISTS: when two processes migrate at the
-- same moment, the second one's ALTER fails once the first has committed,
-- and Migrate then finds nothing pending and succeeds.

-- +goose Up

-- locale is a BCP 47 language tag ("de", "pt-BR"); '' when the user has not
-- chosen one. Existing users get ''.
ALTER TABLE users ADD COLUMN locale TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE users DROP COLUMN locale;
