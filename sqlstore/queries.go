package sqlstore

// The fixed queries, written once for both databases with ? placeholders
// (dialect.rebind turns them into $n for PostgreSQL). The hot ones are
// prepared once per pool; see Store.stmt.
const (
	qUserByID = iota
	qUserByEmail
	qUserByUsername
	qSessionUser
	qHit
	qRecordFailure
	qRecordLogin
	qInsertUser
	qInsertRole
	qDeleteRole
	qListRoles
	qUserExists
	qDeleteUser
	qInsertSession
	qListSessions
	qDeleteSession
	qDeleteUserSessions
	qTouchSession
	qDeleteExpiredSessions
	qDeleteHits
	qLastHit
	qInsertEvent
	qListEvents
	qListUserEvents
	qEventsSince
	qDeleteEventsBefore
	qCountUnsentMessages
	qInsertToken
	qUseToken
	qDeleteTokens
	qDeleteExpiredTokens
	qInsertMessage
	qClaimMessages
	qClaimMessagesOfKind
	qMarkMessageSent
	qMarkMessageFailed
	qListMessages
	qListMessagesTo
	qDeleteSentMessages
	qLockUser
	qInsertUserEmail
	qAddressTaken
	qListUserEmails
	qUserEmailByAddress
	qUserEmailOf
	qConfirmUserEmail
	qConfirmUserPrimary
	qDemotePrimary
	qPromoteEmail
	qSetUserAddress
	qUpdatePrimaryAddress
	qUpdatePrimaryConfirmed
	qDeleteOwnSecondary
	qRemoveUserEmail
	qListMFAMethods
	qInsertMFAMethod
	qDeleteUserMFAMethods
	qDeleteMFAMethod
	qUseTOTPStep
	qMFASecrets
	qSetMFASecret
	qDeleteRecoveryCodes
	qInsertRecoveryCode
	qUseRecoveryCode
	qCountRecoveryCodes
	qFindToken
	qInsertIdentity
	qIdentityBySubject
	qIdentitiesOfUser
	qTouchIdentity
	qDeleteIdentity
	qInsertAPIKey
	qAPIKeyByHash
	qListAPIKeys
	qTouchAPIKey
	qDeleteAPIKey
	numQueries
)

// userCols selects a user (table alias u) with its roles aggregated into
// one column, in the order scanUser reads them.
const userCols = `u.id, u.email, u.username, u.locale, u.password_hash, u.enabled,
	u.email_confirmed_at, u.signed_up_at, u.last_login_at, u.password_changed_at,
	u.password_failures, u.locked_at, u.password_reset_required, u.profile,
	(SELECT string_agg(r.role, {SEP}) FROM user_roles r WHERE r.user_id = u.id)`

// tokenCols selects a token in the order scanToken reads them.
const tokenCols = `hash, kind, user_id, email, created_at, expires_at, used_at, data` // #nosec G101 -- column names, not a credential

// messageCols selects an outbox message in the order scanMessage reads
// them.
const messageCols = `id, kind, to_addr, locale, vars, created_at, next_attempt_at,
	attempts, last_error, sent_at`

// userEmailCols selects an address in the order scanUserEmail reads them.
const userEmailCols = `id, user_id, email, is_primary, confirmed_at, created_at`

// identityCols selects a federated identity in the order scanIdentity
// reads them.
const identityCols = `id, user_id, provider, issuer, subject, email, linked_at, last_used_at`

// apiKeyCols selects an API key in the order scanAPIKey reads them.
const apiKeyCols = `id, name, key_hash, created_at, last_used_at` // #nosec G101 -- column names, not a credential

// mfaCols selects a second factor in the order scanMFAMethod reads them.
const mfaCols = `id, user_id, type, name, secret, last_step, created_at, last_used_at`

// sessionCols selects a session (table alias s) in the order scanSession
// reads them.
const sessionCols = `s.id, s.user_id, s.token_hash, s.created_at, s.last_seen_at,
	s.expires_at, s.remember, s.ip, s.user_agent, s.must_change_password`

