package usher

import (
	"context"
	"errors"
	"net/http"
	"time"
)

// This file is the domain's side of federated sign-in (OpenID Connect,
// OAuth and SAML identity providers): what a provider asserts, the
// interface a provider implements (package federated has them), the
// sign-in's state, and the errors. The linking rules are in
// federated_login.go.

// Kinds of federated provider (the kind setting of a [[providers]] entry).
const (
	ProviderGoogle    = "google"
	ProviderMicrosoft = "microsoft"
	ProviderFacebook  = "facebook"
	ProviderOIDC      = "oidc"
	ProviderSAML      = "saml"
)

// Errors of federated sign-in. Each is also an ErrAuthenticationFailed
// for errors.Is, but for ErrLinkRequired and ErrLastLoginMethod.
var (
	// ErrFederatedRefused: the provider's answer failed a check (state,
	// signature, issuer, audience, expiry, nonce, tenant, replay, ...).
	// The reason is logged, never shown.
	ErrFederatedRefused error = &kind{"usher: the identity provider's answer was refused", ErrAuthenticationFailed}
	// ErrFederatedCancelled: the user cancelled at the provider (or it
	// answered with an error such as access_denied). Anvil's login_with_*
	// returns None then.
	ErrFederatedCancelled error = &kind{"usher: sign-in cancelled at the identity provider", ErrAuthenticationFailed}
	// ErrLinkRequired: an account has the provider's e-mail address but the
	// identity may not be linked to it automatically (the provider did not
	// vouch for the address, or the account's address is unconfirmed). The
	// user logs in with their existing method and links from the account
	// page.
	ErrLinkRequired = errors.New("usher: log in with your existing method to link this account")
	// ErrLastLoginMethod: unlinking would leave the user no way to log in.
	ErrLastLoginMethod = errors.New("usher: this is the last way to log in")
)

// ExternalIdentity is what a federated provider asserted about the user,
// after all its checks passed.
type ExternalIdentity struct {
	Provider string // the configured provider's name
	Issuer   string // OIDC iss (for Microsoft, the tenant's issuer), SAML IdP entity ID
	Subject  string // stable ID at the issuer: OIDC sub, Microsoft tid+oid, Facebook app-scoped id, SAML NameID
	Email    string // "" when the provider gave none
	// EmailVerified is true only when the provider vouched for Email by
	// its own rules (Google email_verified, Microsoft xms_edov, an oidc
	// provider's email_verified when trusted, ...). Only then may the
	// identity be linked to an existing account by address, or a new
	// account's address start confirmed.
	EmailVerified bool
	Name          string // display name, if any
}

// FederatedProvider is one configured identity provider. Package federated
// makes them from configuration; a library user may write another.
type FederatedProvider interface {
	// Name is the provider's name in URLs (/user/federated/{name}/...).
	Name() string
	// Kind is one of the Provider... constants (or another word for a
	// provider written by the library user).
	Kind() string
	// Label is the provider's name for people ("Google", "Acme SSO").
	Label() string
	// AllowSignup and AllowLogin are Anvil's switches: whether an unknown
	// identity may create an account, and whether a known one may log in.
	AllowSignup() bool
	AllowLogin() bool
	// Begin starts a sign-in whose state (OAuth state, SAML RelayState) is
	// state. It returns the provider's address to send the browser to and
	// what Finish will need (nonce, PKCE verifier, SAML request ID), which
	// the Service keeps with the state, server side.
	Begin(ctx context.Context, state string) (authURL, saved string, err error)
	// Finish checks the provider's answer — the request the browser brought
	// back to the callback, or posted to the SAML ACS — against saved and
	// returns the identity it asserts. seen records a one-time ID (a SAML
	// assertion's) until it expires, and fails with ErrInvalidToken for an
	// ID seen before, on any instance. A cancel is ErrFederatedCancelled;
	// any other refusal wraps ErrFederatedRefused.
	Finish(ctx context.Context, r *http.Request, saved string, seen SeenFunc) (*ExternalIdentity, error)
}

// SeenFunc records id as used until until; ErrInvalidToken if it was.
type SeenFunc func(ctx context.Context, id string, until time.Time) error

// MetadataProvider is a FederatedProvider with metadata to publish (a SAML
// service provider's, at /user/saml/{name}/metadata).
type MetadataProvider interface {
	Metadata() ([]byte, error)
}

// IdPInitiatedProvider is a FederatedProvider that may accept an answer
// no sign-in started (SAML IdP-initiated log-in, off by default).
type IdPInitiatedProvider interface {
	AllowIdPInitiated() bool
}

// FederatedIntent is what a federated sign-in is for.
type FederatedIntent string

// The intents of a federated sign-in.
const (
	// IntentLogin logs in, signing up an unknown identity when the
	// provider allows sign-up (Anvil's login_with_*).
	IntentLogin FederatedIntent = "login"
	// IntentSignup signs up; an existing address is ErrUserExists
	// (Anvil's signup_with_*).
	IntentSignup FederatedIntent = "signup"
	// IntentLink links the identity to the logged-in user.
	IntentLink FederatedIntent = "link"
)

// FederatedStart is a federated sign-in to start.
type FederatedStart struct {
	Provider string
	Intent   FederatedIntent
	Next     string // where to go afterwards: a local path (checked by the caller)
	Remember bool
	// Browser is a hash of the random value the caller keeps in the
	// browser (a cookie); the answer must come back with the same.
	Browser string
	// UserID is the logged-in user, for IntentLink.
	UserID string
	// Client is the browser's address and user agent: each start counts
	// against the per-IP throttle of federated starts (it writes a state
	// row), LoginRateLimit a minute.
	Client Client
}

// FederatedResult is how a federated sign-in ended.
type FederatedResult struct {
	Intent   FederatedIntent
	Next     string
	Session  *Session // the new session (log-in and sign-up)
	User     *User
	Identity *Identity // the identity used or linked
	Created  bool      // the account was created by this sign-in
}
