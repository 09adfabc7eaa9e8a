package federated

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/beevik/etree"
	"github.com/crewjam/saml"
	"github.com/crewjam/saml/samlsp"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/usher-auth/usher"
)

// This file is the SAML 2.0 kind of provider: Usher as a service provider
// (SP) to one identity provider (IdP), with crewjam/saml's ServiceProvider
// checking signatures and conditions, and Usher's own checks on top (one
// assertion, issuer, audience, destination, recipient, times, request ID,
// replay). Web SSO profile only: AuthnRequests by the HTTP-Redirect
// binding, Responses by HTTP-POST to the ACS; no artifact, no SimpleSign,
// no single logout.

// Limits and tolerances of the SAML provider.
const (
	// samlMaxBody is the largest ACS request body read: a SAMLResponse is a
	// few KiB, a big one with many attributes some tens.
	samlMaxBody = 256 << 10
	// samlMaxMetadata is the largest IdP metadata document read.
	samlMaxMetadata = 10 << 20
	// samlMetadataTimeout bounds fetching the IdP's metadata.
	samlMetadataTimeout = 30 * time.Second
	// samlSkew is the clock difference allowed between the IdP and Usher.
	samlSkew = 2 * time.Minute
	// samlMaxAge is how long after its IssueInstant an assertion is taken
	// (plus samlSkew): the browser posts it straight away.
	samlMaxAge = 3 * time.Minute
	// samlMaxNameID is the longest NameID taken as a subject.
	samlMaxNameID = 1024
	// samlRefreshDefault is how often idp_metadata_url is fetched again
	// when neither metadata_refresh nor the metadata (cacheDuration,
	// validUntil) says sooner.
	samlRefreshDefault = 24 * time.Hour
	// samlRefreshMin is the shortest time between two fetches of the
	// metadata, whatever asks for one: the shortest refresh interval, and
	// the rate limit of the refresh a bad signature triggers, so that
	// posting bad responses cannot make Usher hammer the IdP.
	samlRefreshMin = 5 * time.Minute
)

// samlProvider is a SAML identity provider (kind saml).
type samlProvider struct {
	name, label             string
	allowSignup, allowLogin bool
	allowIdPInitiated       bool
	emailAttribute          string // "" = the NameID, when its format is emailAddress
	trustEmail              bool
	idpEntityID             string
	entityID, acsURL        string
	now                     func() time.Time
	// sp is the ServiceProvider every call copies, with the clock and the
	// current IdP metadata (md) set.
	sp saml.ServiceProvider
	// md is the IdP's metadata now in use, swapped whole by a refresh.
	md atomic.Pointer[samlMetadata]

	// Refreshing idp_metadata_url (when set): c and env make the metadata
	// again, as at start; refreshEvery is metadata_refresh (or the
	// default); lazyRefresh says whether a bad signature may be a new
	// certificate (not when idp_signing_cert replaces the metadata's).
	c            Config
	env          Env
	log          *slog.Logger
	refreshEvery time.Duration
	lazyRefresh  bool
	mu           sync.Mutex
	lastFetch    time.Time     // the last fetch started (guarded by mu)
	fetching     chan struct{} // closed when the running fetch ends; nil when none runs (mu)
}

// samlMetadata is the IdP's metadata as checked, and when to fetch it
// again.
type samlMetadata struct {
	idp     *saml.EntityDescriptor
	ssoURL  string    // its HTTP-Redirect SSO URL
	fetched time.Time // when it was fetched (or made, without idp_metadata_url)
	next    time.Time // when it is due for a refresh
}

// samlSaved is what Begin hands the Service to keep with the state.
type samlSaved struct {
	RequestID string `json:"request_id"`
}

