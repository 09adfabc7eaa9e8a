package usher_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/usher-auth/usher"
	"github.com/usher-auth/usher/mfa"
	"github.com/usher-auth/usher/password"
	"github.com/usher-auth/usher/usertest"
)

// fakeProvider is a test double of a FederatedProvider: it asserts
// whatever identity the test gives it, without any protocol. The linking
// rules and the state handling under test are the Service's; the real
// providers (OpenID Connect, SAML) are tested in package federated.
type fakeProvider struct {
	name          string
	signup, login bool
	allowIdP      bool // idpProvider's answer to AllowIdPInitiated

	ext         *usher.ExternalIdentity // what Finish asserts
	err         error                   // what Finish fails with
	assertionID string                  // a one-time ID Finish records with seen
	gotSaved    string                  // what Finish was given
	calls       int                     // Finish calls
}

func (p *fakeProvider) Name() string      { return p.name }
func (p *fakeProvider) Kind() string      { return "fake" }
func (p *fakeProvider) Label() string     { return "Fake " + p.name }
func (p *fakeProvider) AllowSignup() bool { return p.signup }
func (p *fakeProvider) AllowLogin() bool  { return p.login }

func (p *fakeProvider) Begin(_ context.Context, state string) (string, string, error) {
	return "https://idp.example/auth?state=" + state, "saved:" + state, nil
}

func (p *fakeProvider) Finish(ctx context.Context, _ *http.Request, saved string, seen usher.SeenFunc) (*usher.ExternalIdentity, error) {
	p.calls++
	p.gotSaved = saved
	if p.err != nil {
		return nil, p.err
	}
	if p.assertionID != "" {
		if err := seen(ctx, p.assertionID, time.Now().Add(time.Minute)); err != nil {
			return nil, fmt.Errorf("%w: assertion replayed: %v", usher.ErrFederatedRefused, err)
		}
	}
	ext := *p.ext
	return &ext, nil
}

// idpProvider is a fakeProvider that may accept IdP-initiated answers.
type idpProvider struct{ *fakeProvider }

func (p idpProvider) AllowIdPInitiated() bool { return p.allowIdP }

const issuer = "https://idp.example"

// newFederatedService returns a Service over SQLite with second factors
// and the given providers.
func newFederatedService(t *testing.T, cfg usher.Config, providers ...usher.FederatedProvider) (*usher.Service, *usertest.Clock) {
	t.Helper()
	clock := usertest.NewClock()
	sealer, err := mfa.NewSealer(mfa.NewKey())
	if err != nil {
		t.Fatal(err)
	}
	svc, err := usher.New(cfg, usher.Deps{Store: usertest.NewSQLiteStore(t), Passwords: usertest.FastHasher(), Policy: password.Policy{},
		MFA: mfa.Provider{}, Sealer: sealer, Now: clock.Now, Logger: usertest.Discard, Providers: providers})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	return svc, clock
}

// identitiesOf returns the user's identities, failing the test on error.
func identitiesOf(t *testing.T, svc *usher.Service, userID string) []*usher.Identity {
	t.Helper()
	list, err := svc.Identities(ctx, userID)
	if err != nil {
		t.Fatal(err)
	}
	return list
}

// hasEvent reports whether the user's audit trail has an event of typ
// with detail.
func hasEvent(t *testing.T, svc *usher.Service, userID, typ, detail string) bool {
	t.Helper()
	evs, err := svc.Events(ctx, userID, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		if e.Type == typ && e.Detail == detail {
			return true
		}
	}
	return false
}

