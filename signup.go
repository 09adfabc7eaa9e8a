package usher

import (
	"context"
	"errors"
	"strings"
	"time"
)

// Signup is a self-registration: what a sign-up form or
// POST /user/api/signup carries.
type Signup struct {
	Email    string
	Username string // required when Config.EnableUsername, else ignored
	Password string
	// RetypePassword is the password typed a second time, for a form that
	// asks for it twice (the sign-up page; nil when the form does not):
	// when it differs, "retype_password" is reported with MsgPasswordMismatch
	// together with the other problems.
	RetypePassword *string
	Profile        map[string]string // values for Config.ProfileFields
	Remember       bool
	// Locale is the language the sign-up page was shown in (a BCP 47 tag;
	// "" = not chosen). It becomes the new user's User.Locale, so that the
	// confirmation or welcome e-mail is in that language.
	Locale string
	// InvitationToken is the token of an invitation link. It fixes the
	// address (Email is then ignored, and counts as confirmed); with
	// Config.RequireInvitation it is required.
	InvitationToken string
}

// SignupWithEmail registers a new user (Anvil's signup_with_email). The user
// is logged in — the returned Session is non-nil — only when the account is
// enabled at once, confirmation is not required before log-in, and
// NoAutoLoginAfterRegister is not set.
//
// Every problem with the input is reported at once, in one
// *ValidationError: the application's own checks (Deps.ValidateSignup),
// the fields, the retyped password and the password policy (whose
// *PasswordError errors.As still finds). A password that only fails the
// policy is a *PasswordError alone.
//
// It returns ErrSignupDisabled, a *RateLimitError, a *ValidationError, a
// *PasswordError (ErrPasswordNotAcceptable) or ErrUserExists.
func (s *Service) SignupWithEmail(ctx context.Context, in Signup, c Client) (*User, *Session, error) {
	invited := in.InvitationToken != ""
	if s.cfg.DisableRegistration || (s.cfg.RequireInvitation && !invited) {
		return nil, nil, ErrSignupDisabled
	}
	if err := s.checkRate(ctx, "signup", c.IP, s.cfg.SignupRateLimit, time.Hour); err != nil {
		return nil, nil, err
	}
	email := in.Email
	if invited {
		// The address comes from the invitation; a placeholder passes the
		// format check until the token is read inside the transaction.
		email = "invited@invitation.invalid"
	}
	// The application's own checks run first and their problems are
	// reported together with the built-in ones.
	var pre ValidationError
	if s.validateSignup != nil {
		if err := s.validateSignup(ctx, &in); err != nil {
			var ve *ValidationError
			if !errors.As(err, &ve) {
				return nil, nil, err
			}
			for f, m := range ve.Fields {
				pre.add(f, m)
			}
		}
	}
	if in.RetypePassword != nil && *in.RetypePassword != in.Password {
		pre.add("retype_password", MsgPasswordMismatch)
	}
	u, err := s.newUser(ctx, &pre, NewUser{
		Email: email, Username: in.Username, Password: in.Password, Profile: in.Profile,
		Locale: in.Locale, Enabled: !s.cfg.RequireApproval,
	}, false)
	if err != nil {
		return nil, nil, err
	}
	var sess *Session
	err = s.inTx(ctx, func(ctx context.Context, tx Store) error {
		if invited {
			addr, err := s.useInvitation(ctx, tx, in.InvitationToken)
			if err != nil {
				return err
			}
			if err := s.policy.Check(in.Password, addr, u.Username); err != nil {
				return err
			}
			u.Email, u.EmailConfirmedAt = addr, s.now()
		}
		if err := tx.CreateUser(ctx, u); err != nil {
			return err
		}
		if err := s.enqueueSignupMail(ctx, tx, u); err != nil {
			return err
		}
		s.event(ctx, tx, u.ID, EventSignup, c, "")
		// With RequireMFA the user logs in, and sets up a second
		// factor, before any session starts (completeLogin).
		if !s.cfg.NoAutoLoginAfterRegister {
			var err error
			sess, err = s.completeLogin(ctx, loginRequest{kind: loginAfterSignup, user: u, remember: in.Remember, client: c, tx: tx})
			return err
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return u, sess, nil
}

// NewUser is an account created by server code or an admin (CreateUser).
type NewUser struct {
	Email    string
	Username string
	// Password is checked against the policy and hashed. Leave it empty
	// and set PasswordHash to import a hash from another system (any format
	// the PasswordHasher verifies; another is a *ValidationError on
	// "password_hash" naming the formats it knows); leave both empty for an account that
	// cannot log in with a password until one is set.
	Password     string
	PasswordHash string
	Profile      map[string]string
	Roles        []string
	Enabled      bool
	// Locale is the user's language (User.Locale); "" = not chosen.
	Locale string
	// Confirmed marks the e-mail address as confirmed.
	Confirmed bool
}

// CreateUser creates an account without the sign-up checks that concern
// visitors (DisableRegistration, throttling). The input is still validated.
// It returns a *ValidationError, a *PasswordError or ErrUserExists.
func (s *Service) CreateUser(ctx context.Context, in NewUser) (*User, error) {
	ctx = asAdmin(ctx)
	u, err := s.newUser(ctx, nil, in, true)
	if err != nil {
		return nil, err
	}
	err = s.inTx(ctx, func(ctx context.Context, tx Store) error {
		if err := tx.CreateUser(ctx, u); err != nil {
			return err
		}
		s.event(ctx, tx, u.ID, EventSignup, Client{}, "created by admin")
		return nil
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// newUser validates in and returns the User to insert, password hashed.
func (s *Service) newUser(ctx context.Context, pre *ValidationError, in NewUser, admin bool) (*User, error) {
	var v ValidationError
	if pre != nil {
		v = *pre
	}
	email, msg := normalizeEmail(in.Email)
	if msg != "" {
		v.add("email", msg)
	}
	username := ""
	if s.cfg.EnableUsername {
		username, msg = normalizeUsername(in.Username)
		if msg != "" && (msg != MsgRequired || !admin) {
			v.add("username", msg)
		}
	}
	profile := s.checkProfile(in.Profile, &v, admin)
	locale := strings.TrimSpace(in.Locale)
	if !validLocale(locale) {
		v.add("locale", MsgInvalidFormat)
	}
	var roles []string
	for _, r := range in.Roles {
		if !validRole(r) {
			v.add("roles", MsgInvalidFormat)
		}
		roles = append(roles, r)
	}
	hash := in.PasswordHash
	newPassword := hash == "" && in.Password != ""
	if hash == "" && in.Password == "" && !admin {
		v.add("password", MsgRequired)
	}
	if newPassword {
		// The policy's refusal is one more problem, reported with the
		// others rather than after they are fixed.
		if err := s.policy.Check(in.Password, email, username); err != nil {
			var pe *PasswordError
			if !errors.As(err, &pe) {
				return nil, err
			}
			v.addPassword(pe)
		}
	}
	if hash != "" {
		// A hash no log-in could ever match would make an account nobody
		// can use: refuse it now, while someone is there to read why.
		if err := s.hasher.CheckHash(hash); err != nil {
			v.add("password_hash", err.Error())
		}
	}
	if err := v.orNil(); err != nil {
		return nil, err
	}
	if newPassword {
		var err error
		if hash, err = s.hashPassword(ctx, in.Password); err != nil {
			return nil, err
		}
	}
	now := s.now()
	u := &User{
		ID: NewID(), Email: email, Username: username, Locale: locale, PasswordHash: hash,
		Enabled: in.Enabled, SignedUpAt: now, Roles: sortedUnique(roles), Profile: profile,
	}
	if hash != "" {
		u.PasswordChangedAt = now
	}
	if in.Confirmed {
		u.EmailConfirmedAt = now
	}
	return u, nil
}

// mayLogInUnconfirmed reports whether u may log in as far as e-mail
// confirmation goes.
func (s *Service) mayLogInUnconfirmed(u *User) bool {
	return !s.cfg.EnableConfirmEmail || s.cfg.EnableLoginWithoutConfirmEmail || u.EmailConfirmed()
}

// isNotFound reports whether err is the Store's ErrNotFound.
func isNotFound(err error) bool { return errors.Is(err, ErrNotFound) }