// newSAML makes the SAML provider c describes. It fetches the IdP's
// metadata now when idp_metadata_url is set (with env.HTTPClient), and
// refuses to start without an IdP signing certificate: a provider that
// could not check signatures must not exist. The metadata is fetched
// again when due (refreshIfDue) and when a signature fails
// (refreshNow), and replaced only by metadata that passes the same
// checks.
func newSAML(c Config, env Env) (usher.FederatedProvider, error) {
	fail := func(format string, a ...any) error {
		return fmt.Errorf("federated: provider %q (saml): %s", c.Name, fmt.Sprintf(format, a...))
	}
	for _, f := range []struct {
		set  bool
		name string
	}{
		{c.ClientID != "", "client_id"}, {c.ClientSecret != "", "client_secret"},
		{len(c.AdditionalScopes) > 0, "additional_scopes"}, {c.HostedDomain != "", "hosted_domain"},
		{c.Tenant != "", "tenant"}, {len(c.AllowedTenants) > 0, "allowed_tenants"},
		{c.Issuer != "", "issuer"}, {len(c.Scopes) > 0, "scopes"}, {c.TrustEmailVerified, "trust_email_verified"},
	} {
		if f.set {
			return nil, fail("%s is not a SAML setting", f.name)
		}
	}
	base, err := url.Parse(env.BaseURL)
	if err != nil || (base.Scheme != "https" && base.Scheme != "http") || base.Host == "" {
		return nil, fail("the server's base URL %q is not an absolute http(s) URL", env.BaseURL)
	}
	entityID := usher.SAMLMetadataURL(env.BaseURL, env.Prefix, c.Name)
	acsURL := usher.FederatedCallbackURL(env.BaseURL, env.Prefix, c.Name, usher.ProviderSAML)
	metadataURL, _ := url.Parse(entityID)
	acs, _ := url.Parse(acsURL)

	refreshEvery := samlRefreshDefault
	if c.MetadataRefresh != "" && c.MetadataRefresh != "0" {
		d, err := time.ParseDuration(c.MetadataRefresh)
		switch {
		case err != nil:
			return nil, fail("metadata_refresh %q: not a duration such as 6h", c.MetadataRefresh)
		case c.IdPMetadataURL == "":
			return nil, fail("metadata_refresh needs idp_metadata_url")
		case d < 0:
			return nil, fail("metadata_refresh %q is negative", c.MetadataRefresh)
		case d > 0 && d < samlRefreshMin:
			return nil, fail("metadata_refresh %q: at least %s", c.MetadataRefresh, samlRefreshMin)
		case d > 0:
			refreshEvery = d
		}
	}
	idp, ssoURL, err := samlIdPChecked(c, env)
	if err != nil {
		return nil, fail("%v", err)
	}

	method, err := samlSignatureMethod(c.SignatureAlgorithm, c.AllowSHA1)
	if err != nil {
		return nil, fail("%v", err)
	}
	key, cert, err := samlKeyPair(c.SPKey, c.SPCertificate, env.SecretKey)
	if err != nil {
		return nil, fail("%v", err)
	}

	now := env.Now
	if now == nil {
		now = time.Now
	}
	nameIDFormat := saml.EmailAddressNameIDFormat
	if c.EmailAttribute != "" {
		nameIDFormat = saml.UnspecifiedNameIDFormat
	}
	label := c.Label
	if label == "" {
		label = c.Name // as the other kinds without a default of their own
	}
	p := &samlProvider{
		name:              c.Name,
		label:             label,
		allowSignup:       c.AllowSignup == nil || *c.AllowSignup,
		allowLogin:        c.AllowLogin == nil || *c.AllowLogin,
		allowIdPInitiated: c.AllowIdPInitiated,
		emailAttribute:    c.EmailAttribute,
		trustEmail:        c.TrustEmail == nil || *c.TrustEmail,
		idpEntityID:       idp.EntityID,
		entityID:          entityID,
		acsURL:            acsURL,
		now:               now,
		sp: saml.ServiceProvider{
			EntityID:                         entityID,
			Key:                              key,
			Certificate:                      cert,
			MetadataURL:                      *metadataURL,
			AcsURL:                           *acs,
			AuthnNameIDFormat:                nameIDFormat,
			SignatureMethod:                  method,
			AllowIDPInitiated:                c.AllowIdPInitiated,
			RejectSHA1Signatures:             !c.AllowSHA1,
			AssertionConsumerServiceBindings: []string{saml.HTTPPostBinding},
			// Outgoing SOAP (artifacts, attribute queries) is never used:
			// Finish takes only a posted SAMLResponse.
			HTTPClient: &http.Client{Transport: refuseTransport{}},
		},
	}
	if p.label == "" {
		p.label = c.Name
	}
	if c.ForceAuthentication {
		force := true
		p.sp.ForceAuthn = &force
	}
	p.c, p.env, p.refreshEvery = c, env, refreshEvery
	p.lazyRefresh = c.IdPMetadataURL != "" && c.IdPSigningCert == ""
	p.log = env.Logger
	if p.log == nil {
		p.log = slog.Default()
	}
	t := now()
	p.lastFetch = t
	p.md.Store(&samlMetadata{idp: idp, ssoURL: ssoURL, fetched: t, next: t.Add(p.refreshInterval(idp, t))})
	return p, nil
}