// TestFederatedLinkingRules has one row per rule of docs/design.md
// ("Federated sign-in: linking rules").
func TestFederatedLinkingRules(t *testing.T) {
	type env struct {
		svc *usher.Service
		p   *fakeProvider
		ann *usher.User // ann@example.com, when setup made her
	}
	ext := func(sub, email string, verified bool) usher.ExternalIdentity {
		return usher.ExternalIdentity{Provider: "fake", Issuer: issuer, Subject: sub, Email: email, EmailVerified: verified, Name: "Ann Example"}
	}
	annConfirmed := func(t *testing.T, e *env) { e.ann = usertest.MustCreateUser(t, e.svc, "ann@example.com") }
	annLinked := func(t *testing.T, e *env) {
		annConfirmed(t, e)
		if _, err := e.svc.LinkIdentity(ctx, e.ann.ID, &usher.ExternalIdentity{Provider: "fake", Issuer: issuer, Subject: "sub-ann", Email: "ann@gmail.example"}, client); err != nil {
			t.Fatal(err)
		}
	}
	// The attacker's trap: an unconfirmed password account with the
	// victim's address.
	annUnconfirmed := func(t *testing.T, e *env) {
		u, err := e.svc.CreateUser(ctx, usher.NewUser{Email: "ann@example.com", Password: "attacker's password 123", Enabled: true})
		if err != nil {
			t.Fatal(err)
		}
		e.ann = u
	}
	tests := []struct {
		name    string
		cfg     usher.Config
		signup  bool // the provider allows sign-up
		nologin bool // the provider does not allow log-in
		setup   func(t *testing.T, e *env)
		ext     usher.ExternalIdentity
		intent  usher.FederatedIntent
		want    error
		check   func(t *testing.T, e *env, res *usher.FederatedResult)
	}{
		{name: "known subject logs in, whatever address it asserts now", setup: annLinked,
			ext: ext("sub-ann", "someone.else@example.com", true),
			check: func(t *testing.T, e *env, res *usher.FederatedResult) {
				if res.User.ID != e.ann.ID || res.Session == nil || res.Created {
					t.Errorf("result %+v", res)
				}
				if ids := identitiesOf(t, e.svc, e.ann.ID); len(ids) != 1 || ids[0].LastUsedAt.IsZero() {
					t.Errorf("identities %+v: want one, touched", ids)
				}
				if !hasEvent(t, e.svc, e.ann.ID, usher.EventLogin, "federated:fake") {
					t.Error("no login event with detail federated:fake")
				}
			}},
		{name: "unknown subject, no account, verified address: sign-up, confirmed", signup: true,
			cfg: usher.Config{ProfileFields: []usher.ProfileField{{Name: "name"}, {Name: "team", Required: true}}},
			ext: ext("sub-new", "New@Example.com", true),
			check: func(t *testing.T, e *env, res *usher.FederatedResult) {
				u := res.User
				if !res.Created || res.Session == nil || u.Email != "New@example.com" || !u.EmailConfirmed() || u.PasswordHash != "" {
					t.Errorf("result %+v, user %+v", res, u)
				}
				if u.Profile["name"] != "Ann Example" || u.Profile["team"] != "" {
					t.Errorf("profile %v: want the provider's name, the required field left empty", u.Profile)
				}
				if ids := identitiesOf(t, e.svc, u.ID); len(ids) != 1 || ids[0].Subject != "sub-new" || ids[0].Issuer != issuer {
					t.Errorf("identities %+v", ids)
				}
				if !hasEvent(t, e.svc, u.ID, usher.EventSignup, "federated:fake") {
					t.Error("no signup event")
				}
			}},
		{name: "unknown subject, no account, unverified address: sign-up, unconfirmed", signup: true,
			cfg: usher.Config{EnableConfirmEmail: true, EnableLoginWithoutConfirmEmail: true},
			ext: ext("sub-new", "new@example.com", false),
			check: func(t *testing.T, e *env, res *usher.FederatedResult) {
				if !res.Created || res.Session == nil || res.User.EmailConfirmed() {
					t.Errorf("result %+v", res)
				}
				if n := countMail(t, e.svc, "new@example.com", usher.MailConfirmEmail); n != 1 {
					t.Errorf("%d confirmation e-mails; want 1", n)
				}
			}},
		{name: "unverified sign-up where log-in needs a confirmed address: created, not logged in", signup: true,
			cfg: usher.Config{EnableConfirmEmail: true}, ext: ext("sub-new", "new@example.com", false), want: usher.ErrEmailNotConfirmed,
			check: func(t *testing.T, e *env, res *usher.FederatedResult) {
				if !res.Created || res.Session != nil {
					t.Errorf("result %+v", res)
				}
			}},
		{name: "account with the address, confirmed, provider vouches: linked and logged in", setup: annConfirmed,
			ext: ext("sub-ann", "ANN@example.com", true),
			check: func(t *testing.T, e *env, res *usher.FederatedResult) {
				if res.User.ID != e.ann.ID || res.Session == nil || res.Identity == nil || res.Created {
					t.Errorf("result %+v", res)
				}
				if ids := identitiesOf(t, e.svc, e.ann.ID); len(ids) != 1 || ids[0].Subject != "sub-ann" {
					t.Errorf("identities %+v", ids)
				}
				if n := countMail(t, e.svc, "ann@example.com", usher.MailIdentityLinked); n != 1 {
					t.Errorf("%d identity-linked e-mails; want 1", n)
				}
				if !hasEvent(t, e.svc, e.ann.ID, usher.EventIdentityLinked, "fake") {
					t.Error("no identity_linked event")
				}
			}},
		{name: "account with the address, provider does not vouch: link required", setup: annConfirmed,
			ext: ext("sub-x", "ann@example.com", false), want: usher.ErrLinkRequired},
		{name: "pre-hijacking: unconfirmed account with the address, verified identity: refused", signup: true, setup: annUnconfirmed,
			ext: ext("sub-victim", "ann@example.com", true), want: usher.ErrLinkRequired,
			check: func(t *testing.T, e *env, res *usher.FederatedResult) {
				if got, _ := e.svc.User(ctx, e.ann.ID); got.EmailConfirmed() {
					t.Error("the trap account's address was confirmed")
				}
				if _, n, _ := e.svc.ListUsers(ctx, usher.UserQuery{}); n != 1 {
					t.Errorf("%d users; want only the trap account", n)
				}
				if n := countMail(t, e.svc, "ann@example.com", usher.MailIdentityLinked); n != 0 {
					t.Error("a link was announced")
				}
			}},
		{name: "someone's unconfirmed secondary address: link required", signup: true,
			cfg: usher.Config{EnableMultipleEmails: true},
			setup: func(t *testing.T, e *env) {
				e.ann = usertest.MustCreateUser(t, e.svc, "ann@example.com")
				if _, err := e.svc.AddEmail(ctx, e.ann.ID, "ann@work.example", client); err != nil {
					t.Fatal(err)
				}
			},
			ext: ext("sub-x", "ann@work.example", true), want: usher.ErrLinkRequired},
		{name: "sign-up intent, address registered: user exists", signup: true, setup: annConfirmed,
			ext: ext("sub-x", "ann@example.com", true), intent: usher.IntentSignup, want: usher.ErrUserExists},
		{name: "sign-up intent, identity linked: user exists", signup: true, setup: annLinked,
			ext: ext("sub-ann", "ann@example.com", true), intent: usher.IntentSignup, want: usher.ErrUserExists},
		{name: "disabled account refused",
			setup: func(t *testing.T, e *env) {
				annLinked(t, e)
				if err := e.svc.DisableUser(ctx, e.ann.ID); err != nil {
					t.Fatal(err)
				}
			},
			ext: ext("sub-ann", "ann@example.com", true), want: usher.ErrAccountIsNotEnabled},
		{name: "disabled account with the address: refused, and not linked",
			setup: func(t *testing.T, e *env) {
				annConfirmed(t, e)
				if err := e.svc.DisableUser(ctx, e.ann.ID); err != nil {
					t.Fatal(err)
				}
			},
			ext: ext("sub-ann", "ann@example.com", true), want: usher.ErrAccountIsNotEnabled,
			check: func(t *testing.T, e *env, res *usher.FederatedResult) {
				if ids := identitiesOf(t, e.svc, e.ann.ID); len(ids) != 0 {
					t.Errorf("linked without a log-in: %+v", ids)
				}
			}},
		{name: "sign-up off at the provider: an unknown identity is not a registered user",
			ext: ext("sub-new", "new@example.com", true), want: usher.ErrAuthenticationFailed},
		{name: "sign-up off at the provider, sign-up intent",
			ext: ext("sub-new", "new@example.com", true), intent: usher.IntentSignup, want: usher.ErrSignupDisabled},
		{name: "sign-up off for the site", signup: true, cfg: usher.Config{DisableRegistration: true},
			ext: ext("sub-new", "new@example.com", true), want: usher.ErrAuthenticationFailed},
		{name: "log-in off at the provider: a known identity cannot log in", nologin: true, signup: true, setup: annLinked,
			ext: ext("sub-ann", "ann@example.com", true), want: usher.ErrAuthenticationFailed},
		{name: "log-in off at the provider: no link by address either", nologin: true, setup: annConfirmed,
			ext: ext("sub-ann", "ann@example.com", true), want: usher.ErrAuthenticationFailed},
		{name: "unknown identity without an address: refused", signup: true,
			ext: ext("sub-new", "", true), want: usher.ErrFederatedRefused},
		{name: "no subject: refused", signup: true,
			ext: ext("", "new@example.com", true), want: usher.ErrFederatedRefused},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &fakeProvider{name: "fake", signup: tt.signup, login: true}
			svc, _ := newFederatedService(t, tt.cfg, p)
			e := &env{svc: svc, p: p}
			if tt.setup != nil {
				tt.setup(t, e)
			}
			p.login = !tt.nologin
			intent := tt.intent
			if intent == "" {
				intent = usher.IntentLogin
			}
			x := tt.ext
			res, err := svc.LoginWithIdentity(ctx, &x, intent, false, client)
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if res == nil {
				t.Fatal("nil result")
			}
			if tt.want != nil && res.Session != nil {
				t.Errorf("a session with %v", err)
			}
			if errors.Is(tt.want, usher.ErrLinkRequired) || errors.Is(tt.want, usher.ErrUserExists) {
				// Refused: nobody got the identity.
				if e.ann != nil {
					for _, id := range identitiesOf(t, svc, e.ann.ID) {
						if id.Subject == x.Subject && tt.intent != usher.IntentSignup {
							t.Errorf("the identity was linked: %+v", id)
						}
					}
				}
			}
			if tt.check != nil {
				tt.check(t, e, res)
			}
		})
	}
}

