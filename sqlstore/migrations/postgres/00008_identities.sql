-- Federated identities (usher.Identity) and the data a token keeps
-- (usher.Token.Data, the federated sign-in's state), for PostgreSQL.
--
-- Times are timestamptz (microseconds); NULL is the zero time.

-- +goose Up

-- identities links a user to an account at an outside identity provider.
-- provider is the configured provider's name; (issuer, subject) names the
-- account, compared exactly; email is the address the provider reported
-- when linking, kept for display and never used to find a user.
CREATE TABLE identities (
    id           text        NOT NULL PRIMARY KEY,
    user_id      text        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider     text        NOT NULL,
    issuer       text        NOT NULL,
    subject      text        NOT NULL,
    email        text        NOT NULL DEFAULT '',
    linked_at    timestamptz,
    last_used_at timestamptz
);
-- An account at an issuer belongs to one user; IdentityBySubject is a
-- probe into this index.
CREATE UNIQUE INDEX identities_issuer_subject ON identities (issuer, subject);
CREATE INDEX identities_user_id ON identities (user_id);

-- data is what a kind keeps with its token: for the federated sign-in's
-- state (kind 'federated_state'), its provider, nonce, PKCE verifier and
-- next address as JSON; '' for the other kinds and for existing tokens.
ALTER TABLE tokens ADD COLUMN data text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE tokens DROP COLUMN data;
DROP TABLE identities;