// samlIdPChecked is samlIdP, and the IdP's HTTP-Redirect SSO URL, which
// it must have: the checks at start, and of every refresh.
func samlIdPChecked(c Config, env Env) (*saml.EntityDescriptor, string, error) {
	idp, err := samlIdP(c, env)
	if err != nil {
		return nil, "", err
	}
	ssoURL := ""
	for _, d := range idp.IDPSSODescriptors {
		for _, e := range d.SingleSignOnServices {
			if e.Binding == saml.HTTPRedirectBinding && ssoURL == "" {
				ssoURL = e.Location
			}
		}
	}
	if u, err := url.Parse(ssoURL); ssoURL == "" || err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, "", errors.New("the IdP has no HTTP-Redirect single sign-on URL (idp_sso_url, or in its metadata)")
	}
	return idp, ssoURL, nil
}

// refreshInterval is how long metadata idp fetched at now is used before
// it is fetched again: metadata_refresh (default 24 hours), or sooner if
// the metadata's cacheDuration or validUntil (of the entity or of an
// IDPSSODescriptor) says so, but never under samlRefreshMin.
func (p *samlProvider) refreshInterval(idp *saml.EntityDescriptor, now time.Time) time.Duration {
	d := p.refreshEvery
	shorter := func(cache time.Duration, until time.Time) {
		if cache > 0 && cache < d {
			d = cache
		}
		if !until.IsZero() && until.Sub(now) < d {
			d = until.Sub(now)
		}
	}
	shorter(idp.CacheDuration, idp.ValidUntil)
	for _, r := range idp.IDPSSODescriptors {
		var until time.Time
		if r.ValidUntil != nil {
			until = *r.ValidUntil
		}
		shorter(r.CacheDuration, until)
	}
	return max(d, samlRefreshMin)
}

// refreshIfDue starts fetching the metadata again, in the background, if
// it is due (the provider has no lifecycle, so no goroutine waits for the
// time: the sign-ins that find the metadata old start the fetch, one at a
// time).
func (p *samlProvider) refreshIfDue() {
	if p.c.IdPMetadataURL == "" {
		return
	}
	now := p.now()
	if now.Before(p.md.Load().next) {
		return
	}
	if done, mine := p.claimFetch(now); mine {
		go p.fetch(done)
	}
}

// refreshNow fetches the metadata again (after a signature failed), unless
// a fetch started less than samlRefreshMin ago, or waits for the fetch
// under way. It reports whether the metadata may have changed.
func (p *samlProvider) refreshNow(ctx context.Context) bool {
	if !p.lazyRefresh {
		return false
	}
	done, mine := p.claimFetch(p.now())
	switch {
	case done == nil:
		return false
	case mine:
		p.fetch(done)
		return true
	}
	select {
	case <-done:
		return true
	case <-ctx.Done():
		return false
	}
}

// claimFetch returns the channel closed when the fetch under way ends and
// false, or, if none runs and the last started at least samlRefreshMin
// before now, a new one and true: the caller must then call fetch. It
// returns nil and false when a fetch now would be too soon.
func (p *samlProvider) claimFetch(now time.Time) (chan struct{}, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fetching != nil {
		return p.fetching, false
	}
	if now.Sub(p.lastFetch) < samlRefreshMin {
		return nil, false
	}
	p.lastFetch = now
	p.fetching = make(chan struct{})
	return p.fetching, true
}

// fetch fetches and checks the metadata as at start, and swaps it in; on
// any failure the metadata in use stays and a warning says why. It closes
// done at the end.
func (p *samlProvider) fetch(done chan struct{}) {
	defer func() {
		p.mu.Lock()
		p.fetching = nil
		p.mu.Unlock()
		close(done)
	}()
	idp, ssoURL, err := samlIdPChecked(p.c, p.env)
	if err == nil && idp.EntityID != p.idpEntityID {
		err = fmt.Errorf("the metadata's entity ID %q is not %q, the IdP's at start", idp.EntityID, p.idpEntityID)
	}
	old := p.md.Load()
	now := p.now()
	if err != nil {
		p.log.Warn("federated: saml: refreshing the IdP metadata failed; keeping the metadata in use",
			"provider", p.name, "idp_metadata_url", p.c.IdPMetadataURL, "fetched", old.fetched, "err", err)
		return
	}
	p.md.Store(&samlMetadata{idp: idp, ssoURL: ssoURL, fetched: now, next: now.Add(p.refreshInterval(idp, now))})
	p.log.Debug("federated: saml: IdP metadata refreshed", "provider", p.name, "idp_metadata_url", p.c.IdPMetadataURL)
}