// TestFederatedLoginAsksSecondFactor: a user with a second factor still
// gives it after a federated log-in (unlike Anvil), and the pending log-in
// ends with it.
func TestFederatedLoginAsksSecondFactor(t *testing.T) {
	p := &fakeProvider{name: "fake", login: true}
	svc, clock := newFederatedService(t, usher.Config{}, p)
	u := usertest.MustCreateUser(t, svc, "ann@example.com")
	sess, _, err := svc.LoginWithEmail(ctx, u.Email, pw, false, client)
	if err != nil {
		t.Fatal(err)
	}
	secret := enrolTOTP(t, svc, clock, u, sess)
	clock.Advance(30 * time.Second)
	if _, err := svc.LinkIdentity(ctx, u.ID, &usher.ExternalIdentity{Provider: "fake", Issuer: issuer, Subject: "sub-ann"}, client); err != nil {
		t.Fatal(err)
	}
	res, err := svc.LoginWithIdentity(ctx, &usher.ExternalIdentity{Provider: "fake", Issuer: issuer, Subject: "sub-ann"}, usher.IntentLogin, false, client)
	var mr *usher.MFARequiredError
	if !errors.As(err, &mr) || mr.Pending == "" || res.Session != nil {
		t.Fatalf("federated log-in of a user with a second factor: %+v, %v", res, err)
	}
	s, got, err := svc.CompleteMFALogin(ctx, mr.Pending, usher.SecondFactor{Type: usher.MFATOTP, Code: mfa.TOTPCode(secret, clock.Now())}, false, false, client)
	if err != nil || s == nil || got.ID != u.ID {
		t.Fatalf("second step: %v, %v", s, err)
	}
}

