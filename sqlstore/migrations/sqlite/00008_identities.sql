-- Federated identities (usher.Identity) and the data a token keeps
-- (usher.Token.Data, the federated sign-in's state), for SQLite.
--
-- Times are INTEGER microseconds since the Unix epoch, UTC; NULL is the zero
-- time. Every CREATE is IF NOT EXISTS, as in 00001.
--
-- SQLite has no ADD COLUMN IF NOT EXISTS: when two processes migrate at the
-- same moment, the second one's ALTER fails once the first has committed,
-- and Migrate then finds nothing pending and succeeds (as in 00005).

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

-- data is what a kind keeps with its token: for the federated sign-in's
-- state (kind 'federated_state'), its provider, nonce, PKCE verifier and
-- next address as JSON; '' for the other kinds and for existing tokens.
ALTER TABLE tokens ADD COLUMN data TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE tokens DROP COLUMN data;
DROP TABLE IF EXISTS identities;
