package usher

import (
	"context"
	"strconv"
	"strings"
	"time"
)

// Store keeps users, sessions, roles, throttle counters and the audit trail.
// sqlstore implements it over SQLite and PostgreSQL; storetest is the
// contract every implementation must pass.
//
// Store is made of role interfaces, one per concern (UserStore,
// SessionStore, ...), so that a fake or a second backend can implement one
// role, and code that needs one role can say so. storetest has a suite per
// role (storetest.RunUsers, storetest.RunSessions, ...).
//
// Lookups that find nothing return ErrNotFound. Creating or updating a user
// so that two users share an e-mail address or username (compared by
// FoldEmail and FoldUsername) returns ErrUserExists; the database enforces
// it, so it holds across processes.
type Store interface {
	UserStore
	SessionStore
	TokenStore
	OutboxStore
	EmailStore
	IdentityStore
	MFAStore
	EventStore
	ThrottleStore
	APIKeyStore

	// InTx runs fn in one transaction: everything fn does through tx is
	// kept, or nothing is if fn returns an error or the process dies.
	InTx(ctx context.Context, fn func(tx Store) error) error
}

// UserStore holds the accounts: one per user with its e-mail address,
// username, password hash, profile, log-in state (failures, lock, last
// log-in) and roles. Roles are part of the user: CreateUser stores them,
// every lookup returns them, UserQuery.Role filters by them and DeleteUser
// removes them, so they belong here rather than in an interface of
// their own.
type UserStore interface {
	// CreateUser inserts u (with its Roles and Profile). u.ID must be set.
	CreateUser(ctx context.Context, u *User) error

	// UserByID, UserByEmail and UserByUsername return a user with its
	// roles; e-mail and username are compared by FoldEmail and
	// FoldUsername.
	// UserByEmail finds a user by the primary address or by a confirmed
	// secondary address.
	UserByID(ctx context.Context, id string) (*User, error)
	UserByEmail(ctx context.Context, email string) (*User, error)
	UserByUsername(ctx context.Context, username string) (*User, error)

	// UpdateUser changes the fields set in up, atomically.
	UpdateUser(ctx context.Context, id string, up UserUpdate) error

	// ListUsers returns the users q selects, in q's order (by default
	// sign-up time, then ID).
	ListUsers(ctx context.Context, q UserQuery) ([]*User, error)

	// CountUsers returns how many users match q (ignoring Offset and Limit).
	CountUsers(ctx context.Context, q UserQuery) (int, error)

	// DeleteUser removes the user with their sessions, roles, addresses,
	// tokens, second factors and identities.
	DeleteUser(ctx context.Context, id string) error

	// RecordPasswordFailure adds one to the user's consecutive failures and
	// returns the new count; when the count reaches lockAt it also sets
	// LockedAt to now. It is atomic: concurrent failures are all counted.
	RecordPasswordFailure(ctx context.Context, id string, now time.Time, lockAt int) (int, error)

	// RecordLogin sets LastLoginAt to now, clears failures and LockedAt,
	// and, if newHash is not "", replaces the password hash (a rehash).
	RecordLogin(ctx context.Context, id string, now time.Time, newHash string) error

	// AddRole gives the user a role (no error if they have it);
	// RemoveRole takes it away (no error if they don't).
	AddRole(ctx context.Context, userID, role string) error
	RemoveRole(ctx context.Context, userID, role string) error

	// ListRoles returns every role some user has, by name.
	ListRoles(ctx context.Context) ([]Role, error)
}