// refuseTransport makes no request: the SP never calls the IdP.
type refuseTransport struct{}

func (refuseTransport) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, errors.New("federated: saml: the service provider makes no calls to the IdP")
}

// samlIdP returns the IdP's metadata: fetched from idp_metadata_url (the
// entity idp_entity_id names, if set), or made from idp_entity_id,
// idp_sso_url and idp_signing_cert. idp_sso_url and idp_signing_cert
// replace the metadata's when both are given. It is an error if no signing
// certificate is left.
func samlIdP(c Config, env Env) (*saml.EntityDescriptor, error) {
	var idp *saml.EntityDescriptor
	if c.IdPMetadataURL != "" {
		data, err := fetchSAMLMetadata(c.IdPMetadataURL, env.HTTPClient)
		if err != nil {
			return nil, err
		}
		if c.IdPEntityID != "" {
			idp, err = samlsp.ParseMetadataByEntityID(data, c.IdPEntityID)
		} else {
			idp, err = samlsp.ParseMetadata(data)
		}
		if err != nil {
			return nil, fmt.Errorf("idp_metadata_url: %w", err)
		}
		if len(idp.IDPSSODescriptors) == 0 {
			return nil, errors.New("idp_metadata_url: the metadata has no IDPSSODescriptor")
		}
	} else {
		if c.IdPEntityID == "" || c.IdPSSOURL == "" {
			return nil, errors.New("give idp_metadata_url, or idp_entity_id, idp_sso_url and idp_signing_cert")
		}
		idp = &saml.EntityDescriptor{EntityID: c.IdPEntityID, IDPSSODescriptors: []saml.IDPSSODescriptor{{}}}
	}
	if idp.EntityID == "" {
		return nil, errors.New("the IdP has no entity ID")
	}
	if c.IdPSSOURL != "" {
		for i := range idp.IDPSSODescriptors {
			idp.IDPSSODescriptors[i].SingleSignOnServices = []saml.Endpoint{{Binding: saml.HTTPRedirectBinding, Location: c.IdPSSOURL}}
		}
	}
	if c.IdPSigningCert != "" {
		certs, err := parseCertificates(c.IdPSigningCert)
		if err != nil {
			return nil, fmt.Errorf("idp_signing_cert: %w", err)
		}
		var kd []saml.KeyDescriptor
		for _, cert := range certs {
			kd = append(kd, saml.KeyDescriptor{Use: "signing", KeyInfo: saml.KeyInfo{X509Data: saml.X509Data{
				X509Certificates: []saml.X509Certificate{{Data: base64.StdEncoding.EncodeToString(cert.Raw)}},
			}}})
		}
		for i := range idp.IDPSSODescriptors {
			idp.IDPSSODescriptors[i].KeyDescriptors = kd
		}
	}
	// Fail closed: without a certificate nothing could be checked.
	n := 0
	for _, d := range idp.IDPSSODescriptors {
		for _, k := range d.KeyDescriptors {
			if k.Use != "" && k.Use != "signing" {
				continue
			}
			for _, xc := range k.KeyInfo.X509Data.X509Certificates {
				der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(xc.Data), ""))
				if err != nil {
					return nil, fmt.Errorf("the IdP metadata has a certificate that is not base64: %w", err)
				}
				if _, err := x509.ParseCertificate(der); err != nil {
					return nil, fmt.Errorf("the IdP metadata has a certificate that does not parse: %w", err)
				}
				n++
			}
		}
	}
	if n == 0 {
		return nil, errors.New("no IdP signing certificate (idp_signing_cert, or in the metadata): refusing to start a provider that could not check signatures")
	}
	return idp, nil
}

