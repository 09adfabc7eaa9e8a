-- Federated identities (usher.Identity), for SQLite.
--
-- Times are INTEGER microseconds since the Unix epoch, UTC; NULL is the zero
-- time. Every statement is IF NOT EXISTS, as in 00001.

-- +goose Up

-- identities links a user to an account at an outside identity provider.
-- provider is the configured provider's name; (issuer, subject) names the
-- account, compared exactly; email is the address the provider reported
-- when linking, kept for display and never used to find a user.
CREATE TABLE IF NOT EXISTS identities (
    id           TEXT    NOT NULL PRIMARY KEY,
    user_id      TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider     TEXT    NOT NULL,
    issuer       TEXT    NOT NULL,
    subject      TEXT    NOT NULL,
    email        TEXT    NOT NULL DEFAULT '',
    linked_at    INTEGER,
    last_used_at INTEGER
);
-- An account at an issuer belongs to one user; IdentityBySubject is a
-- probe into this index.
CREATE UNIQUE INDEX IF NOT EXISTS identities_issuer_subject ON identities (issuer, subject);
CREATE INDEX IF NOT EXISTS identities_user_id ON identities (user_id);

-- +goose Down
DROP TABLE IF EXISTS identities;
