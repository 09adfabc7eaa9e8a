package usher

import "context"

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
	// MailIdentityLinked and MailIdentityUnlinked tell the account's
	// address that a federated identity was linked or unlinked.
	MailIdentityLinked   = "identity_linked"
	MailIdentityUnlinked = "identity_unlinked"
)

// Mailer renders and delivers one e-mail of the outbox (package mail:
// SMTP, or the development mailbox). An error means "not delivered, try
// again later".
type Mailer interface {
	Send(ctx context.Context, m *Message) error
}