// fetchSAMLMetadata GETs the IdP's metadata, at most samlMaxMetadata
// bytes, within samlMetadataTimeout. The metadata carries the certificate
// every answer is checked with, so it comes over HTTPS (plain HTTP only
// from this machine: a test IdP).
func fetchSAMLMetadata(u string, client *http.Client) ([]byte, error) {
	pu, err := url.Parse(u)
	if err != nil || !(pu.Scheme == "https" || pu.Scheme == "http" && isLoopback(pu.Hostname())) || pu.Host == "" {
		return nil, fmt.Errorf("idp_metadata_url %q: not an https URL (the metadata carries the IdP's certificate)", u)
	}
	if client == nil {
		client = http.DefaultClient
	}
	ctx, cancel := context.WithTimeout(context.Background(), samlMetadataTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("idp_metadata_url: %w", err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("idp_metadata_url: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("idp_metadata_url: %s", resp.Status)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, samlMaxMetadata+1))
	if err != nil {
		return nil, fmt.Errorf("idp_metadata_url: %w", err)
	}
	if len(data) > samlMaxMetadata {
		return nil, fmt.Errorf("idp_metadata_url: the metadata is over %d bytes", samlMaxMetadata)
	}
	return data, nil
}

// isLoopback reports whether host names this machine.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// parseCertificates reads one or more PEM certificates, or one certificate
// in base64 DER (as IdPs' consoles show it).
func parseCertificates(s string) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	rest := []byte(s)
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("a PEM %s, not a CERTIFICATE", block.Type)
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, err
		}
		certs = append(certs, cert)
	}
	if len(certs) > 0 {
		return certs, nil
	}
	der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		return nil, errors.New("neither PEM nor base64 DER")
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return []*x509.Certificate{cert}, nil
}

// samlSignatureMethod maps signature_algorithm (a short name such as
// rsa-sha256, or the XML-DSig URI) to the URI; "" is RSA-SHA256. SHA-1 is
// refused unless allowSHA1.
func samlSignatureMethod(name string, allowSHA1 bool) (string, error) {
	methods := map[string]string{
		"":           dsig.RSASHA256SignatureMethod,
		"rsa-sha256": dsig.RSASHA256SignatureMethod,
		"rsa-sha384": dsig.RSASHA384SignatureMethod,
		"rsa-sha512": dsig.RSASHA512SignatureMethod,
		"rsa-sha1":   dsig.RSASHA1SignatureMethod,
	}
	m, ok := methods[strings.ToLower(name)]
	if !ok {
		for _, uri := range methods {
			if name == uri {
				m, ok = uri, true
			}
		}
	}
	if !ok {
		return "", fmt.Errorf("signature_algorithm %q: use rsa-sha256 (the default), rsa-sha384 or rsa-sha512", name)
	}
	if m == dsig.RSASHA1SignatureMethod && !allowSHA1 {
		return "", errors.New("signature_algorithm rsa-sha1 needs allow_sha1 = true (SHA-1 is broken; avoid it)")
	}
	return m, nil
}

func (p *samlProvider) Name() string            { return p.name }
func (p *samlProvider) Kind() string            { return usher.ProviderSAML }
func (p *samlProvider) Label() string           { return p.label }
func (p *samlProvider) AllowSignup() bool       { return p.allowSignup }
func (p *samlProvider) AllowLogin() bool        { return p.allowLogin }
func (p *samlProvider) AllowIdPInitiated() bool { return p.allowIdPInitiated }

// serviceProvider returns a copy of the ServiceProvider whose clock reads
// now (crewjam takes a clock per ServiceProvider, not a function), with
// the current IdP metadata, which it returns too.
func (p *samlProvider) serviceProvider() (*saml.ServiceProvider, time.Time, *samlMetadata) {
	sp := p.sp
	md := p.md.Load()
	sp.IDPMetadata = md.idp
	now := p.now()
	sp.Clock = dsig.NewFakeClockAt(now)
	return &sp, now, md
}

// Metadata returns the SP's metadata (entity ID, ACS URL with the
// HTTP-POST binding, signing and encryption certificate), for the IdP's
// administrator.
func (p *samlProvider) Metadata() ([]byte, error) {
	sp, _, _ := p.serviceProvider()
	b, err := xml.MarshalIndent(sp.Metadata(), "", "  ")
	if err != nil {
		return nil, fmt.Errorf("federated: saml %s: metadata: %w", p.name, err)
	}
	return append([]byte(xml.Header), b...), nil
}

// Begin makes a signed AuthnRequest and returns the IdP's SSO URL with it
// (HTTP-Redirect binding) and RelayState = state; saved holds the
// request's ID, which the answer must be InResponseTo.
func (p *samlProvider) Begin(_ context.Context, state string) (string, string, error) {
	p.refreshIfDue()
	sp, _, md := p.serviceProvider()
	req, err := sp.MakeAuthenticationRequest(md.ssoURL, saml.HTTPRedirectBinding, saml.HTTPPostBinding)
	if err != nil {
		return "", "", fmt.Errorf("federated: saml %s: %w", p.name, err)
	}
	u, err := req.Redirect(state, sp)
	if err != nil {
		return "", "", fmt.Errorf("federated: saml %s: %w", p.name, err)
	}
	saved, err := json.Marshal(samlSaved{RequestID: req.ID})
	if err != nil {
		return "", "", err
	}
	return u.String(), string(saved), nil
}

