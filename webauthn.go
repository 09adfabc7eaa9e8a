package usher

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net"
	"net/url"
	"strings"
	"time"
)

// WebAuthn security keys and passkeys (Anvil's "fido" second factor).
//
// A key is an MFAMethod of type MFAFIDO whose sealed Secret is its
// credential, as the WebAuthn implementation wrote it. Each ceremony has
// two steps: Begin returns the options for navigator.credentials.create()
// or .get() (the content of their publicKey member) and an opaque state,
// the ceremony's session sealed with the Sealer; Finish takes the state
// back with the browser's PublicKeyCredential. The state cannot be forged
// or altered (it is sealed), ends after webauthnTTL, and works once: Begin
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

// WebAuthn makes the relying party of the WebAuthn ceremonies (security
// keys and passkeys). Package mfa/webauthn implements it
// (webauthn.Provider).
type WebAuthn interface {
	// RelyingParty returns the relying party of o, or an error when o
	// cannot be one.
	RelyingParty(o WebAuthnOrigin) (RelyingParty, error)
}

// WebAuthnOrigin is where a relying party lives: Usher's public origin.
type WebAuthnOrigin struct {
	RPID   string // the host name of Config.BaseURL
	Name   string // shown by the browser: Config.AppName
	Origin string // scheme://host[:port], the one origin allowed
	// Timeout is how long a ceremony may take, from Begin to Finish.
	Timeout time.Duration
}

// RelyingParty is the relying party's side of the WebAuthn ceremonies the
// Service needs: a Begin method writes the options for the browser and the
// session Finish needs back; a Finish method verifies the browser's
// PublicKeyCredential (its JSON, credential) against that session.
// Attestation is not asked for. The Service keeps the session sealed,
// makes each challenge work once and records the keys and their uses.
type RelyingParty interface {
	// BeginRegistration starts adding a key for u: u's keys are excluded,
	// and a discoverable credential (a passkey) and user verification are
	// preferred.
	BeginRegistration(u *WebAuthnUser) (*WebAuthnCeremony, error)
	// FinishRegistration verifies the new key and returns it; a key u
	// already has is refused.
	FinishRegistration(u *WebAuthnUser, session, credential []byte) (*WebAuthnKey, error)
	// BeginLogin starts a second factor with one of u's keys (the
	// password was the first factor: user verification is discouraged).
	BeginLogin(u *WebAuthnUser) (*WebAuthnCeremony, error)
	// FinishLogin verifies an assertion by one of u's keys.
	FinishLogin(u *WebAuthnUser, session, credential []byte) (*WebAuthnKeyUse, error)
	// BeginPasskeyLogin starts a log-in with any passkey the browser has
	// for this site, user verification required.
	BeginPasskeyLogin() (*WebAuthnCeremony, error)
	// FinishPasskeyLogin verifies an assertion by a passkey whose owner
	// owner finds by the user handle; the KeyUse is of that user's Keys.
	FinishPasskeyLogin(session, credential []byte, owner func(userHandle []byte) (*WebAuthnUser, error)) (*WebAuthnKeyUse, error)
	// CheckCreation and CheckAssertion report whether credential is a
	// well-formed answer to a registration, or a log-in, without
	// verifying it: a malformed one does not use up the ceremony.
	CheckCreation(credential []byte) error
	CheckAssertion(credential []byte) error
}

// WebAuthnUser is a user as a ceremony sees them. The user handle is the
// user's ID: a passkey log-in finds the user by it.
type WebAuthnUser struct {
	ID          string
	Name        string // the email address, else the username
	DisplayName string // the username, else the email address
	Keys        []WebAuthnKey
}

// WebAuthnKey is a security key or passkey: its credential as
// FinishRegistration returned it, and the authenticator's signature
// counter last seen.
type WebAuthnKey struct {
	Credential []byte
	SignCount  uint32
}

// WebAuthnCeremony is what Begin returns: Options, the publicKey member
// for the browser; Challenge, the challenge in them (base64url); Session,
// what Finish needs back.
type WebAuthnCeremony struct {
	Options   json.RawMessage
	Challenge string
	Session   json.RawMessage
}

