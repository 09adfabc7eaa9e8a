package usher

import (
	"context"
	"encoding/base64"
	"slices"
	"strings"
	"time"
)

// Durations and counts of second factors.
const (
	mfaPendingTTL              = 10 * time.Minute
	recoveryCodeCount          = 10
	defaultMFARememberDuration = 30 * 24 * time.Hour
)

// mfaReady reports whether second factors can be used: the MFA machinery
// and a Sealer were given.
func (s *Service) mfaReady() bool { return s.mfa != nil && s.sealer != nil }

// TOTPSetup is what GenerateTOTPSecret returns (Anvil's
// generate_totp_secret): the secret to show, the otpauth:// URI and its QR
// code, and Method, an opaque sealed form of the secret to hand back to
// ValidateTOTPCode and AddMFAMethod.
type TOTPSetup struct {
	Secret string
	URI    string
	QRCode string // PNG data URL
	Method string
}

// GenerateTOTPSecret makes a new TOTP secret for u. Nothing is stored
// until AddMFAMethod. It returns ErrNotFound when second factors are not
// configured.
func (s *Service) GenerateTOTPSecret(ctx context.Context, u *User) (*TOTPSetup, error) {
	if !s.mfaReady() {
		return nil, ErrNotFound
	}
	secret, err := s.mfa.NewTOTPSecret()
	if err != nil {
		return nil, err
	}
	sealed, err := s.sealer.Seal(secret)
	if err != nil {
		return nil, err
	}
	uri := s.mfa.TOTPURI(secret, s.cfg.AppName, u.Email)
	qr, err := s.mfa.QRCodeDataURL(uri)
	if err != nil {
		return nil, err
	}
	return &TOTPSetup{Secret: s.mfa.EncodeSecret(secret), URI: uri, QRCode: qr, Method: base64.RawURLEncoding.EncodeToString(sealed)}, nil
}

// openMethod reads a TOTPSetup.Method back into its secret.
func (s *Service) openMethod(method string) ([]byte, error) {
	sealed, err := base64.RawURLEncoding.DecodeString(method)
	if err != nil {
		return nil, &ValidationError{Fields: map[string]string{"mfa_method": MsgInvalidFormat}}
	}
	secret, err := s.sealer.Open(sealed)
	if err != nil {
		return nil, &ValidationError{Fields: map[string]string{"mfa_method": MsgInvalidFormat}}
	}
	return secret, nil
}

// ValidateTOTPCode reports whether code is right for a method from
// GenerateTOTPSecret (Anvil's validate_totp_code), so that a user can be
// told before the method is added.
func (s *Service) ValidateTOTPCode(method, code string) (bool, error) {
	if !s.mfaReady() {
		return false, ErrNotFound
	}
	secret, err := s.openMethod(method)
	if err != nil {
		return false, err
	}
	_, ok := s.mfa.ValidateTOTP(secret, code, s.now(), 0)
	return ok, nil
}

// AddMFAMethod adds a TOTP method to the user of sess (Anvil's
// add_mfa_method): the password is required (a wrong one counts towards
// the lock-out), and so is a current code, which proves the user's app has
// the secret. With clearExisting the user's other methods are removed — a
// real replacement. It returns ErrNotFound (not configured), a
// *ValidationError (bad method, wrong code), ErrAuthenticationFailed or
// ErrTooManyPasswordFailures.
func (s *Service) AddMFAMethod(ctx context.Context, sess *Session, password, method, code, name string, clearExisting bool, c Client) (*MFAMethod, error) {
	if !s.mfaReady() {
		return nil, ErrNotFound
	}
	u, err := s.confirmedByPassword(ctx, sess, password, c)
	if err != nil {
		return nil, err
	}
	secret, err := s.openMethod(method)
	if err != nil {
		return nil, err
	}
	now := s.now()
	step, ok := s.mfa.ValidateTOTP(secret, code, now, 0)
	if !ok {
		return nil, &ValidationError{Fields: map[string]string{"code": MsgMFACodeWrong}}
	}
	sealed, err := s.sealer.Seal(secret)
	if err != nil {
		return nil, err
	}
	name = truncate(strings.TrimSpace(name), 64)
	if name == "" {
		name = "Authenticator app"
	}
	m := &MFAMethod{ID: NewID(), UserID: u.ID, Type: MFATOTP, Name: name, Secret: sealed, LastStep: step, CreatedAt: now}
	return s.storeMethod(ctx, m, clearExisting, c)
}

// storeMethod stores a new second factor (its secret sealed) with its
// event, and returns it without the secret.
func (s *Service) storeMethod(ctx context.Context, m *MFAMethod, clearExisting bool, c Client) (*MFAMethod, error) {
	err := s.inTx(ctx, func(ctx context.Context, tx Store) error {
		return s.addMethod(ctx, tx, m, clearExisting, c)
	})
	if err != nil {
		return nil, err
	}
	s.basic.dropUser(m.UserID)
	m.Secret = nil
	return m, nil
}

// addMethod stores m in tx and records the event.
func (s *Service) addMethod(ctx context.Context, tx Store, m *MFAMethod, clearExisting bool, c Client) error {
	if err := tx.AddMFAMethod(ctx, m, clearExisting); err != nil {
		return err
	}
	s.event(ctx, tx, m.UserID, EventMFAAdded, c, m.Name)
	return nil
}