// refused is a refusal of the IdP's answer for reason (logged by the
// Service, never shown). The reason never holds the SAMLResponse.
func (p *samlProvider) refused(format string, a ...any) error {
	return fmt.Errorf("%w: saml %s: %s", usher.ErrFederatedRefused, p.name, fmt.Sprintf(format, a...))
}

// Finish checks the SAMLResponse posted to the ACS. saved is Begin's, or
// "" for an IdP-initiated log-in (refused unless allow_idp_initiated). It
// reads at most samlMaxBody (256 KiB) bytes of r's body; a caller that
// parses the form first (for RelayState) must wrap the body in
// http.MaxBytesReader with the same limit before, or the limit is moot.
// Every refusal
// wraps usher.ErrFederatedRefused; an error status from the IdP is
// usher.ErrFederatedCancelled; a failure of seen other than
// usher.ErrInvalidToken is returned as it is (the database, not the IdP).
func (p *samlProvider) Finish(ctx context.Context, r *http.Request, saved string, seen usher.SeenFunc) (*usher.ExternalIdentity, error) {
	if r.Method != http.MethodPost {
		// The redirect binding would make Usher inflate what the browser
		// sends; only HTTP-POST is accepted.
		return nil, p.refused("the answer came by %s, not POST", r.Method)
	}
	// The body is limited before the form is parsed: a large body is
	// refused after samlMaxBody bytes, never held whole.
	r.Body = http.MaxBytesReader(nil, r.Body, samlMaxBody)
	if err := r.ParseForm(); err != nil {
		return nil, p.refused("the form: %v", err)
	}
	for _, f := range []string{"SAMLart", "SigAlg", "Signature"} {
		if _, ok := r.PostForm[f]; ok {
			return nil, p.refused("%s posted: only the HTTP-POST binding with a SAMLResponse is accepted", f)
		}
	}
	values := r.PostForm["SAMLResponse"]
	if len(values) != 1 {
		return nil, p.refused("%d SAMLResponse fields, want 1", len(values))
	}
	raw, err := base64.StdEncoding.DecodeString(values[0])
	if err != nil {
		return nil, p.refused("the SAMLResponse is not base64")
	}

	var requestID string
	if saved == "" {
		if !p.allowIdPInitiated {
			return nil, p.refused("an unsolicited (IdP-initiated) response, and allow_idp_initiated is off")
		}
	} else {
		var s samlSaved
		if err := json.Unmarshal([]byte(saved), &s); err != nil || s.RequestID == "" {
			return nil, fmt.Errorf("federated: saml %s: the saved request is unreadable", p.name)
		}
		requestID = s.RequestID
	}

	shape, err := inspectSAMLResponse(raw)
	if err != nil {
		return nil, p.refused("%v", err)
	}
	if shape.destination != p.acsURL {
		return nil, p.refused("the response's Destination %q is not the ACS URL", shape.destination)
	}
	if shape.inResponseTo != requestID {
		return nil, p.refused("the response's InResponseTo %q is not the request's %q", shape.inResponseTo, requestID)
	}
	if shape.issuer != "" && shape.issuer != p.idpEntityID {
		return nil, p.refused("the response's Issuer %q is not the IdP's", shape.issuer)
	}

	p.refreshIfDue()
	sp, now, md := p.serviceProvider()
	var ids []string
	if requestID != "" {
		ids = []string{requestID}
	}
	acs := sp.AcsURL
	a, err := sp.ParseXMLResponse(raw, ids, acs)
	if errors.Is(err, saml.ErrInvalidSignature) && p.refreshNow(ctx) && p.md.Load() != md {
		// The IdP may have rotated its certificate: check once more with
		// the metadata just fetched (at most once every samlRefreshMin).
		sp, now, _ = p.serviceProvider()
		a, err = sp.ParseXMLResponse(raw, ids, acs)
	}
	if err != nil {
		var bad saml.ErrBadStatus
		if errors.As(err, &bad) {
			return nil, fmt.Errorf("%w: saml %s: status %s", usher.ErrFederatedCancelled, p.name, bad.Status)
		}
		var ire *saml.InvalidResponseError
		if errors.As(err, &ire) && ire.PrivateErr != nil {
			err = ire.PrivateErr
		}
		return nil, p.refused("%v", err)
	}
	if shape.assertions != 1 {
		// An error status has no assertion; a success must have exactly one.
		return nil, p.refused("%d assertions, want exactly 1", shape.assertions)
	}
	until, err := p.checkAssertion(a, requestID, now)
	if err != nil {
		return nil, err
	}
	switch err := seen(ctx, p.idpEntityID+" "+a.ID, until); {
	case errors.Is(err, usher.ErrInvalidToken):
		return nil, p.refused("assertion %q was used before (a replay)", a.ID)
	case err != nil:
		return nil, fmt.Errorf("federated: saml %s: recording the assertion: %w", p.name, err)
	}
	return p.identity(a), nil
}

