package federated_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/usher-auth/usher"
	"github.com/usher-auth/usher/federated"
	"github.com/usher-auth/usher/usertest"
)

// metadataServer is an IdP's metadata URL over TLS whose answer the test
// changes, counting the requests.
type metadataServer struct {
	*httptest.Server
	mu       sync.Mutex
	cert     keyPair // the signing certificate published
	noCert   bool    // publish no certificate
	entityID string
	cache    string // cacheDuration, if any
	status   int    // an error status to answer with, if not 0
	fetches  int
}

func newMetadataServer(t *testing.T, cert keyPair) *metadataServer {
	m := &metadataServer{cert: cert, entityID: testIdPEntityID}
	m.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.mu.Lock()
		defer m.mu.Unlock()
		m.fetches++
		if m.status != 0 {
			http.Error(w, "down", m.status)
			return
		}
		kd := ""
		if !m.noCert {
			kd = `<KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>` +
				base64.StdEncoding.EncodeToString(m.cert.cert.Raw) + `</ds:X509Certificate></ds:X509Data></ds:KeyInfo></KeyDescriptor>`
		}
		cache := ""
		if m.cache != "" {
			cache = ` cacheDuration="` + m.cache + `"`
		}
		fmt.Fprintf(w, `<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="%s"%s>`+
			`<IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">%s`+
			`<SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="%s"/>`+
			`</IDPSSODescriptor></EntityDescriptor>`, m.entityID, cache, kd, testIdPSSOURL)
	}))
	t.Cleanup(m.Close)
	return m
}

func (m *metadataServer) set(f func(m *metadataServer)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	f(m)
}

func (m *metadataServer) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.fetches
}

