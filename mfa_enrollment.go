package usher

import (
	"context"
	"strings"
	"time"
)

// Enrolment under Config.RequireMFA: a user without a second factor whose
// first factor was right gets, instead of a session, a pending enrolment
// that only setting up an authenticator app completes.

// pendingEnrollment records a pending enrolment for u and returns the
// *MFARequiredError that carries it.
func (s *Service) pendingEnrollment(ctx context.Context, st TokenStore, u *User) error {
	tok, hash := newToken()
	now := s.now()
	err := st.CreateToken(ctx, &Token{Hash: hash, Kind: tokenMFAEnroll, UserID: u.ID, Email: u.Email, CreatedAt: now, ExpiresAt: now.Add(mfaPendingTTL)})
	if err != nil {
		return err
	}
	return &MFARequiredError{Pending: tok, Enroll: true}
}

// enrollingUser returns the user of a pending enrolment.
func (s *Service) enrollingUser(ctx context.Context, pending string) (*User, error) {
	if len(pending) != tokenLen {
		return nil, ErrInvalidToken
	}
	t, err := s.store.FindToken(ctx, hashToken(pending), tokenMFAEnroll, s.now())
	if isNotFound(err) {
		return nil, ErrInvalidToken
	}
	if err != nil {
		return nil, err
	}
	u, err := s.store.UserByID(ctx, t.UserID)
	if isNotFound(err) {
		return nil, ErrInvalidToken
	}
	return u, err
}

// GenerateEnrollmentTOTPSecret is GenerateTOTPSecret for the user of a
// pending enrolment (MFARequiredError.Enroll), who has no session yet.
func (s *Service) GenerateEnrollmentTOTPSecret(ctx context.Context, pending string) (*TOTPSetup, error) {
	u, err := s.enrollingUser(ctx, pending)
	if err != nil {
		return nil, err
	}
	return s.GenerateTOTPSecret(ctx, u)
}

// CompleteMFAEnrollment finishes a log-in that answered ErrMFARequired with
// Enroll set: method (from GenerateEnrollmentTOTPSecret) and a current code
// of the user's app add the user's first second factor, and the session
// starts. The password was checked when the enrolment began. A wrong code
// counts as a failure towards the lock-out and leaves the enrolment open
// until it expires (10 minutes). It returns ErrInvalidToken, a
// *ValidationError, ErrTooManyPasswordFailures, ErrAccountIsNotEnabled,
// or the session with ErrPasswordResetRequested as Login does.
func (s *Service) CompleteMFAEnrollment(ctx context.Context, pending, method, code, name string, remember bool, c Client) (*Session, *User, error) {
	if err := s.checkRate(ctx, "login", c.IP, s.cfg.LoginRateLimit, time.Minute); err != nil {
		return nil, nil, err
	}
	u, err := s.enrollingUser(ctx, pending)
	if err != nil {
		return nil, nil, err
	}
	if !u.Enabled {
		return nil, nil, ErrAccountIsNotEnabled
	}
	if s.locked(ctx, u) {
		return nil, nil, ErrTooManyPasswordFailures
	}
	secret, err := s.openMethod(method)
	if err != nil {
		return nil, nil, err
	}
	now := s.now()
	step, ok := s.mfa.ValidateTOTP(secret, strings.TrimSpace(code), now, 0)
	if !ok {
		if err := s.passwordFailed(ctx, u, c, FailWrongSecondFactor); err == ErrTooManyPasswordFailures {
			return nil, nil, err
		}
		return nil, nil, &ValidationError{Fields: map[string]string{"code": MsgMFACodeWrong}}
	}
	sealed, err := s.sealer.Seal(secret)
	if err != nil {
		return nil, nil, err
	}
	name = truncate(strings.TrimSpace(name), 64)
	if name == "" {
		name = "Authenticator app"
	}
	m := &MFAMethod{ID: NewID(), UserID: u.ID, Type: MFATOTP, Name: name, Secret: sealed, LastStep: step, CreatedAt: now}
	defer s.basic.dropUser(u.ID)
	sess, err := s.completeLogin(ctx, loginRequest{
		kind: loginEnrollment, user: u, remember: remember, client: c,
		with: func(ctx context.Context, tx Store) error {
			if _, _, err := s.useToken(ctx, tx, pending, tokenMFAEnroll); err != nil {
				return err
			}
			return s.addMethod(ctx, tx, m, false, c)
		},
	})
	return loginAnswer(sess, u, err)
}