// TestFederatedLoginAndLockout: a password lock-out neither stops a
// federated log-in nor is lifted by it.
func TestFederatedLoginAndLockout(t *testing.T) {
	p := &fakeProvider{name: "fake", login: true}
	svc, _ := newFederatedService(t, usher.Config{MaxPasswordFailures: 3}, p)
	u := usertest.MustCreateUser(t, svc, "ann@example.com")
	for range 3 {
		svc.LoginWithEmail(ctx, u.Email, "wrong password", false, client)
	}
	if _, _, err := svc.LoginWithEmail(ctx, u.Email, pw, false, client); err != usher.ErrTooManyPasswordFailures {
		t.Fatalf("not locked: %v", err)
	}
	ext := &usher.ExternalIdentity{Provider: "fake", Issuer: issuer, Subject: "sub-ann", Email: "ann@example.com", EmailVerified: true}
	res, err := svc.LoginWithIdentity(ctx, ext, usher.IntentLogin, false, client)
	if err != nil || res.Session == nil {
		t.Fatalf("federated log-in of a locked account: %v", err)
	}
	got, _ := svc.User(ctx, u.ID)
	if got.PasswordFailures != 3 || got.LockedAt.IsZero() || got.LastLoginAt.IsZero() {
		t.Errorf("after a federated log-in: failures %d, locked at %v, last log-in %v; want the lock kept and the log-in recorded",
			got.PasswordFailures, got.LockedAt, got.LastLoginAt)
	}
	if _, _, err := svc.LoginWithEmail(ctx, u.Email, pw, false, client); err != usher.ErrTooManyPasswordFailures {
		t.Errorf("password log-in after a federated one: %v; want still locked", err)
	}
}

