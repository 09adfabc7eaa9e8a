package federatedtest

// This file is an in-process SAML identity provider for tests: crewjam's
// samlidp on an httptest server, with helpers to register a service
// provider, add users and log a user in through the IdP's form with an
// http.Client (the browser leg), ending with the auto-submitting form the
// IdP sends back, ready to post to the service provider's ACS.

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"math/big"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/crewjam/saml/samlidp"
	"golang.org/x/net/html"
)

// SAMLIdP is a SAML identity provider running in this process.
type SAMLIdP struct {
	Server      *httptest.Server
	IdP         *samlidp.Server
	Key         *rsa.PrivateKey
	Certificate *x509.Certificate
}

// NewSAMLIdP starts an IdP with a new RSA key and self-signed certificate,
// stopped when the test ends. It logs nothing.
func NewSAMLIdP(tb testing.TB) *SAMLIdP {
	tb.Helper()
	key, cert := NewSAMLKeyPair(tb, "Test SAML IdP")
	srv := httptest.NewUnstartedServer(nil)
	u, err := url.Parse("http://" + srv.Listener.Addr().String())
	if err != nil {
		tb.Fatal(err)
	}
	idp, err := samlidp.New(samlidp.Options{
		URL:         *u,
		Key:         key,
		Certificate: cert,
		Store:       &samlidp.MemoryStore{},
		Logger:      log.New(io.Discard, "", 0),
	})
	if err != nil {
		tb.Fatalf("samlidp.New: %v", err)
	}
	srv.Config.Handler = idp
	srv.Start()
	tb.Cleanup(srv.Close)
	return &SAMLIdP{Server: srv, IdP: idp, Key: key, Certificate: cert}
}

// NewSAMLKeyPair makes an RSA-2048 key and a self-signed certificate for
// it named cn, valid from 2000 to 2100.
func NewSAMLKeyPair(tb testing.TB, cn string) (*rsa.PrivateKey, *x509.Certificate) {
	tb.Helper()
	key, cert, err := MakeSAMLKeyPair(cn)
	if err != nil {
		tb.Fatal(err)
	}
	return key, cert
}

// MakeSAMLKeyPair is NewSAMLKeyPair outside a test (for a sync.OnceValue).
func MakeSAMLKeyPair(cn string) (*rsa.PrivateKey, *x509.Certificate, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:     time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	return key, cert, err
}

// KeyPEM and CertificatePEM encode a key (PKCS #1) and a certificate as PEM.
func KeyPEM(key *rsa.PrivateKey) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}))
}

// CertificatePEM encodes a certificate as PEM.
func CertificatePEM(cert *x509.Certificate) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}))
}

// URL is the IdP's base URL.
func (i *SAMLIdP) URL() string { return i.Server.URL }

// MetadataURL is where the IdP publishes its metadata; it is also its
// entity ID.
func (i *SAMLIdP) MetadataURL() string { return i.Server.URL + "/metadata" }

// EntityID is the IdP's entity ID.
func (i *SAMLIdP) EntityID() string { return i.MetadataURL() }

// SSOURL is the IdP's single sign-on URL (HTTP-Redirect and HTTP-POST).
func (i *SAMLIdP) SSOURL() string { return i.Server.URL + "/sso" }

// CertificatePEM is the IdP's signing certificate as PEM.
func (i *SAMLIdP) CertificatePEM() string { return CertificatePEM(i.Certificate) }

// RegisterSP registers a service provider by its metadata under id.
func (i *SAMLIdP) RegisterSP(tb testing.TB, id string, metadata []byte) {
	tb.Helper()
	i.put(tb, "/services/"+url.PathEscape(id), metadata)
}

