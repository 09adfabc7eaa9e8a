package usher

import (
	"errors"
	"sort"
	"strings"
)

// kind is an error kind with a parent, like fs.ErrNotExist: errors.Is(err,
// parent) holds for every kind below it.
type kind struct {
	msg    string
	parent error
}

func (k *kind) Error() string { return k.msg }
func (k *kind) Unwrap() error { return k.parent }

// The error kinds of the Go API. The JSON API uses the same names (see
// docs/design.md); web maps each to its status code in one table.
var (
	// ErrAuthenticationFailed means wrong credentials. The kinds below it,
	// up to ErrLoginRequired, unwrap to it, so errors.Is(err,
	// ErrAuthenticationFailed) matches every refused log-in and every
	// request that is not logged in.
	ErrAuthenticationFailed = errors.New("usher: authentication failed")
	// ErrLoginRequired means the request brought no credentials, or a
	// session that has ended: nothing was entered that could be wrong.
	ErrLoginRequired error = &kind{"usher: login required", ErrAuthenticationFailed}
	// ErrEmailNotConfirmed means the password was right but the address
	// must be confirmed first.
	ErrEmailNotConfirmed error = &kind{"usher: email not confirmed", ErrAuthenticationFailed}
	// ErrAccountIsNotEnabled means the password was right but the account
	// is disabled or awaits approval.
	ErrAccountIsNotEnabled error = &kind{"usher: account is not enabled", ErrAuthenticationFailed}
	// ErrMFARequired means the first factor was right and a second factor
	// is missing or wrong.
	ErrMFARequired error = &kind{"usher: second factor required", ErrAuthenticationFailed}
	// ErrTooManyPasswordFailures means the account is locked out after too
	// many consecutive failures, whatever the password given.
	ErrTooManyPasswordFailures error = &kind{"usher: too many password failures", ErrAuthenticationFailed}
	// ErrPasswordResetRequested means an administrator requires this user to
	// set a new password before going on.
	ErrPasswordResetRequested = errors.New("usher: password reset requested")
	// ErrUserExists means the e-mail address or username is taken.
	ErrUserExists = errors.New("usher: user exists")
	// ErrPasswordNotAcceptable means a new password fails the policy.
	ErrPasswordNotAcceptable = errors.New("usher: password not acceptable")
	// ErrInvalidToken means a link or token is unknown, used or expired.
	ErrInvalidToken = errors.New("usher: invalid token")
	// ErrSignupDisabled means self sign-up is turned off.
	ErrSignupDisabled = errors.New("usher: signup disabled")
	// ErrValidation means a field is missing or malformed; the error is a
	// *ValidationError naming each field.
	ErrValidation = errors.New("usher: validation failed")
	// ErrRateLimited means the caller is throttled; the error is a
	// *RateLimitError carrying how long to wait.
	ErrRateLimited = errors.New("usher: rate limited")
	// ErrForbidden means the user may not do this: a setting or a role they
	// lack forbids it.
	ErrForbidden = errors.New("usher: forbidden")
	// ErrReauthenticationRequired means the action is dangerous enough
	// to need a recent log-in (an admin deleting a user or changing
	// roles): log in again and retry. It unwraps to ErrForbidden.
	ErrReauthenticationRequired error = &kind{"usher: reauthentication required", ErrForbidden}

	// ErrUnavailable means the database cannot be reached or cannot take
	// writes just now (PostgreSQL restarting, a connection refused or
	// cut, a SQLite disk full): nothing the caller did wrong, and worth
	// trying again in a few seconds. Stores wrap such errors with it.
	ErrUnavailable = errors.New("usher: service unavailable")
	// ErrNotFound means the user, session or role asked for does not exist.
	// The Go API returns it to server code only; log-in never reveals it.
	ErrNotFound = errors.New("usher: not found")
)

// Message IDs: the catalogue keys for human text. The web package turns them
// into text in the request's language.
const (
	MsgRequired          = "field_required"
	MsgTooLong           = "field_too_long"
	MsgInvalidFormat     = "field_invalid_format"
	MsgInvalidEmail      = "email_invalid"
	MsgInvalidUsername   = "username_invalid"
	MsgUnknownField      = "field_unknown"
	MsgPasswordTooShort  = "password_too_short"
	MsgPasswordTooLong   = "password_too_long"
	MsgPasswordCommon    = "password_common"
	MsgPasswordWeak      = "password_weak"
	MsgPasswordMismatch  = "password_mismatch"
	MsgPasswordSameEmail = "password_contains_identity"
	MsgMFACodeWrong      = "mfa_code_wrong"
	// The reasons a second factor or a passkey was refused at log-in
	// (MFARequiredError.Reason, LoginError.Reason).
	MsgMFACodeUsed       = "mfa_code_used"
	MsgRecoveryCodeWrong = "mfa_recovery_code_wrong"
	MsgMFAKeyRefused     = "mfa_key_refused"
	MsgPasskeyRefused    = "passkey_refused"
)