// TestFederatedLoginThrottled: the per-IP log-in throttle counts
// federated log-ins.
func TestFederatedLoginThrottled(t *testing.T) {
	p := &fakeProvider{name: "fake", login: true}
	svc, _ := newFederatedService(t, usher.Config{LoginRateLimit: 2}, p)
	ext := &usher.ExternalIdentity{Provider: "fake", Issuer: issuer, Subject: "nobody"}
	for i := range 3 {
		_, err := svc.LoginWithIdentity(ctx, ext, usher.IntentLogin, false, client)
		if i < 2 && errors.Is(err, usher.ErrRateLimited) || i == 2 && !errors.Is(err, usher.ErrRateLimited) {
			t.Fatalf("attempt %d: %v", i+1, err)
		}
	}
}

// TestFederatedStartThrottled: each start writes a state row, so starts
// are throttled per IP (LoginRateLimit a minute, a counter of their own):
// the one over the limit is a *RateLimitError and writes nothing; another
// address may still start; the starts do not use up the log-in attempts
// of the callback, and the count starts again the next minute.
func TestFederatedStartThrottled(t *testing.T) {
	ann := &usher.ExternalIdentity{Issuer: issuer, Subject: "sub-ann", Email: "ann@example.com", EmailVerified: true}
	p := &fakeProvider{name: "a", login: true, signup: true, ext: ann}
	svc, clock := newFederatedService(t, usher.Config{LoginRateLimit: 2}, p)
	f := flow{t, svc}
	st := usher.FederatedStart{Provider: "a", Browser: "b", Client: client}
	var states []string
	for range 2 {
		states = append(states, f.begin(st))
	}
	var rl *usher.RateLimitError
	if u, err := svc.BeginFederated(ctx, st); !errors.As(err, &rl) || u != "" || rl.RetryAfter <= 0 {
		t.Fatalf("third start in a minute from one address: %q, %v; want a *RateLimitError", u, err)
	}
	other := st
	other.Client = usher.Client{IP: "198.51.100.7", UserAgent: "test"}
	f.begin(other)
	// Two starts, then their two callbacks: within the log-in limit (2).
	for i, state := range states {
		if res, err := f.finish("a", state, "b"); err != nil || res.Session == nil {
			t.Fatalf("callback %d after the throttled start: %+v, %v", i+1, res, err)
		}
	}
	clock.Advance(time.Minute)
	f.begin(st)
}

// flow is a federated sign-in through BeginFederated and FinishFederated.
type flow struct {
	t   *testing.T
	svc *usher.Service
}

// begin starts a sign-in and returns its state, taken from the address.
func (f flow) begin(st usher.FederatedStart) string {
	f.t.Helper()
	u, err := f.svc.BeginFederated(ctx, st)
	if err != nil {
		f.t.Fatalf("BeginFederated(%+v): %v", st, err)
	}
	_, state, ok := strings.Cut(u, "state=")
	if !ok || state == "" {
		f.t.Fatalf("authURL %q has no state", u)
	}
	return state
}

func (f flow) finish(provider, state, browser string) (*usher.FederatedResult, error) {
	r := httptest.NewRequest("GET", "/user/federated/"+provider+"/callback?state="+state, nil)
	return f.svc.FinishFederated(ctx, provider, state, browser, r, client)
}

