package usher_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/go-webauthn/webauthn/protocol/webauthncbor"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"

	"github.com/usher-auth/usher"
	"github.com/usher-auth/usher/mfa"
	"github.com/usher-auth/usher/mfa/webauthn"
	"github.com/usher-auth/usher/password"
	"github.com/usher-auth/usher/usertest"
)

const rpOrigin = "https://auth.example.com"

var b64 = base64.RawURLEncoding

// softKey is a software authenticator: it answers the options the
// Service gives as a browser with a security key would, with "none"
// attestation and ES256.
type softKey struct {
	t          *testing.T
	key        *ecdsa.PrivateKey
	id         []byte
	userHandle []byte
	counter    uint32 // signature counter; with noCounter it stays 0
	noCounter  bool
	origin     string
}

func newSoftKey(t *testing.T) *softKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id := make([]byte, 16)
	rand.Read(id)
	return &softKey{t: t, key: k, id: id, origin: rpOrigin}
}

func (k *softKey) clientData(typ, challenge string) []byte {
	b, _ := json.Marshal(map[string]any{"type": typ, "challenge": challenge, "origin": k.origin, "crossOrigin": false})
	return b
}

func (k *softKey) authData(rpID string, attested []byte) []byte {
	h := sha256.Sum256([]byte(rpID))
	flags := byte(0x01 | 0x04) // user present, user verified
	if attested != nil {
		flags |= 0x40
	}
	if !k.noCounter {
		k.counter++
	}
	out := append(h[:], flags)
	out = binary.BigEndian.AppendUint32(out, k.counter)
	return append(out, attested...)
}

// create answers options of BeginWebAuthnRegistration.
func (k *softKey) create(options []byte) []byte {
	k.t.Helper()
	var o struct {
		Challenge string `json:"challenge"`
		RP        struct {
			ID string `json:"id"`
		} `json:"rp"`
		User struct {
			ID string `json:"id"`
		} `json:"user"`
		ExcludeCredentials []struct {
			ID string `json:"id"`
		} `json:"excludeCredentials"`
	}
	if err := json.Unmarshal(options, &o); err != nil {
		k.t.Fatal(err)
	}
	k.userHandle, _ = b64.DecodeString(o.User.ID)
	cose, err := webauthncbor.Marshal(webauthncose.EC2PublicKeyData{
		PublicKeyData: webauthncose.PublicKeyData{KeyType: int64(webauthncose.EllipticKey), Algorithm: int64(webauthncose.AlgES256)},
		Curve:         int64(webauthncose.P256),
		XCoord:        k.key.X.FillBytes(make([]byte, 32)),
		YCoord:        k.key.Y.FillBytes(make([]byte, 32)),
	})
	if err != nil {
		k.t.Fatal(err)
	}
	attested := make([]byte, 16) // AAGUID: zero
	attested = binary.BigEndian.AppendUint16(attested, uint16(len(k.id)))
	attested = append(append(attested, k.id...), cose...)
	obj, err := webauthncbor.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": k.authData(o.RP.ID, attested)})
	if err != nil {
		k.t.Fatal(err)
	}
	cred, _ := json.Marshal(map[string]any{
		"id": b64.EncodeToString(k.id), "rawId": b64.EncodeToString(k.id), "type": "public-key",
		"response": map[string]any{
			"clientDataJSON":    b64.EncodeToString(k.clientData("webauthn.create", o.Challenge)),
			"attestationObject": b64.EncodeToString(obj),
		},
	})
	return cred
}

