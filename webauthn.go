package usher

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
)

// WebAuthn security keys and passkeys (Anvil's "fido" second factor).
//
// A key is an MFAMethod of type MFAFIDO whose sealed Secret is the JSON
// of its webauthn.Credential. Each ceremony has two steps: Begin returns
// the options for navigator.credentials.create() or .get() (the content of
// their publicKey member) and an opaque state, the ceremony's
// webauthn.SessionData sealed with the Sealer; Finish takes the state back
// with the browser's PublicKeyCredential. The state cannot be forged or
// altered (it is sealed), ends after webauthnTTL, and works once: Begin
// stores a one-time Token whose hash is the SHA-256 of the challenge, and
// Finish uses it up.
//
// The relying party is Config.BaseURL: its host is the RP ID and its
// scheme://host[:port] the one origin allowed. Browsers offer WebAuthn only
// in a secure context and for a domain name, so with a BaseURL whose host
// is an IP address, or plain http to a host other than localhost, every
// call returns ErrNotFound and "fido" is not among the available types.
//
// Attestation is not asked for ("none"): a key proves that it holds its
// private key, not who made it.

const (
	tokenWebAuthn = "webauthn"
	// webauthnTTL is how long a ceremony may take, from Begin to Finish.
	webauthnTTL = 5 * time.Minute
	// keyUseBits is the width of the use count in a key's LastStep.
	keyUseBits = 31
)

// Purposes of a ceremony's state: a state of one kind is refused by the
// others.
const (
	ceremonyRegister = "register"
	ceremonyLogin    = "login"   // a second factor
	ceremonyPasskey  = "passkey" // a log-in without password
)

// ceremonyState is what the opaque state of a ceremony holds, sealed.
type ceremonyState struct {
	Purpose string               `json:"purpose"`
	UserID  string               `json:"user_id,omitempty"`
	Expires time.Time            `json:"expires"`
	Session webauthn.SessionData `json:"session"`
}

// errKeyRefused is a verified assertion the Service still refuses: the
// key's counter went back (a cloned key) or was overtaken.
var errKeyRefused = errors.New("usher: security key refused")

// relyingParty returns the WebAuthn relying party of Config.BaseURL, or
// false when WebAuthn cannot work there (see above) or second factors are
// not configured.
func (s *Service) relyingParty() (*webauthn.WebAuthn, bool) {
	if !s.mfaReady() {
		return nil, false
	}
	u, err := url.Parse(s.cfg.BaseURL)
	if err != nil {
		return nil, false
	}
	host := strings.ToLower(u.Hostname())
	if host == "" || net.ParseIP(host) != nil {
		return nil, false
	}
	localhost := host == "localhost" || strings.HasSuffix(host, ".localhost")
	if u.Scheme != "https" && !(u.Scheme == "http" && localhost) {
		return nil, false
	}
	wa, err := webauthn.New(&webauthn.Config{
		RPID:                  host,
		RPDisplayName:         s.cfg.AppName,
		RPOrigins:             []string{u.Scheme + "://" + strings.ToLower(u.Host)},
		AttestationPreference: protocol.PreferNoAttestation,
		Timeouts: webauthn.TimeoutsConfig{
			Login:        webauthn.TimeoutConfig{Timeout: webauthnTTL, TimeoutUVD: webauthnTTL},
			Registration: webauthn.TimeoutConfig{Timeout: webauthnTTL, TimeoutUVD: webauthnTTL},
		},
		// No extension is asked for; outputs some clients (password
		// managers) add unasked are ignored rather than failing.
		ExtensionsUnsolicitedOutputPolicy: protocol.UnsolicitedOutputPolicyIgnore,
	})
	if err != nil {
		s.log.Error("usher: WebAuthn relying party", "base_url", s.cfg.BaseURL, "err", err)
		return nil, false
	}
	return wa, true
}

// webauthnAvailable reports whether security keys can be used.
func (s *Service) webauthnAvailable() bool {
	_, ok := s.relyingParty()
	return ok
}

