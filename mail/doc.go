// Package mail renders Usher's e-mails from templates and delivers them
// over SMTP (github.com/wneessen/go-mail), or, when no SMTP server is
// configured, keeps them in a development mailbox and logs their links so
// that a fresh install works with no set-up. *Mailer implements
// usher.Mailer; the Service's outbox worker calls its Send.
//
// # Templates
//
// The templates follow Flask-User's layout. Three base files hold what
// every e-mail shares:
//
//	emails/base_subject.txt    text/template: "<app name> - " + block "subject"
//	emails/base_message.txt    text/template: the text part
//	emails/base_message.html   html/template: the HTML part
//
// and each kind of e-mail has three files that extend them by defining
// blocks:
//
//	emails/<kind>_subject.txt    defines "subject"
//	emails/<kind>_message.txt    defines "message" and "note"
//	emails/<kind>_message.html   defines "message", "action" (button label) and "note"
//
// A kind may also redefine "greeting" and "signature". A kind's file with
// content outside {{define}} stands alone and does not extend its base.
// The base files provide "expires" (the link's lifetime) and "not_you"
// (what to do after a change one did not make). Options.Templates
// replaces any single file; the others stay embedded.
//
// Every user-visible sentence is written once per template, through T:
// {{T "Hello %s," .username}} looks the English sentence up with
// Options.Translate for the message's Locale (the English text is the
// message ID) and then formats it with fmt.Sprintf; in a right-to-left
// language each string argument is put in a Unicode isolate (U+2068 …
// U+2069), so that an address keeps its order inside the sentence. The subject is made
// one line, and every variable has its line breaks and control characters
// replaced by spaces, so no variable can add a header.
//
// # Variables
//
// The message's Vars, plus:
//
//	app_name    Options.AppName (always; Vars cannot change it)
//	base_url    Options.BaseURL
//	locale      Message.Locale
//	dir         "rtl" when Options.RTL says Locale is written right to left, else "ltr"
//	email       the recipient's address, unless Vars set it
//
// A link variable that is a path is made absolute against base_url. Per
// kind (required ones must be non-empty, or Render fails with
// ErrInvalidMessage):
//
//	confirm_email          link (required), email, username, expires_in
//	registered             email, username; link (optional: where to sign in)
//	reset_password         link (required), email, username, expires_in
//	password_changed       email, username; link (optional: where to reset the password)
//	username_changed       username (required: the new one), old_username, email; link (optional)
//	login_link             link (required), email, username, expires_in
//	invite_user            link (required), email, expires_in, inviter (who invited)
//	mfa_reset              link (required), email, username, expires_in
//	email_added            new_email (required), email, username; link (optional)
//	primary_email_changed  new_email (required), old_email, email, username; link (optional)
//	identity_linked        provider (required: its label), identity_email, email, username; link (optional)
//	identity_unlinked      provider (required: its label), identity_email, email, username; link (optional)
//
// expires_in is the link's lifetime as usher writes it, "1 hour", "15
// minutes", "21 days"; Render says it in the recipient's language with
// Options.Plural, in the plural form the language gives the count ("21
// день", "5 дней").
//
// # Development mailbox
//
// With Options.SMTPURL empty, Send keeps each message in a *Mailbox (the
// last 200, in memory) and logs its links at Info level. The Mailbox is
// an http.Handler listing the messages; the caller decides where it is
// mounted and who may see it (LocalRequest helps).
package mail