// ListMFAMethods returns the user's second factors, without their secrets.
func (s *Service) ListMFAMethods(ctx context.Context, userID string) ([]*MFAMethod, error) {
	list, err := s.store.ListMFAMethods(ctx, userID)
	for _, m := range list {
		m.Secret = nil
	}
	return list, err
}

// RemoveMFAMethod removes one of the user's second factors.
func (s *Service) RemoveMFAMethod(ctx context.Context, userID, methodID string, c Client) error {
	return s.inTx(ctx, func(ctx context.Context, tx Store) error {
		if err := tx.DeleteMFAMethod(ctx, userID, methodID); err != nil {
			return err
		}
		s.event(ctx, tx, userID, EventMFARemoved, c, methodID)
		return nil
	})
}

// NewRecoveryCodes makes ten new single-use recovery codes for the user,
// voiding the old ones, and returns them: they are shown once and stored
// only as hashes.
func (s *Service) NewRecoveryCodes(ctx context.Context, userID string, c Client) ([]string, error) {
	if !s.mfaReady() {
		return nil, ErrNotFound
	}
	codes, err := s.mfa.NewRecoveryCodes(recoveryCodeCount)
	if err != nil {
		return nil, err
	}
	hashes := make([][]byte, len(codes))
	for i, code := range codes {
		hashes[i] = s.mfa.HashRecoveryCode(code)
	}
	err = s.inTx(ctx, func(ctx context.Context, tx Store) error {
		if err := tx.SetRecoveryCodes(ctx, userID, hashes, s.now()); err != nil {
			return err
		}
		s.event(ctx, tx, userID, EventRecoveryCodes, c, "")
		return nil
	})
	if err != nil {
		return nil, err
	}
	return codes, nil
}

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
		if err := s.passwordFailed(ctx, u, c); err == ErrTooManyPasswordFailures {
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
		if err := s.passwordFailed(ctx, u, c); err == ErrTooManyPasswordFailures {
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

// ResealSecrets re-seals every second-factor secret with the Sealer's
// current key (after a new key was put first in secret_key, keeping the
// old ones to open with) and returns how many it rewrote. It runs in one
// transaction: if any secret cannot be opened, nothing changes.
func (s *Service) ResealSecrets(ctx context.Context) (int, error) {
	if s.sealer == nil {
		return 0, ErrNotFound
	}
	return s.store.ReplaceMFASecrets(ctx, func(old []byte) ([]byte, error) {
		plain, err := s.sealer.Open(old)
		if err != nil {
			return nil, err
		}
		return s.sealer.Seal(plain)
	})
}

// SendMFAResetEmail e-mails a link that turns two-factor authentication
// off for a user who lost their second factors (Anvil's
// send_mfa_reset_email) — when Config.AllowMFAEmailReset — if an enabled
// account has the address. The answer is the same either way: nil, a
// *ValidationError or a *RateLimitError; ErrNotFound when the option is
// off. The outbox worker looks the address up and sends.
func (s *Service) SendMFAResetEmail(ctx context.Context, email string, c Client) error {
	if !s.cfg.AllowMFAEmailReset || !s.mfaReady() {
		return ErrNotFound
	}
	return s.mailRequest(ctx, email, MailMFAReset, c)
}

// ResetMFAWithToken removes all the user's second factors and recovery
// codes through an MFA-reset link. The password is required too, so that
// the mailbox alone does not stand in for both factors; a wrong one counts
// towards the lock-out and leaves the link usable. All the user's
// sessions end; the user logs in again with the password and may set up a
// new second factor. It returns ErrNotFound (option off),
// ErrInvalidToken, ErrAuthenticationFailed or ErrTooManyPasswordFailures.
func (s *Service) ResetMFAWithToken(ctx context.Context, token, password string, c Client) error {
	if !s.cfg.AllowMFAEmailReset || !s.mfaReady() {
		return ErrNotFound
	}
	if err := s.checkRate(ctx, "token", c.IP, s.cfg.MailRateLimit, time.Hour); err != nil {
		return err
	}
	if len(token) != tokenLen {
		return ErrInvalidToken
	}
	t, err := s.store.FindToken(ctx, hashToken(token), TokenMFAReset, s.now())
	if isNotFound(err) {
		return ErrInvalidToken
	}
	if err != nil {
		return err
	}
	u, err := s.tokenUser(ctx, s.store, t)
	if err != nil {
		return err
	}
	if password == "" {
		return &ValidationError{Fields: map[string]string{"password": MsgRequired}}
	}
	if err := s.reauthenticate(ctx, u, password, c); err != nil {
		return err
	}
	return s.inTx(ctx, func(ctx context.Context, tx Store) error {
		if _, _, err := s.useToken(ctx, tx, token, TokenMFAReset); err != nil {
			return err
		}
		methods, err := tx.ListMFAMethods(ctx, u.ID)
		if err != nil {
			return err
		}
		for _, m := range methods {
			if err := tx.DeleteMFAMethod(ctx, u.ID, m.ID); err != nil {
				return err
			}
		}
		if err := tx.SetRecoveryCodes(ctx, u.ID, nil, s.now()); err != nil {
			return err
		}
		if _, err := tx.DeleteUserSessions(ctx, u.ID, ""); err != nil {
			return err
		}
		s.event(ctx, tx, u.ID, EventMFAReset, c, "")
		return nil
	})
}
