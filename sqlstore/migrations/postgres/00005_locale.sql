-- Each user's language (usher.User.Locale), for PostgreSQL.

-- +goose Up

-- locale is a BCP 47 language tag ("de", "pt-BR"); '' when the user has not
-- chosen one. Existing users get '' (a constant default: no table rewrite).
ALTER TABLE users ADD COLUMN locale text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE users DROP COLUMN locale;
