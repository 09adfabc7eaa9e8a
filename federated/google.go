package federated

import (
	"context"
	"regexp"
	"strings"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/usher-auth/usher"
)

// GoogleIssuer is Google's OpenID Connect issuer; discovery is at
// GoogleIssuer + "/.well-known/openid-configuration".
const GoogleIssuer = "https://accounts.google.com"

// domainRE is a DNS domain name, for hosted_domain.
var domainRE = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$`)

// newGoogle is the google kind: Google's OpenID Connect provider. The
// subject is Google's sub; the e-mail is vouched for when email_verified
// is true; a hosted_domain admits only ID tokens whose hd claim names it.
func newGoogle(c Config, env Env) (usher.FederatedProvider, error) {
	if err := checkCommon(c, env); err != nil {
		return nil, err
	}
	if err := onlyFor(c, "hosted_domain"); err != nil {
		return nil, err
	}
	hd := strings.ToLower(c.HostedDomain)
	if hd != "" && !domainRE.MatchString(hd) {
		return nil, fieldError(c, "hosted_domain", "must be a domain name such as example.com")
	}
	p := &oidcRP{
		base:         newBase(c, env, "Google"),
		clientID:     c.ClientID,
		clientSecret: c.ClientSecret,
		scopes:       scopes([]string{"openid", "email", "profile"}, c.AdditionalScopes),
		discoveryURL: GoogleIssuer,
		docIssuer:    GoogleIssuer,
	}
	if hd != "" {
		// Only a hint to Google's account chooser: the hd claim is what
		// is checked.
		p.extraAuthParams = []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("hd", hd)}
	}
	p.identity = func(_ context.Context, _ *discovered, _ *oauth2.Token, idt *oidc.IDToken, cl *idClaims) (*usher.ExternalIdentity, error) {
		// A Workspace restriction is the hd claim, which Google sets only
		// for accounts of that Workspace, never the e-mail's domain: a
		// consumer Google account can have any address, and a Workspace
		// may hold addresses of other domains.
		if hd != "" && !strings.EqualFold(cl.HD, hd) {
			return nil, p.refused("ID token: hosted domain %q is not %q", clip(cl.HD), hd)
		}
		return &usher.ExternalIdentity{
			Provider: p.name,
			// go-oidc also lets in Google's old "accounts.google.com";
			// it is the same issuer.
			Issuer:        GoogleIssuer,
			Subject:       idt.Subject,
			Email:         cl.Email,
			EmailVerified: cl.Email != "" && truthy(cl.EmailVerified, "true"),
			Name:          cl.Name,
		}, nil
	}
	return p, nil
}
