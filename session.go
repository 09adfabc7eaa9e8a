package usher

import "time"

// Session is a log-in. The token that proves it is 256 random bits given to
// the client once; the Store keeps only its SHA-256 (TokenHash), so a copy
// of the database cannot be used to log in.
type Session struct {
	ID        string // public handle for listing and revoking; not a secret
	UserID    string
	TokenHash []byte
	// Token is set only on the Session returned by a log-in; it is never
	// stored.
	Token string

	CreatedAt  time.Time
	LastSeenAt time.Time
	// ExpiresAt is the absolute end: RememberDuration after log-in for a
	// remembered session, SessionLifetime otherwise.
	ExpiresAt time.Time
	// Remember marks a remember-me session (persistent cookie, no idle
	// timeout). Other sessions also end after IdleTimeout without use.
	Remember  bool
	IP        string
	UserAgent string
	// MustChangePassword marks a session that may only set a new password
	// (an administrator required it, see ErrPasswordResetRequested).
	MustChangePassword bool
	// DeviceToken is set only on the Session of a log-in that asked to
	// remember the device for the second factor: the client keeps it and
	// sends it with later log-ins. It is never stored.
	DeviceToken string
}
