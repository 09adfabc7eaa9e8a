package federated

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/usher-auth/usher"
)

// This file is the OpenID Connect relying party the oidc, google and
// microsoft kinds share (coreos/go-oidc over golang.org/x/oauth2), and the
// oidc kind itself.

// oidcRP is an OpenID Connect relying party: discovery (once, on first
// use), the authorization request with nonce and PKCE, and the checks of
// the answer. The kinds differ in hooks.
type oidcRP struct {
	base
	clientID, clientSecret string
	scopes                 []string
	// discoveryURL is where /.well-known/openid-configuration is;
	// docIssuer is the issuer its document must name.
	discoveryURL, docIssuer string
	// extraAuthParams go on the authorization request.
	extraAuthParams []oauth2.AuthCodeOption

	// issuerFor names the issuer an ID token must have been issued by,
	// before it is verified; nil means the discovered issuer. Microsoft
	// answers by the token's tenant.
	issuerFor func(d *discovered, rawIDToken string) (string, error)
	// issAccepted says whether the RFC 9207 iss parameter names an issuer
	// this provider may answer as; nil means the discovered issuer only.
	issAccepted func(d *discovered, iss string) bool
	// identity makes the identity from the verified ID token.
	identity func(ctx context.Context, d *discovered, tok *oauth2.Token, idt *oidc.IDToken, claims *idClaims) (*usher.ExternalIdentity, error)

	mu sync.Mutex
	d  *discovered // nil until discovery succeeded
}

// discovered is what discovery found, kept for the provider's life.
type discovered struct {
	issuer string
	oauth  oauth2.Config
	keys   *oidc.RemoteKeySet
	algs   []string
	// issParam: the provider sends the RFC 9207 iss parameter
	// (authorization_response_iss_parameter_supported), so its absence is
	// refused.
	issParam    bool
	userInfoURL string
	provider    *oidc.Provider
}

// asymmetric says whether alg is a signing algorithm an ID token may
// use: whatever discovery lists outside them (none, HS256) is dropped, so
// a token signed with alg none, or with HMAC keyed by the provider's
// public key, never verifies.
func asymmetric(alg string) bool {
	switch alg {
	case oidc.RS256, oidc.RS384, oidc.RS512, oidc.ES256, oidc.ES384, oidc.ES512,
		oidc.PS256, oidc.PS384, oidc.PS512, oidc.EdDSA:
		return true
	}
	return false
}

// discover fetches and checks the discovery document, once: a failure is
// retried on the next sign-in.
func (p *oidcRP) discover(ctx context.Context) (*discovered, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.d != nil {
		return p.d, nil
	}
	// The document's issuer is compared below by hand: Microsoft's
	// organizations and consumers documents do not name the URL they are
	// served from, so go-oidc's own comparison is turned off here (and
	// only here: every ID token's issuer is still checked).
	dctx := oidc.InsecureIssuerURLContext(p.ctx(ctx), p.docIssuer)
	provider, err := oidc.NewProvider(dctx, p.discoveryURL)
	if err != nil {
		return nil, fmt.Errorf("federated: %s: discovery at %s: %w", p.name, p.discoveryURL, err)
	}
	var doc struct {
		Issuer   string   `json:"issuer"`
		JWKSURI  string   `json:"jwks_uri"`
		Algs     []string `json:"id_token_signing_alg_values_supported"`
		IssParam bool     `json:"authorization_response_iss_parameter_supported"`
		Auth     []string `json:"token_endpoint_auth_methods_supported"`
		UserInfo string   `json:"userinfo_endpoint"`
	}
	if err := provider.Claims(&doc); err != nil {
		return nil, fmt.Errorf("federated: %s: discovery document: %w", p.name, err)
	}
	if doc.Issuer != p.docIssuer {
		return nil, fmt.Errorf("federated: %s: the discovery document at %s names issuer %q, not %q", p.name, p.discoveryURL, doc.Issuer, p.docIssuer)
	}
	if doc.JWKSURI == "" {
		return nil, fmt.Errorf("federated: %s: the discovery document has no jwks_uri", p.name)
	}
	var algs []string
	for _, a := range doc.Algs {
		if asymmetric(a) {
			algs = append(algs, a)
		}
	}
	if len(algs) == 0 {
		algs = []string{oidc.RS256} // OpenID Connect Discovery: RS256 must be supported
	}
	style := oauth2.AuthStyleInHeader // client_secret_basic, the default
	if len(doc.Auth) > 0 && !slices.Contains(doc.Auth, "client_secret_basic") && slices.Contains(doc.Auth, "client_secret_post") {
		style = oauth2.AuthStyleInParams
	}
	endpoint := provider.Endpoint()
	endpoint.AuthStyle = style
	// The key set fetches with the provider's client, outside any one
	// request's context, and caches the keys for every sign-in.
	keys := oidc.NewRemoteKeySet(oidc.ClientContext(context.Background(), p.client), doc.JWKSURI)
	p.d = &discovered{
		issuer: p.docIssuer,
		oauth: oauth2.Config{
			ClientID:     p.clientID,
			ClientSecret: p.clientSecret,
			Endpoint:     endpoint,
			RedirectURL:  p.redirectURL,
			Scopes:       p.scopes,
		},
		keys:        keys,
		algs:        algs,
		issParam:    doc.IssParam,
		userInfoURL: doc.UserInfo,
		provider:    provider,
	}
	return p.d, nil
}