// RegisterSPFromURL fetches a service provider's metadata from
// metadataURL (with client; nil means http.DefaultClient) and registers it.
func (i *SAMLIdP) RegisterSPFromURL(tb testing.TB, client *http.Client, id, metadataURL string) {
	tb.Helper()
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Get(metadataURL)
	if err != nil {
		tb.Fatalf("fetching SP metadata: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		tb.Fatalf("fetching SP metadata: %s %v", resp.Status, err)
	}
	i.RegisterSP(tb, id, b)
}

// SAMLUser is a user of the IdP.
type SAMLUser struct {
	Name, Password, Email string
	CommonName            string // sent as the cn attribute
}

// AddUser adds (or replaces) a user. The IdP sends the e-mail address as
// an emailAddress NameID, and as the mail attribute
// (urn:oid:0.9.2342.19200300.100.1.3).
func (i *SAMLIdP) AddUser(tb testing.TB, u SAMLUser) {
	tb.Helper()
	// #nosec G117 -- a test user's password, sent to the in-process test IdP's admin API
	b, err := json.Marshal(samlidp.User{Name: u.Name, PlaintextPassword: &u.Password, Email: u.Email, CommonName: u.CommonName})
	if err != nil {
		tb.Fatal(err)
	}
	i.put(tb, "/users/"+url.PathEscape(u.Name), b)
}

func (i *SAMLIdP) put(tb testing.TB, path string, body []byte) {
	tb.Helper()
	req, err := http.NewRequest(http.MethodPut, i.Server.URL+path, bytes.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	resp, err := i.Server.Client().Do(req)
	if err != nil {
		tb.Fatalf("PUT %s: %v", path, err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		tb.Fatalf("PUT %s: %s", path, resp.Status)
	}
}

// LogIn plays the browser: it follows authURL (the service provider's
// redirect to the IdP's SSO URL), gets the IdP's login form, logs in with
// user and password, follows authURL again with the IdP's session, and
// returns the form the IdP answers with — its action (the ACS URL) and
// fields (SAMLResponse, RelayState) — without posting it. (samlidp's form
// would post the request back without the redirect binding's signature,
// which it then refuses for a service provider that signs its requests, so
// the log-in goes to its /login instead.) client should have a cookie jar;
// nil means a new client with one.
func (i *SAMLIdP) LogIn(tb testing.TB, client *http.Client, authURL, user, password string) (action string, fields url.Values) {
	tb.Helper()
	if client == nil {
		jar, err := cookiejar.New(nil)
		if err != nil {
			tb.Fatal(err)
		}
		client = &http.Client{Jar: jar}
	}
	resp, err := client.Get(authURL)
	if err != nil {
		tb.Fatalf("GET the IdP's SSO URL: %v", err)
	}
	_, fields = readForm(tb, resp)
	if _, ok := fields["password"]; !ok {
		tb.Fatalf("the IdP did not send its login form (fields %v)", fields)
	}
	resp, err = client.PostForm(i.Server.URL+"/login", url.Values{"user": {user}, "password": {password}})
	if err != nil {
		tb.Fatalf("POST the IdP's login: %v", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	// A wrong password gets the login form again (HTML), a right one the
	// session (JSON).
	if resp.StatusCode != http.StatusOK || strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		tb.Fatalf("logging in to the IdP as %s: %s", user, resp.Status)
	}
	return i.Continue(tb, client, authURL)
}

// Continue follows authURL with a client already logged in to the IdP and
// returns the form the IdP answers with (see LogIn).
func (i *SAMLIdP) Continue(tb testing.TB, client *http.Client, authURL string) (action string, fields url.Values) {
	tb.Helper()
	resp, err := client.Get(authURL)
	if err != nil {
		tb.Fatalf("GET the IdP's SSO URL: %v", err)
	}
	action, fields = readForm(tb, resp)
	if fields.Get("SAMLResponse") == "" {
		tb.Fatalf("the IdP did not answer with a SAMLResponse (fields %v)", fields)
	}
	return action, fields
}

// readForm reads the first form of an HTML answer: its action and the
// values of its inputs.
func readForm(tb testing.TB, resp *http.Response) (string, url.Values) {
	tb.Helper()
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		tb.Fatalf("%s %s: %s: %s", resp.Request.Method, resp.Request.URL, resp.Status, b)
	}
	doc, err := html.Parse(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	var action string
	fields := url.Values{}
	found := false
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			switch {
			case n.Data == "form" && !found:
				found = true
				action = attr(n, "action")
			case n.Data == "input" && found && attr(n, "name") != "":
				fields.Set(attr(n, "name"), attr(n, "value"))
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	if !found {
		tb.Fatalf("%s: no form in the answer", resp.Request.URL)
	}
	if u, err := resp.Request.URL.Parse(action); err == nil {
		action = u.String()
	}
	return action, fields
}

func attr(n *html.Node, name string) string {
	for _, a := range n.Attr {
		if strings.EqualFold(a.Key, name) {
			return a.Val
		}
	}
	return ""
}

// String names the IdP in failures.
func (i *SAMLIdP) String() string { return fmt.Sprintf("SAML IdP at %s", i.Server.URL) }
