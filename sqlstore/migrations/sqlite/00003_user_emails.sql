-- Several e-mail addresses per user, for SQLite.
--
-- Times are INTEGER microseconds since the Unix epoch, UTC; NULL is the zero
-- time. Booleans are INTEGER 0 or 1. Every statement is IF NOT EXISTS (or
-- guarded by NOT EXISTS), as in 00001.

-- +goose Up

-- user_emails holds every address of every user. The primary address is a
-- row too (is_primary), kept equal to users.email and
-- users.email_confirmed_at by the Store. email_key is usher.FoldEmail(email).
CREATE TABLE IF NOT EXISTS user_emails (
    id           TEXT    NOT NULL PRIMARY KEY,
    user_id      TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    email        TEXT    NOT NULL,
    email_key    TEXT    NOT NULL,
    is_primary   INTEGER NOT NULL DEFAULT 0,
    confirmed_at INTEGER,
    created_at   INTEGER
);
-- An address belongs to one user once it is someone's primary or confirmed
-- address; until then several users may have added it. UserByEmail's
-- lookup of a confirmed address is a probe into this index.
CREATE UNIQUE INDEX IF NOT EXISTS user_emails_taken ON user_emails (email_key)
    WHERE is_primary OR confirmed_at IS NOT NULL;
-- A user has an address once, and one primary.
CREATE UNIQUE INDEX IF NOT EXISTS user_emails_user_key ON user_emails (user_id, email_key);
CREATE UNIQUE INDEX IF NOT EXISTS user_emails_primary ON user_emails (user_id) WHERE is_primary;
-- UserEmailByAddress looks at every row of an address, confirmed or not.
CREATE INDEX IF NOT EXISTS user_emails_email_key ON user_emails (email_key);

-- Every existing user's address becomes their primary row.
INSERT INTO user_emails (id, user_id, email, email_key, is_primary, confirmed_at, created_at)
SELECT lower(hex(randomblob(13))), u.id, u.email, u.email_key, 1, u.email_confirmed_at, u.signed_up_at
FROM users u
WHERE NOT EXISTS (SELECT 1 FROM user_emails e WHERE e.user_id = u.id AND e.is_primary);

-- +goose Down
DROP TABLE IF EXISTS user_emails;