// Begin discovers the provider (once) and returns its authorization URL
// with state, a random nonce and a PKCE S256 challenge; saved holds the
// state, nonce and verifier.
func (p *oidcRP) Begin(ctx context.Context, state string) (authURL, savedJSON string, err error) {
	d, err := p.discover(ctx)
	if err != nil {
		return "", "", err
	}
	s, opts, err := begin(state, true)
	if err != nil {
		return "", "", err
	}
	savedJSON, err = s.encode()
	if err != nil {
		return "", "", err
	}
	return d.oauth.AuthCodeURL(state, append(opts, p.extraAuthParams...)...), savedJSON, nil
}

// Finish checks the callback (state, iss parameter, error), exchanges
// the code with the PKCE verifier, verifies the ID token (signature with
// the provider's keys and an asymmetric algorithm it lists, issuer,
// audience, expiry, authorized party), its nonce and at_hash, and makes
// the identity. Every failure wraps usher.ErrFederatedRefused, but a
// cancel at the provider, usher.ErrFederatedCancelled.
func (p *oidcRP) Finish(ctx context.Context, r *http.Request, savedJSON string, _ usher.SeenFunc) (*usher.ExternalIdentity, error) {
	d, err := p.discover(ctx)
	if err != nil {
		return nil, p.refused("%v", err)
	}
	issOK := func(iss string) bool {
		if p.issAccepted != nil {
			return p.issAccepted(d, iss)
		}
		return iss == d.issuer
	}
	code, s, err := p.callback(r, savedJSON, d.issParam, issOK)
	if err != nil {
		return nil, err
	}
	tok, err := p.exchange(ctx, &d.oauth, code, s.Verifier)
	if err != nil {
		return nil, err
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return nil, p.refused("the token response has no ID token")
	}
	issuer := d.issuer
	if p.issuerFor != nil {
		if issuer, err = p.issuerFor(d, raw); err != nil {
			return nil, err
		}
	}
	verifier := oidc.NewVerifier(issuer, d.keys, &oidc.Config{
		ClientID:             p.clientID,
		SupportedSigningAlgs: d.algs,
		Now:                  p.env.Now,
	})
	idt, err := verifier.Verify(p.ctx(ctx), raw)
	if err != nil {
		return nil, p.refused("ID token: %v", err)
	}
	if s.Nonce == "" || !equal(idt.Nonce, s.Nonce) {
		return nil, p.refused("ID token: the nonce is not this sign-in's")
	}
	if idt.AccessTokenHash != "" {
		if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
			return nil, p.refused("ID token: at_hash does not match the access token")
		}
	}
	if iss := r.URL.Query().Get("iss"); iss != "" && iss != issuer {
		return nil, p.refused("the callback's iss parameter %q is not the ID token's issuer %q", clip(iss), issuer)
	}
	var claims idClaims
	if err := idt.Claims(&claims); err != nil {
		return nil, p.refused("ID token claims: %v", err)
	}
	// OpenID Connect Core 3.1.3.7: an authorized party, when named, is
	// this client; a token for several audiences must name it.
	if claims.AZP != "" && claims.AZP != p.clientID {
		return nil, p.refused("ID token: authorized party %q is not this client", clip(claims.AZP))
	}
	if len(idt.Audience) > 1 && claims.AZP == "" {
		return nil, p.refused("ID token: several audiences and no authorized party")
	}
	if idt.Subject == "" {
		return nil, p.refused("ID token: no subject")
	}
	return p.identity(ctx, d, tok, idt, &claims)
}