// WebAuthnAvailable reports whether security keys can be used: second
// factors are configured and Config.BaseURL is a secure origin with a
// domain name. PasskeysEnabled reports whether, moreover, passkeys may
// log in without a password (Config.EnablePasskeys).
func (s *Service) WebAuthnAvailable() bool { return s.webauthnAvailable() }

// PasskeysEnabled: see WebAuthnAvailable.
func (s *Service) PasskeysEnabled() bool { return s.cfg.EnablePasskeys && s.webauthnAvailable() }

// webauthnUser is a User as go-webauthn sees it, with its keys. Its
// WebAuthn user handle is the user's ID: a passkey log-in finds the user
// by it.
type webauthnUser struct {
	u       *User
	creds   []webauthn.Credential
	methods []*MFAMethod // methods[i] holds creds[i]
}

func (w *webauthnUser) WebAuthnID() []byte { return []byte(w.u.ID) }

func (w *webauthnUser) WebAuthnName() string {
	if w.u.Email != "" {
		return w.u.Email
	}
	return w.u.Username
}

func (w *webauthnUser) WebAuthnDisplayName() string {
	if w.u.Username != "" {
		return w.u.Username
	}
	return w.u.Email
}

func (w *webauthnUser) WebAuthnCredentials() []webauthn.Credential { return w.creds }

// descriptors lists the user's keys for excludeCredentials.
func (w *webauthnUser) descriptors() []protocol.CredentialDescriptor {
	out := make([]protocol.CredentialDescriptor, len(w.creds))
	for i, c := range w.creds {
		out[i] = c.Descriptor()
	}
	return out
}

// newWebAuthnUser opens the user's security keys among methods. The
// signature counter of each comes from the method's LastStep, which
// unlike the sealed credential is updated after each use.
func (s *Service) newWebAuthnUser(u *User, methods []*MFAMethod) *webauthnUser {
	w := &webauthnUser{u: u}
	for _, m := range methods {
		if m.Type != MFAFIDO {
			continue
		}
		plain, err := s.sealer.Open(m.Secret)
		if err != nil {
			s.log.Error("usher: opening a security key", "user", u.ID, "method", m.ID, "err", err)
			continue
		}
		var c webauthn.Credential
		if err := json.Unmarshal(plain, &c); err != nil {
			s.log.Error("usher: reading a security key", "user", u.ID, "method", m.ID, "err", err)
			continue
		}
		c.Authenticator.SignCount = uint32(m.LastStep >> keyUseBits) // #nosec G115 -- the 32-bit counter keyStep stored above the use count
		c.Authenticator.CloneWarning = false
		w.creds = append(w.creds, c)
		w.methods = append(w.methods, m)
	}
	return w
}

// keyStep returns the LastStep to record for a use of a key whose
// LastStep was last and whose authenticator now reports signCount: the
// counter in the high bits, and below it a count of uses since the counter
// last moved. It always grows, so the TOTP step update (which accepts only
// a greater step, atomically) records key uses too, including those of
// authenticators without a counter (which always report 0).
func keyStep(last int64, signCount uint32) int64 {
	if prev := uint32(last >> keyUseBits); signCount > prev { // #nosec G115 -- the 32-bit counter stored above the use count
		return int64(signCount) << keyUseBits
	}
	return last + 1
}

// beginCeremony stores the one-time token of a ceremony's challenge and
// returns the options (the publicKey member) and the sealed state.
func (s *Service) beginCeremony(ctx context.Context, purpose string, u *User, options any, sd *webauthn.SessionData) (json.RawMessage, string, error) {
	opts, err := json.Marshal(options)
	if err != nil {
		return nil, "", err
	}
	now := s.now()
	st := ceremonyState{Purpose: purpose, Expires: now.Add(webauthnTTL), Session: *sd}
	t := &Token{Hash: hashToken(sd.Challenge), Kind: tokenWebAuthn, CreatedAt: now, ExpiresAt: st.Expires}
	if u != nil {
		st.UserID, t.UserID, t.Email = u.ID, u.ID, u.Email
	}
	plain, err := json.Marshal(st)
	if err != nil {
		return nil, "", err
	}
	sealed, err := s.sealer.Seal(plain)
	if err != nil {
		return nil, "", err
	}
	if err := s.store.CreateToken(ctx, t); err != nil {
		return nil, "", err
	}
	return opts, base64.RawURLEncoding.EncodeToString(sealed), nil
}