// ValidationError reports input that was missing or malformed, field by
// field. It unwraps to ErrValidation. Fields maps a field name to a message
// ID (one of the Msg constants).
//
// When the new password fails the policy as well as other fields fail
// (a sign-up reports every problem at once), Password says why, with its
// bounds, and Fields["password"] is its Reason; the error then also
// unwraps to Password, so errors.As finds the *PasswordError and errors.Is
// matches ErrPasswordNotAcceptable.
type ValidationError struct {
	Fields   map[string]string
	Password *PasswordError
}

func (e *ValidationError) Error() string {
	names := make([]string, 0, len(e.Fields))
	for f, m := range e.Fields {
		names = append(names, f+": "+m)
	}
	sort.Strings(names)
	return "usher: validation failed (" + strings.Join(names, ", ") + ")"
}

// Unwrap returns ErrValidation, and Password when it is set.
func (e *ValidationError) Unwrap() []error {
	if e.Password != nil {
		return []error{ErrValidation, e.Password}
	}
	return []error{ErrValidation}
}

// add records a problem with field, keeping the first one reported.
func (e *ValidationError) add(field, msg string) {
	if e.Fields == nil {
		e.Fields = map[string]string{}
	}
	if _, ok := e.Fields[field]; !ok {
		e.Fields[field] = msg
	}
}

// addPassword records the password policy's refusal pe on the field
// "password".
func (e *ValidationError) addPassword(pe *PasswordError) {
	if _, ok := e.Fields["password"]; ok {
		return // the first problem reported stays
	}
	e.add("password", pe.Reason)
	e.Password = pe
}

// orNil returns e if any field was reported, else nil. A password the
// policy refuses, when nothing else is wrong, is its *PasswordError alone,
// as the password checks of other flows return it.
func (e *ValidationError) orNil() error {
	switch {
	case len(e.Fields) == 0:
		return nil
	case len(e.Fields) == 1 && e.Password != nil:
		return e.Password
	}
	return e
}

// PasswordError says why a password is not acceptable. It unwraps to
// ErrPasswordNotAcceptable; Reason is a message ID (MsgPassword...), and Min
// or Max give the bound for the too-short and too-long reasons.
type PasswordError struct {
	Reason string
	Min    int
	Max    int
}

func (e *PasswordError) Error() string { return "usher: password not acceptable: " + e.Reason }

// Unwrap returns ErrPasswordNotAcceptable.
func (e *PasswordError) Unwrap() error { return ErrPasswordNotAcceptable }

// Args returns the arguments of the message Reason names, for its verbs:
// Min for MsgPasswordTooShort ("%[1]d characters or more"), Min and Max
// for MsgPasswordTooLong ("at most %[2]d characters"), none for the other
// reasons, whose messages have no verbs. Passing a message arguments it
// has no verbs for appends fmt's "%!(EXTRA ...)" to the text.
func (e *PasswordError) Args() []any {
	switch e.Reason {
	case MsgPasswordTooShort:
		return []any{e.Min}
	case MsgPasswordTooLong:
		return []any{e.Min, e.Max}
	}
	return nil
}

// RateLimitError reports throttling. It unwraps to ErrRateLimited.
type RateLimitError struct {
	RetryAfter int // seconds
}

func (e *RateLimitError) Error() string { return "usher: rate limited" }

// Unwrap returns ErrRateLimited.
func (e *RateLimitError) Unwrap() error { return ErrRateLimited }

// LoginError is an ErrAuthenticationFailed that says why, where saying so
// tells nothing about any account: a passkey that was not accepted
// (Reason MsgPasskeyRefused) involved no password, so "wrong password"
// would mislead. It unwraps to ErrAuthenticationFailed.
type LoginError struct {
	Reason string // a message ID
}

func (e *LoginError) Error() string { return ErrAuthenticationFailed.Error() + ": " + e.Reason }

// Unwrap returns ErrAuthenticationFailed.
func (e *LoginError) Unwrap() error { return ErrAuthenticationFailed }
