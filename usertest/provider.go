package usertest

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/usher-auth/usher"
)

// Provider is a test double of usher.FederatedProvider, for tests of what
// surrounds a sign-in (pages, routes, configuration): package federated's
// real providers are tested against a real OpenID Connect provider and
// SAML IdP. Begin sends the browser to AuthURL with the state (a stand-in
// IdP that sends it back to the callback); Finish returns Ext, or
// usher.ErrFederatedCancelled when the answer carries
// error=access_denied.
type Provider struct {
	ID       string // Name()
	KindName string // Kind(); "" means usher.ProviderOIDC
	Text     string // Label()
	NoSignup bool   // AllowSignup() is !NoSignup
	NoLogin  bool   // AllowLogin() is !NoLogin
	AuthURL  string
	Ext      usher.ExternalIdentity
	BeginErr error // Begin fails with it
}

func (p *Provider) Name() string { return p.ID }
func (p *Provider) Kind() string {
	if p.KindName == "" {
		return usher.ProviderOIDC
	}
	return p.KindName
}
func (p *Provider) Label() string     { return p.Text }
func (p *Provider) AllowSignup() bool { return !p.NoSignup }
func (p *Provider) AllowLogin() bool  { return !p.NoLogin }

// Begin returns AuthURL?state=state, and "saved" for Finish.
func (p *Provider) Begin(_ context.Context, state string) (string, string, error) {
	if p.BeginErr != nil {
		return "", "", p.BeginErr
	}
	return p.AuthURL + "?state=" + url.QueryEscape(state), "saved", nil
}

// Finish returns a copy of Ext.
func (p *Provider) Finish(_ context.Context, r *http.Request, saved string, _ usher.SeenFunc) (*usher.ExternalIdentity, error) {
	if saved != "saved" {
		return nil, fmt.Errorf("%w: saved %q", usher.ErrFederatedRefused, saved)
	}
	if r.FormValue("error") == "access_denied" {
		return nil, usher.ErrFederatedCancelled
	}
	e := p.Ext
	return &e, nil
}

// SAMLProvider is a Provider of kind saml with service-provider metadata
// (usher.MetadataProvider).
type SAMLProvider struct{ *Provider }

// Metadata returns a minimal EntityDescriptor.
func (p SAMLProvider) Metadata() ([]byte, error) {
	return []byte(`<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="` + p.ID + `"/>`), nil
}