// openCeremony reads a state back: ErrInvalidToken unless it was sealed
// here, for this purpose (and user, unless userID is ""), and has not
// expired. It does not use it up (useCeremony does).
func (s *Service) openCeremony(state, purpose, userID string) (*ceremonyState, error) {
	sealed, err := base64.RawURLEncoding.DecodeString(state)
	if err != nil || state == "" {
		return nil, ErrInvalidToken
	}
	plain, err := s.sealer.Open(sealed)
	if err != nil {
		return nil, ErrInvalidToken
	}
	var st ceremonyState
	if err := json.Unmarshal(plain, &st); err != nil || st.Purpose != purpose || st.Session.Challenge == "" {
		return nil, ErrInvalidToken
	}
	if userID != "" && st.UserID != userID {
		return nil, ErrInvalidToken
	}
	if !s.now().Before(st.Expires) {
		return nil, ErrInvalidToken
	}
	return &st, nil
}

// useCeremony uses up the challenge of st, atomically: of two Finish
// calls with one state, one gets ErrInvalidToken.
func (s *Service) useCeremony(ctx context.Context, st *ceremonyState) error {
	t, err := s.store.UseToken(ctx, hashToken(st.Session.Challenge), tokenWebAuthn, s.now())
	if isNotFound(err) {
		return ErrInvalidToken
	}
	if err != nil {
		return err
	}
	if t.UserID != st.UserID {
		return ErrInvalidToken
	}
	return nil
}

// recordKeyUse records a verified use of one of w's keys: its new
// counter, and when it was used. A counter that went back means a cloned
// key (or a replayed assertion): errKeyRefused. So is one overtaken by a
// concurrent use, except for authenticators without a counter, for
// which the single-use challenge is the whole protection.
func (s *Service) recordKeyUse(ctx context.Context, w *webauthnUser, cred *webauthn.Credential) error {
	if cred.Authenticator.CloneWarning {
		s.log.Warn("usher: a security key's signature counter went back; refused (cloned key?)", "user", w.u.ID)
		return errKeyRefused
	}
	for i, c := range w.creds {
		if !bytes.Equal(c.ID, cred.ID) {
			continue
		}
		m := w.methods[i]
		err := s.store.UseTOTPStep(ctx, m.ID, keyStep(m.LastStep, cred.Authenticator.SignCount), s.now())
		if isNotFound(err) {
			if cred.Authenticator.SignCount == 0 {
				return nil
			}
			return errKeyRefused
		}
		return err
	}
	return errKeyRefused
}

// BeginWebAuthnRegistration starts adding a security key or passkey to
// the user of sess: it returns the options for
// navigator.credentials.create({publicKey: options}) and the opaque state
// to give back to FinishWebAuthnRegistration within 5 minutes. The user's
// keys are excluded (a key is added once); a discoverable credential (a
// passkey) and user verification are preferred, so one ceremony makes a
// passkey when the authenticator can. It returns ErrNotFound when
// WebAuthn is unavailable.
func (s *Service) BeginWebAuthnRegistration(ctx context.Context, sess *Session) (options json.RawMessage, state string, err error) {
	wa, ok := s.relyingParty()
	if !ok {
		return nil, "", ErrNotFound
	}
	u, err := s.store.UserByID(ctx, sess.UserID)
	if err != nil {
		return nil, "", err
	}
	methods, err := s.store.ListMFAMethods(ctx, u.ID)
	if err != nil {
		return nil, "", err
	}
	w := s.newWebAuthnUser(u, methods)
	creation, sd, err := wa.BeginRegistration(w,
		webauthn.WithExclusions(w.descriptors()),
		webauthn.WithAuthenticatorSelection(protocol.AuthenticatorSelection{
			ResidentKey:        protocol.ResidentKeyRequirementPreferred,
			RequireResidentKey: protocol.ResidentKeyNotRequired(),
			UserVerification:   protocol.VerificationPreferred,
		}),
		webauthn.WithConveyancePreference(protocol.PreferNoAttestation),
	)
	if err != nil {
		return nil, "", err
	}
	return s.beginCeremony(ctx, ceremonyRegister, u, creation.Response, sd)
}

