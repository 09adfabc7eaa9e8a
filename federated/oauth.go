package federated

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/usher-auth/usher"
)

// This file is what the OAuth 2.0 kinds (google, microsoft, facebook,
// oidc) share: the provider's names and switches, what Begin saves, and
// the checks of the callback request before the code is exchanged.

// base holds a provider's names, switches and environment.
type base struct {
	name, kind, label       string
	allowSignup, allowLogin bool
	env                     Env
	client                  *http.Client // env.HTTPClient, or one with defaultTimeout
	redirectURL             string
}

// defaultTimeout bounds every call to a provider when Env.HTTPClient is
// nil: a provider that hangs must not hold a request forever.
const defaultTimeout = 20 * time.Second

func newBase(c Config, env Env, defaultLabel string) base {
	label := c.Label
	if label == "" {
		label = defaultLabel
	}
	if label == "" {
		label = c.Name
	}
	client := env.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: defaultTimeout}
	}
	return base{
		name:        c.Name,
		kind:        c.Kind,
		label:       label,
		allowSignup: c.AllowSignup == nil || *c.AllowSignup,
		allowLogin:  c.AllowLogin == nil || *c.AllowLogin,
		env:         env,
		client:      client,
		redirectURL: usher.FederatedCallbackURL(env.BaseURL, env.Prefix, c.Name, c.Kind),
	}
}

func (b *base) Name() string      { return b.name }
func (b *base) Kind() string      { return b.kind }
func (b *base) Label() string     { return b.label }
func (b *base) AllowSignup() bool { return b.allowSignup }
func (b *base) AllowLogin() bool  { return b.allowLogin }

// ctx carries the provider's HTTP client to x/oauth2 and go-oidc (both
// read the same context key, oauth2.HTTPClient).
func (b *base) ctx(ctx context.Context) context.Context {
	return context.WithValue(ctx, oauth2.HTTPClient, b.client)
}

// refused is a refusal of the provider's answer: it wraps
// usher.ErrFederatedRefused, and its text, which is logged, says why. It
// never holds a token or a code.
func (b *base) refused(format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", usher.ErrFederatedRefused, b.name, fmt.Sprintf(format, args...))
}

// saved is what Begin hands the Service to keep with the state, server
// side, until the callback: the state's SHA-256 (Finish checks the
// callback brings that state; only its hash, since the Service keeps the
// state itself hashed), the nonce the ID token must carry, and the PKCE
// verifier.
type saved struct {
	StateHash string `json:"state_hash"`
	Nonce     string `json:"nonce,omitempty"`
	Verifier  string `json:"verifier"`
}

// begin makes the authorization request's state to save and its options:
// a random nonce (when withNonce), and a PKCE S256 challenge.
func begin(state string, withNonce bool) (s saved, opts []oauth2.AuthCodeOption, err error) {
	if state == "" {
		return saved{}, nil, errors.New("federated: empty state")
	}
	s = saved{StateHash: hashState(state), Verifier: oauth2.GenerateVerifier()}
	opts = []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(s.Verifier)}
	if withNonce {
		s.Nonce = randomString()
		opts = append(opts, oauth2.SetAuthURLParam("nonce", s.Nonce))
	}
	return s, opts, nil
}

func (s saved) encode() (string, error) {
	b, err := json.Marshal(s)
	return string(b), err
}

// hashState is the SHA-256 of a state, base64url.
func hashState(state string) string {
	h := sha256.Sum256([]byte(state))
	return base64.RawURLEncoding.EncodeToString(h[:])
}

// randomString is 32 random bytes, base64url: a nonce.
func randomString() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b)
}

