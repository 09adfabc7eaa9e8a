package federated_test

import (
	"strings"
	"testing"

	"github.com/usher-auth/usher"
	"github.com/usher-auth/usher/federated"
	"github.com/usher-auth/usher/federated/federatedtest"
)

func googleProvider(t *testing.T, f *federatedtest.FakeOP, hd string) usher.FederatedProvider {
	t.Helper()
	return mustNew(t, federated.Config{
		Name: "google", Kind: usher.ProviderGoogle, ClientID: f.ClientID, ClientSecret: f.ClientSecret, HostedDomain: hd,
	}, env(f.Hosts()))
}

// Google at its real issuer and URLs (served locally): discovery at
// https://accounts.google.com, the authorization request at Google's
// endpoint with PKCE and nonce, the identity from the ID token.
func TestGoogleSignIn(t *testing.T) {
	f := federatedtest.NewFakeGoogle(t, federatedtest.FakeOptions{})
	p := googleProvider(t, f, "")
	if p.Label() != "Google" || !p.AllowLogin() || !p.AllowSignup() {
		t.Errorf("label %q, login %v, signup %v; want Google, true, true", p.Label(), p.AllowLogin(), p.AllowSignup())
	}
	s := begin(t, p)
	checkPKCEAndNonce(t, p, s, true)
	if !strings.HasPrefix(s.authURL, "https://accounts.google.com/o/oauth2/v2/auth?") {
		t.Errorf("auth URL %s, want Google's", s.authURL)
	}
	id, err := signIn(t, p, f.Hosts())
	if err != nil {
		t.Fatal(err)
	}
	want := usher.ExternalIdentity{Provider: "google", Issuer: "https://accounts.google.com", Subject: federatedtest.FakeSubject,
		Email: "alice@gmail.com", EmailVerified: true, Name: "Alice Example"}
	if *id != want {
		t.Errorf("identity = %+v, want %+v", *id, want)
	}
}

func TestGoogleClaims(t *testing.T) {
	tests := []struct {
		name         string
		hd           string // hosted_domain setting
		claims       map[string]any
		wantErr      string // "" = signed in
		wantVerified bool
	}{
		{"email_verified true", "", nil, "", true},
		{"email_verified false", "", map[string]any{"email_verified": false}, "", false},
		{`email_verified "false"`, "", map[string]any{"email_verified": "false"}, "", false},
		{"email_verified absent", "", map[string]any{"email_verified": nil}, "", false},
		{"old issuer without https", "", map[string]any{"iss": "accounts.google.com"}, "", true},
		{"issuer look-alike", "", map[string]any{"iss": "https://accounts.google.com.evil.example"}, "different provider", false},
		{"hosted domain matches hd", "example.com", map[string]any{"hd": "example.com", "email": "alice@example.com"}, "", true},
		{"hosted domain matches hd, any case", "Example.COM", map[string]any{"hd": "example.com"}, "", true},
		{"hosted domain: no hd, e-mail in the domain", "example.com", map[string]any{"email": "alice@example.com"}, "hosted domain", false},
		{"hosted domain: another hd", "example.com", map[string]any{"hd": "evil.example", "email": "alice@example.com"}, "hosted domain", false},
		{"hosted domain: hd a suffix", "example.com", map[string]any{"hd": "notexample.com"}, "hosted domain", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := federatedtest.NewFakeGoogle(t, federatedtest.FakeOptions{Claims: tt.claims})
			p := googleProvider(t, f, tt.hd)
			id, err := signIn(t, p, f.Hosts())
			if tt.wantErr != "" {
				wantRefused(t, id, err, tt.wantErr)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if id.EmailVerified != tt.wantVerified || id.Issuer != federated.GoogleIssuer {
				t.Errorf("identity %+v: want verified %v, issuer %s", *id, tt.wantVerified, federated.GoogleIssuer)
			}
			if tt.hd != "" && f.LastAuthorize().Get("hd") != strings.ToLower(tt.hd) {
				t.Errorf("hd hint = %q, want %q", f.LastAuthorize().Get("hd"), tt.hd)
			}
		})
	}
}