// SessionStore holds the log-in sessions: one row per signed-in browser or
// client, found by the hash of its token.
type SessionStore interface {
	// CreateSession inserts s (s.ID and s.TokenHash set).
	CreateSession(ctx context.Context, s *Session) error

	// SessionUser returns the session whose token hash is tokenHash and its
	// user, in one round trip: it is on every authenticated request.
	SessionUser(ctx context.Context, tokenHash []byte) (*Session, *User, error)

	// ListSessions returns a user's sessions, newest first.
	ListSessions(ctx context.Context, userID string) ([]*Session, error)

	// DeleteSession removes one session of the user; ErrNotFound if the
	// user has no such session.
	DeleteSession(ctx context.Context, userID, sessionID string) error

	// DeleteUserSessions removes all the user's sessions but exceptID ("" =
	// none) and returns how many it removed.
	DeleteUserSessions(ctx context.Context, userID, exceptID string) (int, error)

	// TouchSessions sets LastSeenAt for many sessions at once (the Service
	// batches these so that reads do not each write).
	TouchSessions(ctx context.Context, seen map[string]time.Time) error

	// DeleteExpiredSessions removes sessions past ExpiresAt at now, and
	// sessions that are not Remember and were last seen before idleBefore.
	DeleteExpiredSessions(ctx context.Context, now, idleBefore time.Time) (int, error)
}

// TokenStore holds one-time tokens (their hashes, with the data their kind
// keeps): e-mailed links, invitations, pending log-ins, remembered devices
// and federated sign-ins' states.
type TokenStore interface {
	// CreateToken stores a one-time token (its hash). A token with the
	// same hash already stored (of any kind, used or not, even expired but
	// not yet deleted) is ErrUserExists, decided by the database, so that
	// of two instances storing one hash at once exactly one succeeds: the
	// SAML replay check (Service.SeenOnce) relies on it.
	CreateToken(ctx context.Context, t *Token) error

	// UseToken marks the unused, unexpired token of the kind with this hash
	// as used at now and returns it — atomically, so that of two
	// concurrent uses only one succeeds. Any other case (unknown, other
	// kind, used, expired) is ErrNotFound.
	UseToken(ctx context.Context, hash []byte, kind string, now time.Time) (*Token, error)

	// FindToken returns the unused, unexpired token of the kind with this
	// hash without using it (remembered devices, pending log-ins, the
	// check of an e-mailed link's page); ErrNotFound otherwise.
	FindToken(ctx context.Context, hash []byte, kind string, now time.Time) (*Token, error)

	// DeleteTokens removes the user's unused tokens of a kind (a new reset
	// link voids the older ones) and returns how many.
	DeleteTokens(ctx context.Context, userID, kind string) (int, error)

	// DeleteExpiredTokens removes tokens that expired before before.
	DeleteExpiredTokens(ctx context.Context, before time.Time) error
}

// OutboxStore holds the outbox: messages to send, claimed by workers and
// kept after sending for a while.
type OutboxStore interface {
	// EnqueueMessage adds m to the outbox (m.ID is set).
	EnqueueMessage(ctx context.Context, m *Message) error

	// ClaimMessages returns up to limit unsent messages whose
	// NextAttemptAt is at or before now, oldest first, and moves their
	// NextAttemptAt to now+lease, atomically: two processes claiming at
	// once never get the same message. A worker that dies leaves its
	// claims to be retried after the lease.
	ClaimMessages(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*Message, error)

	// ClaimMessagesOfKind is ClaimMessages for the messages of one kind
	// only (the worker resolves recorded asks even without a Mailer).
	ClaimMessagesOfKind(ctx context.Context, kind string, now time.Time, lease time.Duration, limit int) ([]*Message, error)

	// MarkMessageSent records delivery: SentAt = now, and Vars cleared.
	MarkMessageSent(ctx context.Context, id int64, now time.Time) error

	// MarkMessageFailed records a failed attempt: Attempts+1, LastError,
	// and the next attempt time.
	MarkMessageFailed(ctx context.Context, id int64, errText string, next time.Time) error

	// ListMessages returns the newest messages to an address ("" = all),
	// at most limit, newest first (for admins and tests).
	ListMessages(ctx context.Context, to string, limit int) ([]*Message, error)

	// DeleteSentMessages removes messages sent before before.
	DeleteSentMessages(ctx context.Context, before time.Time) error

	// CountUnsentMessages returns how many messages are not sent yet (the
	// outbox's depth, for monitoring).
	CountUnsentMessages(ctx context.Context) (int, error)
}

