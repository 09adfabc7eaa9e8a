package federated_test

import (
	"bytes"
	"compress/flate"
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/crewjam/saml"

	"github.com/usher-auth/usher"
	"github.com/usher-auth/usher/federated"
	"github.com/usher-auth/usher/federated/federatedtest"
)

// TestSAMLRefusesToStartWithoutCertificate: a SAML provider with no IdP
// signing certificate — none configured, none in the metadata — is a
// configuration error, never a provider that accepts unsigned answers.
func TestSAMLRefusesToStartWithoutCertificate(t *testing.T) {
	noCertMetadata := `<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://idp.example.com/saml/metadata">` +
		`<IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">` +
		`<SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example.com/saml/sso"/>` +
		`</IDPSSODescriptor></EntityDescriptor>`
	md := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, noCertMetadata) }))
	defer md.Close()

	tests := []struct {
		name string
		c    func(c *federated.Config)
	}{
		{"entity ID and SSO URL, no idp_signing_cert", func(c *federated.Config) { c.IdPSigningCert = "" }},
		{"metadata without a certificate", func(c *federated.Config) {
			c.IdPSigningCert, c.IdPEntityID, c.IdPSSOURL, c.IdPMetadataURL = "", "", "", md.URL
		}},
		{"an idp_signing_cert that is not a certificate", func(c *federated.Config) { c.IdPSigningCert = "not a certificate" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := samlConfig()
			tt.c(&c)
			_, err := federated.New(c, federated.Env{BaseURL: testBaseURL, HTTPClient: md.Client()})
			if err == nil || !strings.Contains(err.Error(), "cert") {
				t.Errorf("New = %v, want an error about the certificate", err)
			}
		})
	}

	// The same metadata with idp_signing_cert starts.
	c := samlConfig()
	c.IdPEntityID, c.IdPSSOURL, c.IdPMetadataURL = "", "", md.URL
	if _, err := federated.New(c, federated.Env{BaseURL: testBaseURL, HTTPClient: md.Client()}); err != nil {
		t.Errorf("New(metadata without a certificate, idp_signing_cert) = %v", err)
	}
}

// TestSAMLConfigErrors: the other settings New refuses.
func TestSAMLConfigErrors(t *testing.T) {
	_, otherCert := federatedtest.NewSAMLKeyPair(t, "other")
	tests := []struct {
		name string
		c    func(c *federated.Config)
		env  func(e *federated.Env)
	}{
		{"no IdP at all", func(c *federated.Config) { c.IdPEntityID, c.IdPSSOURL = "", "" }, nil},
		{"no SSO URL", func(c *federated.Config) { c.IdPSSOURL = "" }, nil},
		{"SSO URL not http(s)", func(c *federated.Config) { c.IdPSSOURL = "javascript:alert(1)" }, nil},
		{"SHA-1 signature_algorithm without allow_sha1", func(c *federated.Config) { c.SignatureAlgorithm = "rsa-sha1" }, nil},
		{"unknown signature_algorithm", func(c *federated.Config) { c.SignatureAlgorithm = "hmac-sha256" }, nil},
		{"sp_certificate without sp_key", func(c *federated.Config) { c.SPKey, c.SPCertificate = "", federatedtest.CertificatePEM(otherCert) }, nil},
		{"sp_certificate not sp_key's", func(c *federated.Config) { c.SPCertificate = federatedtest.CertificatePEM(otherCert) }, nil},
		{"sp_key not a key", func(c *federated.Config) {
			c.SPKey = "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n"
		}, nil},
		{"no sp_key and no secret key", func(c *federated.Config) { c.SPKey = "" }, nil},
		{"an OIDC setting", func(c *federated.Config) { c.ClientID = "x" }, nil},
		{"no base URL", nil, func(e *federated.Env) { e.BaseURL = "" }},
		{"metadata URL unreachable", func(c *federated.Config) { c.IdPMetadataURL = "http://127.0.0.1:1/metadata" }, nil},
		{"metadata_refresh without idp_metadata_url", func(c *federated.Config) { c.MetadataRefresh = "6h" }, nil},
		{"metadata_refresh not a duration", func(c *federated.Config) {
			c.IdPMetadataURL, c.MetadataRefresh = "https://idp.example.com/metadata", "6"
		}, nil},
		{"metadata_refresh under 5 minutes", func(c *federated.Config) {
			c.IdPMetadataURL, c.MetadataRefresh = "https://idp.example.com/metadata", "1m"
		}, nil},
		{"metadata_refresh negative", func(c *federated.Config) {
			c.IdPMetadataURL, c.MetadataRefresh = "https://idp.example.com/metadata", "-6h"
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := samlConfig()
			if tt.c != nil {
				tt.c(&c)
			}
			env := federated.Env{BaseURL: testBaseURL}
			if tt.env != nil {
				tt.env(&env)
			}
			if _, err := federated.New(c, env); err == nil {
				t.Error("New = nil, want an error")
			}
		})
	}
	// The metadata carries the certificate: never over plain HTTP (but
	// from this machine), refused before any request.
	c := samlConfig()
	c.IdPMetadataURL = "http://idp.example.com/metadata"
	if _, err := federated.New(c, federated.Env{BaseURL: testBaseURL}); err == nil || !strings.Contains(err.Error(), "not an https URL") {
		t.Errorf("New(metadata over plain HTTP) = %v, want refused as not https", err)
	}
	c = samlConfig()
	c.SignatureAlgorithm, c.AllowSHA1 = "rsa-sha1", true
	if _, err := federated.New(c, federated.Env{BaseURL: testBaseURL}); err != nil {
		t.Errorf("New(rsa-sha1 with allow_sha1) = %v", err)
	}
}

