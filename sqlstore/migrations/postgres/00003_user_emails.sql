-- Several e-mail addresses per user, for PostgreSQL.
--
-- Times are timestamptz (microseconds); NULL is the zero time.

-- +goose Up

-- user_emails holds every address of every user. The primary address is a
-- row too (is_primary), kept equal to users.email and
-- users.email_confirmed_at by the Store. email_key is usher.FoldEmail(email).
CREATE TABLE user_emails (
    id           text        NOT NULL PRIMARY KEY,
    user_id      text        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    email        text        NOT NULL,
    email_key    text        NOT NULL,
    is_primary   boolean     NOT NULL DEFAULT false,
    confirmed_at timestamptz,
    created_at   timestamptz
);
-- An address belongs to one user once it is someone's primary or confirmed
-- address; until then several users may have added it. UserByEmail's
-- lookup of a confirmed address is a probe into this index.
CREATE UNIQUE INDEX user_emails_taken ON user_emails (email_key)
    WHERE is_primary OR confirmed_at IS NOT NULL;
-- A user has an address once, and one primary.
CREATE UNIQUE INDEX user_emails_user_key ON user_emails (user_id, email_key);
CREATE UNIQUE INDEX user_emails_primary ON user_emails (user_id) WHERE is_primary;
-- UserEmailByAddress looks at every row of an address, confirmed or not.
CREATE INDEX user_emails_email_key ON user_emails (email_key);

-- Every existing user's address becomes their primary row, with a random
-- ID (128 bits; the user's ID in the hash keeps two draws of random() from
-- meeting).
INSERT INTO user_emails (id, user_id, email, email_key, is_primary, confirmed_at, created_at)
SELECT md5(random()::text || u.id), u.id, u.email, u.email_key, true,
       u.email_confirmed_at, u.signed_up_at
FROM users u;

-- +goose Down
DROP TABLE user_emails;
