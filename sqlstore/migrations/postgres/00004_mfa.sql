-- Second factors and recovery codes, for PostgreSQL.
--
-- Times are timestamptz (microseconds); NULL is the zero time.

-- +goose Up

-- mfa_methods holds each user's second factors. secret is sealed by the
-- Service (AES-GCM with its secret key) before it reaches the Store, which
-- keeps it as given. last_step is the last TOTP time step accepted: a code of
-- that step or an earlier one is refused, so a code works once.
CREATE TABLE mfa_methods (
    id           text        NOT NULL PRIMARY KEY,
    user_id      text        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    type         text        NOT NULL,
    name         text        NOT NULL DEFAULT '',
    secret       bytea       NOT NULL,
    last_step    bigint      NOT NULL DEFAULT 0,
    created_at   timestamptz,
    last_used_at timestamptz
);
CREATE INDEX mfa_methods_user_id ON mfa_methods (user_id);

-- recovery_codes keeps only the SHA-256 of each code; a used code keeps its
-- row (used_at set) until the user's codes are replaced.
CREATE TABLE recovery_codes (
    user_id    text        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash  bytea       NOT NULL,
    created_at timestamptz,
    used_at    timestamptz,
    PRIMARY KEY (user_id, code_hash)
);

-- +goose Down
DROP TABLE recovery_codes;
DROP TABLE mfa_methods;
