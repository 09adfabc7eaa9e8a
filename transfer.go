package usher

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// ImportedUser is an account brought in from another system or from an
// earlier export (usher import; package transfer reads the files).
type ImportedUser struct {
	// User is the account as it was: ID ("" = give it a new one),
	// Email, Username, PasswordHash as stored there (any format the
	// PasswordHasher verifies; it is rehashed at the first log-in), the
	// times, Enabled, PasswordFailures, Locale, Roles and Profile.
	User User
	// Emails are the user's secondary addresses.
	Emails []UserEmail
	// Identities are the user's federated identities.
	Identities []Identity
	// MFA are the user's second factors, their Secret sealed as stored
	// (by an instance with the same secret key).
	MFA []MFAMethod
}

// ErrImportConflict means an imported row names something that belongs
// to another account: its username, one of its secondary addresses, or
// one of its federated identities. It unwraps to ErrUserExists.
var ErrImportConflict error = &kind{"usher: import conflicts with another account", ErrUserExists}

// ErrImportMFA means an imported row has second factors that this
// Service cannot keep: it has no Sealer (no secret_key), or their secrets
// were sealed under another secret key.
var ErrImportMFA = errors.New("usher: the second factors' secrets do not open with this server's secret_key (import with the secret_key of the server that exported them)")

// errDryRun rolls back a dry run's transaction.
var errDryRun = errors.New("usher: dry run")

// ImportUser creates the account in (with its addresses, identities and
// second factors) in one transaction: all of it or nothing. An account
// that already has in's ID or e-mail address is left as it is and
// ImportUser returns created=false: importing the same file twice
// creates nothing new, and a file never overwrites what changed here
// since. With dryRun every check and every write is made, then rolled
// back.
//
// It returns a *ValidationError for a malformed field (an unknown hash
// format is one on "password_hash"), ErrImportConflict when the username,
// a secondary address or an identity is another account's, and
// ErrImportMFA when a second factor's secret does not open with this
// Service's Sealer.
func (s *Service) ImportUser(ctx context.Context, in *ImportedUser, dryRun bool) (created bool, err error) {
	u, err := s.checkImport(in)
	if err != nil {
		return false, err
	}
	err = s.inTx(ctx, func(ctx context.Context, tx Store) error {
		if u.ID != "" {
			if _, err := tx.UserByID(ctx, u.ID); err == nil {
				return nil
			} else if !isNotFound(err) {
				return err
			}
		} else {
			u.ID = NewID()
		}
		if _, err := tx.UserByEmail(ctx, u.Email); err == nil {
			return nil
		} else if !isNotFound(err) {
			return err
		}
		if err := tx.CreateUser(ctx, u); err != nil {
			if errors.Is(err, ErrUserExists) {
				return fmt.Errorf("%w: the username %q is taken", ErrImportConflict, u.Username)
			}
			return err
		}
		for _, e := range in.Emails {
			e.ID, e.UserID, e.Primary = NewID(), u.ID, false
			if e.CreatedAt.IsZero() {
				e.CreatedAt = u.SignedUpAt
			}
			if err := tx.AddUserEmail(ctx, &e); err != nil {
				if errors.Is(err, ErrUserExists) {
					return fmt.Errorf("%w: the address %s is taken", ErrImportConflict, e.Email)
				}
				return err
			}
		}
		for _, id := range in.Identities {
			id.ID, id.UserID = NewID(), u.ID
			if id.LinkedAt.IsZero() {
				id.LinkedAt = u.SignedUpAt
			}
			if err := tx.CreateIdentity(ctx, &id); err != nil {
				if errors.Is(err, ErrUserExists) {
					return fmt.Errorf("%w: the identity %s at %s is linked to another user", ErrImportConflict, id.Subject, id.Issuer)
				}
				return err
			}
		}
		for _, m := range in.MFA {
			m.ID, m.UserID = NewID(), u.ID
			if m.CreatedAt.IsZero() {
				m.CreatedAt = u.SignedUpAt
			}
			if err := tx.AddMFAMethod(ctx, &m, false); err != nil {
				return err
			}
		}
		created = true
		s.event(ctx, tx, u.ID, EventImported, Client{}, "")
		if dryRun {
			return errDryRun
		}
		return nil
	})
	if errors.Is(err, errDryRun) {
		err = nil
	}
	return created, err
}

