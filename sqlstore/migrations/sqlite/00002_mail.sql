-- One-time tokens and the e-mail outbox, for SQLite.
--
-- Times are INTEGER microseconds since the Unix epoch, UTC; NULL is the zero
-- time. Every statement is IF NOT EXISTS, as in 00001.

-- +goose Up

-- tokens keeps only the SHA-256 of each token; the token itself exists
-- only in the e-mail. user_id is NULL for an invitation to someone without
-- an account.
CREATE TABLE IF NOT EXISTS tokens (
    hash       BLOB    NOT NULL PRIMARY KEY,
    kind       TEXT    NOT NULL,
    user_id    TEXT    REFERENCES users (id) ON DELETE CASCADE,
    email      TEXT    NOT NULL DEFAULT '',
    created_at INTEGER,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS tokens_user_id ON tokens (user_id, kind);
CREATE INDEX IF NOT EXISTS tokens_expires_at ON tokens (expires_at);

-- outbox holds e-mails until they are sent. vars (a JSON object) is
-- cleared when the message is sent, so that links do not outlive their
-- purpose. A NULL next_attempt_at means "at once".
CREATE TABLE IF NOT EXISTS outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    kind            TEXT    NOT NULL,
    to_addr         TEXT    NOT NULL,
    locale          TEXT    NOT NULL DEFAULT '',
    vars            TEXT,
    created_at      INTEGER,
    next_attempt_at INTEGER,
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT    NOT NULL DEFAULT '',
    sent_at         INTEGER
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (next_attempt_at, id) WHERE sent_at IS NULL;
CREATE INDEX IF NOT EXISTS outbox_sent_at ON outbox (sent_at) WHERE sent_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS outbox_to_addr ON outbox (to_addr, id);

-- +goose Down
DROP TABLE IF EXISTS outbox;
DROP TABLE IF EXISTS tokens;