// idClaims are the ID token claims the kinds read.
type idClaims struct {
	Email         string          `json:"email"`
	EmailVerified json.RawMessage `json:"email_verified"`
	Name          string          `json:"name"`
	AZP           string          `json:"azp"`
	HD            string          `json:"hd"`       // Google: the Workspace domain
	TID           string          `json:"tid"`      // Microsoft: the tenant
	OID           string          `json:"oid"`      // Microsoft: the user in the tenant
	XMSEdov       json.RawMessage `json:"xms_edov"` // Microsoft: the e-mail's domain owner verified it
}

// truthy says whether a claim is JSON true or one of the strings given.
// Anything else — false, "false", 1, absent — is false.
func truthy(raw json.RawMessage, strs ...string) bool {
	if string(raw) == "true" {
		return true
	}
	var s string
	return json.Unmarshal(raw, &s) == nil && slices.Contains(strs, s)
}

// unverifiedClaims reads an ID token's claims without checking anything:
// only to choose which issuer to verify it against, never to trust.
func unverifiedClaims(raw string, v any) error {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return errors.New("not a JWS in compact form")
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// newOIDC is the oidc kind: any OpenID Connect provider, found by
// discovery at its issuer.
func newOIDC(c Config, env Env) (usher.FederatedProvider, error) {
	if err := checkCommon(c, env); err != nil {
		return nil, err
	}
	if err := onlyFor(c, "issuer", "scopes", "trust_email_verified"); err != nil {
		return nil, err
	}
	if err := checkIssuer(c.Issuer); err != nil {
		return nil, fieldError(c, "issuer", err.Error())
	}
	first := c.Scopes
	if len(first) == 0 {
		first = []string{"openid", "email", "profile"}
	} else if !slices.Contains(first, "openid") {
		first = append([]string{"openid"}, first...)
	}
	p := &oidcRP{
		base:         newBase(c, env, ""),
		clientID:     c.ClientID,
		clientSecret: c.ClientSecret,
		scopes:       scopes(first, c.AdditionalScopes),
		discoveryURL: c.Issuer,
		docIssuer:    c.Issuer,
	}
	trust := c.TrustEmailVerified
	p.identity = func(ctx context.Context, d *discovered, tok *oauth2.Token, idt *oidc.IDToken, cl *idClaims) (*usher.ExternalIdentity, error) {
		id := &usher.ExternalIdentity{
			Provider: p.name,
			Issuer:   idt.Issuer,
			Subject:  idt.Subject,
			Email:    cl.Email,
			// email_verified is JSON true, or the string "true" that
			// some providers send; "false", false or absent is false.
			EmailVerified: trust && cl.Email != "" && truthy(cl.EmailVerified, "true"),
			Name:          cl.Name,
		}
		if cl.Email == "" && d.userInfoURL != "" {
			// Many providers (zitadel among them) keep the e-mail out of
			// the ID token when an access token is issued; it is then
			// asked of the user info endpoint, with the access token this
			// exchange returned, and its subject must be the ID token's
			// (OpenID Connect Core 5.3.2).
			if err := p.userInfo(ctx, d, tok, id, trust); err != nil {
				return nil, err
			}
		}
		return id, nil
	}
	return p, nil
}

// userInfo fills id's e-mail and name from the user info endpoint.
func (p *oidcRP) userInfo(ctx context.Context, d *discovered, tok *oauth2.Token, id *usher.ExternalIdentity, trust bool) error {
	ui, err := d.provider.UserInfo(p.ctx(ctx), oauth2.StaticTokenSource(tok))
	if err != nil {
		return p.refused("user info: %v", err)
	}
	if ui.Subject != id.Subject {
		return p.refused("user info: subject %q is not the ID token's", clip(ui.Subject))
	}
	var cl idClaims
	if err := ui.Claims(&cl); err != nil {
		return p.refused("user info claims: %v", err)
	}
	id.Email = cl.Email
	id.EmailVerified = trust && cl.Email != "" && truthy(cl.EmailVerified, "true")
	if id.Name == "" {
		id.Name = cl.Name
	}
	return nil
}

// checkIssuer: an absolute https URL without query or fragment; http is
// let in only for a loopback host (a provider on the same machine, or a
// test).
func checkIssuer(issuer string) error {
	if issuer == "" {
		return errors.New("is required")
	}
	u, err := url.Parse(issuer)
	if err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("%q is not an absolute URL", issuer)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		host := u.Hostname()
		if ip := net.ParseIP(host); host == "localhost" || (ip != nil && ip.IsLoopback()) {
			return nil
		}
	}
	return fmt.Errorf("%q must be https (http only on a loopback host)", issuer)
}
