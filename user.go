package usher

import (
	"crypto/rand"
	"slices"
	"strings"
	"time"
)

// User is an account. PasswordHash is never shown outside the Store and the
// password check; the JSON API and the CLI print the other fields.
type User struct {
	ID       string
	Email    string // as the user typed it, normalized; compared by FoldEmail
	Username string // optional; compared by FoldUsername
	// Locale is the user's language for pages and e-mails, a BCP 47 tag
	// such as "de", "fa" or "pt-BR"; "" = not chosen (the default
	// language applies).
	Locale string

	PasswordHash string

	// Enabled is false when an administrator disabled the account or it
	// awaits approval. Log-in reports ErrAccountIsNotEnabled after a
	// correct password.
	Enabled bool
	// EmailConfirmedAt is when the address was confirmed; zero if never.
	EmailConfirmedAt time.Time
	SignedUpAt       time.Time
	LastLoginAt      time.Time // zero before the first log-in
	// PasswordChangedAt is when the password was last set.
	PasswordChangedAt time.Time

	// PasswordFailures counts consecutive wrong passwords; LockedAt is when
	// the count reached the limit (zero if not locked).
	PasswordFailures int
	LockedAt         time.Time
	// PasswordResetRequired is set by an administrator: the next log-in
	// succeeds only far enough to set a new password.
	PasswordResetRequired bool

	Roles   []string          // sorted, unique
	Profile map[string]string // custom fields declared in Config.ProfileFields
}

// EmailConfirmed reports whether the user's address is confirmed.
func (u *User) EmailConfirmed() bool { return !u.EmailConfirmedAt.IsZero() }

// HasRole reports whether the user has the named role.
func (u *User) HasRole(name string) bool { return slices.Contains(u.Roles, name) }

// NewID returns a new random identifier (128 bits, base32 text).
func NewID() string { return strings.ToLower(rand.Text()) }

// Role is a named permission, as in Flask-User's Role model.
type Role struct {
	Name  string
	Users int // how many users have it
}

// ProfileField declares a custom user field (Anvil's extra Users columns,
// Flask-User's extra User fields), checked at sign-up and on update.
type ProfileField struct {
	Name      string `toml:"name" json:"name"`             // the key in User.Profile and in forms and JSON
	Label     string `toml:"label" json:"label"`           // shown on pages; "" means Name
	Type      string `toml:"type" json:"type"`             // "text" (default), "int", "bool", "email" or "url"
	Required  bool   `toml:"required" json:"required"`     // must be given at sign-up
	MaxLength int    `toml:"max_length" json:"max_length"` // 0 means 200
	Pattern   string `toml:"pattern" json:"pattern"`       // optional regular expression the whole value must match
}