// EmailStore holds the users' e-mail addresses: the primary one (also
// User.Email) and secondary ones, each confirmed or not.
type EmailStore interface {
	// ListUserEmails returns the user's addresses, the primary first, then
	// by creation.
	ListUserEmails(ctx context.Context, userID string) ([]*UserEmail, error)

	// AddUserEmail adds a secondary address (e.ID set by the caller). It
	// returns ErrUserExists when the address is the primary or a confirmed
	// address of any user (including this one) — or an unconfirmed
	// address of this same user.
	AddUserEmail(ctx context.Context, e *UserEmail) error

	// UserEmailByAddress returns the address record, of any user,
	// primary or not, confirmed or not (the newest if several users have
	// it unconfirmed), compared like FoldEmail; ErrNotFound if none.
	UserEmailByAddress(ctx context.Context, email string) (*UserEmail, error)

	// ConfirmUserEmail marks one of the user's addresses confirmed at at
	// (for the primary, User.EmailConfirmedAt too). ErrUserExists if
	// another user has meanwhile confirmed the same address.
	ConfirmUserEmail(ctx context.Context, userID, emailID string, at time.Time) error

	// SetPrimaryEmail makes one of the user's addresses the primary one:
	// User.Email and User.EmailConfirmedAt take its values, and the old
	// primary becomes a secondary address.
	SetPrimaryEmail(ctx context.Context, userID, emailID string) error

	// RemoveUserEmail removes a secondary address of the user; ErrNotFound
	// if the user has no such secondary address (the primary cannot be
	// removed).
	RemoveUserEmail(ctx context.Context, userID, emailID string) error
}

// IdentityStore holds the users' federated identities: their accounts at
// outside identity providers, each named by (issuer, subject). A user is
// found by that pair, never by e-mail address.
type IdentityStore interface {
	// CreateIdentity links an identity to its user (id.ID set by the
	// caller). It returns ErrUserExists when the (Issuer, Subject) pair is
	// already linked, to this user or another: the database enforces it,
	// so it holds across processes. ErrNotFound if there is no such user.
	CreateIdentity(ctx context.Context, id *Identity) error

	// IdentityBySubject returns the identity with this issuer and subject,
	// both compared exactly; ErrNotFound if none.
	IdentityBySubject(ctx context.Context, issuer, subject string) (*Identity, error)

	// IdentitiesOfUser returns the user's identities, oldest link first
	// (none for an unknown user). In a transaction (InTx) the list holds
	// until it ends: another transaction cannot change the user's
	// identities meanwhile (sqlstore locks the user's row first).
	IdentitiesOfUser(ctx context.Context, userID string) ([]*Identity, error)

	// TouchIdentity sets the identity's LastUsedAt to at; ErrNotFound if
	// there is no such identity.
	TouchIdentity(ctx context.Context, id string, at time.Time) error

	// DeleteIdentity unlinks one of the user's identities; ErrNotFound if
	// the user has no such identity. DeleteUser removes them all.
	DeleteIdentity(ctx context.Context, userID, id string) error
}

// MFAStore holds the users' second factors: TOTP apps and security keys
// (with their sealed secrets) and recovery codes (their hashes).
type MFAStore interface {
	// ListMFAMethods returns the user's second factors, oldest first.
	ListMFAMethods(ctx context.Context, userID string) ([]*MFAMethod, error)

	// AddMFAMethod stores a second factor (m.ID set by the caller); with
	// clearExisting, the user's other methods are removed in the same
	// transaction (Anvil's add_mfa_method(clear_existing=True)).
	AddMFAMethod(ctx context.Context, m *MFAMethod, clearExisting bool) error

	// DeleteMFAMethod removes one of the user's methods; ErrNotFound if
	// the user has no such method.
	DeleteMFAMethod(ctx context.Context, userID, methodID string) error

	// UseTOTPStep records that the method accepted a code of time step
	// step at now — atomically, and only if step is after LastStep;
	// otherwise (a replayed code) ErrNotFound.
	UseTOTPStep(ctx context.Context, methodID string, step int64, now time.Time) error

	// ReplaceMFASecrets rewrites every method's sealed secret (key
	// rotation): reseal gets the stored bytes and returns the new ones. It
	// returns how many it rewrote.
	ReplaceMFASecrets(ctx context.Context, reseal func(old []byte) ([]byte, error)) (int, error)

	// SetRecoveryCodes replaces the user's recovery codes by these
	// hashes (SHA-256 of each code).
	SetRecoveryCodes(ctx context.Context, userID string, hashes [][]byte, now time.Time) error

	// UseRecoveryCode marks the user's unused code with this hash as used
	// at now, atomically; ErrNotFound if there is none.
	UseRecoveryCode(ctx context.Context, userID string, hash []byte, now time.Time) error

	// CountRecoveryCodes returns how many unused codes the user has.
	CountRecoveryCodes(ctx context.Context, userID string) (int, error)
}