// checkImport validates in and returns the User to insert.
func (s *Service) checkImport(in *ImportedUser) (*User, error) {
	var v ValidationError
	u := in.User
	u.Roles = sortedUnique(in.User.Roles)
	var msg string
	if u.ID != "" && !validImportID(u.ID) {
		v.add("id", MsgInvalidFormat)
	}
	if u.Email, msg = normalizeEmail(u.Email); msg != "" {
		v.add("email", msg)
	}
	if strings.TrimSpace(u.Username) != "" {
		if u.Username, msg = normalizeUsername(u.Username); msg != "" {
			v.add("username", msg)
		}
	}
	u.Profile = s.checkProfile(in.User.Profile, &v, true)
	if u.Locale = strings.TrimSpace(u.Locale); !validLocale(u.Locale) {
		v.add("locale", MsgInvalidFormat)
	}
	for _, r := range u.Roles {
		if !validRole(r) {
			v.add("roles", MsgInvalidFormat)
		}
	}
	if u.PasswordHash != "" {
		if err := s.hasher.CheckHash(u.PasswordHash); err != nil {
			v.add("password_hash", err.Error())
		}
	}
	if u.PasswordFailures < 0 {
		v.add("password_failures", MsgInvalidFormat)
	}
	for i := range in.Emails {
		if in.Emails[i].Email, msg = normalizeEmail(in.Emails[i].Email); msg != "" {
			v.add("emails", msg)
		}
	}
	for _, id := range in.Identities {
		if strings.TrimSpace(id.Provider) == "" || id.Issuer == "" || id.Subject == "" {
			v.add("identities", MsgRequired)
		}
	}
	for _, m := range in.MFA {
		if m.Type != MFATOTP && m.Type != MFAFIDO || len(m.Secret) == 0 {
			v.add("mfa", MsgInvalidFormat)
		}
	}
	if err := v.orNil(); err != nil {
		return nil, err
	}
	for _, m := range in.MFA {
		if s.sealer == nil {
			return nil, ErrImportMFA
		}
		if _, err := s.sealer.Open(m.Secret); err != nil {
			return nil, ErrImportMFA
		}
	}
	now := s.now()
	if u.SignedUpAt.IsZero() {
		u.SignedUpAt = now
	}
	if u.PasswordHash != "" && u.PasswordChangedAt.IsZero() {
		u.PasswordChangedAt = u.SignedUpAt
	}
	if u.Profile == nil {
		u.Profile = map[string]string{}
	}
	return &u, nil
}

// validImportID reports whether an imported user ID can be kept: up to
// 64 ASCII letters, digits, '-' and '_' (Usher's own IDs are 26 lowercase
// base32 characters).
func validImportID(id string) bool {
	if len(id) > 64 {
		return false
	}
	for _, c := range []byte(id) {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_':
		default:
			return false
		}
	}
	return true
}

// RecordTransfer records an export or import of users in the audit trail
// (typ is EventUsersExported or EventUsersImported; detail says what,
// e.g. the format and the counts). Its error is the audit trail's: an
// export that cannot be recorded should not go ahead.
func (s *Service) RecordTransfer(ctx context.Context, typ, detail string) error {
	if typ != EventUsersExported && typ != EventUsersImported {
		return fmt.Errorf("usher: RecordTransfer: %q is not a transfer event", typ)
	}
	return s.inTx(ctx, func(ctx context.Context, tx Store) error {
		return s.recordEvent(ctx, tx, "", typ, Client{}, detail)
	})
}
