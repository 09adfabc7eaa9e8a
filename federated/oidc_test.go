package federated_test

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/usher-auth/usher"
	"github.com/usher-auth/usher/federated"
	"github.com/usher-auth/usher/federated/federatedtest"
)

// opProvider is an oidc provider configured for op.
func opProvider(t *testing.T, op *federatedtest.OP, trust bool) usher.FederatedProvider {
	t.Helper()
	return mustNew(t, federated.Config{
		Name: "acme", Kind: usher.ProviderOIDC, Issuer: op.Issuer,
		ClientID: op.ClientID, ClientSecret: op.ClientSecret,
		TrustEmailVerified: trust, AdditionalScopes: []string{"phone"},
	}, env(op.Hosts()))
}

// A sign-in at a real OpenID Provider (zitadel/oidc's op, in process):
// discovery, the browser's trip through the OP's login form, the code
// exchange with PKCE, the ID token's signature, issuer, audience, expiry
// and nonce, and the e-mail from the user info endpoint.
func TestOIDCSignInAtRealOP(t *testing.T) {
	op := federatedtest.NewOP(t, callbackURL("acme"))
	p := opProvider(t, op, true)
	s := begin(t, p)
	checkPKCEAndNonce(t, p, s, true)
	if got := query(t, s.authURL).Get("scope"); got != "openid email profile phone" {
		t.Errorf("scope = %q, want openid email profile phone", got)
	}
	if !strings.HasPrefix(s.authURL, op.Issuer+"/auth?") {
		t.Errorf("auth URL %s is not the OP's discovered authorization endpoint", s.authURL)
	}
	browser := federatedtest.Browser(nil)
	r := op.Login(t, browser, s.authURL, "alice", federatedtest.OPPassword, callbackURL("acme"))
	id, err := p.Finish(context.Background(), r, s.saved, nil)
	if err != nil {
		t.Fatalf("Finish: %v", err)
	}
	want := usher.ExternalIdentity{Provider: "acme", Issuer: op.Issuer, Subject: "id-alice", Email: "alice@example.com", EmailVerified: true, Name: "Alice Example"}
	if *id != want {
		t.Errorf("identity = %+v, want %+v", *id, want)
	}

	// The same answer again: the OP has spent the code.
	_, err = p.Finish(context.Background(), r, s.saved, nil)
	wantRefused(t, nil, err, "code exchange failed")
	wantNoSecrets(t, err, r.URL.Query().Get("code"))
}

// The oidc kind vouches for an e-mail only when trust_email_verified is
// on and the provider says it verified it.
func TestOIDCEmailVerifiedRealOP(t *testing.T) {
	op := federatedtest.NewOP(t, callbackURL("acme"))
	tests := []struct {
		user  string
		trust bool
		want  bool
	}{
		{"alice", true, true},
		{"alice", false, false},
		{"bob", true, false}, // the OP did not verify bob's address
	}
	for _, tt := range tests {
		p := opProvider(t, op, tt.trust)
		s := begin(t, p)
		r := op.Login(t, federatedtest.Browser(nil), s.authURL, tt.user, federatedtest.OPPassword, callbackURL("acme"))
		id, err := p.Finish(context.Background(), r, s.saved, nil)
		if err != nil {
			t.Fatalf("%s, trust %v: %v", tt.user, tt.trust, err)
		}
		if id.Email != tt.user+"@example.com" || id.EmailVerified != tt.want {
			t.Errorf("%s, trust %v: email %q verified %v, want verified %v", tt.user, tt.trust, id.Email, id.EmailVerified, tt.want)
		}
	}
}