// TestFederatedState: the state works once, for its provider and its
// browser, until it expires; an answer without one (IdP-initiated) is
// refused unless the provider allows them.
func TestFederatedState(t *testing.T) {
	ann := &usher.ExternalIdentity{Issuer: issuer, Subject: "sub-ann", Email: "ann@example.com", EmailVerified: true}
	a := &fakeProvider{name: "a", login: true, signup: true, ext: ann}
	b := &fakeProvider{name: "b", login: true, signup: true, ext: ann}
	idp := idpProvider{&fakeProvider{name: "idp", login: true, signup: true, ext: ann}}
	svc, clock := newFederatedService(t, usher.Config{}, a, b, idp)
	f := flow{t, svc}
	start := usher.FederatedStart{Provider: "a", Next: "/after", Remember: true, Browser: "browser-1"}

	state := f.begin(start)
	res, err := f.finish("a", state, "browser-1")
	if err != nil || res.Session == nil || !res.Session.Remember || res.Next != "/after" || res.Intent != usher.IntentLogin {
		t.Fatalf("sign-in: %+v, %v", res, err)
	}
	if a.gotSaved != "saved:"+state {
		t.Errorf("Finish got saved %q", a.gotSaved)
	}
	refused := func(name string, res *usher.FederatedResult, err error) {
		t.Helper()
		if !errors.Is(err, usher.ErrFederatedRefused) || res == nil || res.Session != nil {
			t.Errorf("%s: %+v, %v; want ErrFederatedRefused", name, res, err)
		}
	}
	res, err = f.finish("a", state, "browser-1")
	refused("replayed state", res, err)

	res, err = f.finish("b", f.begin(start), "browser-1")
	refused("state of another provider", res, err)
	if b.calls != 0 {
		t.Error("the other provider was asked to check the answer")
	}
	state = f.begin(start)
	res, err = f.finish("a", state, "browser-2")
	refused("another browser", res, err)
	if res.Next != "/after" {
		t.Errorf("another browser: Next %q; the result carries it", res.Next)
	}
	res, err = f.finish("a", state, "browser-1")
	refused("the right browser after a refusal (the state is spent)", res, err)
	res, err = f.finish("a", f.begin(start), "")
	refused("no browser", res, err)

	state = f.begin(start)
	clock.Advance(usher.FederatedStateTTL + time.Second)
	res, err = f.finish("a", state, "browser-1")
	refused("expired", res, err)
	res, err = f.finish("a", "not-a-state", "browser-1")
	refused("unknown", res, err)

	res, err = f.finish("a", "", "")
	refused("IdP-initiated, provider without the option", res, err)
	res, err = f.finish("idp", "", "")
	refused("IdP-initiated, provider with it off", res, err)
	idp.allowIdP = true
	if res, err = f.finish("idp", "", ""); err != nil || res.Session == nil || res.Next != "" || res.Intent != usher.IntentLogin {
		t.Errorf("IdP-initiated, allowed: %+v, %v", res, err)
	}
	if a.calls != 1 {
		t.Errorf("provider a checked %d answers; want only the first (refused states never reach it)", a.calls)
	}

	if _, err := svc.BeginFederated(ctx, usher.FederatedStart{Provider: "nope", Browser: "x"}); err != usher.ErrNotFound {
		t.Errorf("unknown provider: %v", err)
	}
	if _, err := svc.BeginFederated(ctx, usher.FederatedStart{Provider: "a"}); !errors.Is(err, usher.ErrValidation) {
		t.Errorf("no browser: %v", err)
	}
	if _, err := svc.BeginFederated(ctx, usher.FederatedStart{Provider: "a", Browser: "x", Intent: usher.IntentLink}); err != usher.ErrLoginRequired {
		t.Errorf("link without a user: %v", err)
	}
}

// TestFederatedStateStoredHashed: the database keeps the state's hash,
// never the state.
func TestFederatedStateStoredHashed(t *testing.T) {
	p := &fakeProvider{name: "a", login: true}
	svc, clock := newFederatedService(t, usher.Config{}, p)
	state := flow{t, svc}.begin(usher.FederatedStart{Provider: "a", Browser: "b"})
	if _, err := svc.Store().FindToken(ctx, []byte(state), usher.TokenFederatedState, clock.Now()); !errors.Is(err, usher.ErrNotFound) {
		t.Errorf("the state is stored as it is: %v", err)
	}
	h := sha256.Sum256([]byte(state))
	tok, err := svc.Store().FindToken(ctx, h[:], usher.TokenFederatedState, clock.Now())
	if err != nil || !tok.ExpiresAt.Equal(clock.Now().Add(usher.FederatedStateTTL)) || !strings.Contains(tok.Data, `"browser":"b"`) {
		t.Fatalf("stored state: %+v, %v", tok, err)
	}
}

