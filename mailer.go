package usher

import (
	"context"
	"time"
)

// Message is an item of the outbox: something to deliver, written in the
// same transaction as the change that causes it and delivered by the
// Service's outbox worker, with retries, so that nothing is lost when a
// process dies or the server it goes to is down.
//
// Kind says what it is and how it is delivered: an e-mail, through the
// Mailer, has the kind of its template (one of the Mail... constants) and
// Vars the template's variables (link, email, username, app_name, ...);
// "webhook" is an event for a webhook, through the WebhookSender, To
// being its URL; "mail_request" is a recorded "send me a link" ask, which
// the worker answers itself. Vars are cleared once the item is delivered:
// a link must not outlive its purpose in the database.
type Message struct {
	ID     int64
	Kind   string
	To     string
	Locale string // the recipient's language ("" = the default)
	Vars   map[string]string

	CreatedAt     time.Time
	NextAttemptAt time.Time // when the worker may try (again)
	Attempts      int
	LastError     string
	SentAt        time.Time // zero until sent
}

// The kinds of e-mail Usher sends; each has a template of the same name.
const (
	MailConfirmEmail    = "confirm_email"
	MailRegistered      = "registered"
	MailResetPassword   = "reset_password"
	MailPasswordChanged = "password_changed"
	MailUsernameChanged = "username_changed"
	MailLoginLink       = "login_link"
	MailInvitation      = "invite_user"
	MailMFAReset        = "mfa_reset"
	MailEmailAdded      = "email_added"
	MailPrimaryChanged  = "primary_email_changed"
)

// Mailer renders and delivers one e-mail of the outbox (package mail:
// SMTP, or the development mailbox). An error means "not delivered, try
// again later".
type Mailer interface {
	Send(ctx context.Context, m *Message) error
}

// Token is a one-time token behind an e-mailed link: confirm an address,
// reset a password, log in, accept an invitation. The Store keeps only the
// SHA-256 of the token; the token itself exists only in the e-mail.
type Token struct {
	Hash      []byte
	Kind      string // one of the Token... constants
	UserID    string // "" for an invitation to someone without an account
	Email     string // the address the link was sent to
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    time.Time // zero until used
}

// Token kinds.
const (
	TokenConfirmEmail  = "confirm_email"
	TokenResetPassword = "reset_password"
	TokenLoginLink     = "login_link"
	TokenInvitation    = "invitation"
	TokenMFAReset      = "mfa_reset"
)

// UserEmail is one of a user's e-mail addresses (Flask-User's
// USER_ENABLE_MULTIPLE_EMAILS). Every user has one primary address — the
// same as User.Email — and may add others, which count for log-in once
// confirmed.
type UserEmail struct {
	ID          string
	UserID      string
	Email       string
	Primary     bool
	ConfirmedAt time.Time // zero until confirmed
	CreatedAt   time.Time
}