// equal compares secrets in constant time.
func equal(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// isCancel says whether an authorization error means the user did not go
// on at the provider: it ends the sign-in as cancelled (Anvil's
// login_with_* returns None). Any other error the provider answers with
// (invalid_request, server_error, ...) is a refusal.
func isCancel(e string) bool {
	switch e {
	case "access_denied", "consent_required", "interaction_required",
		"login_required", "account_selection_required", "user_cancelled":
		return true
	}
	return false
}

// callback checks the callback request against what Begin saved and
// returns the authorization code and the saved values. It checks, in
// order: the saved value is readable; the state is the saved one (its
// hash, compared in constant time); the RFC 9207 iss parameter, when sent
// or required, is one checkIss accepts; the provider's error, if any (a
// cancel or a refusal); a code is present.
func (b *base) callback(r *http.Request, savedJSON string, issRequired bool, checkIss func(string) bool) (code string, s saved, err error) {
	if err := json.Unmarshal([]byte(savedJSON), &s); err != nil || s.StateHash == "" || s.Verifier == "" {
		return "", saved{}, b.refused("the saved sign-in state is unreadable")
	}
	q := r.URL.Query()
	if !equal(hashState(q.Get("state")), s.StateHash) {
		return "", saved{}, b.refused("the callback's state is not this sign-in's")
	}
	if iss, ok := q["iss"]; ok || issRequired {
		if len(iss) != 1 || !checkIss(iss[0]) {
			// RFC 9207: an answer naming another issuer is a mix-up
			// attack (or a mistake); it is refused before the code goes
			// to any token endpoint.
			return "", saved{}, b.refused("the callback's iss parameter %q is not this provider's issuer", clip(q.Get("iss")))
		}
	}
	if e := q.Get("error"); e != "" {
		if isCancel(e) {
			return "", saved{}, fmt.Errorf("%w: %s: the provider answered %q", usher.ErrFederatedCancelled, b.name, clip(e))
		}
		return "", saved{}, b.refused("the provider answered error %q (%q)", clip(e), clip(q.Get("error_description")))
	}
	code = q.Get("code")
	if code == "" {
		return "", saved{}, b.refused("the callback has no code")
	}
	return code, s, nil
}

// exchange trades the code for tokens, proving the PKCE verifier.
func (b *base) exchange(ctx context.Context, conf *oauth2.Config, code, verifier string) (*oauth2.Token, error) {
	tok, err := conf.Exchange(b.ctx(ctx), code, oauth2.VerifierOption(verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) {
			// Only the error code and description: the body is the
			// provider's and is not logged whole.
			status := 0
			if re.Response != nil {
				status = re.Response.StatusCode
			}
			return nil, b.refused("code exchange failed: HTTP %d %q %q", status, clip(re.ErrorCode), clip(re.ErrorDescription))
		}
		return nil, b.refused("code exchange failed: %v", err)
	}
	if tok.AccessToken == "" {
		return nil, b.refused("the token response has no access token")
	}
	return tok, nil
}

// clip shortens a value from the outside world for a log line.
func clip(s string) string {
	if len(s) > 100 {
		return s[:100] + "..."
	}
	return s
}

// scopes is first, then more, without repeats or empty words.
func scopes(first []string, more []string) []string {
	var out []string
	for _, s := range append(slices.Clone(first), more...) {
		if s = strings.TrimSpace(s); s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// checkCommon checks what every OAuth kind needs: the client's ID and
// secret, additional scopes that are single words, and a base URL for
// the redirect URI.
func checkCommon(c Config, env Env) error {
	if c.ClientID == "" {
		return fieldError(c, "client_id", "is required")
	}
	if c.ClientSecret == "" {
		return fieldError(c, "client_secret", "is required")
	}
	for field, list := range map[string][]string{"additional_scopes": c.AdditionalScopes, "scopes": c.Scopes} {
		for _, s := range list {
			if s == "" || strings.ContainsAny(s, " \t\r\n\"") {
				return fieldError(c, field, fmt.Sprintf("%q is not a scope", s))
			}
		}
	}
	if u, err := url.Parse(env.BaseURL); err != nil || u.Scheme == "" || u.Host == "" {
		return fmt.Errorf("federated: provider %q: the server's base URL %q is not an absolute URL (the redirect URI is made from it)", c.Name, env.BaseURL)
	}
	return nil
}

// fieldError names the provider and the setting that is wrong.
func fieldError(c Config, field, problem string) error {
	return fmt.Errorf("federated: provider %q (kind %s): %s %s", c.Name, c.Kind, field, problem)
}

// onlyFor refuses a setting of another kind (a hosted_domain on a
// microsoft provider, say): a provider configured under the wrong kind
// must not silently drop a restriction. allowed are the kind's own
// settings among those below.
func onlyFor(c Config, allowed ...string) error {
	settings := []struct {
		name string
		set  bool
	}{
		{"hosted_domain", c.HostedDomain != ""},
		{"tenant", c.Tenant != ""},
		{"allowed_tenants", len(c.AllowedTenants) > 0},
		{"issuer", c.Issuer != ""},
		{"scopes", len(c.Scopes) > 0},
		{"trust_email_verified", c.TrustEmailVerified},
		{"trust_email", c.TrustEmail != nil},
		{"idp_metadata_url", c.IdPMetadataURL != ""},
		{"idp_entity_id", c.IdPEntityID != ""},
		{"idp_sso_url", c.IdPSSOURL != ""},
		{"idp_signing_cert", c.IdPSigningCert != ""},
		{"email_attribute", c.EmailAttribute != ""},
		{"signature_algorithm", c.SignatureAlgorithm != ""},
		{"force_authentication", c.ForceAuthentication},
		{"allow_idp_initiated", c.AllowIdPInitiated},
		{"allow_sha1", c.AllowSHA1},
		{"sp_key", c.SPKey != ""},
		{"sp_certificate", c.SPCertificate != ""},
		{"metadata_refresh", c.MetadataRefresh != ""},
	}
	for _, s := range settings {
		if s.set && !slices.Contains(allowed, s.name) {
			return fieldError(c, s.name, "does not apply to this kind")
		}
	}
	return nil
}