// TestFederatedCancelAndReplay: a cancel at the provider is
// ErrFederatedCancelled; a one-time ID the provider saw before is
// refused, through another state.
func TestFederatedCancelAndReplay(t *testing.T) {
	p := &fakeProvider{name: "a", login: true, signup: true, err: usher.ErrFederatedCancelled}
	svc, _ := newFederatedService(t, usher.Config{}, p)
	f := flow{t, svc}
	start := usher.FederatedStart{Provider: "a", Browser: "b", Next: "/x"}
	if res, err := f.finish("a", f.begin(start), "b"); err != usher.ErrFederatedCancelled || res.Next != "/x" {
		t.Fatalf("cancelled: %+v, %v", res, err)
	}
	p.err = nil
	p.ext = &usher.ExternalIdentity{Issuer: issuer, Subject: "s", Email: "s@example.com", EmailVerified: true}
	p.assertionID = "assertion-1"
	if _, err := f.finish("a", f.begin(start), "b"); err != nil {
		t.Fatalf("first assertion: %v", err)
	}
	if _, err := f.finish("a", f.begin(start), "b"); !errors.Is(err, usher.ErrFederatedRefused) {
		t.Fatalf("replayed assertion: %v", err)
	}
}

// TestFederatedLinkFlow: IntentLink links the identity to the user who
// started it.
func TestFederatedLinkFlow(t *testing.T) {
	p := &fakeProvider{name: "a", login: true, ext: &usher.ExternalIdentity{Issuer: issuer, Subject: "s", Email: "other@gmail.example"}}
	svc, _ := newFederatedService(t, usher.Config{}, p)
	u := usertest.MustCreateUser(t, svc, "ann@example.com")
	f := flow{t, svc}
	res, err := f.finish("a", f.begin(usher.FederatedStart{Provider: "a", Browser: "b", Intent: usher.IntentLink, UserID: u.ID, Next: "/user/profile"}), "b")
	if err != nil || res.Intent != usher.IntentLink || res.Identity == nil || res.Identity.UserID != u.ID || res.Session != nil || res.Next != "/user/profile" {
		t.Fatalf("link: %+v, %v", res, err)
	}
}

// TestLinkAndUnlink: the rules of LinkIdentity and UnlinkIdentity, their
// e-mails and events.
func TestLinkAndUnlink(t *testing.T) {
	p := &fakeProvider{name: "a", login: true}
	svc, _ := newFederatedService(t, usher.Config{}, p)
	ann := usertest.MustCreateUser(t, svc, "ann@example.com")
	bob := usertest.MustCreateUser(t, svc, "bob@example.com")
	ext := &usher.ExternalIdentity{Provider: "a", Issuer: issuer, Subject: "s1", Email: "ann@gmail.example"}
	id, err := svc.LinkIdentity(ctx, ann.ID, ext, client)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.LinkIdentity(ctx, ann.ID, ext, client); err != usher.ErrUserExists {
		t.Errorf("linking again to the same user: %v", err)
	}
	if _, err := svc.LinkIdentity(ctx, bob.ID, ext, client); err != usher.ErrUserExists {
		t.Errorf("linking to another user: %v", err)
	}
	if _, err := svc.LinkIdentity(ctx, ann.ID, &usher.ExternalIdentity{Provider: "nope", Issuer: issuer, Subject: "s9"}, client); err != usher.ErrNotFound {
		t.Errorf("unknown provider: %v", err)
	}
	if n := countMail(t, svc, "ann@example.com", usher.MailIdentityLinked); n != 1 {
		t.Errorf("%d link e-mails; want 1", n)
	}
	msgs, _ := svc.Store().ListMessages(ctx, "ann@example.com", 10)
	if len(msgs) == 0 || msgs[0].Vars["provider"] != "Fake a" || msgs[0].Vars["identity_email"] != "ann@gmail.example" {
		t.Errorf("link e-mail: %+v", msgs)
	}
	if !hasEvent(t, svc, ann.ID, usher.EventIdentityLinked, "a") {
		t.Error("no identity_linked event")
	}

	if err := svc.UnlinkIdentity(ctx, bob.ID, id.ID, client); err != usher.ErrNotFound {
		t.Errorf("unlinking someone else's identity: %v", err)
	}
	if err := svc.UnlinkIdentity(ctx, ann.ID, id.ID, client); err != nil {
		t.Fatalf("unlinking with a password left: %v", err)
	}
	if n := countMail(t, svc, "ann@example.com", usher.MailIdentityUnlinked); n != 1 {
		t.Errorf("%d unlink e-mails; want 1", n)
	}
	if !hasEvent(t, svc, ann.ID, usher.EventIdentityUnlinked, "a") {
		t.Error("no identity_unlinked event")
	}
	if err := svc.UnlinkIdentity(ctx, ann.ID, id.ID, client); err != usher.ErrNotFound {
		t.Errorf("unlinking twice: %v", err)
	}

	// A user without a password keeps their last identity.
	p.signup = true
	res, err := svc.LoginWithIdentity(ctx, &usher.ExternalIdentity{Provider: "a", Issuer: issuer, Subject: "s2", Email: "cat@example.com", EmailVerified: true}, usher.IntentLogin, false, client)
	if err != nil {
		t.Fatal(err)
	}
	cat := res.User
	second, err := svc.LinkIdentity(ctx, cat.ID, &usher.ExternalIdentity{Provider: "a", Issuer: issuer, Subject: "s3"}, client)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.UnlinkIdentity(ctx, cat.ID, res.Identity.ID, client); err != nil {
		t.Fatalf("unlinking one of two: %v", err)
	}
	if err := svc.UnlinkIdentity(ctx, cat.ID, second.ID, client); err != usher.ErrLastLoginMethod {
		t.Fatalf("unlinking the last way to log in: %v", err)
	}
	if ids := identitiesOf(t, svc, cat.ID); len(ids) != 1 {
		t.Errorf("identities after the refusal: %+v", ids)
	}
	if err := svc.SetPassword(ctx, cat.ID, pw); err != nil {
		t.Fatal(err)
	}
	if err := svc.UnlinkIdentity(ctx, cat.ID, second.ID, client); err != nil {
		t.Errorf("unlinking with a password set: %v", err)
	}
}

