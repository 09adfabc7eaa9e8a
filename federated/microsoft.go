package federated

import (
	"context"
	"regexp"
	"slices"
	"strings"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/usher-auth/usher"
)

// Microsoft identity platform (Entra ID) addresses and tenants.
const (
	// MicrosoftLogin is the host of every tenant's v2.0 endpoints: a
	// tenant's issuer is MicrosoftLogin + "/" + tenant ID + "/v2.0".
	MicrosoftLogin = "https://login.microsoftonline.com"
	// MicrosoftConsumersTenant is the tenant of personal Microsoft
	// accounts (tenant = "consumers").
	MicrosoftConsumersTenant = "9188040d-6c67-4c5b-b112-36a304b66dad"
)

// guidRE is a tenant ID.
var guidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// microsoftIssuer is the issuer of the tenant tid's ID tokens.
func microsoftIssuer(tid string) string { return MicrosoftLogin + "/" + tid + "/v2.0" }

// newMicrosoft is the microsoft kind: the Microsoft identity platform.
//
// The tenant setting is one tenant's ID, "consumers" (personal accounts,
// tenant MicrosoftConsumersTenant), or "organizations" with
// allowed_tenants listing the tenant IDs let in. "common" is refused: it
// would let in every tenant and every personal account, and any tenant's
// administrator can give a user any e-mail address (nOAuth).
//
// An ID token is verified against the issuer of the tenant its tid claim
// names, and only when that tenant is allowed: the issuer must be
// https://login.microsoftonline.com/{tid}/v2.0 and the verified tid the
// same tenant. The subject is tid + ":" + oid (the tenant's ID, lower
// case, a colon, the user's object ID), stable for a user in a tenant and
// the same for every application, as Microsoft advises. The e-mail comes
// only from the email claim and is vouched for only when the xms_edov
// claim (the e-mail's domain owner verified it; an optional claim to add
// in the app registration) is true, "true" or "1". preferred_username,
// upn and Microsoft Graph's mail are never taken as an e-mail: a tenant's
// administrator sets them to anything.
func newMicrosoft(c Config, env Env) (usher.FederatedProvider, error) {
	if err := checkCommon(c, env); err != nil {
		return nil, err
	}
	if err := onlyFor(c, "tenant", "allowed_tenants"); err != nil {
		return nil, err
	}
	tenant := strings.ToLower(c.Tenant)
	var allowed []string
	docIssuer := ""
	switch {
	case tenant == "":
		return nil, fieldError(c, "tenant", `is required: a tenant ID, "organizations" (with allowed_tenants) or "consumers"`)
	case tenant == "common":
		return nil, fieldError(c, "tenant", `"common" is not supported (it lets in every tenant): use "organizations" with allowed_tenants, "consumers", or a tenant ID`)
	case tenant == "organizations":
		if len(c.AllowedTenants) == 0 {
			return nil, fieldError(c, "allowed_tenants", `is required with tenant = "organizations": list the tenant IDs let in`)
		}
		for _, t := range c.AllowedTenants {
			t = strings.ToLower(t)
			if !guidRE.MatchString(t) {
				return nil, fieldError(c, "allowed_tenants", "entry "+quote(t)+" is not a tenant ID (a GUID)")
			}
			allowed = append(allowed, t)
		}
		// The organizations document names no one tenant.
		docIssuer = microsoftIssuer("{tenantid}")
	case tenant == "consumers":
		allowed = []string{MicrosoftConsumersTenant}
	case guidRE.MatchString(tenant):
		allowed = []string{tenant}
	default:
		return nil, fieldError(c, "tenant", quote(c.Tenant)+` is not a tenant ID (a GUID), "organizations" or "consumers"`)
	}
	if tenant != "organizations" && len(c.AllowedTenants) > 0 {
		return nil, fieldError(c, "allowed_tenants", `applies only with tenant = "organizations"`)
	}
	if docIssuer == "" {
		docIssuer = microsoftIssuer(allowed[0])
	}
	p := &oidcRP{
		base:         newBase(c, env, "Microsoft"),
		clientID:     c.ClientID,
		clientSecret: c.ClientSecret,
		scopes:       scopes([]string{"openid", "email", "profile"}, c.AdditionalScopes),
		discoveryURL: microsoftIssuer(tenant),
		docIssuer:    docIssuer,
	}
	issuers := make([]string, len(allowed))
	for i, t := range allowed {
		issuers[i] = microsoftIssuer(t)
	}
	p.issAccepted = func(_ *discovered, iss string) bool { return slices.Contains(issuers, iss) }
	p.issuerFor = func(_ *discovered, raw string) (string, error) {
		// The tenant is read before verification only to choose the
		// issuer (and so the tenant) the token must then verify as.
		var peek struct {
			TID string `json:"tid"`
		}
		if err := unverifiedClaims(raw, &peek); err != nil {
			return "", p.refused("ID token: unreadable: %v", err)
		}
		tid := strings.ToLower(peek.TID)
		if !slices.Contains(allowed, tid) {
			return "", p.refused("ID token: tenant %q is not allowed", clip(peek.TID))
		}
		return microsoftIssuer(tid), nil
	}
	p.identity = func(_ context.Context, _ *discovered, _ *oauth2.Token, idt *oidc.IDToken, cl *idClaims) (*usher.ExternalIdentity, error) {
		// Again on the verified claims (issuerFor read the same payload
		// unverified): the tenant is allowed and is the issuer's.
		tid := strings.ToLower(cl.TID)
		if !slices.Contains(allowed, tid) || idt.Issuer != microsoftIssuer(tid) {
			return nil, p.refused("ID token: tenant %q does not match issuer %q", clip(cl.TID), idt.Issuer)
		}
		if cl.OID == "" {
			return nil, p.refused("ID token: no oid claim (is the profile scope granted?)")
		}
		return &usher.ExternalIdentity{
			Provider:      p.name,
			Issuer:        idt.Issuer,
			Subject:       tid + ":" + cl.OID,
			Email:         cl.Email,
			EmailVerified: cl.Email != "" && truthy(cl.XMSEdov, "true", "1"),
			Name:          cl.Name,
		}, nil
	}
	return p, nil
}

func quote(s string) string { return `"` + clip(s) + `"` }
