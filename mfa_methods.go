package usher

import (
	"context"
	"encoding/base64"
	"strconv"
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

// ResealSecrets re-seals every second-factor secret with the Sealer's
// current key (after a new key was put first in secret_key, keeping the
// old ones to open with) and returns how many it rewrote. It runs in one
// transaction: if any secret cannot be opened, nothing changes.
func (s *Service) ResealSecrets(ctx context.Context) (int, error) {
	if s.sealer == nil {
		return 0, ErrNotFound
	}
	n, err := s.store.ReplaceMFASecrets(ctx, func(old []byte) ([]byte, error) {
		plain, err := s.sealer.Open(old)
		if err != nil {
			return nil, err
		}
		return s.sealer.Seal(plain)
	})
	if err != nil {
		return 0, err
	}
	s.event(asAdmin(ctx), s.store, "", EventSecretsResealed, Client{}, strconv.Itoa(n))
	return n, nil
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
		if _, err := s.clearMFA(ctx, tx, u.ID); err != nil {
			return err
		}
		s.event(ctx, tx, u.ID, EventMFAReset, c, "")
		return nil
	})
}

// clearMFA removes all the user's second factors and recovery codes in tx,
// and ends their sessions; it returns how many factors it removed.
func (s *Service) clearMFA(ctx context.Context, tx Store, userID string) (int, error) {
	methods, err := tx.ListMFAMethods(ctx, userID)
	if err != nil {
		return 0, err
	}
	for _, m := range methods {
		if err := tx.DeleteMFAMethod(ctx, userID, m.ID); err != nil {
			return 0, err
		}
	}
	if err := tx.SetRecoveryCodes(ctx, userID, nil, s.now()); err != nil {
		return 0, err
	}
	_, err = tx.DeleteUserSessions(ctx, userID, "")
	return len(methods), err
}