// FinishWebAuthnRegistration adds the key that answered
// BeginWebAuthnRegistration's options: credential is the JSON of the
// browser's PublicKeyCredential (id, rawId, type, response with
// clientDataJSON and attestationObject, base64url), name the user's label
// for it ("" means "Security key"). As AddMFAMethod, it requires the
// password (a wrong one counts towards the lock-out). It returns
// ErrNotFound (WebAuthn unavailable), a *ValidationError (password
// missing, credential malformed or not verified), ErrAuthenticationFailed,
// ErrTooManyPasswordFailures, or ErrInvalidToken for a state that is
// forged, expired, another user's or already used.
func (s *Service) FinishWebAuthnRegistration(ctx context.Context, sess *Session, password, state, name string, credential []byte, c Client) (*MFAMethod, error) {
	wa, ok := s.relyingParty()
	if !ok {
		return nil, ErrNotFound
	}
	u, err := s.confirmedByPassword(ctx, sess, password, c)
	if err != nil {
		return nil, err
	}
	st, err := s.openCeremony(state, ceremonyRegister, u.ID)
	if err != nil {
		return nil, err
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(credential)
	if err != nil {
		return nil, &ValidationError{Fields: map[string]string{"credential": MsgInvalidFormat}}
	}
	if err := s.useCeremony(ctx, st); err != nil {
		return nil, err
	}
	methods, err := s.store.ListMFAMethods(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	w := s.newWebAuthnUser(u, methods)
	cred, err := wa.CreateCredential(w, st.Session, parsed)
	if err != nil {
		s.log.Info("usher: security key not verified", "user", u.ID, "err", err)
		return nil, &ValidationError{Fields: map[string]string{"credential": MsgInvalidFormat}}
	}
	for _, old := range w.creds {
		if bytes.Equal(old.ID, cred.ID) {
			return nil, &ValidationError{Fields: map[string]string{"credential": MsgInvalidFormat}}
		}
	}
	plain, err := json.Marshal(cred)
	if err != nil {
		return nil, err
	}
	sealed, err := s.sealer.Seal(plain)
	if err != nil {
		return nil, err
	}
	name = truncate(strings.TrimSpace(name), 64)
	if name == "" {
		name = "Security key"
	}
	now := s.now()
	m := &MFAMethod{ID: NewID(), UserID: u.ID, Type: MFAFIDO, Name: name, Secret: sealed,
		LastStep: int64(cred.Authenticator.SignCount) << keyUseBits, CreatedAt: now}
	return s.storeMethod(ctx, m, false, c)
}

// BeginWebAuthnLogin starts the second factor of a pending log-in (the
// Pending token of an *MFARequiredError) with a security key: it returns
// the options for navigator.credentials.get({publicKey: options}), which
// allow the user's keys, and the state. The log-in then completes with
// CompleteMFALogin (or Login) and the factor {Type: "fido", Code: <the
// PublicKeyCredential JSON>, State: state}. It returns ErrNotFound
// (WebAuthn unavailable, or the user has no key), ErrInvalidToken or a
// *RateLimitError (it counts as a log-in attempt of c's address).
func (s *Service) BeginWebAuthnLogin(ctx context.Context, pending string, c Client) (options json.RawMessage, state string, err error) {
	wa, ok := s.relyingParty()
	if !ok {
		return nil, "", ErrNotFound
	}
	if len(pending) != tokenLen {
		return nil, "", ErrInvalidToken
	}
	if err := s.checkRate(ctx, "login", c.IP, s.cfg.LoginRateLimit, time.Minute); err != nil {
		return nil, "", err
	}
	t, err := s.store.FindToken(ctx, hashToken(pending), tokenMFAPending, s.now())
	if isNotFound(err) {
		return nil, "", ErrInvalidToken
	}
	if err != nil {
		return nil, "", err
	}
	u, err := s.store.UserByID(ctx, t.UserID)
	if err != nil {
		return nil, "", ErrInvalidToken
	}
	methods, err := s.store.ListMFAMethods(ctx, u.ID)
	if err != nil {
		return nil, "", err
	}
	w := s.newWebAuthnUser(u, methods)
	if len(w.creds) == 0 {
		return nil, "", ErrNotFound
	}
	// The password was the first factor: the key need only be present.
	assertion, sd, err := wa.BeginLogin(w, webauthn.WithUserVerification(protocol.VerificationDiscouraged))
	if err != nil {
		return nil, "", err
	}
	return s.beginCeremony(ctx, ceremonyLogin, u, assertion.Response, sd)
}

// PendingMFATypes returns the second-factor types of the user of a
// pending log-in (the Types of its *MFARequiredError again), for a page
// that keeps only the token — to offer "Use your security key" only to
// a user who has one. It returns ErrInvalidToken for a token that is
// unknown, used or expired.
func (s *Service) PendingMFATypes(ctx context.Context, pending string) ([]string, error) {
	if len(pending) != tokenLen {
		return nil, ErrInvalidToken
	}
	t, err := s.store.FindToken(ctx, hashToken(pending), tokenMFAPending, s.now())
	if isNotFound(err) {
		return nil, ErrInvalidToken
	}
	if err != nil {
		return nil, err
	}
	methods, err := s.store.ListMFAMethods(ctx, t.UserID)
	if err != nil {
		return nil, err
	}
	return s.mfaTypes(ctx, t.UserID, methods), nil
}

// verifyWebAuthnFactor checks a "fido" second factor of u: f.State from
// BeginWebAuthnLogin and f.Code the PublicKeyCredential JSON. The state is
// used up whatever the outcome.
func (s *Service) verifyWebAuthnFactor(ctx context.Context, u *User, methods []*MFAMethod, f SecondFactor) bool {
	wa, ok := s.relyingParty()
	if !ok {
		return false
	}
	st, err := s.openCeremony(f.State, ceremonyLogin, u.ID)
	if err != nil {
		return false
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes([]byte(f.Code))
	if err != nil {
		return false
	}
	if err := s.useCeremony(ctx, st); err != nil {
		return false
	}
	w := s.newWebAuthnUser(u, methods)
	cred, err := wa.ValidateLogin(w, st.Session, parsed)
	if err != nil {
		s.log.Info("usher: security key not verified", "user", u.ID, "err", err)
		return false
	}
	if err := s.recordKeyUse(ctx, w, cred); err != nil {
		if !errors.Is(err, errKeyRefused) {
			s.log.Error("usher: recording a security key's use", "user", u.ID, "err", err)
		}
		return false
	}
	return true
}

// BeginPasskeyLogin starts a log-in with a passkey, without password
// (when Config.EnablePasskeys): it returns the options for
// navigator.credentials.get({publicKey: options}) — no allowCredentials,
// so the browser offers the passkeys it has for this site — and the state
// for FinishPasskeyLogin. User verification (PIN, biometrics) is
// required: the passkey stands for both factors. It returns ErrNotFound
// (passkeys off or WebAuthn unavailable) or a *RateLimitError (it counts
// as a log-in attempt of c's address).
func (s *Service) BeginPasskeyLogin(ctx context.Context, c Client) (options json.RawMessage, state string, err error) {
	wa, ok := s.relyingParty()
	if !ok || !s.cfg.EnablePasskeys {
		return nil, "", ErrNotFound
	}
	if err := s.checkRate(ctx, "login", c.IP, s.cfg.LoginRateLimit, time.Minute); err != nil {
		return nil, "", err
	}
	assertion, sd, err := wa.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		return nil, "", err
	}
	return s.beginCeremony(ctx, ceremonyPasskey, nil, assertion.Response, sd)
}

// FinishPasskeyLogin logs in the owner of the passkey that answered
// BeginPasskeyLogin's options (credential is the browser's
// PublicKeyCredential JSON; its userHandle is the user's ID). A passkey
// is both factors, so no second factor is asked. After the passkey is
// verified the account is checked as Login does: a locked account gets
// ErrTooManyPasswordFailures, then ErrAccountIsNotEnabled,
// ErrEmailNotConfirmed, and an admin's demand for a new password the
// Session with ErrPasswordResetRequested. It returns ErrNotFound (passkeys
// off), a *RateLimitError, ErrInvalidToken (state forged, expired or
// used), a *ValidationError (credential malformed) or a *LoginError
// with MsgPasskeyRefused, which unwraps to ErrAuthenticationFailed
// (unknown or unverified passkey; this does not count towards the
// lock-out, as no password is guessed).
func (s *Service) FinishPasskeyLogin(ctx context.Context, state string, credential []byte, remember bool, c Client) (*Session, *User, error) {
	wa, ok := s.relyingParty()
	if !ok || !s.cfg.EnablePasskeys {
		return nil, nil, ErrNotFound
	}
	if err := s.checkRate(ctx, "login", c.IP, s.cfg.LoginRateLimit, time.Minute); err != nil {
		return nil, nil, err
	}
	st, err := s.openCeremony(state, ceremonyPasskey, "")
	if err != nil {
		return nil, nil, err
	}
	if st.UserID != "" {
		return nil, nil, ErrInvalidToken
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(credential)
	if err != nil {
		return nil, nil, &ValidationError{Fields: map[string]string{"credential": MsgInvalidFormat}}
	}
	if err := s.useCeremony(ctx, st); err != nil {
		return nil, nil, err
	}
	var w *webauthnUser
	var lookupErr error
	cred, err := wa.ValidateDiscoverableLogin(func(_, userHandle []byte) (webauthn.User, error) {
		u, err := s.store.UserByID(ctx, string(userHandle))
		if err == nil {
			var methods []*MFAMethod
			if methods, err = s.store.ListMFAMethods(ctx, u.ID); err == nil {
				w = s.newWebAuthnUser(u, methods)
				return w, nil
			}
		}
		lookupErr = err
		return nil, err
	}, st.Session, parsed)
	if lookupErr != nil && !isNotFound(lookupErr) {
		return nil, nil, lookupErr // the database, not the passkey
	}
	if err == nil {
		err = s.recordKeyUse(ctx, w, cred)
		if err != nil && !errors.Is(err, errKeyRefused) {
			return nil, nil, err
		}
	}
	if err != nil {
		if w != nil {
			s.event(ctx, s.store, w.u.ID, EventLoginFailed, c, "passkey")
		} else {
			s.event(ctx, s.store, "", EventLoginFailed, c, "unknown passkey")
		}
		s.log.Info("usher: passkey not verified", "err", err)
		return nil, nil, &LoginError{Reason: MsgPasskeyRefused}
	}
	u := w.u
	if s.locked(ctx, u) {
		s.event(ctx, s.store, u.ID, EventLoginFailed, c, "locked")
		return nil, nil, ErrTooManyPasswordFailures
	}
	if !u.Enabled {
		return nil, nil, ErrAccountIsNotEnabled
	}
	if !s.mayLogInUnconfirmed(u) {
		return nil, nil, ErrEmailNotConfirmed
	}
	return s.logIn(ctx, u, remember, false, c, "passkey", nil)
}
