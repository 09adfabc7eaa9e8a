package federatedtest

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// FakeOP is a small OpenID Connect provider that does what each test
// says, to prove the relying party refuses what it must: its ID tokens'
// claims, header and signature, its errors and its discovery document
// are set per test by FakeOptions. It serves the code flow and demands
// PKCE S256; its /authorize logs the user straight in (no login page).
//
// It answers by path, whatever the host: a path ending in
// /.well-known/openid-configuration is discovery, /authorize or /auth the
// authorization endpoint, /token the token endpoint, /jwks, /keys or
// /certs the keys, /userinfo the user info. So one FakeOP serves a real
// provider's hosts (Hosts) at their real URLs.
type FakeOP struct {
	Server       *httptest.Server
	Issuer       string // the iss of its ID tokens
	ClientID     string
	ClientSecret string
	Key          *rsa.PrivateKey // signs ID tokens; its public half is in the JWKS
	KeyID        string

	opts      FakeOptions
	hosts     map[string]string
	discovery func(path string) map[string]any // the document served at path
	claims    map[string]any                   // default claims, over iss, sub, aud...
	userInfo  map[string]any                   // default user info (sub is added)
	extra     map[string]any                   // other paths' JSON answers (Microsoft Graph /v1.0/me)

	codes         codes
	mu            sync.Mutex
	tokens        map[string]string // access token → subject
	calls         map[string]int    // by path
	lastAuthorize url.Values
	lastTokens    []string // the last /token answer's access and ID tokens
}

// FakeOptions is what a FakeOP does differently in one test.
type FakeOptions struct {
	// ClientID and ClientSecret of the one client (default "usher-client"
	// and "usher-client-secret").
	ClientID, ClientSecret string
	// Claims are merged over the ID token's claims (iss, sub, aud, exp,
	// iat, nonce, at_hash, and the shape's defaults); a nil value removes
	// a claim.
	Claims map[string]any
	// Sign, when set, makes the ID token from its claims instead of RS256
	// with Key: see SignNone, SignHS256WithPublicKey, SignUnknownKey.
	Sign func(f *FakeOP, claims map[string]any) string
	// UserInfo is merged over /userinfo's answer.
	UserInfo map[string]any
	// Discovery is merged over the discovery document.
	Discovery map[string]any
	// AuthorizeError sends the browser back with error=AuthorizeError.
	AuthorizeError string
	// IssParam adds iss=IssParam to the authorization response (RFC 9207).
	IssParam string
	// TokenError makes /token answer 400 with this OAuth error.
	TokenError string
	// NoIDToken leaves id_token out of /token's answer.
	NoIDToken bool
}

// grant is what an authorization code was issued for.
type grant struct {
	nonce, challenge, redirectURI string
}

// codes are the authorization codes a fake issued and not yet spent.
type codes struct {
	mu     sync.Mutex
	grants map[string]grant
}

// issue makes a code for g.
func (c *codes) issue(g grant) string {
	code := randomString()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.grants == nil {
		c.grants = map[string]grant{}
	}
	c.grants[code] = g
	return code
}

// take spends code: it works once.
func (c *codes) take(code string) (grant, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	g, ok := c.grants[code]
	delete(c.grants, code)
	return g, ok
}

// FakeSubject is the default subject of a FakeOP's ID tokens.
const FakeSubject = "248289761001"

// NewFakeOP starts a FakeOP shaped like any OpenID Connect provider, at
// issuer https://op.example (served through Hosts). Its ID tokens say
// alice@example.com, verified.
func NewFakeOP(t testing.TB, o FakeOptions) *FakeOP {
	t.Helper()
	const issuer = "https://op.example"
	f := newFake(t, o, issuer)
	f.discovery = func(string) map[string]any {
		return f.document(issuer, issuer+"/authorize", issuer+"/token", issuer+"/jwks", issuer+"/userinfo")
	}
	f.claims = map[string]any{"email": "alice@example.com", "email_verified": true, "name": "Alice Example"}
	f.userInfo = map[string]any{"email": "alice@example.com", "email_verified": true, "name": "Alice Example"}
	return f.start(t, "op.example")
}

// NewFakeGoogle starts a FakeOP shaped like Google: issuer
// https://accounts.google.com, Google's real endpoint URLs (served
// through Hosts), ID tokens for alice@gmail.com, verified, with azp.
func NewFakeGoogle(t testing.TB, o FakeOptions) *FakeOP {
	t.Helper()
	const issuer = "https://accounts.google.com"
	f := newFake(t, o, issuer)
	f.discovery = func(string) map[string]any {
		return f.document(issuer, "https://accounts.google.com/o/oauth2/v2/auth", "https://oauth2.googleapis.com/token",
			"https://www.googleapis.com/oauth2/v3/certs", "https://openidconnect.googleapis.com/v1/userinfo")
	}
	f.claims = map[string]any{"email": "alice@gmail.com", "email_verified": true, "name": "Alice Example", "azp": f.ClientID}
	f.userInfo = map[string]any{"email": "alice@gmail.com", "email_verified": true, "name": "Alice Example"}
	return f.start(t, "accounts.google.com", "oauth2.googleapis.com", "www.googleapis.com", "openidconnect.googleapis.com")
}