// authnRequest reads the AuthnRequest of Begin's URL (HTTP-Redirect
// binding: deflated, base64) and its query.
func authnRequest(t *testing.T, authURL string) (*saml.AuthnRequest, url.Values) {
	t.Helper()
	u, err := url.Parse(authURL)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	b, err := base64.StdEncoding.DecodeString(q.Get("SAMLRequest"))
	if err != nil {
		t.Fatal(err)
	}
	x, err := io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(b)), 1<<20))
	if err != nil {
		t.Fatal(err)
	}
	var req saml.AuthnRequest
	if err := xml.Unmarshal(x, &req); err != nil {
		t.Fatal(err)
	}
	return &req, q
}

// TestSAMLBegin: the AuthnRequest goes to the SSO URL by the redirect
// binding, signed (RSA-SHA256 by default), with RelayState = state, our
// entity ID and ACS URL, ForceAuthn when configured, and the emailAddress
// NameID format unless email_attribute is set (then none: the IdP's
// choice, "unspecified"); saved holds its ID.
func TestSAMLBegin(t *testing.T) {
	tests := []struct {
		name       string
		c          func(c *federated.Config)
		sigAlg     string
		force      bool
		nameFormat string
	}{
		{"defaults", nil, "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256", false, string(saml.EmailAddressNameIDFormat)},
		{"force_authentication, rsa-sha512, email_attribute", func(c *federated.Config) {
			c.ForceAuthentication, c.SignatureAlgorithm, c.EmailAttribute = true, "rsa-sha512", "mail"
		}, "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512", true, ""},
		{"rsa-sha1 allowed", func(c *federated.Config) { c.SignatureAlgorithm, c.AllowSHA1 = "rsa-sha1", true },
			"http://www.w3.org/2000/09/xmldsig#rsa-sha1", false, string(saml.EmailAddressNameIDFormat)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := samlConfig()
			if tt.c != nil {
				tt.c(&c)
			}
			p := newTestSAML(t, c)
			authURL, saved, err := p.Begin(context.Background(), "state-123")
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(authURL, testIdPSSOURL+"?") {
				t.Errorf("authURL = %s, want the SSO URL", authURL)
			}
			req, q := authnRequest(t, authURL)
			if q.Get("RelayState") != "state-123" || q.Get("SigAlg") != tt.sigAlg || q.Get("Signature") == "" {
				t.Errorf("RelayState, SigAlg, Signature = %q, %q, %q", q.Get("RelayState"), q.Get("SigAlg"), q.Get("Signature"))
			}
			if !strings.Contains(saved, `"`+req.ID+`"`) {
				t.Errorf("saved = %s, want the request ID %s", saved, req.ID)
			}
			if req.Issuer == nil || req.Issuer.Value != testEntityID || req.AssertionConsumerServiceURL != testACS ||
				req.Destination != testIdPSSOURL || req.ProtocolBinding != saml.HTTPPostBinding {
				t.Errorf("AuthnRequest issuer, ACS, destination, binding = %v, %s, %s, %s", req.Issuer, req.AssertionConsumerServiceURL, req.Destination, req.ProtocolBinding)
			}
			if force := req.ForceAuthn != nil && *req.ForceAuthn; force != tt.force {
				t.Errorf("ForceAuthn = %v, want %v", force, tt.force)
			}
			format := ""
			if req.NameIDPolicy != nil && req.NameIDPolicy.Format != nil {
				format = *req.NameIDPolicy.Format
			}
			if format != tt.nameFormat {
				t.Errorf("NameIDPolicy format = %q, want %q", format, tt.nameFormat)
			}
		})
	}
}