// checkAssertion is Usher's own check of the assertion crewjam accepted,
// so that a change in the library cannot weaken them. It returns until
// when the assertion stops being acceptable (for the replay record).
func (p *samlProvider) checkAssertion(a *saml.Assertion, requestID string, now time.Time) (time.Time, error) {
	if a.ID == "" {
		return time.Time{}, p.refused("the assertion has no ID")
	}
	if a.Issuer.Value != p.idpEntityID {
		return time.Time{}, p.refused("the assertion's Issuer %q is not the IdP's", a.Issuer.Value)
	}
	if a.IssueInstant.IsZero() || a.IssueInstant.After(now.Add(samlSkew)) || now.After(a.IssueInstant.Add(samlMaxAge+samlSkew)) {
		return time.Time{}, p.refused("the assertion's IssueInstant %s is not within %s of now", a.IssueInstant.Format(time.RFC3339), samlMaxAge+samlSkew)
	}
	until := a.IssueInstant.Add(samlMaxAge + samlSkew)
	c := a.Conditions
	if c == nil {
		return time.Time{}, p.refused("the assertion has no Conditions")
	}
	if !c.NotBefore.IsZero() && c.NotBefore.After(now.Add(samlSkew)) {
		return time.Time{}, p.refused("the assertion is not valid before %s", c.NotBefore.Format(time.RFC3339))
	}
	if !c.NotOnOrAfter.IsZero() {
		if !now.Before(c.NotOnOrAfter.Add(samlSkew)) {
			return time.Time{}, p.refused("the assertion expired at %s", c.NotOnOrAfter.Format(time.RFC3339))
		}
		until = earlier(until, c.NotOnOrAfter.Add(samlSkew))
	}
	if len(c.AudienceRestrictions) == 0 {
		return time.Time{}, p.refused("the assertion has no AudienceRestriction")
	}
	for i := range c.AudienceRestrictions {
		ok := false
		for _, aud := range c.AudienceRestrictions[i].AllAudiences() {
			ok = ok || aud.Value == p.entityID
		}
		if !ok {
			return time.Time{}, p.refused("an AudienceRestriction does not name this SP (%s)", p.entityID)
		}
	}
	if a.Subject == nil || a.Subject.NameID == nil {
		return time.Time{}, p.refused("the assertion has no Subject NameID")
	}
	if v := a.Subject.NameID.Value; v == "" || len(v) > samlMaxNameID || strings.TrimSpace(v) != v {
		return time.Time{}, p.refused("the NameID is empty, longer than %d bytes, or padded", samlMaxNameID)
	}
	// One bearer confirmation must name our ACS, answer our request and be
	// current (crewjam checks the same; this does not depend on it).
	var confirmErr error
	confirmed := false
	for _, sc := range a.Subject.SubjectConfirmations {
		d := sc.SubjectConfirmationData
		switch {
		case sc.Method != "urn:oasis:names:tc:SAML:2.0:cm:bearer":
			continue
		case d == nil:
			confirmErr = p.refused("a bearer SubjectConfirmation without SubjectConfirmationData")
		case d.Recipient != p.acsURL:
			confirmErr = p.refused("the SubjectConfirmationData Recipient %q is not the ACS URL", d.Recipient)
		case d.InResponseTo != requestID:
			confirmErr = p.refused("the SubjectConfirmationData InResponseTo %q is not the request's %q", d.InResponseTo, requestID)
		case d.NotOnOrAfter.IsZero() || !now.Before(d.NotOnOrAfter.Add(samlSkew)):
			confirmErr = p.refused("the SubjectConfirmationData expired (NotOnOrAfter %s)", d.NotOnOrAfter.Format(time.RFC3339))
		case !d.NotBefore.IsZero() && d.NotBefore.After(now.Add(samlSkew)):
			confirmErr = p.refused("the SubjectConfirmationData is not yet valid")
		default:
			if !confirmed {
				until = earlier(until, d.NotOnOrAfter.Add(samlSkew))
			}
			confirmed = true
		}
	}
	if !confirmed {
		if confirmErr == nil {
			confirmErr = p.refused("no bearer SubjectConfirmation")
		}
		return time.Time{}, confirmErr
	}
	if len(a.AuthnStatements) == 0 {
		return time.Time{}, p.refused("the assertion has no AuthnStatement")
	}
	return until, nil
}