// Microsoft's identity platform, as the fake has it.
const (
	microsoftLogin = "https://login.microsoftonline.com"
	// MicrosoftOID is the default oid of NewFakeMicrosoft's ID tokens.
	MicrosoftOID = "00000000-0000-0000-66f3-3332eca7ea81"
	// MicrosoftVictim is the address Microsoft Graph's /v1.0/me (mail,
	// userPrincipalName) and /oidc/userinfo give, and
	// NewFakeMicrosoft's ID tokens' preferred_username: a tenant's
	// administrator can set them to anyone's address, so the relying
	// party must never take them as the user's e-mail.
	MicrosoftVictim = "victim@example.com"
)

// NewFakeMicrosoft starts a FakeOP shaped like the Microsoft identity
// platform (served through Hosts): discovery per tenant at
// https://login.microsoftonline.com/{tenant}/v2.0 (organizations' and
// common's documents name the issuer ".../{tenantid}/v2.0", consumers'
// the consumers tenant's), ID tokens issued by tenant tid's issuer with
// tid, oid, email alice@contoso.example, xms_edov true and
// preferred_username MicrosoftVictim; and Microsoft Graph answering
// /v1.0/me and /oidc/userinfo with MicrosoftVictim.
func NewFakeMicrosoft(t testing.TB, tid string, o FakeOptions) *FakeOP {
	t.Helper()
	issuer := microsoftLogin + "/" + tid + "/v2.0"
	f := newFake(t, o, issuer)
	f.discovery = func(path string) map[string]any {
		tenant := strings.Split(strings.TrimPrefix(path, "/"), "/")[0]
		docIssuer := microsoftLogin + "/" + tenant + "/v2.0"
		switch tenant {
		case "organizations", "common":
			docIssuer = microsoftLogin + "/{tenantid}/v2.0"
		case "consumers":
			docIssuer = microsoftLogin + "/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0"
		}
		base := microsoftLogin + "/" + tenant
		return f.document(docIssuer, base+"/oauth2/v2.0/authorize", base+"/oauth2/v2.0/token",
			base+"/discovery/v2.0/keys", "https://graph.microsoft.com/oidc/userinfo")
	}
	f.claims = map[string]any{
		"tid": tid, "oid": MicrosoftOID, "name": "Alice Example",
		"email": "alice@contoso.example", "xms_edov": true,
		"preferred_username": MicrosoftVictim, "ver": "2.0",
	}
	f.userInfo = map[string]any{"email": MicrosoftVictim, "name": "Alice Example"}
	f.extra = map[string]any{
		"/v1.0/me": map[string]any{"id": MicrosoftOID, "mail": MicrosoftVictim, "userPrincipalName": MicrosoftVictim, "displayName": "Alice Example"},
	}
	return f.start(t, "login.microsoftonline.com", "graph.microsoft.com")
}

// newFake makes a FakeOP; its constructor shapes it, then starts it.
func newFake(t testing.TB, o FakeOptions, issuer string) *FakeOP {
	t.Helper()
	key, err := fakeKey()
	if err != nil {
		t.Fatal(err)
	}
	f := &FakeOP{
		Issuer: issuer, ClientID: o.ClientID, ClientSecret: o.ClientSecret,
		Key: key, KeyID: "fake-key-1", opts: o,
		tokens: map[string]string{}, calls: map[string]int{},
	}
	if f.ClientID == "" {
		f.ClientID = "usher-client"
	}
	if f.ClientSecret == "" {
		f.ClientSecret = "usher-client-secret"
	}
	return f
}

// start serves f, standing in for hosts; f is not changed after.
func (f *FakeOP) start(t testing.TB, hosts ...string) *FakeOP {
	f.Server = httptest.NewServer(f)
	t.Cleanup(f.Server.Close)
	f.hosts = map[string]string{}
	for _, h := range hosts {
		f.hosts[h] = f.Server.URL
	}
	return f
}

// document is a discovery document.
func (f *FakeOP) document(issuer, auth, token, jwks, userinfo string) map[string]any {
	return merge(map[string]any{
		"issuer":                                issuer,
		"authorization_endpoint":                auth,
		"token_endpoint":                        token,
		"jwks_uri":                              jwks,
		"userinfo_endpoint":                     userinfo,
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"code_challenge_methods_supported":      []string{"S256"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post"},
		"scopes_supported":                      []string{"openid", "email", "profile"},
	}, f.opts.Discovery)
}

// Hosts maps the hosts the FakeOP stands in for to its server, for
// Transport, Client and Browser.
func (f *FakeOP) Hosts() map[string]string { return f.hosts }

// Calls is how many requests came to path.
func (f *FakeOP) Calls(path string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[path]
}

// LastAuthorize is the query of the last authorization request.
func (f *FakeOP) LastAuthorize() url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lastAuthorize
}

