package federated_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/usher-auth/usher"
	"github.com/usher-auth/usher/federated"
	"github.com/usher-auth/usher/federated/federatedtest"
)

// The server the providers belong to in these tests.
const (
	baseURL = "https://usher.example"
	prefix  = "/user"
)

// callbackURL is provider name's redirect URI.
func callbackURL(name string) string { return baseURL + prefix + "/federated/" + name + "/callback" }

// env is the providers' environment: the provider's calls go to the
// local servers of hosts.
func env(hosts map[string]string) federated.Env {
	return federated.Env{BaseURL: baseURL, Prefix: prefix, HTTPClient: federatedtest.Client(hosts)}
}

// mustNew makes the provider c describes.
func mustNew(t *testing.T, c federated.Config, e federated.Env) usher.FederatedProvider {
	t.Helper()
	p, err := federated.New(c, e)
	if err != nil {
		t.Fatalf("New(%+v): %v", c, err)
	}
	return p
}

// started is a sign-in begun with Begin.
type started struct {
	state, authURL, saved string
}

func begin(t *testing.T, p usher.FederatedProvider) started {
	t.Helper()
	state := rand.Text() // as the Service's: random, one per sign-in
	authURL, saved, err := p.Begin(context.Background(), state)
	if err != nil {
		t.Fatalf("Begin: %v", err)
	}
	return started{state, authURL, saved}
}

// signIn runs a whole sign-in at a fake provider that logs the user in at
// once: Begin, the browser's trip to the provider and back, Finish.
func signIn(t *testing.T, p usher.FederatedProvider, hosts map[string]string) (*usher.ExternalIdentity, error) {
	t.Helper()
	s := begin(t, p)
	r := federatedtest.Follow(t, federatedtest.Browser(hosts), s.authURL, callbackURL(p.Name()))
	return p.Finish(context.Background(), r, s.saved, nil)
}

// savedValues reads what Begin saved; stateHash is the SHA-256 of the
// state, base64url.
func savedValues(t *testing.T, saved string) (nonce, verifier, stateHash string) {
	t.Helper()
	var v struct {
		Nonce, Verifier string
		StateHash       string `json:"state_hash"`
	}
	if err := json.Unmarshal([]byte(saved), &v); err != nil {
		t.Fatalf("saved %q: %v", saved, err)
	}
	return v.Nonce, v.Verifier, v.StateHash
}

func query(t *testing.T, rawURL string) url.Values {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query()
}

// checkPKCEAndNonce checks an authorization URL carries the state, the
// redirect URI, a PKCE S256 challenge of the saved verifier and (when
// wantNonce) the saved nonce.
func checkPKCEAndNonce(t *testing.T, p usher.FederatedProvider, s started, wantNonce bool) {
	t.Helper()
	q := query(t, s.authURL)
	nonce, verifier, stateHash := savedValues(t, s.saved)
	if h := sha256.Sum256([]byte(s.state)); stateHash != base64.RawURLEncoding.EncodeToString(h[:]) || q.Get("state") != s.state {
		t.Errorf("state: saved hash %q, in URL %q; want %q and its hash", stateHash, q.Get("state"), s.state)
	}
	if strings.Contains(s.saved, s.state) {
		t.Errorf("saved %q holds the state itself", s.saved)
	}
	if got, want := q.Get("redirect_uri"), callbackURL(p.Name()); got != want {
		t.Errorf("redirect_uri = %q, want %q", got, want)
	}
	sum := sha256.Sum256([]byte(verifier))
	if len(verifier) < 43 || q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") != base64.RawURLEncoding.EncodeToString(sum[:]) {
		t.Errorf("PKCE: method %q challenge %q, verifier %q: want S256 of the saved verifier", q.Get("code_challenge_method"), q.Get("code_challenge"), verifier)
	}
	if wantNonce && (len(nonce) < 32 || q.Get("nonce") != nonce) {
		t.Errorf("nonce: saved %q, in URL %q; want the same, random", nonce, q.Get("nonce"))
	}
	if q.Get("response_type") != "code" {
		t.Errorf("response_type = %q, want code", q.Get("response_type"))
	}
}

// wantRefused checks err is a refusal whose text says why.
func wantRefused(t *testing.T, id *usher.ExternalIdentity, err error, reason string) {
	t.Helper()
	if !errors.Is(err, usher.ErrFederatedRefused) || id != nil {
		t.Fatalf("got %+v, %v; want ErrFederatedRefused (%s)", id, err, reason)
	}
	if errors.Is(err, usher.ErrFederatedCancelled) {
		t.Errorf("%v is also a cancel", err)
	}
	if !strings.Contains(err.Error(), reason) {
		t.Errorf("error %q does not say %q", err, reason)
	}
}

// wantNoSecrets checks an error's text holds none of the given secrets
// (tokens, codes).
func wantNoSecrets(t *testing.T, err error, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if len(s) > 8 && strings.Contains(err.Error(), s) {
			t.Errorf("error %q holds a secret", err)
		}
	}
}

func boolp(b bool) *bool { return &b }

// req is a callback request.
func req(rawURL string) *http.Request {
	r, _ := http.NewRequest(http.MethodGet, rawURL, nil)
	return r
}
