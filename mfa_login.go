package usher

import (
	"context"
	"slices"
	"time"
)

// The second factor at log-in: which types an account offers, checking a
// factor, the pending log-in and remembered devices.

// AvailableMFATypes returns the second-factor types of the account these
// credentials open (Anvil's get_available_mfa_types). Unlike Anvil, a
// wrong password counts towards the lock-out and gets
// ErrAuthenticationFailed: the call must not be a free password oracle.
func (s *Service) AvailableMFATypes(ctx context.Context, cr Credentials, c Client) ([]string, error) {
	u, _, err := s.checkPassword(ctx, cr, c)
	if err != nil {
		return nil, err
	}
	methods, err := s.store.ListMFAMethods(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	return s.mfaTypes(ctx, u.ID, methods), nil
}

// mfaTypes lists the types a user can use: their methods' types, and
// "recovery" when they have unused recovery codes.
func (s *Service) mfaTypes(ctx context.Context, userID string, methods []*MFAMethod) []string {
	var types []string
	for _, m := range methods {
		if m.Type == MFAFIDO && !s.webauthnAvailable() {
			continue // no WebAuthn at this BaseURL: a key cannot be used
		}
		if !slices.Contains(types, m.Type) {
			types = append(types, m.Type)
		}
	}
	if n, err := s.store.CountRecoveryCodes(ctx, userID); err == nil && n > 0 {
		types = append(types, MFARecovery)
	}
	return types
}

// verifyFactor checks a second factor against the user's methods and
// recovery codes, using it up (a TOTP step, a recovery code) if right. It
// returns "" when the factor is right, else why it was refused: a message
// ID for MFARequiredError.Reason.
func (s *Service) verifyFactor(ctx context.Context, u *User, methods []*MFAMethod, f SecondFactor, c Client) (refusal string) {
	if !s.mfaReady() {
		return MsgMFACodeWrong
	}
	switch f.Type {
	case MFATOTP:
		return s.verifyTOTPFactor(ctx, u, methods, f.Code)
	case MFAFIDO:
		if s.verifyWebAuthnFactor(ctx, u, methods, f) {
			return ""
		}
		return MsgMFAKeyRefused
	case MFARecovery:
		if s.store.UseRecoveryCode(ctx, u.ID, s.mfa.HashRecoveryCode(f.Code), s.now()) == nil {
			s.event(ctx, s.store, u.ID, EventRecoveryCodeUsed, c, "")
			return ""
		}
		return MsgRecoveryCodeWrong
	}
	return MsgMFACodeWrong
}

// verifyTOTPFactor checks code against the user's authenticator apps,
// using up its time step if right. A code that would be right but for
// its step being used already (a replay, or the same code typed twice
// within its 30 seconds) is refused as MsgMFACodeUsed, anything else
// as MsgMFACodeWrong: telling the two apart helps only someone who has
// both the password and a code seen moments ago.
func (s *Service) verifyTOTPFactor(ctx context.Context, u *User, methods []*MFAMethod, code string) (refusal string) {
	now := s.now()
	refusal = MsgMFACodeWrong
	for _, m := range methods {
		if m.Type != MFATOTP {
			continue
		}
		secret, err := s.sealer.Open(m.Secret)
		if err != nil {
			s.log.Error("usher: opening a second-factor secret", "user", u.ID, "err", err)
			continue
		}
		if step, ok := s.mfa.ValidateTOTP(secret, code, now, m.LastStep); ok {
			// The atomic update refuses a code already used, even by
			// a concurrent log-in.
			err := s.store.UseTOTPStep(ctx, m.ID, step, now)
			if err == nil {
				return ""
			}
			if !isNotFound(err) {
				s.log.Error("usher: recording a second-factor code's use", "user", u.ID, "err", err)
			}
			refusal = MsgMFACodeUsed
		} else if _, ok := s.mfa.ValidateTOTP(secret, code, now, -1); ok {
			refusal = MsgMFACodeUsed
		}
	}
	return refusal
}

// secondFactor decides, after a correct first factor, whether u may log
// in: yes if they have no second factor, if the device is remembered, or
// if f is right. Otherwise it returns an *MFARequiredError with a pending
// log-in token in st; a wrong f counts as a failure (and may lock).
func (s *Service) secondFactor(ctx context.Context, st Store, u *User, f *SecondFactor, deviceToken string, c Client) (verified bool, err error) {
	methods, err := st.ListMFAMethods(ctx, u.ID)
	if err != nil {
		return false, err
	}
	if len(methods) == 0 {
		if s.cfg.RequireMFA && s.mfaReady() {
			return false, s.pendingEnrollment(ctx, st, u)
		}
		return false, nil
	}
	if deviceToken != "" && len(deviceToken) == tokenLen {
		if t, err := st.FindToken(ctx, hashToken(deviceToken), tokenMFADevice, s.now()); err == nil && t.UserID == u.ID {
			return false, nil
		}
	}
	var refusal string
	if f != nil && f.Code != "" {
		if refusal = s.verifyFactor(ctx, u, methods, *f, c); refusal == "" {
			return true, nil
		}
		if err := s.passwordFailed(ctx, u, c, FailWrongSecondFactor); err == ErrTooManyPasswordFailures {
			return false, err
		}
	}
	tok, hash := newToken()
	now := s.now()
	if err := st.CreateToken(ctx, &Token{Hash: hash, Kind: tokenMFAPending, UserID: u.ID, Email: u.Email, CreatedAt: now, ExpiresAt: now.Add(mfaPendingTTL)}); err != nil {
		return false, err
	}
	return false, &MFARequiredError{Pending: tok, Types: s.mfaTypes(ctx, u.ID, methods), Reason: refusal}
}

// rememberDevice issues a token that lets this device skip the second
// factor for MFARememberDuration.
func (s *Service) rememberDevice(ctx context.Context, st Store, u *User) (string, error) {
	tok, hash := newToken()
	now := s.now()
	return tok, st.CreateToken(ctx, &Token{Hash: hash, Kind: tokenMFADevice, UserID: u.ID, Email: u.Email, CreatedAt: now, ExpiresAt: now.Add(s.cfg.MFARememberDuration)})
}

// CompleteMFALogin finishes a log-in that answered ErrMFARequired: the
// pending token from the *MFARequiredError and the second factor. A wrong
// factor counts as a failure and leaves the pending log-in open (until it
// expires, after 10 minutes). It returns ErrInvalidToken, an
// *MFARequiredError saying why the factor was refused (its Reason),
// ErrTooManyPasswordFailures, ErrAccountIsNotEnabled, or the session with
// ErrPasswordResetRequested as Login does.
func (s *Service) CompleteMFALogin(ctx context.Context, pending string, f SecondFactor, remember, rememberDevice bool, c Client) (*Session, *User, error) {
	if len(pending) != tokenLen {
		return nil, nil, ErrInvalidToken
	}
	if err := s.checkRate(ctx, "login", c.IP, s.cfg.LoginRateLimit, time.Minute); err != nil {
		return nil, nil, err
	}
	t, err := s.store.FindToken(ctx, hashToken(pending), tokenMFAPending, s.now())
	if isNotFound(err) {
		return nil, nil, ErrInvalidToken
	}
	if err != nil {
		return nil, nil, err
	}
	u, err := s.store.UserByID(ctx, t.UserID)
	if err != nil {
		return nil, nil, ErrInvalidToken
	}
	if !u.Enabled {
		return nil, nil, ErrAccountIsNotEnabled
	}
	if s.locked(ctx, u) {
		return nil, nil, ErrTooManyPasswordFailures
	}
	methods, err := s.store.ListMFAMethods(ctx, u.ID)
	if err != nil {
		return nil, nil, err
	}
	if refusal := s.verifyFactor(ctx, u, methods, f, c); refusal != "" {
		if err := s.passwordFailed(ctx, u, c, FailWrongSecondFactor); err == ErrTooManyPasswordFailures {
			return nil, nil, err
		}
		return nil, nil, &MFARequiredError{Reason: refusal}
	}
	sess, err := s.completeLogin(ctx, loginRequest{
		kind: loginSecondStep, user: u, remember: remember, client: c, rememberDevice: rememberDevice,
		with: func(ctx context.Context, tx Store) error {
			_, _, err := s.useToken(ctx, tx, pending, tokenMFAPending)
			return err
		},
	})
	return loginAnswer(sess, u, err)
}