var queries = [numQueries]string{ // #nosec G101 -- SQL text naming token and password columns, not credentials
	qUserByID: `SELECT ` + userCols + ` FROM users u WHERE u.id = ?`,
	// UserByEmail runs at every log-in: the primary address is a probe
	// into users' unique email_key, a confirmed secondary one a probe into
	// the partial unique index user_emails_taken (at most one row, so the
	// scalar subquery cannot fail), then one into users' primary key.
	qUserByEmail: `SELECT ` + userCols + ` FROM users u
		WHERE u.email_key = ?
			OR u.id = (SELECT e.user_id FROM user_emails e WHERE e.email_key = ? AND e.confirmed_at IS NOT NULL)`,
	qUserByUsername: `SELECT ` + userCols + ` FROM users u WHERE u.username_key = ?`,
	// SessionUser runs on every authenticated request: one statement, one
	// index probe on token_hash, one on users.id, one range on user_roles.
	qSessionUser: `SELECT ` + sessionCols + `, ` + userCols + `
		FROM sessions s JOIN users u ON u.id = s.user_id
		WHERE s.token_hash = ?`,
	qHit: `INSERT INTO throttle (key, window_start, count) VALUES (?, ?, 1)
		ON CONFLICT (key, window_start) DO UPDATE SET count = throttle.count + 1
		RETURNING count`,
	// Every failure at or past the threshold (re)sets locked_at, so a lock
	// that has run out is renewed by the next failure. lockAt is cast to
	// BIGINT because PostgreSQL would otherwise type it like the integer
	// column and reject "never" (math.MaxInt).
	qRecordFailure: `UPDATE users SET
			password_failures = password_failures + 1,
			locked_at = CASE WHEN CAST(? AS BIGINT) > 0 AND password_failures + 1 >= CAST(? AS BIGINT)
				THEN ? ELSE locked_at END
		WHERE id = ?
		RETURNING password_failures`,
	qRecordLogin: `UPDATE users SET
			last_login_at = ?, password_failures = 0, locked_at = NULL,
			password_hash = CASE WHEN ? = '' THEN password_hash ELSE ? END
		WHERE id = ?`,
	qInsertUser: `INSERT INTO users (id, email, email_key, username, username_key,
			password_hash, enabled, email_confirmed_at, signed_up_at, last_login_at,
			password_changed_at, password_failures, locked_at, password_reset_required, profile,
			locale)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
	qInsertRole: `INSERT INTO user_roles (user_id, role) VALUES (?, ?)
		ON CONFLICT (user_id, role) DO NOTHING`,
	qDeleteRole: `DELETE FROM user_roles WHERE user_id = ? AND role = ?`,
	qListRoles:  `SELECT role, count(*) FROM user_roles GROUP BY role ORDER BY role`,
	qUserExists: `SELECT 1 FROM users WHERE id = ?`,
	qDeleteUser: `DELETE FROM users WHERE id = ?`,
	qInsertSession: `INSERT INTO sessions (id, user_id, token_hash, created_at, last_seen_at,
			expires_at, remember, ip, user_agent, must_change_password)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
	qListSessions: `SELECT ` + sessionCols + ` FROM sessions s WHERE s.user_id = ?
		ORDER BY s.created_at DESC, s.id DESC`,
	qDeleteSession:      `DELETE FROM sessions WHERE id = ? AND user_id = ?`,
	qDeleteUserSessions: `DELETE FROM sessions WHERE user_id = ? AND id <> ?`,
	// Touches only move last_seen_at forward, so batches flushed late or by
	// several instances cannot make a session look idle.
	qTouchSession: `UPDATE sessions SET last_seen_at = ?
		WHERE id = ? AND (last_seen_at IS NULL OR last_seen_at < ?)`,
	qDeleteExpiredSessions: `DELETE FROM sessions
		WHERE expires_at <= ? OR (NOT remember AND last_seen_at < ?)`,
	qDeleteHits: `DELETE FROM throttle WHERE window_start < ?`,
	qLastHit:    `SELECT window_start, count FROM throttle WHERE key = ? ORDER BY window_start DESC LIMIT 1`,
	qInsertEvent: `INSERT INTO events (user_id, type, actor_kind, actor_id, actor_name, ip, user_agent, detail, at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
	qListEvents: `SELECT ` + eventCols + ` FROM events
		ORDER BY id DESC LIMIT ?`,
	qListUserEvents: `SELECT ` + eventCols + ` FROM events
		WHERE user_id = ? ORDER BY id DESC LIMIT ?`,
	qEventsSince: `SELECT ` + eventCols + ` FROM events
		WHERE at >= ? ORDER BY at, id LIMIT ?`,
	qDeleteEventsBefore:  `DELETE FROM events WHERE at < ?`,
	qCountUnsentMessages: `SELECT count(*) FROM outbox WHERE sent_at IS NULL`,
	qInsertToken:         `INSERT INTO tokens (` + tokenCols + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
	// One statement that both checks and spends the token: of two
	// concurrent uses, the second finds used_at set (PostgreSQL re-checks
	// the row after waiting for the first's lock; SQLite runs them one
	// after the other) and changes nothing.
	qUseToken: `UPDATE tokens SET used_at = ?
		WHERE hash = ? AND kind = ? AND used_at IS NULL AND expires_at > ?
		RETURNING ` + tokenCols,
	qDeleteTokens:        `DELETE FROM tokens WHERE user_id = ? AND kind = ? AND used_at IS NULL`,
	qDeleteExpiredTokens: `DELETE FROM tokens WHERE expires_at < ?`,
	qInsertMessage: `INSERT INTO outbox (kind, to_addr, locale, vars, created_at, next_attempt_at,
			attempts, last_error, sent_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
	// The claim moves next_attempt_at past the lease in the same statement
	// that picks the messages. On PostgreSQL the rows are locked as they
	// are picked and rows another claim has locked are skipped, so
	// concurrent claims get disjoint sets without waiting for each other;
	// SQLite has one writer at a time.
	qClaimMessages: `UPDATE outbox SET next_attempt_at = ?
		WHERE id IN (SELECT id FROM outbox
			WHERE sent_at IS NULL AND (next_attempt_at IS NULL OR next_attempt_at <= ?)
			ORDER BY id LIMIT ? {SKIP_LOCKED})
		RETURNING ` + messageCols,
	qClaimMessagesOfKind: `UPDATE outbox SET next_attempt_at = ?
		WHERE id IN (SELECT id FROM outbox
			WHERE sent_at IS NULL AND (next_attempt_at IS NULL OR next_attempt_at <= ?) AND kind = ?
			ORDER BY id LIMIT ? {SKIP_LOCKED})
		RETURNING ` + messageCols,
	qMarkMessageSent: `UPDATE outbox SET sent_at = ?, vars = NULL WHERE id = ?`,
	qMarkMessageFailed: `UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?
		WHERE id = ?`,
	qListMessages:       `SELECT ` + messageCols + ` FROM outbox ORDER BY id DESC LIMIT ?`,
	qListMessagesTo:     `SELECT ` + messageCols + ` FROM outbox WHERE to_addr = ? ORDER BY id DESC LIMIT ?`,
	qDeleteSentMessages: `DELETE FROM outbox WHERE sent_at IS NOT NULL AND sent_at < ?`,

	// Multi-statement changes to a user's addresses lock the user's row
	// first (PostgreSQL), so that two of them for one user run one after
	// the other and users.email stays equal to the primary row.
	qLockUser: `SELECT 1 FROM users WHERE id = ? {FOR_UPDATE}`,
	qInsertUserEmail: `INSERT INTO user_emails (` + userEmailCols + `, email_key)
		VALUES (?, ?, ?, ?, ?, ?, ?)`,
	// An unconfirmed secondary address does not take the address (it is
	// outside user_emails_taken), so AddUserEmail checks this first.
	qAddressTaken: `SELECT 1 FROM user_emails
		WHERE email_key = ? AND (is_primary OR confirmed_at IS NOT NULL) LIMIT 1`,
	qListUserEmails: `SELECT ` + userEmailCols + ` FROM user_emails WHERE user_id = ?
		ORDER BY is_primary DESC, created_at ASC NULLS FIRST, id ASC`,
	// The address's owner (primary or confirmed) if it has one, else the
	// newest of the users who added it.
	qUserEmailByAddress: `SELECT ` + userEmailCols + ` FROM user_emails WHERE email_key = ?
		ORDER BY (is_primary OR confirmed_at IS NOT NULL) DESC, created_at DESC NULLS LAST, id DESC
		LIMIT 1`,
	qUserEmailOf: `SELECT ` + userEmailCols + `, email_key FROM user_emails WHERE id = ? AND user_id = ?`,
	// Confirming puts the row into user_emails_taken: a unique violation
	// if another user has the address as primary or confirmed.
	qConfirmUserEmail: `UPDATE user_emails SET confirmed_at = ? WHERE id = ? AND user_id = ?
		RETURNING is_primary`,
	qConfirmUserPrimary: `UPDATE users SET email_confirmed_at = ? WHERE id = ?`,
	qDemotePrimary:      `UPDATE user_emails SET is_primary = FALSE WHERE user_id = ? AND is_primary`,
	qPromoteEmail:       `UPDATE user_emails SET is_primary = TRUE WHERE id = ?`,
	qSetUserAddress:     `UPDATE users SET email = ?, email_key = ?, email_confirmed_at = ? WHERE id = ?`,
	qUpdatePrimaryAddress: `UPDATE user_emails SET email = ?, email_key = ?
		WHERE user_id = ? AND is_primary`,
	qUpdatePrimaryConfirmed: `UPDATE user_emails SET confirmed_at = ? WHERE user_id = ? AND is_primary`,
	qDeleteOwnSecondary:     `DELETE FROM user_emails WHERE user_id = ? AND email_key = ? AND NOT is_primary`,
	qRemoveUserEmail:        `DELETE FROM user_emails WHERE id = ? AND user_id = ? AND NOT is_primary`,

	qListMFAMethods: `SELECT ` + mfaCols + ` FROM mfa_methods WHERE user_id = ?
		ORDER BY created_at ASC NULLS FIRST, id ASC`,
	qInsertMFAMethod:      `INSERT INTO mfa_methods (` + mfaCols + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
	qDeleteUserMFAMethods: `DELETE FROM mfa_methods WHERE user_id = ?`,
	qDeleteMFAMethod:      `DELETE FROM mfa_methods WHERE id = ? AND user_id = ?`,
	// One statement that both checks and records the step: of two
	// concurrent uses of one code, the second finds last_step moved
	// (PostgreSQL re-checks the row after waiting for the first's lock;
	// SQLite runs them one after the other) and changes nothing.
	qUseTOTPStep: `UPDATE mfa_methods SET last_step = ?, last_used_at = ?
		WHERE id = ? AND last_step < ?`,
	// Key rotation locks every method it reads, so that two rotations run
	// one after the other and the second reseals what the first wrote.
	qMFASecrets:          `SELECT id, secret FROM mfa_methods ORDER BY id {FOR_UPDATE}`,
	qSetMFASecret:        `UPDATE mfa_methods SET secret = ? WHERE id = ?`,
	qDeleteRecoveryCodes: `DELETE FROM recovery_codes WHERE user_id = ?`,
	qInsertRecoveryCode: `INSERT INTO recovery_codes (user_id, code_hash, created_at, used_at)
		VALUES (?, ?, ?, NULL) ON CONFLICT (user_id, code_hash) DO NOTHING`,
	// Checks and spends the code in one statement, like qUseToken.
	qUseRecoveryCode: `UPDATE recovery_codes SET used_at = ?
		WHERE user_id = ? AND code_hash = ? AND used_at IS NULL`,
	qCountRecoveryCodes: `SELECT count(*) FROM recovery_codes WHERE user_id = ? AND used_at IS NULL`,
	qFindToken: `SELECT ` + tokenCols + ` FROM tokens
		WHERE hash = ? AND kind = ? AND used_at IS NULL AND expires_at > ?`,

	qInsertIdentity: `INSERT INTO identities (` + identityCols + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
	// A probe into the unique index identities_issuer_subject; never by
	// e-mail address.
	qIdentityBySubject: `SELECT ` + identityCols + ` FROM identities WHERE issuer = ? AND subject = ?`,
	qIdentitiesOfUser: `SELECT ` + identityCols + ` FROM identities WHERE user_id = ?
		ORDER BY linked_at ASC NULLS FIRST, id ASC`,
	qTouchIdentity:  `UPDATE identities SET last_used_at = ? WHERE id = ?`,
	qDeleteIdentity: `DELETE FROM identities WHERE id = ? AND user_id = ?`,

	qInsertAPIKey: `INSERT INTO api_keys (` + apiKeyCols + `) VALUES (?, ?, ?, ?, ?)`,
	// A probe into the unique index api_keys_hash.
	qAPIKeyByHash: `SELECT ` + apiKeyCols + ` FROM api_keys WHERE key_hash = ?`,
	qListAPIKeys:  `SELECT ` + apiKeyCols + ` FROM api_keys ORDER BY name`,
	qTouchAPIKey:  `UPDATE api_keys SET last_used_at = ? WHERE id = ?`,
	qDeleteAPIKey: `DELETE FROM api_keys WHERE id = ?`,
}