// spCertificate reads the signing certificate of SP metadata.
func spCertificate(t *testing.T, p usher.FederatedProvider) (*saml.EntityDescriptor, *x509.Certificate) {
	t.Helper()
	b, err := p.(usher.MetadataProvider).Metadata()
	if err != nil {
		t.Fatal(err)
	}
	var ed saml.EntityDescriptor
	if err := xml.Unmarshal(b, &ed); err != nil {
		t.Fatalf("metadata: %v\n%s", err, b)
	}
	if len(ed.SPSSODescriptors) != 1 || len(ed.SPSSODescriptors[0].KeyDescriptors) == 0 {
		t.Fatalf("metadata has no SP key: %s", b)
	}
	data := ed.SPSSODescriptors[0].KeyDescriptors[0].KeyInfo.X509Data.X509Certificates[0].Data
	der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(data), ""))
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &ed, cert
}

// TestSAMLMetadata: the SP metadata names the entity ID (the metadata URL),
// the ACS URL with the POST binding only, says requests are signed and
// assertions wanted signed, and carries the SP certificate.
func TestSAMLMetadata(t *testing.T) {
	c := samlConfig()
	key, cert := federatedtest.NewSAMLKeyPair(t, "SP")
	c.SPKey, c.SPCertificate = federatedtest.KeyPEM(key), federatedtest.CertificatePEM(cert)
	ed, got := spCertificate(t, newTestSAML(t, c))
	if ed.EntityID != testEntityID {
		t.Errorf("entityID = %s, want %s", ed.EntityID, testEntityID)
	}
	sp := ed.SPSSODescriptors[0]
	if len(sp.AssertionConsumerServices) != 1 || sp.AssertionConsumerServices[0].Location != testACS || sp.AssertionConsumerServices[0].Binding != saml.HTTPPostBinding {
		t.Errorf("ACS = %+v, want only %s (HTTP-POST)", sp.AssertionConsumerServices, testACS)
	}
	if sp.AuthnRequestsSigned == nil || !*sp.AuthnRequestsSigned || sp.WantAssertionsSigned == nil || !*sp.WantAssertionsSigned {
		t.Errorf("AuthnRequestsSigned, WantAssertionsSigned = %v, %v", sp.AuthnRequestsSigned, sp.WantAssertionsSigned)
	}
	if !got.Equal(cert) {
		t.Error("the metadata's certificate is not sp_certificate")
	}
}

// TestSAMLKeyFromSecret: without sp_key, the SP key and certificate are
// made from the secret key: the same on every instance (the same
// certificate, byte for byte), another for another secret.
func TestSAMLKeyFromSecret(t *testing.T) {
	newWith := func(secret string) *x509.Certificate {
		c := samlConfig()
		c.SPKey = ""
		p, err := federated.New(c, federated.Env{BaseURL: testBaseURL, SecretKey: []byte(secret)})
		if err != nil {
			t.Fatal(err)
		}
		_, cert := spCertificate(t, p)
		return cert
	}
	a, b, other := newWith("0123456789abcdef0123456789abcdef"), newWith("0123456789abcdef0123456789abcdef"), newWith("another secret key of 32 bytes..")
	if !a.Equal(b) {
		t.Error("two instances with one secret key have different SP certificates")
	}
	pub := a.PublicKey.(*rsa.PublicKey)
	if pub.Equal(other.PublicKey) {
		t.Error("two secret keys make the same SP key")
	}
	if n := pub.N.BitLen(); n != 2048 {
		t.Errorf("derived key of %d bits, want 2048", n)
	}
}

// endless is a body that never ends, counting what is read of it.
type endless struct{ n int64 }

func (e *endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'A'
	}
	e.n += int64(len(p))
	return len(p), nil
}