// EventStore holds the audit log: events about users, kept when the user
// is deleted. It is append-only but for DeleteEventsBefore (retention).
type EventStore interface {
	// AddEvent appends to the audit log (e.ID is set); ListEvents returns
	// a user's events ("" = all), newest first, at most limit.
	AddEvent(ctx context.Context, e *Event) error
	ListEvents(ctx context.Context, userID string, limit int) ([]*Event, error)

	// QueryEvents returns the events matching q, newest first (by ID),
	// at most q.Limit (0 means 100): AuditLog's query, with keyset paging
	// by q.Before.
	QueryEvents(ctx context.Context, q AuditQuery) ([]*Event, error)

	// DeleteEventsBefore removes events whose At is before before and
	// returns how many (the retention of the audit log).
	DeleteEventsBefore(ctx context.Context, before time.Time) (int, error)

	// EventsSince returns events whose At is at or after since, oldest
	// first (by At, then ID), at most limit. Services sharing a database
	// follow each other's changes through it.
	EventsSince(ctx context.Context, since time.Time, limit int) ([]*Event, error)
}

// ThrottleStore holds the rate-limit counters: a count per key and fixed
// time window.
type ThrottleStore interface {
	// Hit counts one event for key in the fixed window that starts at
	// window, and returns the count so far in that window. Several
	// processes sharing the database share the counts.
	Hit(ctx context.Context, key string, window time.Time) (int, error)

	// LastHit returns the newest window of key and its count;
	// ErrNotFound if key has none.
	LastHit(ctx context.Context, key string) (window time.Time, count int, err error)

	// DeleteHits removes counters of windows that started before before.
	DeleteHits(ctx context.Context, before time.Time) error
}

// APIKeyStore holds the admin API's keys: their names and hashes, never
// the keys.
type APIKeyStore interface {
	// CreateAPIKey stores k (k.ID set by the caller); ErrUserExists if a
	// key has the name already (the database enforces it).
	CreateAPIKey(ctx context.Context, k *APIKey) error

	// APIKeyByHash returns the key whose hash is hash; ErrNotFound if none.
	APIKeyByHash(ctx context.Context, hash []byte) (*APIKey, error)

	// ListAPIKeys returns every key, by name.
	ListAPIKeys(ctx context.Context) ([]*APIKey, error)

	// TouchAPIKey sets the key's LastUsedAt to at; ErrNotFound if there
	// is no such key.
	TouchAPIKey(ctx context.Context, id string, at time.Time) error

	// DeleteAPIKey removes a key; ErrNotFound if there is no such key.
	DeleteAPIKey(ctx context.Context, id string) error
}

// UserUpdate names the fields UpdateUser changes; nil fields stay as they
// are.
type UserUpdate struct {
	Email                 *string
	Username              *string
	PasswordHash          *string
	PasswordChangedAt     *time.Time
	Enabled               *bool
	EmailConfirmedAt      *time.Time // a zero time un-confirms
	PasswordResetRequired *bool
	Locale                *string           // "" clears the choice
	Profile               map[string]string // replaces the whole profile when non-nil
	// LastLoginAt records a log-in without touching the failure count or
	// the lock (a federated log-in, which is no password's success).
	LastLoginAt *time.Time
	// ClearFailures sets PasswordFailures to 0 and LockedAt to zero.
	ClearFailures bool
}

