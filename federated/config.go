// Package federated makes Usher's federated identity providers from
// configuration: Google, Microsoft (Entra ID), Facebook, any OpenID
// Connect provider (coreos/go-oidc with golang.org/x/oauth2), and SAML 2.0
// identity providers (crewjam/saml). Each implements
// usher.FederatedProvider; the Service runs the sign-in and the linking
// rules.
package federated

import (
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"time"

	"github.com/usher-auth/usher"
)

// Config is one [[providers]] entry of the configuration file. Which
// fields apply depends on Kind; New checks them.
type Config struct {
	// Name is the provider's name in URLs: /user/federated/{name}/... .
	Name string `toml:"name"`
	// Kind is google, microsoft, facebook, oidc or saml.
	Kind string `toml:"kind"`
	// Label is the button's text ("Google"; default by kind, or Name).
	Label string `toml:"label"`

	// AllowSignup lets an unknown identity create an account (Anvil's
	// allow_signup); AllowLogin lets a known one log in. nil means true.
	AllowSignup *bool `toml:"allow_signup"`
	AllowLogin  *bool `toml:"allow_login"`

	// OAuth and OpenID Connect (google, microsoft, facebook, oidc).
	ClientID         string   `toml:"client_id"`     // Facebook: the app ID
	ClientSecret     string   `toml:"client_secret"` // Facebook: the app secret (a secret: masked)
	AdditionalScopes []string `toml:"additional_scopes"`

	// google: the Workspace domain the hd claim must name ("" = any).
	HostedDomain string `toml:"hosted_domain"`

	// microsoft: a tenant ID, "organizations" (then AllowedTenants lists
	// the tenant IDs let in) or "consumers".
	Tenant         string   `toml:"tenant"`
	AllowedTenants []string `toml:"allowed_tenants"`

	// oidc: the issuer (discovery at Issuer/.well-known/openid-configuration),
	// the scopes (default openid email profile), and whether the
	// provider's email_verified claim is trusted for linking.
	Issuer             string   `toml:"issuer"`
	Scopes             []string `toml:"scopes"`
	TrustEmailVerified bool     `toml:"trust_email_verified"`

	// facebook: whether its e-mail is taken as verified (as Kratos and
	// GoTrue do; nil means true).
	TrustEmail *bool `toml:"trust_email"`

	// saml: the IdP by metadata URL, or by entity ID, SSO URL and signing
	// certificate (PEM or base64 DER); the attribute holding the e-mail
	// (else an emailAddress NameID); the signature algorithm of the
	// AuthnRequest; ForceAuthn; IdP-initiated log-in (off by default);
	// SHA-1 signatures (refused by default); whether the IdP's e-mail is
	// taken as verified (nil means true: the administrator chose the IdP).
	IdPMetadataURL      string `toml:"idp_metadata_url"`
	IdPEntityID         string `toml:"idp_entity_id"`
	IdPSSOURL           string `toml:"idp_sso_url"`
	IdPSigningCert      string `toml:"idp_signing_cert"`
	EmailAttribute      string `toml:"email_attribute"`
	SignatureAlgorithm  string `toml:"signature_algorithm"`
	ForceAuthentication bool   `toml:"force_authentication"`
	AllowIdPInitiated   bool   `toml:"allow_idp_initiated"`
	AllowSHA1           bool   `toml:"allow_sha1"`
	SPKey               string `toml:"sp_key"`         // PEM; default: made from the secret key
	SPCertificate       string `toml:"sp_certificate"` // PEM; default: self-signed for SPKey
	// MetadataRefresh is how often idp_metadata_url is fetched again, a Go
	// duration ("6h"; at least 5m); "" or "0" means every 24 hours. The
	// metadata's cacheDuration or validUntil, when sooner, wins.
	MetadataRefresh string `toml:"metadata_refresh"`
}

// Env is what every provider needs from the server around it.
type Env struct {
	// BaseURL and Prefix are usher.Config's: the callback is
	// usher.FederatedCallbackURL(BaseURL, Prefix, Name, Kind).
	BaseURL, Prefix string
	// HTTPClient makes every call to the provider (discovery, keys,
	// tokens, user info, metadata); nil means a client with a 20-second
	// timeout. Tests
	// give one whose transport sends the real hosts to local servers.
	HTTPClient *http.Client
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// SecretKey is the server's secret key (SAML's default SP key is
	// derived from it).
	SecretKey []byte
	// Logger logs what happens outside a request (a failed refresh of a
	// SAML IdP's metadata); nil means slog.Default().
	Logger *slog.Logger
}

// nameRE is what a provider's name may be: it is used in URLs.
var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)

// New makes the provider c describes, or says what is wrong with c.
func New(c Config, env Env) (usher.FederatedProvider, error) {
	if !nameRE.MatchString(c.Name) {
		return nil, fmt.Errorf("federated: provider name %q: use 1-32 of a-z, 0-9, - and _", c.Name)
	}
	switch c.Kind {
	case usher.ProviderGoogle:
		return newGoogle(c, env)
	case usher.ProviderMicrosoft:
		return newMicrosoft(c, env)
	case usher.ProviderFacebook:
		return newFacebook(c, env)
	case usher.ProviderOIDC:
		return newOIDC(c, env)
	case usher.ProviderSAML:
		return newSAML(c, env)
	}
	return nil, fmt.Errorf("federated: provider %q: unknown kind %q (google, microsoft, facebook, oidc or saml)", c.Name, c.Kind)
}

// NewAll makes every provider of cs; names must be unique.
func NewAll(cs []Config, env Env) ([]usher.FederatedProvider, error) {
	seen := map[string]bool{}
	var ps []usher.FederatedProvider
	for _, c := range cs {
		if seen[c.Name] {
			return nil, fmt.Errorf("federated: two providers named %q", c.Name)
		}
		seen[c.Name] = true
		p, err := New(c, env)
		if err != nil {
			return nil, err
		}
		ps = append(ps, p)
	}
	return ps, nil
}