// LastTokens are the access token and ID token /token last answered
// with (to check no error or log line holds them).
func (f *FakeOP) LastTokens() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lastTokens
}

// ServeHTTP serves the provider's endpoints by path.
func (f *FakeOP) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	f.mu.Lock()
	f.calls[p]++
	f.mu.Unlock()
	switch {
	case strings.HasSuffix(p, "/.well-known/openid-configuration"):
		writeJSON(w, http.StatusOK, f.discovery(strings.TrimSuffix(p, "/.well-known/openid-configuration")))
	case strings.HasSuffix(p, "/authorize"), strings.HasSuffix(p, "/auth"):
		f.authorize(w, r)
	case strings.HasSuffix(p, "/token"):
		f.token(w, r)
	case strings.HasSuffix(p, "/jwks"), strings.HasSuffix(p, "/keys"), strings.HasSuffix(p, "/certs"):
		jwk := jose.JSONWebKey{Key: &f.Key.PublicKey, KeyID: f.KeyID, Algorithm: "RS256", Use: "sig"}
		writeJSON(w, http.StatusOK, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{jwk}})
	case strings.HasSuffix(p, "/userinfo"):
		sub, ok := f.bearer(r)
		if !ok {
			writeJSON(w, http.StatusUnauthorized, map[string]any{"error": "invalid_token"})
			return
		}
		writeJSON(w, http.StatusOK, merge(merge(map[string]any{"sub": sub}, f.userInfo), f.opts.UserInfo))
	case f.extra[p] != nil:
		if _, ok := f.bearer(r); !ok {
			writeJSON(w, http.StatusUnauthorized, map[string]any{"error": "invalid_token"})
			return
		}
		writeJSON(w, http.StatusOK, f.extra[p])
	default:
		http.NotFound(w, r)
	}
}

// authorize logs the user in at once, when the request is well formed
// and carries a PKCE S256 challenge.
func (f *FakeOP) authorize(w http.ResponseWriter, r *http.Request) {
	q, back, ok := authorizationRequest(w, r, f.ClientID, &f.mu, &f.lastAuthorize)
	if !ok {
		return
	}
	redirectURI := q.Get("redirect_uri")
	answer := url.Values{"state": {q.Get("state")}}
	if f.opts.IssParam != "" {
		answer.Set("iss", f.opts.IssParam)
	}
	switch {
	case f.opts.AuthorizeError != "":
		answer.Set("error", f.opts.AuthorizeError)
		answer.Set("error_description", "the user said no")
	case q.Get("response_type") != "code" || q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "":
		answer.Set("error", "invalid_request")
		answer.Set("error_description", "the code flow with PKCE S256 is required")
	default:
		answer.Set("code", f.codes.issue(grant{nonce: q.Get("nonce"), challenge: q.Get("code_challenge"), redirectURI: redirectURI}))
	}
	sendBack(w, r, back, answer)
}

// authorizationRequest reads an authorization request to clientID: its
// query, kept in *last (under mu) for the test to see, and the redirect
// URI to answer at; not ok (and answered) when the client or the redirect
// URI is wrong.
func authorizationRequest(w http.ResponseWriter, r *http.Request, clientID string, mu *sync.Mutex, last *url.Values) (q url.Values, back *url.URL, ok bool) {
	q = r.URL.Query()
	mu.Lock()
	*last = q
	mu.Unlock()
	back, err := url.Parse(q.Get("redirect_uri"))
	if err != nil || back.Scheme == "" || q.Get("client_id") != clientID {
		http.Error(w, "unknown client or bad redirect_uri", http.StatusBadRequest)
		return q, nil, false
	}
	return q, back, true
}

// sendBack sends the browser to back with answer as the query.
func sendBack(w http.ResponseWriter, r *http.Request, back *url.URL, answer url.Values) {
	back.RawQuery = answer.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}