// Each Begin has its own nonce and PKCE verifier.
func TestOIDCBeginIsRandom(t *testing.T) {
	f := federatedtest.NewFakeOP(t, federatedtest.FakeOptions{})
	p := fakeProvider(t, f, true)
	a, b := begin(t, p), begin(t, p)
	na, va, _ := savedValues(t, a.saved)
	nb, vb, _ := savedValues(t, b.saved)
	if na == nb || va == vb || na == "" || va == "" {
		t.Errorf("two sign-ins share a nonce or verifier: %q %q / %q %q", na, va, nb, vb)
	}
	if _, _, err := p.Begin(context.Background(), ""); err == nil {
		t.Error("Begin with an empty state succeeded")
	}
}

// fakeProvider is an oidc provider configured for the FakeOP f.
func fakeProvider(t *testing.T, f *federatedtest.FakeOP, trust bool) usher.FederatedProvider {
	t.Helper()
	return mustNew(t, federated.Config{
		Name: "acme", Kind: usher.ProviderOIDC, Issuer: f.Issuer,
		ClientID: f.ClientID, ClientSecret: f.ClientSecret, TrustEmailVerified: trust,
	}, env(f.Hosts()))
}

// The attacks on an OpenID Connect sign-in, each against a provider that
// answers as the attacker (or a broken provider) would. Every one is
// refused (or, for the user's own cancel, ends as a cancel), and the
// refusal's text says why.
func TestOIDCAttacks(t *testing.T) {
	hour := time.Hour
	tests := []struct {
		name   string
		opts   federatedtest.FakeOptions
		reason string // in the error's text
	}{
		{"wrong issuer", federatedtest.FakeOptions{Claims: map[string]any{"iss": "https://evil.example"}}, "issued by a different provider"},
		{"wrong audience", federatedtest.FakeOptions{Claims: map[string]any{"aud": "another-client"}}, "expected audience"},
		{"several audiences without azp", federatedtest.FakeOptions{Claims: map[string]any{"aud": []string{"usher-client", "another-client"}}}, "several audiences"},
		{"azp of another client", federatedtest.FakeOptions{Claims: map[string]any{"azp": "another-client"}}, "authorized party"},
		{"expired", federatedtest.FakeOptions{Claims: map[string]any{"exp": time.Now().Add(-hour).Unix(), "iat": time.Now().Add(-2 * hour).Unix()}}, "expired"},
		{"not yet valid (nbf)", federatedtest.FakeOptions{Claims: map[string]any{"nbf": time.Now().Add(hour).Unix()}}, "nbf"},
		{"alg none", federatedtest.FakeOptions{Sign: (*federatedtest.FakeOP).SignNone}, "malformed jwt"},
		{"alg none offered by discovery", federatedtest.FakeOptions{Sign: (*federatedtest.FakeOP).SignNone,
			Discovery: map[string]any{"id_token_signing_alg_values_supported": []string{"none"}}}, "malformed jwt"},
		{"HS256 signed with the RSA public key", federatedtest.FakeOptions{Sign: (*federatedtest.FakeOP).SignHS256WithPublicKey}, "malformed jwt"},
		{"HS256 offered by discovery, signed with the RSA public key", federatedtest.FakeOptions{Sign: (*federatedtest.FakeOP).SignHS256WithPublicKey,
			Discovery: map[string]any{"id_token_signing_alg_values_supported": []string{"HS256", "RS256"}}}, "malformed jwt"},
		{"unknown kid", federatedtest.FakeOptions{Sign: (*federatedtest.FakeOP).SignUnknownKey}, "failed to verify id token signature"},
		{"nonce mismatch", federatedtest.FakeOptions{Claims: map[string]any{"nonce": "an-attackers-nonce"}}, "nonce"},
		{"nonce missing", federatedtest.FakeOptions{Claims: map[string]any{"nonce": nil}}, "nonce"},
		{"at_hash of another access token", federatedtest.FakeOptions{Claims: map[string]any{"at_hash": "AAAAAAAAAAAAAAAAAAAAAA"}}, "at_hash"},
		{"no subject", federatedtest.FakeOptions{Claims: map[string]any{"sub": ""}}, "no subject"},
		{"no ID token", federatedtest.FakeOptions{NoIDToken: true}, "no ID token"},
		{"code exchange failure", federatedtest.FakeOptions{TokenError: "invalid_grant"}, "code exchange failed"},
		{"iss parameter mismatch (mix-up)", federatedtest.FakeOptions{IssParam: "https://evil.example"}, "iss parameter"},
		{"iss parameter missing though advertised", federatedtest.FakeOptions{Discovery: map[string]any{"authorization_response_iss_parameter_supported": true}}, "iss parameter"},
		{"provider error other than a cancel", federatedtest.FakeOptions{AuthorizeError: "server_error"}, "server_error"},
		{"user info of another subject", federatedtest.FakeOptions{Claims: map[string]any{"email": nil}, UserInfo: map[string]any{"sub": "someone-else"}}, "user info"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := federatedtest.NewFakeOP(t, tt.opts)
			id, err := signIn(t, fakeProvider(t, f, true), f.Hosts())
			wantRefused(t, id, err, tt.reason)
			wantNoSecrets(t, err, f.LastTokens()...)
		})
	}
}