// get answers options of BeginWebAuthnLogin or BeginPasskeyLogin.
func (k *softKey) get(options []byte) []byte {
	k.t.Helper()
	var o struct {
		Challenge string `json:"challenge"`
		RPID      string `json:"rpId"`
	}
	if err := json.Unmarshal(options, &o); err != nil {
		k.t.Fatal(err)
	}
	cd := k.clientData("webauthn.get", o.Challenge)
	ad := k.authData(o.RPID, nil)
	cdHash := sha256.Sum256(cd)
	digest := sha256.Sum256(append(slices.Clone(ad), cdHash[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, k.key, digest[:])
	if err != nil {
		k.t.Fatal(err)
	}
	cred, _ := json.Marshal(map[string]any{
		"id": b64.EncodeToString(k.id), "rawId": b64.EncodeToString(k.id), "type": "public-key",
		"response": map[string]any{
			"clientDataJSON":    b64.EncodeToString(cd),
			"authenticatorData": b64.EncodeToString(ad),
			"signature":         b64.EncodeToString(sig),
			"userHandle":        b64.EncodeToString(k.userHandle),
		},
	})
	return cred
}

// testSealer seals with one key for all the Services of the tests, so
// that they share states and secrets, as instances of one deployment do.
var testSealer, _ = mfa.NewSealer(mfa.NewKey())

func newWebAuthnService(t *testing.T, cfg usher.Config, st usher.Store, clock *usertest.Clock) *usher.Service {
	t.Helper()
	return newWebAuthnServiceSealer(t, cfg, st, clock, testSealer)
}

func newWebAuthnServiceSealer(t *testing.T, cfg usher.Config, st usher.Store, clock *usertest.Clock, sealer usher.Sealer) *usher.Service {
	t.Helper()
	if cfg.BaseURL == "" {
		cfg.BaseURL = rpOrigin
	}
	svc, err := usher.New(cfg, usher.Deps{Store: st, Passwords: usertest.FastHasher(), Policy: password.Policy{},
		MFA: mfa.Provider{}, WebAuthn: webauthn.Provider{}, Sealer: sealer, Now: clock.Now, Logger: usertest.Discard})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	return svc
}

// addKey registers k for the user of sess.
func addKey(t *testing.T, svc *usher.Service, sess *usher.Session, k *softKey) *usher.MFAMethod {
	t.Helper()
	opts, state, err := svc.BeginWebAuthnRegistration(ctx, sess)
	if err != nil {
		t.Fatal(err)
	}
	m, err := svc.FinishWebAuthnRegistration(ctx, sess, pw, state, "YubiKey", k.create(opts), client)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// pendingLogin logs in with the password only and returns the pending
// log-in.
func pendingLogin(t *testing.T, svc *usher.Service, email string) *usher.MFARequiredError {
	t.Helper()
	_, _, err := svc.LoginWithEmail(ctx, email, pw, false, client)
	var mr *usher.MFARequiredError
	if !errors.As(err, &mr) {
		t.Fatalf("password only: %v; want mfa_required", err)
	}
	return mr
}

func TestWebAuthnSecondFactor(t *testing.T) {
	clock := usertest.NewClock()
	svc := newWebAuthnService(t, usher.Config{}, usertest.NewSQLiteStore(t), clock)
	u := usertest.MustCreateUser(t, svc, "ann@example.com")
	sess, _, err := svc.LoginWithEmail(ctx, u.Email, pw, false, client)
	if err != nil {
		t.Fatal(err)
	}
	k := newSoftKey(t)

	// Registration: the options exclude nothing yet and prefer a passkey.
	opts, state, err := svc.BeginWebAuthnRegistration(ctx, sess)
	if err != nil {
		t.Fatal(err)
	}
	var o map[string]any
	json.Unmarshal(opts, &o)
	sel, _ := o["authenticatorSelection"].(map[string]any)
	if o["rp"].(map[string]any)["id"] != "auth.example.com" || sel["residentKey"] != "preferred" || sel["userVerification"] != "preferred" {
		t.Errorf("creation options: %s", opts)
	}
	cred := k.create(opts)
	if _, err := svc.FinishWebAuthnRegistration(ctx, sess, "wrong password!", state, "", cred, client); err != usher.ErrAuthenticationFailed {
		t.Fatalf("wrong password: %v", err)
	}
	if got, _ := svc.User(ctx, u.ID); got.PasswordFailures != 1 {
		t.Errorf("failures after a wrong password: %d", got.PasswordFailures)
	}
	m, err := svc.FinishWebAuthnRegistration(ctx, sess, pw, state, " YubiKey ", cred, client)
	if err != nil {
		t.Fatal(err)
	}
	if m.Type != usher.MFAFIDO || m.Name != "YubiKey" || m.Secret != nil {
		t.Errorf("method: %+v", m)
	}
	if _, err := svc.FinishWebAuthnRegistration(ctx, sess, pw, state, "again", cred, client); err != usher.ErrInvalidToken {
		t.Errorf("replayed registration: %v; want ErrInvalidToken", err)
	}
	// The next registration excludes the key.
	opts, _, _ = svc.BeginWebAuthnRegistration(ctx, sess)
	json.Unmarshal(opts, &o)
	if ex, _ := o["excludeCredentials"].([]any); len(ex) != 1 || ex[0].(map[string]any)["id"] != b64.EncodeToString(k.id) {
		t.Errorf("excludeCredentials: %v", o["excludeCredentials"])
	}

	// Log-in: the password, then the key.
	mr := pendingLogin(t, svc, u.Email)
	if !slices.Equal(mr.Types, []string{usher.MFAFIDO}) {
		t.Errorf("types: %v; want [fido]", mr.Types)
	}
	if types, err := svc.PendingMFATypes(ctx, mr.Pending); err != nil || !slices.Equal(types, mr.Types) {
		t.Errorf("PendingMFATypes: %v, %v; want %v", types, err, mr.Types)
	}
	opts, state, err = svc.BeginWebAuthnLogin(ctx, mr.Pending, client)
	if err != nil {
		t.Fatal(err)
	}
	json.Unmarshal(opts, &o)
	if al, _ := o["allowCredentials"].([]any); len(al) != 1 {
		t.Errorf("allowCredentials: %v", o["allowCredentials"])
	}
	f := usher.SecondFactor{Type: usher.MFAFIDO, Code: string(k.get(opts)), State: state}
	s, got, err := svc.CompleteMFALogin(ctx, mr.Pending, f, false, false, client)
	if err != nil || got.ID != u.ID || s == nil {
		t.Fatalf("complete: %v, %v", s, err)
	}
	list, _ := svc.ListMFAMethods(ctx, u.ID)
	if len(list) != 1 || list[0].LastUsedAt.IsZero() {
		t.Errorf("after use: %+v", list)
	}

	// The same answer again, in a new pending log-in: the challenge is
	// spent, and it counts as a wrong factor.
	mr = pendingLogin(t, svc, u.Email)
	before, _ := svc.User(ctx, u.ID)
	if _, _, err := svc.CompleteMFALogin(ctx, mr.Pending, f, false, false, client); refusal(t, err) != usher.MsgMFAKeyRefused {
		t.Errorf("replayed assertion: %v; want ErrMFARequired, key refused", err)
	}
	if after, _ := svc.User(ctx, u.ID); after.PasswordFailures != before.PasswordFailures+1 {
		t.Errorf("failures after a replay: %d; want %d", after.PasswordFailures, before.PasswordFailures+1)
	}

	// Login takes the factor at once too.
	opts, state, err = svc.BeginWebAuthnLogin(ctx, mr.Pending, client)
	if err != nil {
		t.Fatal(err)
	}
	f = usher.SecondFactor{Type: usher.MFAFIDO, Code: string(k.get(opts)), State: state}
	if _, _, err := svc.Login(ctx, usher.Credentials{Email: u.Email, Password: pw, MFA: &f}, client); err != nil {
		t.Errorf("login with the key at once: %v", err)
	}

	// A signature counter that goes back (a cloned key) is refused.
	mr = pendingLogin(t, svc, u.Email)
	opts, state, _ = svc.BeginWebAuthnLogin(ctx, mr.Pending, client)
	k.counter = 0
	f = usher.SecondFactor{Type: usher.MFAFIDO, Code: string(k.get(opts)), State: state}
	if _, _, err := svc.CompleteMFALogin(ctx, mr.Pending, f, false, false, client); refusal(t, err) != usher.MsgMFAKeyRefused {
		t.Errorf("counter gone back: %v; want ErrMFARequired, key refused", err)
	}
}

func TestWebAuthnStateRefused(t *testing.T) {
	clock := usertest.NewClock()
	st := usertest.NewSQLiteStore(t)
	svc := newWebAuthnService(t, usher.Config{}, st, clock)
	ann := usertest.MustCreateUser(t, svc, "ann@example.com")
	bob := usertest.MustCreateUser(t, svc, "bob@example.com")
	sess, _, _ := svc.LoginWithEmail(ctx, ann.Email, pw, false, client)
	bobSess, _, _ := svc.LoginWithEmail(ctx, bob.Email, pw, false, client)
	k := newSoftKey(t)

	opts, state, err := svc.BeginWebAuthnRegistration(ctx, sess)
	if err != nil {
		t.Fatal(err)
	}
	cred := k.create(opts)
	raw, _ := b64.DecodeString(state)
	raw[len(raw)/2] ^= 1
	tampered := b64.EncodeToString(raw)
	for name, bad := range map[string]string{"empty": "", "garbage": "not a state", "tampered": tampered} {
		if _, err := svc.FinishWebAuthnRegistration(ctx, sess, pw, bad, "", cred, client); err != usher.ErrInvalidToken {
			t.Errorf("%s state: %v; want ErrInvalidToken", name, err)
		}
	}
	// Ann's state is not Bob's.
	if _, err := svc.FinishWebAuthnRegistration(ctx, bobSess, pw, state, "", cred, client); err != usher.ErrInvalidToken {
		t.Errorf("another user's state: %v; want ErrInvalidToken", err)
	}
	// A state from another Service (another secret key) does not open.
	otherKey, _ := mfa.NewSealer(mfa.NewKey())
	other := newWebAuthnServiceSealer(t, usher.Config{}, st, clock, otherKey)
	if _, err := other.FinishWebAuthnRegistration(ctx, sess, pw, state, "", cred, client); err != usher.ErrInvalidToken {
		t.Errorf("state of another key: %v; want ErrInvalidToken", err)
	}
	// A registration state cannot finish a passkey log-in.
	passkeys := newWebAuthnService(t, usher.Config{EnablePasskeys: true}, st, clock)
	popts, pstate, err := passkeys.BeginPasskeyLogin(ctx, client)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := passkeys.FinishPasskeyLogin(ctx, state, k.get(popts), false, client); err != usher.ErrInvalidToken {
		t.Errorf("registration state for a passkey log-in: %v; want ErrInvalidToken", err)
	}
	// Expired.
	clock.Advance(5*time.Minute + time.Second)
	if _, err := svc.FinishWebAuthnRegistration(ctx, sess, pw, state, "", cred, client); err != usher.ErrInvalidToken {
		t.Errorf("expired state: %v; want ErrInvalidToken", err)
	}
	if _, _, err := passkeys.FinishPasskeyLogin(ctx, pstate, k.get(popts), false, client); err != usher.ErrInvalidToken {
		t.Errorf("expired passkey state: %v; want ErrInvalidToken", err)
	}
	// A fresh one works once; a malformed credential is a validation
	// error.
	opts, state, _ = svc.BeginWebAuthnRegistration(ctx, sess)
	if _, err := svc.FinishWebAuthnRegistration(ctx, sess, pw, state, "", []byte(`{"id":"x"}`), client); !errors.Is(err, usher.ErrValidation) {
		t.Errorf("malformed credential: %v; want a validation error", err)
	}
	cred = k.create(opts)
	if _, err := svc.FinishWebAuthnRegistration(ctx, sess, pw, state, "", cred, client); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.FinishWebAuthnRegistration(ctx, sess, pw, state, "", cred, client); err != usher.ErrInvalidToken {
		t.Errorf("replayed state: %v; want ErrInvalidToken", err)
	}
	// A pending log-in's token is required to begin a second factor.
	if _, _, err := svc.BeginWebAuthnLogin(ctx, "nope", client); err != usher.ErrInvalidToken {
		t.Errorf("begin without a pending log-in: %v", err)
	}
}

func TestWebAuthnAvailableTypes(t *testing.T) {
	clock := usertest.NewClock()
	st := usertest.NewSQLiteStore(t)
	svc := newWebAuthnService(t, usher.Config{}, st, clock)
	u := usertest.MustCreateUser(t, svc, "ann@example.com")
	sess, _, _ := svc.LoginWithEmail(ctx, u.Email, pw, false, client)
	if !svc.WebAuthnAvailable() || svc.PasskeysEnabled() {
		t.Errorf("available %v, passkeys %v; want true, false", svc.WebAuthnAvailable(), svc.PasskeysEnabled())
	}
	types, err := svc.AvailableMFATypes(ctx, usher.Credentials{Email: u.Email, Password: pw}, client)
	if err != nil || len(types) != 0 {
		t.Errorf("without a key: %v, %v", types, err)
	}
	addKey(t, svc, sess, newSoftKey(t))
	if _, err := svc.NewRecoveryCodes(ctx, u.ID, client); err != nil {
		t.Fatal(err)
	}
	types, _ = svc.AvailableMFATypes(ctx, usher.Credentials{Email: u.Email, Password: pw}, client)
	if !slices.Equal(types, []string{usher.MFAFIDO, usher.MFARecovery}) {
		t.Errorf("with a key: %v; want [fido recovery]", types)
	}

	// Where WebAuthn cannot work, it is off: no fido among the types,
	// ErrNotFound from every call.
	for _, base := range []string{"http://127.0.0.1:8080", "http://[::1]:8080", "http://auth.example.com", "https://192.0.2.7"} {
		off := newWebAuthnService(t, usher.Config{BaseURL: base, EnablePasskeys: true}, st, clock)
		if off.WebAuthnAvailable() {
			t.Errorf("%s: WebAuthn available", base)
		}
		types, _ := off.AvailableMFATypes(ctx, usher.Credentials{Email: u.Email, Password: pw}, client)
		if slices.Contains(types, usher.MFAFIDO) {
			t.Errorf("%s: types %v", base, types)
		}
		if _, _, err := off.BeginWebAuthnRegistration(ctx, sess); err != usher.ErrNotFound {
			t.Errorf("%s: begin registration: %v", base, err)
		}
		if _, _, err := off.BeginPasskeyLogin(ctx, client); err != usher.ErrNotFound {
			t.Errorf("%s: begin passkey log-in: %v", base, err)
		}
	}
	for _, base := range []string{"http://localhost:8080", "https://auth.example.com:8443/accounts"} {
		if on := newWebAuthnService(t, usher.Config{BaseURL: base}, st, clock); !on.WebAuthnAvailable() {
			t.Errorf("%s: WebAuthn unavailable", base)
		}
	}
	// Without second factors configured, nothing either.
	plain := usertest.NewService(t, usher.Config{BaseURL: rpOrigin, EnablePasskeys: true}, st, clock)
	if _, _, err := plain.BeginWebAuthnRegistration(ctx, sess); err != usher.ErrNotFound {
		t.Errorf("no MFA: %v", err)
	}
}

func TestPasskeyLogin(t *testing.T) {
	clock := usertest.NewClock()
	st := usertest.NewSQLiteStore(t)
	svc := newWebAuthnService(t, usher.Config{EnablePasskeys: true, MaxPasswordFailures: 3}, st, clock)
	u := usertest.MustCreateUser(t, svc, "ann@example.com")
	sess, _, _ := svc.LoginWithEmail(ctx, u.Email, pw, false, client)
	k := newSoftKey(t)
	k.noCounter = true // like most passkeys
	addKey(t, svc, sess, k)

	// Passkeys off: ErrNotFound.
	off := newWebAuthnService(t, usher.Config{}, st, clock)
	if _, _, err := off.BeginPasskeyLogin(ctx, client); err != usher.ErrNotFound {
		t.Errorf("passkeys off, begin: %v", err)
	}
	if _, _, err := off.FinishPasskeyLogin(ctx, "x", []byte("{}"), false, client); err != usher.ErrNotFound {
		t.Errorf("passkeys off, finish: %v", err)
	}

	login := func() ([]byte, string, []byte) {
		t.Helper()
		opts, state, err := svc.BeginPasskeyLogin(ctx, client)
		if err != nil {
			t.Fatal(err)
		}
		return opts, state, k.get(opts)
	}
	opts, state, cred := login()
	var o map[string]any
	json.Unmarshal(opts, &o)
	if o["userVerification"] != "required" || o["allowCredentials"] != nil {
		t.Errorf("request options: %s", opts)
	}
	s, got, err := svc.FinishPasskeyLogin(ctx, state, cred, true, client)
	if err != nil || got.ID != u.ID || !s.Remember {
		t.Fatalf("passkey log-in: %v, %v", s, err)
	}
	if _, _, err := svc.FinishPasskeyLogin(ctx, state, cred, true, client); err != usher.ErrInvalidToken {
		t.Errorf("replayed passkey log-in: %v; want ErrInvalidToken", err)
	}
	// A counter-less passkey is used again and again; each use is recorded.
	clock.Advance(time.Minute)
	_, state, cred = login()
	if _, _, err := svc.FinishPasskeyLogin(ctx, state, cred, false, client); err != nil {
		t.Fatalf("second passkey log-in: %v", err)
	}
	list, _ := svc.ListMFAMethods(ctx, u.ID)
	if !list[0].LastUsedAt.Equal(clock.Now()) {
		t.Errorf("LastUsedAt %v; want %v", list[0].LastUsedAt, clock.Now())
	}

	// An unknown user handle, or a key the user does not have.
	opts, state, _ = login()
	stranger := newSoftKey(t)
	stranger.userHandle = []byte("no-such-user")
	if _, _, err := svc.FinishPasskeyLogin(ctx, state, stranger.get(opts), false, client); !errors.Is(err, usher.ErrAuthenticationFailed) {
		t.Errorf("unknown user: %v", err)
	}
	opts, state, _ = login()
	stranger.userHandle = []byte(u.ID)
	if _, _, err := svc.FinishPasskeyLogin(ctx, state, stranger.get(opts), false, client); !errors.Is(err, usher.ErrAuthenticationFailed) {
		t.Errorf("a key not the user's: %v", err)
	}

	// The account checks of a password log-in apply after the passkey.
	tests := []struct {
		name  string
		setup func()
		undo  func()
		want  error
	}{
		{"disabled", func() { svc.DisableUser(ctx, u.ID) }, func() { svc.EnableUser(ctx, u.ID) }, usher.ErrAccountIsNotEnabled},
		{"locked", func() {
			for range 3 {
				svc.LoginWithEmail(ctx, u.Email, "wrong password!", false, client)
			}
		}, func() { svc.UnlockUser(ctx, u.ID) }, usher.ErrTooManyPasswordFailures},
		{"reset required", func() { svc.RequirePasswordReset(ctx, u.ID) }, func() {}, usher.ErrPasswordResetRequested},
	}
	for _, tt := range tests {
		tt.setup()
		_, state, cred := login()
		s, _, err := svc.FinishPasskeyLogin(ctx, state, cred, false, client)
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: %v; want %v", tt.name, err, tt.want)
		}
		if tt.want == usher.ErrPasswordResetRequested && (s == nil || !s.MustChangePassword) {
			t.Errorf("%s: session %+v; want one that may only change the password", tt.name, s)
		}
		tt.undo()
	}
}