// UserQuery selects users for ListUsers and CountUsers. The zero value
// selects everyone, by sign-up time, 100 at a time.
type UserQuery struct {
	// Search matches a substring of the e-mail address or username
	// keys, folded like an address (FoldEmail: ASCII case ignored;
	// "" = all). Field and Exact change what it matches.
	Search string
	// Field names what Search looks at: "" for the e-mail address or the
	// username, SearchEmail or SearchUsername for one of them, or the
	// name of a profile field (Config.ProfileFields), whose value is
	// compared as stored (profile values are not folded).
	Field string
	// Exact makes Search match the whole value (folded like the field,
	// as UserByEmail and UserByUsername compare) instead of a substring.
	// An exact search is an index lookup; a substring search reads every
	// user (see docs/benchmarks.md).
	Exact bool

	Role string // only users with this role ("" = any)
	// Enabled, Locked, Confirmed and HasMFA keep only users for whom the
	// answer is the one given (nil = either). Locked means a lock-out
	// was set and not lifted since (LockedAt is set; it may have run out
	// by LockoutDuration and is lifted at the next log-in). Confirmed is
	// the primary address's confirmation. HasMFA means at least one
	// second factor (an app or a security key).
	Enabled   *bool
	Locked    *bool
	Confirmed *bool
	HasMFA    *bool
	// Provider keeps only users with an identity linked at this
	// provider (Identity.Provider; "" = any).
	Provider string

	// Sort orders the list: SortSignedUp (the default: sign-up time,
	// unknown first) or SortLastLogin (last log-in, never first), then
	// by ID; Desc reverses the whole order.
	Sort string
	Desc bool
	// After continues a listing after the user whose cursor it is
	// (UserQuery.Cursor of the previous page's last user, with the same
	// Sort and Desc): keyset paging, so that a page is not shifted by
	// users who sign up or are deleted meanwhile. Offset is ignored
	// with After. A cursor that does not parse gives a *ValidationError
	// (field "after").
	After  string
	Offset int
	Limit  int // 0 means 100
}

// What UserQuery.Field names besides a profile field.
const (
	SearchEmail    = "email"
	SearchUsername = "username"
)

// UserQuery.Sort's orders.
const (
	SortSignedUp  = "signed_up"
	SortLastLogin = "last_login"
)

// Cursor returns the keyset cursor of u in q's order, for UserQuery.After:
// the sort time (microseconds since the epoch, "-" for none) and the ID.
func (q UserQuery) Cursor(u *User) string {
	t := u.SignedUpAt
	if q.Sort == SortLastLogin {
		t = u.LastLoginAt
	}
	if t.IsZero() {
		return "-." + u.ID
	}
	return strconv.FormatInt(t.UnixMicro(), 10) + "." + u.ID
}

// ParseCursor reads q.After: the sort time (zero for none) and the ID.
// Stores use it; ok is false for a cursor UserQuery.Cursor did not make.
func (q UserQuery) ParseCursor() (t time.Time, id string, ok bool) {
	ts, id, found := strings.Cut(q.After, ".")
	if !found || id == "" {
		return time.Time{}, "", false
	}
	if ts == "-" {
		return time.Time{}, id, true
	}
	us, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return time.Time{}, "", false
	}
	return time.UnixMicro(us).UTC(), id, true
}

// check validates q's Field, Sort and After against cfg.
func (q UserQuery) check(cfg *Config) error {
	bad := map[string]string{}
	switch q.Field {
	case "", SearchEmail, SearchUsername:
	default:
		known := false
		for _, f := range cfg.ProfileFields {
			known = known || f.Name == q.Field
		}
		if !known {
			bad["field"] = MsgInvalidFormat
		}
	}
	if q.Sort != "" && q.Sort != SortSignedUp && q.Sort != SortLastLogin {
		bad["sort"] = MsgInvalidFormat
	}
	if _, _, ok := q.ParseCursor(); q.After != "" && !ok {
		bad["after"] = MsgInvalidFormat
	}
	if len(bad) > 0 {
		return &ValidationError{Fields: bad}
	}
	return nil
}