// newRefreshingSAML makes a provider whose IdP is the metadata server md,
// on clock, logging to the returned buffer.
func newRefreshingSAML(t *testing.T, md *metadataServer, clock *usertest.Clock) (usher.FederatedProvider, *usertest.LogBuffer) {
	t.Helper()
	logs := &usertest.LogBuffer{}
	p, err := federated.New(federated.Config{
		Name: "acme", Kind: usher.ProviderSAML,
		IdPMetadataURL: md.URL + "/metadata",
		SPKey:          spKeyPEM(),
	}, federated.Env{
		BaseURL: testBaseURL, Prefix: "/user", HTTPClient: md.Client(), Now: clock.Now,
		Logger: slog.New(slog.NewTextHandler(logs, nil)),
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return p, logs
}

// signedFinish begins a sign-in and finishes it with an honest answer
// signed by signer, issued at the clock's time.
func signedFinish(t *testing.T, p usher.FederatedProvider, clock *usertest.Clock, signer keyPair) (*usher.ExternalIdentity, error) {
	t.Helper()
	saved, requestID := samlBegin(t, p)
	r := honest(requestID)
	now := clock.Now()
	r.IssueInstant, r.NotOnOrAfter, r.Signer = now.Add(-10*time.Second), now.Add(5*time.Minute), signer
	return p.Finish(context.Background(), postACS(testACS, form(r.sign(t))), saved, memorySeen())
}

// TestSAMLMetadataRotation: the IdP rotates its signing certificate,
// publishing the new one in its metadata; an answer signed with the new
// one is refused until the metadata is fetched again, then accepted —
// fetched again because a signature failed (at most every 5 minutes), or
// because the metadata is due (its cacheDuration).
func TestSAMLMetadataRotation(t *testing.T) {
	needXMLSec(t)
	a, b := testIdPKeys(), strangerKey()
	md := newMetadataServer(t, a)
	md.set(func(m *metadataServer) { m.cache = "PT1H" })
	clock := usertest.ClockAt(testNow)
	p, _ := newRefreshingSAML(t, md, clock)
	if _, err := signedFinish(t, p, clock, a); err != nil {
		t.Fatalf("Finish(signed with A) = %v", err)
	}

	// Signed with B, before the IdP publishes it: refused, and no fetch
	// (the metadata was fetched just now).
	id, err := signedFinish(t, p, clock, b)
	wantRefused(t, id, err, "signature")
	md.set(func(m *metadataServer) { m.cert = b })
	clock.Advance(time.Minute)
	id, err = signedFinish(t, p, clock, b)
	wantRefused(t, id, err, "signature")
	if n := md.count(); n != 1 {
		t.Fatalf("%d fetches of the metadata within 5 minutes, want 1 (at start)", n)
	}

	// Five minutes after the last fetch, a bad signature fetches the
	// metadata again, and the answer is checked once more: accepted.
	clock.Advance(5 * time.Minute)
	if _, err := signedFinish(t, p, clock, b); err != nil {
		t.Fatalf("Finish(signed with B, B published) = %v", err)
	}
	if n := md.count(); n != 2 {
		t.Errorf("%d fetches, want 2", n)
	}
	id, err = signedFinish(t, p, clock, a)
	wantRefused(t, id, err, "signature")

	// The metadata's cacheDuration (1 hour) passes: the next sign-in
	// fetches it again in the background, and A is back without any
	// signature failing.
	md.set(func(m *metadataServer) { m.cert = a })
	clock.Advance(61 * time.Minute)
	samlBegin(t, p)
	federated.SAMLWaitRefresh(p)
	if n := md.count(); n != 3 {
		t.Fatalf("%d fetches after the cacheDuration passed, want 3", n)
	}
	if _, err := signedFinish(t, p, clock, a); err != nil {
		t.Fatalf("Finish(signed with A after the refresh) = %v", err)
	}
	if n := md.count(); n != 3 {
		t.Errorf("%d fetches, want 3: the refresh was due, not forced", n)
	}
}

// TestSAMLMetadataRefreshFails: a refresh that fails — the metadata URL
// answers 500, the metadata has no signing certificate, or names another
// entity — keeps the metadata in use (never "no certificate"), and a
// warning says why.
func TestSAMLMetadataRefreshFails(t *testing.T) {
	needXMLSec(t)
	tests := []struct {
		name   string
		break_ func(m *metadataServer)
		reason string
	}{
		{"500", func(m *metadataServer) { m.status = http.StatusInternalServerError }, "500"},
		{"no certificate", func(m *metadataServer) { m.noCert = true }, "no IdP signing certificate"},
		{"another entity", func(m *metadataServer) { m.entityID = "https://evil.example/saml" }, "entity ID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := testIdPKeys()
			md := newMetadataServer(t, a)
			clock := usertest.ClockAt(testNow)
			p, logs := newRefreshingSAML(t, md, clock)
			md.set(tt.break_)

			// Due after 24 hours: fetched in the background, refused, kept.
			clock.Advance(24*time.Hour + time.Second)
			samlBegin(t, p)
			federated.SAMLWaitRefresh(p)
			if n := md.count(); n != 2 {
				t.Fatalf("%d fetches a day later, want 2", n)
			}
			if l := logs.String(); !strings.Contains(l, "level=WARN") || !strings.Contains(l, tt.reason) || !strings.Contains(l, "keeping the metadata") {
				t.Errorf("log %q: want a warning saying %q", l, tt.reason)
			}
			if _, err := signedFinish(t, p, clock, a); err != nil {
				t.Fatalf("Finish(signed with the old certificate) = %v", err)
			}

			// A bad signature's refresh fails too: still the old
			// certificate, and nothing else.
			clock.Advance(6 * time.Minute)
			id, err := signedFinish(t, p, clock, strangerKey())
			wantRefused(t, id, err, "signature")
			if n := md.count(); n != 3 {
				t.Errorf("%d fetches, want 3", n)
			}
			if _, err := signedFinish(t, p, clock, a); err != nil {
				t.Errorf("Finish(signed with the old certificate) = %v", err)
			}
		})
	}
}

// TestSAMLMetadataRefreshRateLimited: answers with bad signatures, many
// and at once, fetch the metadata at most once every 5 minutes.
func TestSAMLMetadataRefreshRateLimited(t *testing.T) {
	needXMLSec(t)
	md := newMetadataServer(t, testIdPKeys())
	clock := usertest.ClockAt(testNow)
	p, _ := newRefreshingSAML(t, md, clock)
	clock.Advance(10 * time.Minute)
	// post posts n answers signed by a stranger, fresh at the clock's
	// time, all at once.
	post := func(n int) {
		saved, requestID := samlBegin(t, p)
		r := honest(requestID)
		now := clock.Now()
		r.IssueInstant, r.NotOnOrAfter, r.Signer = now.Add(-10*time.Second), now.Add(5*time.Minute), strangerKey()
		bad := form(r.sign(t))
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				id, err := p.Finish(context.Background(), postACS(testACS, bad), saved, memorySeen())
				if err == nil || id != nil || !strings.Contains(err.Error(), "signature") {
					t.Errorf("Finish(bad signature) = %+v, %v; want refused for the signature", id, err)
				}
			})
		}
		wg.Wait()
	}
	post(30)
	if n := md.count(); n != 2 {
		t.Fatalf("%d fetches after 30 bad answers, want 2 (at start, and one refresh)", n)
	}
	clock.Advance(4 * time.Minute)
	post(30)
	if n := md.count(); n != 2 {
		t.Fatalf("%d fetches after 30 more within 5 minutes, want still 2", n)
	}
	clock.Advance(time.Minute + time.Second)
	post(30)
	if n := md.count(); n != 3 {
		t.Fatalf("%d fetches 5 minutes after the refresh, want 3", n)
	}
}
