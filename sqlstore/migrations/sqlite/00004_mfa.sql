-- Second factors and recovery codes, for SQLite.
--
-- Times are INTEGER microseconds since the Unix epoch, UTC; NULL is the zero
-- time. Every statement is IF NOT EXISTS, as in 00001.

-- +goose Up

-- mfa_methods holds each user's second factors. secret is sealed by the
-- Service (AES-GCM with its secret key) before it reaches the Store, which
-- keeps it as given. last_step is the last TOTP time step accepted: a code of
-- that step or an earlier one is refused, so a code works once.
CREATE TABLE IF NOT EXISTS mfa_methods (
    id           TEXT    NOT NULL PRIMARY KEY,
    user_id      TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    type         TEXT    NOT NULL,
    name         TEXT    NOT NULL DEFAULT '',
    secret       BLOB    NOT NULL,
    last_step    INTEGER NOT NULL DEFAULT 0,
    created_at   INTEGER,
    last_used_at INTEGER
);
CREATE INDEX IF NOT EXISTS mfa_methods_user_id ON mfa_methods (user_id);

-- recovery_codes keeps only the SHA-256 of each code; a used code keeps its
-- row (used_at set) until the user's codes are replaced.
CREATE TABLE IF NOT EXISTS recovery_codes (
    user_id    TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash  BLOB    NOT NULL,
    created_at INTEGER,
    used_at    INTEGER,
    PRIMARY KEY (user_id, code_hash)
) WITHOUT ROWID;

-- +goose Down
DROP TABLE IF EXISTS recovery_codes;
DROP TABLE IF EXISTS mfa_methods;