// A cancel at the provider (error=access_denied) is a cancel, not a
// refusal: Anvil's login_with_* returns None.
func TestOIDCAccessDeniedIsCancelled(t *testing.T) {
	for _, e := range []string{"access_denied", "consent_required", "login_required"} {
		f := federatedtest.NewFakeOP(t, federatedtest.FakeOptions{AuthorizeError: e})
		id, err := signIn(t, fakeProvider(t, f, true), f.Hosts())
		if !errors.Is(err, usher.ErrFederatedCancelled) || errors.Is(err, usher.ErrFederatedRefused) || id != nil {
			t.Errorf("error=%s: got %+v, %v; want ErrFederatedCancelled", e, id, err)
		}
	}
}

// The callback must bring back this sign-in's state (the Service found
// the saved value by it; Finish checks again) and a code.
func TestOIDCCallbackChecks(t *testing.T) {
	f := federatedtest.NewFakeOP(t, federatedtest.FakeOptions{})
	p := fakeProvider(t, f, true)
	s := begin(t, p)
	r := federatedtest.Follow(t, federatedtest.Browser(f.Hosts()), s.authURL, callbackURL("acme"))
	code := r.URL.Query().Get("code")
	ctx := context.Background()

	other := begin(t, p)
	id, err := p.Finish(ctx, r, other.saved, nil)
	wantRefused(t, id, err, "state")

	id, err = p.Finish(ctx, req(callbackURL("acme")+"?state="+url.QueryEscape(s.state)), s.saved, nil)
	wantRefused(t, id, err, "no code")

	id, err = p.Finish(ctx, r, "not json", nil)
	wantRefused(t, id, err, "unreadable")

	// The right answer still works, once.
	if _, err := p.Finish(ctx, r, s.saved, nil); err != nil {
		t.Fatalf("Finish: %v", err)
	}
	_, err = p.Finish(ctx, r, s.saved, nil)
	wantRefused(t, nil, err, "code exchange failed")
	wantNoSecrets(t, err, code)
}

// A wrong PKCE verifier (an intercepted code used in another sign-in) is
// refused by the provider at the exchange.
func TestOIDCCodeWithAnotherSignInsVerifier(t *testing.T) {
	f := federatedtest.NewFakeOP(t, federatedtest.FakeOptions{})
	p := fakeProvider(t, f, true)
	victim := begin(t, p)
	r := federatedtest.Follow(t, federatedtest.Browser(f.Hosts()), victim.authURL, callbackURL("acme"))
	// The attacker's own sign-in, given the victim's code (and the
	// attacker's state, so the Service found the attacker's saved value).
	attacker := begin(t, p)
	q := r.URL.Query()
	q.Set("state", attacker.state)
	id, err := p.Finish(context.Background(), req(callbackURL("acme")+"?"+q.Encode()), attacker.saved, nil)
	wantRefused(t, id, err, "invalid_grant")
}