// token exchanges a code: the client authenticated (HTTP Basic or form),
// the code is one it issued, not used before, for the same redirect URI,
// and the PKCE verifier matches its challenge.
func (f *FakeOP) token(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.ParseForm() != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "invalid_request"})
		return
	}
	id, secret, ok := r.BasicAuth()
	if ok {
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id != f.ClientID || secret != f.ClientSecret {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"error": "invalid_client"})
		return
	}
	if f.opts.TokenError != "" {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": f.opts.TokenError, "error_description": "the fake was told to refuse"})
		return
	}
	g, found := f.codes.take(r.PostForm.Get("code"))
	if r.PostForm.Get("grant_type") != "authorization_code" || !found || g.redirectURI != r.PostForm.Get("redirect_uri") ||
		s256(r.PostForm.Get("code_verifier")) != g.challenge {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "invalid_grant"})
		return
	}
	accessToken := randomString()
	now := time.Now()
	claims := map[string]any{
		"iss": f.Issuer, "sub": FakeSubject, "aud": f.ClientID,
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
		"nonce": g.nonce, "at_hash": leftHalfHash(accessToken),
	}
	claims = merge(merge(claims, f.claims), f.opts.Claims)
	f.mu.Lock()
	f.tokens[accessToken], _ = claims["sub"].(string)
	f.mu.Unlock()
	answer := map[string]any{"access_token": accessToken, "token_type": "Bearer", "expires_in": 3600}
	if !f.opts.NoIDToken {
		sign := (*FakeOP).SignRS256
		if f.opts.Sign != nil {
			sign = f.opts.Sign
		}
		answer["id_token"] = sign(f, claims)
	}
	f.mu.Lock()
	f.lastTokens = []string{accessToken, fmt.Sprint(answer["id_token"])}
	f.mu.Unlock()
	writeJSON(w, http.StatusOK, answer)
}

// bearer is the subject of the request's access token.
func (f *FakeOP) bearer(r *http.Request) (string, bool) {
	at, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	f.mu.Lock()
	defer f.mu.Unlock()
	sub, known := f.tokens[at]
	return sub, ok && known
}

// SignRS256 signs claims with Key (kid KeyID), as a real provider does.
func (f *FakeOP) SignRS256(claims map[string]any) string {
	return signRS256(f.Key, f.KeyID, claims)
}

func signRS256(key *rsa.PrivateKey, kid string, claims map[string]any) string {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: kid}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		panic(err)
	}
	payload, _ := json.Marshal(claims)
	jws, err := signer.Sign(payload)
	if err != nil {
		panic(err)
	}
	s, err := jws.CompactSerialize()
	if err != nil {
		panic(err)
	}
	return s
}

// SignNone is an unsigned token: alg none, an empty signature.
func (f *FakeOP) SignNone(claims map[string]any) string {
	return compact(map[string]any{"alg": "none", "typ": "JWT", "kid": f.KeyID}, claims, nil)
}

// SignHS256WithPublicKey is the RS256→HS256 key-confusion attack: HMAC
// SHA-256 keyed with the provider's public key (PEM, as published), with
// the real key's kid. A verifier that lets the token pick the algorithm
// would check it with the public key and accept it.
func (f *FakeOP) SignHS256WithPublicKey(claims map[string]any) string {
	der, _ := x509.MarshalPKIXPublicKey(&f.Key.PublicKey)
	key := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	return compact(map[string]any{"alg": "HS256", "typ": "JWT", "kid": f.KeyID}, claims, func(signingInput []byte) []byte {
		m := hmac.New(sha256.New, key)
		m.Write(signingInput)
		return m.Sum(nil)
	})
}

// SignUnknownKey signs with a key the JWKS does not have (kid
// "unknown-key").
func (f *FakeOP) SignUnknownKey(claims map[string]any) string {
	key, err := otherKey()
	if err != nil {
		panic(err)
	}
	return signRS256(key, "unknown-key", claims)
}

// fakeKey is every FakeOP's signing key, and otherKey the key no JWKS
// has: each made once per test binary, since RSA key generation is slow
// (each FakeOP is its own provider all the same: its relying party
// fetches the keys from it alone).
var (
	fakeKey  = sync.OnceValues(func() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, 2048) })
	otherKey = sync.OnceValues(func() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, 2048) })
)

// compact makes a JWS by hand (go-jose will not make these).
func compact(header, claims map[string]any, sign func([]byte) []byte) string {
	h, _ := json.Marshal(header)
	c, _ := json.Marshal(claims)
	input := b64(h) + "." + b64(c)
	var sig []byte
	if sign != nil {
		sig = sign([]byte(input))
	}
	return input + "." + b64(sig)
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// leftHalfHash is at_hash for RS256: the left half of the SHA-256 of the
// access token, base64url.
func leftHalfHash(s string) string {
	h := sha256.Sum256([]byte(s))
	return b64(h[:16])
}

func s256(verifier string) string {
	h := sha256.Sum256([]byte(verifier))
	return b64(h[:])
}

func randomString() string {
	b := make([]byte, 24)
	rand.Read(b)
	return b64(b)
}

// merge copies over into base; a nil value in over removes the key.
func merge(base, over map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range base {
		out[k] = v
	}
	for k, v := range over {
		if v == nil {
			delete(out, k)
		} else {
			out[k] = v
		}
	}
	return out
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
