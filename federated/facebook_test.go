package federated_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/usher-auth/usher"
	"github.com/usher-auth/usher/federated"
	"github.com/usher-auth/usher/federated/federatedtest"
)

func facebookProvider(t *testing.T, f *federatedtest.FakeFacebook, trust *bool) usher.FederatedProvider {
	t.Helper()
	return mustNew(t, federated.Config{
		Name: "facebook", Kind: usher.ProviderFacebook, ClientID: f.AppID, ClientSecret: f.AppSecret, TrustEmail: trust,
	}, env(f.Hosts()))
}

// Facebook's server-side code flow at its real URLs (served locally):
// the dialog with state and PKCE, the code exchange, then Graph /me with
// appsecret_proof, which the fake Graph checks.
func TestFacebookSignIn(t *testing.T) {
	f := federatedtest.NewFakeFacebook(t, federatedtest.FacebookOptions{})
	p := facebookProvider(t, f, nil)
	if p.Label() != "Facebook" {
		t.Errorf("label %q", p.Label())
	}
	s := begin(t, p)
	checkPKCEAndNonce(t, p, s, false)
	if !strings.HasPrefix(s.authURL, "https://www.facebook.com/"+federated.FacebookGraphVersion+"/dialog/oauth?") {
		t.Errorf("auth URL %s, want Facebook's login dialog", s.authURL)
	}
	if got := query(t, s.authURL).Get("scope"); got != "email public_profile" {
		t.Errorf("scope = %q", got)
	}
	id, err := signIn(t, p, f.Hosts())
	if err != nil {
		t.Fatal(err)
	}
	want := usher.ExternalIdentity{Provider: "facebook", Issuer: "https://www.facebook.com", Subject: federatedtest.FacebookUserID,
		Email: "alice@example.com", EmailVerified: true, Name: "Alice Example"}
	if *id != want {
		t.Errorf("identity = %+v, want %+v", *id, want)
	}
	if answered, bad := f.MeCalls(); answered != 1 || bad != 0 {
		t.Errorf("Graph /me answered %d, refused %d for appsecret_proof; want 1, 0", answered, bad)
	}
}

// The fake Graph refuses /me without a correct appsecret_proof, as Graph
// does with "Require App Secret": so the sign-in above passing proves the
// proof Usher sends is right.
func TestFakeGraphRequiresAppSecretProof(t *testing.T) {
	f := federatedtest.NewFakeFacebook(t, federatedtest.FacebookOptions{})
	p := facebookProvider(t, f, nil)
	s := begin(t, p)
	r := federatedtest.Follow(t, federatedtest.Browser(f.Hosts()), s.authURL, callbackURL("facebook"))
	// Exchange the code by hand, then call /me as a careless client would.
	form := strings.NewReader("client_id=" + f.AppID + "&client_secret=" + f.AppSecret + "&code=" + r.URL.Query().Get("code") +
		"&redirect_uri=" + callbackURL("facebook") + "&code_verifier=" + verifierOf(t, s.saved))
	client := federatedtest.Client(f.Hosts())
	resp, err := client.Post(federated.FacebookTokenURL, "application/x-www-form-urlencoded", form)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	token := between(string(body), `"access_token":"`, `"`)
	if token == "" {
		t.Fatalf("no access token: %s", body)
	}
	for _, proof := range []string{"", "00" + f.Proof(token)[2:], f.Proof(token + "x")} {
		req, _ := http.NewRequest(http.MethodGet, federated.FacebookMeURL+"?fields=id,email&appsecret_proof="+proof, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("/me with appsecret_proof %q: %d, want 400", proof, resp.StatusCode)
		}
	}
	if answered, bad := f.MeCalls(); answered != 0 || bad != 3 {
		t.Errorf("/me answered %d, refused %d; want 0, 3", answered, bad)
	}
}

func verifierOf(t *testing.T, saved string) string {
	_, v, _ := savedValues(t, saved)
	return v
}

func between(s, from, to string) string {
	_, after, ok := strings.Cut(s, from)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(after, to)
	return v
}

func TestFacebookEmail(t *testing.T) {
	tests := []struct {
		name         string
		trust        *bool
		user         map[string]any
		wantEmail    string
		wantVerified bool
	}{
		{"trust_email default", nil, nil, "alice@example.com", true},
		{"trust_email true", boolp(true), nil, "alice@example.com", true},
		{"trust_email false", boolp(false), nil, "alice@example.com", false},
		{"e-mail declined", nil, map[string]any{"email": nil}, "", false},
		{"a mail field is not the e-mail", nil, map[string]any{"email": nil, "mail": "victim@example.com"}, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := federatedtest.NewFakeFacebook(t, federatedtest.FacebookOptions{User: tt.user})
			id, err := signIn(t, facebookProvider(t, f, tt.trust), f.Hosts())
			if err != nil {
				t.Fatal(err)
			}
			if id.Email != tt.wantEmail || id.EmailVerified != tt.wantVerified || id.Subject != federatedtest.FacebookUserID {
				t.Errorf("identity %+v; want email %q verified %v", *id, tt.wantEmail, tt.wantVerified)
			}
		})
	}
}

func TestFacebookRefusals(t *testing.T) {
	tests := []struct {
		name   string
		opts   federatedtest.FacebookOptions
		reason string
	}{
		{"code exchange failure", federatedtest.FacebookOptions{TokenError: "invalid_grant"}, "code exchange failed"},
		{"no app-scoped id", federatedtest.FacebookOptions{User: map[string]any{"id": nil}}, "no id"},
		{"provider error other than a cancel", federatedtest.FacebookOptions{DialogError: "server_error"}, "server_error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := federatedtest.NewFakeFacebook(t, tt.opts)
			id, err := signIn(t, facebookProvider(t, f, nil), f.Hosts())
			wantRefused(t, id, err, tt.reason)
		})
	}

	t.Run("wrong app secret: Graph refuses the exchange", func(t *testing.T) {
		f := federatedtest.NewFakeFacebook(t, federatedtest.FacebookOptions{})
		p := mustNew(t, federated.Config{Name: "facebook", Kind: usher.ProviderFacebook, ClientID: f.AppID, ClientSecret: "wrong"}, env(f.Hosts()))
		id, err := signIn(t, p, f.Hosts())
		wantRefused(t, id, err, "code exchange failed")
	})

	t.Run("iss parameter mismatch", func(t *testing.T) {
		f := federatedtest.NewFakeFacebook(t, federatedtest.FacebookOptions{})
		p := facebookProvider(t, f, nil)
		s := begin(t, p)
		r := federatedtest.Follow(t, federatedtest.Browser(f.Hosts()), s.authURL, callbackURL("facebook"))
		id, err := p.Finish(context.Background(), req(r.URL.String()+"&iss=https%3A%2F%2Fevil.example"), s.saved, nil)
		wantRefused(t, id, err, "iss parameter")
	})

	t.Run("access_denied is a cancel", func(t *testing.T) {
		f := federatedtest.NewFakeFacebook(t, federatedtest.FacebookOptions{DialogError: "access_denied"})
		id, err := signIn(t, facebookProvider(t, f, nil), f.Hosts())
		if !errors.Is(err, usher.ErrFederatedCancelled) || id != nil {
			t.Errorf("got %+v, %v; want ErrFederatedCancelled", id, err)
		}
	})
}