// WebAuthnKeyUse is a verified assertion: the index of the key in the
// user's Keys, the signature counter it reported, and whether that went
// back (a cloned key, or a replayed assertion).
type WebAuthnKeyUse struct {
	Key          int
	SignCount    uint32
	CloneWarning bool
}

const (
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
	Purpose   string          `json:"purpose"`
	UserID    string          `json:"user_id,omitempty"`
	Expires   time.Time       `json:"expires"`
	Challenge string          `json:"challenge"`
	Session   json.RawMessage `json:"session"`
}

// errKeyRefused is a verified assertion the Service still refuses: the
// key's counter went back (a cloned key) or was overtaken.
var errKeyRefused = errors.New("usher: security key refused")

// relyingParty returns the WebAuthn relying party of Config.BaseURL, or
// false when WebAuthn cannot work there (see above) or second factors are
// not configured.
func (s *Service) relyingParty() (RelyingParty, bool) {
	if !s.mfaReady() || s.webauthn == nil {
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
	rp, err := s.webauthn.RelyingParty(WebAuthnOrigin{
		RPID:    host,
		Name:    s.cfg.AppName,
		Origin:  u.Scheme + "://" + strings.ToLower(u.Host),
		Timeout: webauthnTTL,
	})
	if err != nil {
		s.log.Error("usher: WebAuthn relying party", "base_url", s.cfg.BaseURL, "err", err)
		return nil, false
	}
	return rp, true
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

// webauthnUser is a User with their keys, as a ceremony sees them (view)
// and as they are stored (methods[i] holds view.Keys[i]).
type webauthnUser struct {
	u       *User
	view    WebAuthnUser
	methods []*MFAMethod
}

// newWebAuthnUser opens the user's security keys among methods. The
// signature counter of each comes from the method's LastStep, which
// unlike the sealed credential is updated after each use.
func (s *Service) newWebAuthnUser(u *User, methods []*MFAMethod) *webauthnUser {
	w := &webauthnUser{u: u, view: WebAuthnUser{ID: u.ID, Name: u.Email, DisplayName: u.Username}}
	if w.view.Name == "" {
		w.view.Name = u.Username
	}
	if w.view.DisplayName == "" {
		w.view.DisplayName = u.Email
	}
	for _, m := range methods {
		if m.Type != MFAFIDO {
			continue
		}
		plain, err := s.sealer.Open(m.Secret)
		if err != nil {
			s.log.Error("usher: opening a security key", "user", u.ID, "method", m.ID, "err", err)
			continue
		}
		w.view.Keys = append(w.view.Keys, WebAuthnKey{Credential: plain, SignCount: uint32(m.LastStep >> keyUseBits)}) // #nosec G115 -- the 32-bit counter keyStep stored above the use count
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
func (s *Service) beginCeremony(ctx context.Context, purpose string, u *User, cer *WebAuthnCeremony) (json.RawMessage, string, error) {
	now := s.now()
	st := ceremonyState{Purpose: purpose, Expires: now.Add(webauthnTTL), Challenge: cer.Challenge, Session: cer.Session}
	t := &Token{Hash: hashToken(cer.Challenge), Kind: tokenWebAuthn, CreatedAt: now, ExpiresAt: st.Expires}
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
	return cer.Options, base64.RawURLEncoding.EncodeToString(sealed), nil
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
	if err := json.Unmarshal(plain, &st); err != nil || st.Purpose != purpose || st.Challenge == "" {
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
	t, err := s.store.UseToken(ctx, hashToken(st.Challenge), tokenWebAuthn, s.now())
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
func (s *Service) recordKeyUse(ctx context.Context, w *webauthnUser, use *WebAuthnKeyUse) error {
	if use.CloneWarning {
		s.log.Warn("usher: a security key's signature counter went back; refused (cloned key?)", "user", w.u.ID)
		return errKeyRefused
	}
	if use.Key < 0 || use.Key >= len(w.methods) {
		return errKeyRefused
	}
	m := w.methods[use.Key]
	err := s.store.UseTOTPStep(ctx, m.ID, keyStep(m.LastStep, use.SignCount), s.now())
	if isNotFound(err) {
		if use.SignCount == 0 {
			return nil
		}
		return errKeyRefused
	}
	return err
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
	rp, ok := s.relyingParty()
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
	cer, err := rp.BeginRegistration(&w.view)
	if err != nil {
		return nil, "", err
	}
	return s.beginCeremony(ctx, ceremonyRegister, u, cer)
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
	rp, ok := s.relyingParty()
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
	if err := rp.CheckCreation(credential); err != nil {
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
	key, err := rp.FinishRegistration(&w.view, st.Session, credential)
	if err != nil {
		s.log.Info("usher: security key not verified", "user", u.ID, "err", err)
		return nil, &ValidationError{Fields: map[string]string{"credential": MsgInvalidFormat}}
	}
	sealed, err := s.sealer.Seal(key.Credential)
	if err != nil {
		return nil, err
	}
	name = truncate(strings.TrimSpace(name), 64)
	if name == "" {
		name = "Security key"
	}
	now := s.now()
	m := &MFAMethod{ID: NewID(), UserID: u.ID, Type: MFAFIDO, Name: name, Secret: sealed,
		LastStep: int64(key.SignCount) << keyUseBits, CreatedAt: now}
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
	rp, ok := s.relyingParty()
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
	if len(w.view.Keys) == 0 {
		return nil, "", ErrNotFound
	}
	// The password was the first factor: the key need only be present.
	cer, err := rp.BeginLogin(&w.view)
	if err != nil {
		return nil, "", err
	}
	return s.beginCeremony(ctx, ceremonyLogin, u, cer)
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
	rp, ok := s.relyingParty()
	if !ok {
		return false
	}
	st, err := s.openCeremony(f.State, ceremonyLogin, u.ID)
	if err != nil {
		return false
	}
	if err := rp.CheckAssertion([]byte(f.Code)); err != nil {
		return false
	}
	if err := s.useCeremony(ctx, st); err != nil {
		return false
	}
	w := s.newWebAuthnUser(u, methods)
	use, err := rp.FinishLogin(&w.view, st.Session, []byte(f.Code))
	if err != nil {
		s.log.Info("usher: security key not verified", "user", u.ID, "err", err)
		return false
	}
	if err := s.recordKeyUse(ctx, w, use); err != nil {
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
	rp, ok := s.relyingParty()
	if !ok || !s.cfg.EnablePasskeys {
		return nil, "", ErrNotFound
	}
	if err := s.checkRate(ctx, "login", c.IP, s.cfg.LoginRateLimit, time.Minute); err != nil {
		return nil, "", err
	}
	cer, err := rp.BeginPasskeyLogin()
	if err != nil {
		return nil, "", err
	}
	return s.beginCeremony(ctx, ceremonyPasskey, nil, cer)
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
	rp, ok := s.relyingParty()
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
	if err := rp.CheckAssertion(credential); err != nil {
		return nil, nil, &ValidationError{Fields: map[string]string{"credential": MsgInvalidFormat}}
	}
	if err := s.useCeremony(ctx, st); err != nil {
		return nil, nil, err
	}
	var w *webauthnUser
	var lookupErr error
	use, err := rp.FinishPasskeyLogin(st.Session, credential, func(userHandle []byte) (*WebAuthnUser, error) {
		u, err := s.store.UserByID(ctx, string(userHandle))
		if err == nil {
			var methods []*MFAMethod
			if methods, err = s.store.ListMFAMethods(ctx, u.ID); err == nil {
				w = s.newWebAuthnUser(u, methods)
				return &w.view, nil
			}
		}
		lookupErr = err
		return nil, err
	})
	if lookupErr != nil && !isNotFound(lookupErr) {
		return nil, nil, lookupErr // the database, not the passkey
	}
	if err == nil {
		err = s.recordKeyUse(ctx, w, use)
		if err != nil && !errors.Is(err, errKeyRefused) {
			return nil, nil, err
		}
	}
	if err != nil {
		if w != nil {
			s.event(ctx, s.store, w.u.ID, EventLoginFailed, c, FailPasskey)
		} else {
			s.event(ctx, s.store, "", EventLoginFailed, c, FailUnknownPasskey)
		}
		s.log.Info("usher: passkey not verified", "err", err)
		return nil, nil, &LoginError{Reason: MsgPasskeyRefused}
	}
	sess, err := s.completeLogin(ctx, loginRequest{kind: loginPasskey, user: w.u, remember: remember, client: c})
	return loginAnswer(sess, w.u, err)
}