// TestConcurrentUnlinksKeepOneWay: a user without a password who unlinks
// both identities at once (two tabs, two instances) keeps one: the check
// and the removal hold the user's row, so on PostgreSQL's read committed
// the second unlink sees the first and is refused. Run on SQLite and, with
// USHER_TEST_POSTGRES, on PostgreSQL, where it failed before the lock.
func TestConcurrentUnlinksKeepOneWay(t *testing.T) {
	for _, db := range []struct {
		name string
		open func(t *testing.T) usher.Store
	}{
		{"sqlite", func(t *testing.T) usher.Store { return usertest.NewSQLiteStore(t) }},
		{"postgres", func(t *testing.T) usher.Store { return usertest.MustOpen(t, usertest.PostgresAddress(t)) }},
	} {
		t.Run(db.name, func(t *testing.T) {
			p := &fakeProvider{name: "a", login: true, signup: true}
			svc, err := usher.New(usher.Config{}, usher.Deps{Store: db.open(t), Passwords: usertest.FastHasher(), Policy: password.Policy{},
				MFA: mfa.Provider{}, Logger: usertest.Discard, Providers: []usher.FederatedProvider{p}})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { svc.Close() })
			for i := range 20 {
				res, err := svc.LoginWithIdentity(ctx, &usher.ExternalIdentity{Provider: "a", Issuer: issuer, Subject: fmt.Sprintf("u%d-1", i),
					Email: fmt.Sprintf("u%d@example.com", i), EmailVerified: true}, usher.IntentLogin, false, client)
				if err != nil {
					t.Fatal(err)
				}
				second, err := svc.LinkIdentity(ctx, res.User.ID, &usher.ExternalIdentity{Provider: "a", Issuer: issuer, Subject: fmt.Sprintf("u%d-2", i)}, client)
				if err != nil {
					t.Fatal(err)
				}
				var wg sync.WaitGroup
				errs := make([]error, 2)
				for j, id := range []string{res.Identity.ID, second.ID} {
					wg.Go(func() { errs[j] = svc.UnlinkIdentity(ctx, res.User.ID, id, client) })
				}
				wg.Wait()
				if left := identitiesOf(t, svc, res.User.ID); len(left) != 1 {
					t.Fatalf("user %d: %d identities left after two unlinks at once (%v); want 1", i, len(left), errs)
				}
				if (errs[0] == nil) == (errs[1] == nil) || !errors.Is(errors.Join(errs...), usher.ErrLastLoginMethod) {
					t.Errorf("user %d: unlinks answered %v; want one success and one ErrLastLoginMethod", i, errs)
				}
			}
		})
	}
}