// allocated returns how many bytes f allocates.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestSAMLBodyLimits: an endless body is refused after at most 256 KiB is
// read, and a deflate bomb — posted, or sent by the redirect binding that
// would inflate it — is refused without being inflated; each allocates a
// bounded amount.
func TestSAMLBodyLimits(t *testing.T) {
	p := newTestSAML(t, samlConfig())
	saved, _ := samlBegin(t, p)
	const limit = 4 << 20 // well under what reading or inflating would take

	t.Run("oversized body", func(t *testing.T) {
		body := &endless{}
		var err error
		mem := allocated(func() {
			r := httptest.NewRequest(http.MethodPost, testACS, io.MultiReader(strings.NewReader("SAMLResponse="), body))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			_, err = p.Finish(context.Background(), r, saved, memorySeen())
		})
		if !errors.Is(err, usher.ErrFederatedRefused) {
			t.Errorf("Finish = %v, want ErrFederatedRefused", err)
		}
		if body.n > 256<<10+64<<10 {
			t.Errorf("read %d bytes of the body, want at most about 256 KiB", body.n)
		}
		if mem > limit {
			t.Errorf("allocated %d bytes", mem)
		}
	})

	// 1 GiB of zeros deflates to about 1 MiB; 64 MiB to 64 KiB, under the
	// body limit.
	var bomb bytes.Buffer
	w, _ := flate.NewWriter(&bomb, flate.BestCompression)
	zeros := make([]byte, 1<<20)
	for range 64 {
		w.Write(zeros)
	}
	w.Close()
	encoded := base64.StdEncoding.EncodeToString(bomb.Bytes())

	t.Run("deflate bomb, posted", func(t *testing.T) {
		var err error
		mem := allocated(func() {
			_, err = p.Finish(context.Background(), postACS(testACS, url.Values{"SAMLResponse": {encoded}}), saved, memorySeen())
		})
		if !errors.Is(err, usher.ErrFederatedRefused) {
			t.Errorf("Finish = %v, want ErrFederatedRefused", err)
		}
		if mem > limit {
			t.Errorf("allocated %d bytes", mem)
		}
	})
	t.Run("deflate bomb, redirect binding", func(t *testing.T) {
		var err error
		mem := allocated(func() {
			r := httptest.NewRequest(http.MethodGet, testACS+"?"+url.Values{"SAMLResponse": {encoded}}.Encode(), nil)
			_, err = p.Finish(context.Background(), r, saved, memorySeen())
		})
		if !errors.Is(err, usher.ErrFederatedRefused) {
			t.Errorf("Finish = %v, want ErrFederatedRefused", err)
		}
		if mem > limit {
			t.Errorf("allocated %d bytes", mem)
		}
	})
	t.Run("artifact binding", func(t *testing.T) {
		_, err := p.Finish(context.Background(), postACS(testACS, url.Values{"SAMLart": {"AAQAAM+4KcfQ"}}), saved, memorySeen())
		if !errors.Is(err, usher.ErrFederatedRefused) {
			t.Errorf("Finish = %v, want ErrFederatedRefused", err)
		}
	})
	t.Run("two SAMLResponse fields", func(t *testing.T) {
		_, err := p.Finish(context.Background(), postACS(testACS, url.Values{"SAMLResponse": {"PGE+", "PGE+"}}), saved, memorySeen())
		if !errors.Is(err, usher.ErrFederatedRefused) {
			t.Errorf("Finish = %v, want ErrFederatedRefused", err)
		}
	})
}

// FuzzSAMLResponse: any document posted as the SAMLResponse, answering a
// request or unasked: no panic, and never an identity — without the IdP's
// key nothing is accepted; only refusals, or a cancel for an unsigned
// error status (which logs nobody in).
func FuzzSAMLResponse(f *testing.F) {
	r := honest("id-0123")
	f.Add([]byte(r.xml()), true)
	f.Add([]byte(strings.Replace(r.xml(), "urn:oasis:names:tc:SAML:2.0:status:Success", "urn:oasis:names:tc:SAML:2.0:status:Responder", 1)), false)
	f.Add([]byte(`<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"/>`), true)
	f.Add([]byte(`<!DOCTYPE a [<!ENTITY b "c">]><a>&b;</a>`), false)
	c := samlConfig()
	c.AllowIdPInitiated = true
	p, err := federated.New(c, federated.Env{BaseURL: testBaseURL, Prefix: "/user", Now: func() time.Time { return testNow }})
	if err != nil {
		f.Fatal(err)
	}
	_, saved, err := p.Begin(context.Background(), "state")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, doc []byte, asked bool) {
		s := saved
		if !asked {
			s = ""
		}
		form := url.Values{"SAMLResponse": {base64.StdEncoding.EncodeToString(doc)}}
		id, err := p.Finish(context.Background(), postACS(testACS, form), s, memorySeen())
		if id != nil || !(errors.Is(err, usher.ErrFederatedRefused) || errors.Is(err, usher.ErrFederatedCancelled)) {
			t.Fatalf("Finish = %+v, %v; want a refusal or a cancel", id, err)
		}
	})
}