// What the oidc kind makes of the provider's e-mail claims.
func TestOIDCEmailClaims(t *testing.T) {
	tests := []struct {
		name         string
		opts         federatedtest.FakeOptions
		trust        bool
		wantEmail    string
		wantVerified bool
	}{
		{"email_verified true", federatedtest.FakeOptions{}, true, "alice@example.com", true},
		{"email_verified true, not trusted", federatedtest.FakeOptions{}, false, "alice@example.com", false},
		{"email_verified false", federatedtest.FakeOptions{Claims: map[string]any{"email_verified": false}}, true, "alice@example.com", false},
		{`email_verified "false"`, federatedtest.FakeOptions{Claims: map[string]any{"email_verified": "false"}}, true, "alice@example.com", false},
		{`email_verified "true"`, federatedtest.FakeOptions{Claims: map[string]any{"email_verified": "true"}}, true, "alice@example.com", true},
		{`email_verified "TRUE"`, federatedtest.FakeOptions{Claims: map[string]any{"email_verified": "TRUE"}}, true, "alice@example.com", false},
		{"email_verified 1", federatedtest.FakeOptions{Claims: map[string]any{"email_verified": 1}}, true, "alice@example.com", false},
		{"email_verified absent", federatedtest.FakeOptions{Claims: map[string]any{"email_verified": nil}}, true, "alice@example.com", false},
		{"email from user info", federatedtest.FakeOptions{Claims: map[string]any{"email": nil, "email_verified": nil},
			UserInfo: map[string]any{"email": "alice@info.example"}}, true, "alice@info.example", true},
		{`email from user info, email_verified "false"`, federatedtest.FakeOptions{Claims: map[string]any{"email": nil, "email_verified": nil},
			UserInfo: map[string]any{"email_verified": "false"}}, true, "alice@example.com", false},
		{"missing email", federatedtest.FakeOptions{Claims: map[string]any{"email": nil, "email_verified": nil},
			UserInfo: map[string]any{"email": nil, "email_verified": nil}}, true, "", false},
		{"iss parameter right", federatedtest.FakeOptions{IssParam: "https://op.example"}, true, "alice@example.com", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := federatedtest.NewFakeOP(t, tt.opts)
			id, err := signIn(t, fakeProvider(t, f, tt.trust), f.Hosts())
			if err != nil {
				t.Fatalf("sign-in: %v", err)
			}
			if id.Email != tt.wantEmail || id.EmailVerified != tt.wantVerified || id.Subject != federatedtest.FakeSubject || id.Issuer != "https://op.example" {
				t.Errorf("identity = %+v; want %s, email %q verified %v", *id, federatedtest.FakeSubject, tt.wantEmail, tt.wantVerified)
			}
		})
	}
}

// A discovery document naming another issuer is refused, and nothing is
// begun.
func TestOIDCDiscoveryIssuerMismatch(t *testing.T) {
	f := federatedtest.NewFakeOP(t, federatedtest.FakeOptions{Discovery: map[string]any{"issuer": "https://evil.example"}})
	p := fakeProvider(t, f, true)
	if _, _, err := p.Begin(context.Background(), "s"); err == nil || !strings.Contains(err.Error(), "evil.example") {
		t.Errorf("Begin: %v, want the issuer mismatch", err)
	}
}

// The provider's clock is Env.Now: a token is expired by it, not by the
// machine's clock.
func TestOIDCUsesEnvClock(t *testing.T) {
	f := federatedtest.NewFakeOP(t, federatedtest.FakeOptions{})
	e := env(f.Hosts())
	e.Now = func() time.Time { return time.Now().Add(2 * time.Hour) }
	p := mustNew(t, federated.Config{Name: "acme", Kind: usher.ProviderOIDC, Issuer: f.Issuer, ClientID: f.ClientID, ClientSecret: f.ClientSecret}, e)
	id, err := signIn(t, p, f.Hosts())
	wantRefused(t, id, err, "expired")
}