func earlier(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// emailRE is the shape of an address taken from an assertion; anything
// else is no address.
var emailRE = regexp.MustCompile(`^[^@\s]+@[^@\s]+$`)

// identity is what the checked assertion asserts.
func (p *samlProvider) identity(a *saml.Assertion) *usher.ExternalIdentity {
	id := &usher.ExternalIdentity{
		Provider: p.name,
		Issuer:   p.idpEntityID,
		Subject:  a.Subject.NameID.Value,
	}
	var email string
	if p.emailAttribute != "" {
		email = samlAttribute(a, p.emailAttribute)
	} else if a.Subject.NameID.Format == string(saml.EmailAddressNameIDFormat) {
		email = a.Subject.NameID.Value
	}
	if emailRE.MatchString(email) {
		id.Email = email
		id.EmailVerified = p.trustEmail
	}
	for _, name := range []string{"displayName", "urn:oid:2.16.840.1.113730.3.1.241", "cn", "urn:oid:2.5.4.3"} {
		if v := samlAttribute(a, name); v != "" {
			id.Name = v
			break
		}
	}
	return id
}

// samlAttribute returns the first value of the attribute whose Name (or,
// failing that, FriendlyName) is name, or "".
func samlAttribute(a *saml.Assertion, name string) string {
	for _, byFriendly := range []bool{false, true} {
		for _, st := range a.AttributeStatements {
			for _, at := range st.Attributes {
				n := at.Name
				if byFriendly {
					n = at.FriendlyName
				}
				if n != name {
					continue
				}
				for _, v := range at.Values {
					if v.Value != "" {
						return v.Value
					}
				}
			}
		}
	}
	return ""
}

// responseShape is what inspectSAMLResponse read from a Response as
// posted, before any signature is checked.
type responseShape struct {
	assertions   int // Assertion and EncryptedAssertion elements, anywhere
	destination  string
	inResponseTo string
	issuer       string
}

// inspectSAMLResponse reads the posted document's shape and refuses what
// no honest IdP sends: a DOCTYPE, a root other than samlp:Response, more
// than one assertion anywhere in the document (a second one, unsigned or
// in Extensions or in a Signature's Object, is how signature wrapping
// works), and a comment or markup inside a NameID or attribute value
// (comments are outside the signature, and a parser that reads up to the
// comment sees another name: CVE-2017-11427).
func inspectSAMLResponse(raw []byte) (responseShape, error) {
	var s responseShape
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(raw); err != nil {
		return s, fmt.Errorf("the SAMLResponse is not XML")
	}
	for _, t := range doc.Child {
		if _, ok := t.(*etree.Directive); ok {
			return s, errors.New("the SAMLResponse has a DOCTYPE")
		}
	}
	root := doc.Root()
	if root == nil || root.Tag != "Response" || root.NamespaceURI() != "urn:oasis:names:tc:SAML:2.0:protocol" {
		return s, errors.New("the SAMLResponse is not a samlp:Response")
	}
	s.destination = root.SelectAttrValue("Destination", "")
	s.inResponseTo = root.SelectAttrValue("InResponseTo", "")
	if iss := root.SelectElement("Issuer"); iss != nil {
		s.issuer = iss.Text()
	}
	var walk func(el *etree.Element) error
	walk = func(el *etree.Element) error {
		switch el.Tag {
		case "Assertion", "EncryptedAssertion":
			s.assertions++
			if s.assertions > 1 {
				return errors.New("more than one assertion in the response")
			}
		case "NameID", "AttributeValue":
			for _, t := range el.Child {
				if _, ok := t.(*etree.CharData); !ok && el.Tag == "NameID" {
					return errors.New("a NameID with a comment or markup inside")
				}
				if _, ok := t.(*etree.Comment); ok {
					return errors.New("an attribute value with a comment inside")
				}
			}
		}
		for _, c := range el.ChildElements() {
			if err := walk(c); err != nil {
				return err
			}
		}
		return nil
	}
	return s, walk(root)
}
