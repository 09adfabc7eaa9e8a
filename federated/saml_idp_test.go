package federated_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/usher-auth/usher"
	"github.com/usher-auth/usher/federated"
	"github.com/usher-auth/usher/federated/federatedtest"
)

// spKeyPEM is the SP key of the tests that do not test the key's
// derivation (deriving one costs a moment).
func spKeyPEM() string { return federatedtest.KeyPEM(testSPKeys().key) }

// memorySeen is a SeenFunc over a map, as Service.SeenOnce is over the
// database.
func memorySeen() usher.SeenFunc {
	var mu sync.Mutex
	seen := map[string]bool{}
	return func(_ context.Context, id string, _ time.Time) error {
		mu.Lock()
		defer mu.Unlock()
		if seen[id] {
			return usher.ErrInvalidToken
		}
		seen[id] = true
		return nil
	}
}

// postACS is the browser posting the IdP's form to the ACS: a request for
// Finish.
func postACS(action string, fields url.Values) *http.Request {
	r := httptest.NewRequest(http.MethodPost, action, strings.NewReader(fields.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r
}

// TestSAMLWithSamlidp: the whole SP-initiated log-in against crewjam's
// samlidp: the IdP learns the SP from its metadata (fetched at its URL),
// the SP learns the IdP from its metadata URL, the user logs in at the
// IdP's form, and the posted answer gives the user's identity — once.
func TestSAMLWithSamlidp(t *testing.T) {
	idp := federatedtest.NewSAMLIdP(t)
	idp.AddUser(t, federatedtest.SAMLUser{Name: "alice", Password: "hunter2", Email: "alice@example.com", CommonName: "Alice Liddell"})

	// Usher's metadata route, as web serves it.
	var p usher.FederatedProvider
	mux := http.NewServeMux()
	mux.HandleFunc("GET /user/saml/acme/metadata", func(w http.ResponseWriter, r *http.Request) {
		b, err := p.(usher.MetadataProvider).Metadata()
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		w.Header().Set("Content-Type", "application/samlmetadata+xml")
		w.Write(b)
	})
	usherSrv := httptest.NewServer(mux)
	defer usherSrv.Close()

	env := federated.Env{BaseURL: usherSrv.URL, Prefix: "/user", HTTPClient: idp.Server.Client()}
	var err error
	p, err = federated.New(federated.Config{
		Name: "acme", Kind: usher.ProviderSAML, Label: "Acme SSO",
		IdPMetadataURL: idp.MetadataURL(),
		SPKey:          spKeyPEM(),
	}, env)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if p.Name() != "acme" || p.Kind() != usher.ProviderSAML || p.Label() != "Acme SSO" || !p.AllowLogin() || !p.AllowSignup() {
		t.Errorf("provider = %s %s %s %v %v", p.Name(), p.Kind(), p.Label(), p.AllowLogin(), p.AllowSignup())
	}
	if p.(usher.IdPInitiatedProvider).AllowIdPInitiated() {
		t.Error("AllowIdPInitiated is on by default")
	}
	idp.RegisterSPFromURL(t, nil, "usher", usher.SAMLMetadataURL(usherSrv.URL, "/user", "acme"))

	ctx := context.Background()
	authURL, saved, err := p.Begin(ctx, "the-state")
	if err != nil {
		t.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	action, fields := idp.LogIn(t, browser, authURL, "alice", "hunter2")
	acs := usher.FederatedCallbackURL(usherSrv.URL, "/user", "acme", usher.ProviderSAML)
	if action != acs || fields.Get("RelayState") != "the-state" {
		t.Fatalf("the IdP posts to %s with RelayState %q; want %s and the-state", action, fields.Get("RelayState"), acs)
	}

	seen := memorySeen()
	id, err := p.Finish(ctx, postACS(action, fields), saved, seen)
	if err != nil {
		t.Fatalf("Finish: %v", err)
	}
	want := usher.ExternalIdentity{
		Provider: "acme", Issuer: idp.EntityID(), Subject: "alice@example.com",
		Email: "alice@example.com", EmailVerified: true, Name: "Alice Liddell",
	}
	if *id != want {
		t.Errorf("Finish = %+v\nwant     %+v", *id, want)
	}

	// The same answer again is a replay.
	if _, err := p.Finish(ctx, postACS(action, fields), saved, seen); !errors.Is(err, usher.ErrFederatedRefused) {
		t.Errorf("Finish(the same response again) = %v, want ErrFederatedRefused", err)
	}

	// A second log-in: the IdP's session is reused, and the answer holds
	// for the second request only.
	authURL2, saved2, err := p.Begin(ctx, "state-2")
	if err != nil {
		t.Fatal(err)
	}
	action2, fields2 := idp.Continue(t, browser, authURL2)
	if _, err := p.Finish(ctx, postACS(action2, fields2), saved, seen); !errors.Is(err, usher.ErrFederatedRefused) {
		t.Errorf("Finish(answer to request 2, with request 1 saved) = %v, want ErrFederatedRefused", err)
	}
	if _, err := p.Finish(ctx, postACS(action2, fields2), saved2, memorySeen()); err != nil {
		t.Errorf("Finish(answer to request 2) = %v", err)
	}
}

// TestSAMLWithSamlidpEmailAttribute: with email_attribute the address comes
// from that attribute (samlidp's mail, by its FriendlyName), and trust_email = false leaves it unverified.
func TestSAMLWithSamlidpEmailAttribute(t *testing.T) {
	idp := federatedtest.NewSAMLIdP(t)
	idp.AddUser(t, federatedtest.SAMLUser{Name: "bob", Password: "pw", Email: "bob@example.com"})
	no := false
	p, err := federated.New(federated.Config{
		Name: "acme", Kind: usher.ProviderSAML,
		IdPEntityID: idp.EntityID(), IdPSSOURL: idp.SSOURL(), IdPSigningCert: idp.CertificatePEM(),
		EmailAttribute: "mail", TrustEmail: &no, SPKey: spKeyPEM(),
	}, federated.Env{BaseURL: "https://usher.example.com", Prefix: "/user"})
	if err != nil {
		t.Fatal(err)
	}
	md, err := p.(usher.MetadataProvider).Metadata()
	if err != nil {
		t.Fatal(err)
	}
	idp.RegisterSP(t, "usher", md)
	authURL, saved, err := p.Begin(context.Background(), "s")
	if err != nil {
		t.Fatal(err)
	}
	action, fields := idp.LogIn(t, nil, authURL, "bob", "pw")
	id, err := p.Finish(context.Background(), postACS(action, fields), saved, memorySeen())
	if err != nil {
		t.Fatalf("Finish: %v", err)
	}
	if id.Email != "bob@example.com" || id.EmailVerified {
		t.Errorf("Email, EmailVerified = %q, %v; want bob@example.com, false", id.Email, id.EmailVerified)
	}
}
