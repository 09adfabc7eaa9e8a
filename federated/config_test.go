package federated_test

import (
	"strings"
	"testing"

	"github.com/usher-auth/usher"
	"github.com/usher-auth/usher/federated"
)

// New refuses a configuration that is wrong, naming the provider and the
// setting.
func TestNewRefusesBadConfig(t *testing.T) {
	guid := "72f988bf-86f1-41af-91ab-2d7cd011db47"
	ok := func(kind string) federated.Config {
		c := federated.Config{Name: "p1", Kind: kind, ClientID: "id", ClientSecret: "secret"}
		switch kind {
		case usher.ProviderOIDC:
			c.Issuer = "https://idp.example"
		case usher.ProviderMicrosoft:
			c.Tenant = guid
		}
		return c
	}
	with := func(kind string, edit func(*federated.Config)) federated.Config {
		c := ok(kind)
		edit(&c)
		return c
	}
	tests := []struct {
		name string
		c    federated.Config
		want string // in the error
	}{
		{"bad name", with(usher.ProviderGoogle, func(c *federated.Config) { c.Name = "Bad Name" }), "name"},
		{"unknown kind", with(usher.ProviderGoogle, func(c *federated.Config) { c.Kind = "github" }), "unknown kind"},
		{"google without client_id", with(usher.ProviderGoogle, func(c *federated.Config) { c.ClientID = "" }), `"p1" (kind google): client_id is required`},
		{"google without client_secret", with(usher.ProviderGoogle, func(c *federated.Config) { c.ClientSecret = "" }), "client_secret is required"},
		{"microsoft without client_secret", with(usher.ProviderMicrosoft, func(c *federated.Config) { c.ClientSecret = "" }), "(kind microsoft): client_secret is required"},
		{"facebook without client_id", with(usher.ProviderFacebook, func(c *federated.Config) { c.ClientID = "" }), "(kind facebook): client_id is required"},
		{"oidc without client_secret", with(usher.ProviderOIDC, func(c *federated.Config) { c.ClientSecret = "" }), "(kind oidc): client_secret is required"},
		{"scope with a space", with(usher.ProviderGoogle, func(c *federated.Config) { c.AdditionalScopes = []string{"a b"} }), "additional_scopes"},
		{"oidc without issuer", with(usher.ProviderOIDC, func(c *federated.Config) { c.Issuer = "" }), "issuer is required"},
		{"oidc issuer over http", with(usher.ProviderOIDC, func(c *federated.Config) { c.Issuer = "http://idp.example" }), "issuer"},
		{"oidc issuer relative", with(usher.ProviderOIDC, func(c *federated.Config) { c.Issuer = "idp.example" }), "issuer"},
		{"oidc issuer with a query", with(usher.ProviderOIDC, func(c *federated.Config) { c.Issuer = "https://idp.example/?a=b" }), "issuer"},
		{"oidc with a bad scope", with(usher.ProviderOIDC, func(c *federated.Config) { c.Scopes = []string{""} }), "scopes"},
		{"google hosted_domain not a domain", with(usher.ProviderGoogle, func(c *federated.Config) { c.HostedDomain = "@example.com" }), "hosted_domain"},
		{"microsoft without tenant", with(usher.ProviderMicrosoft, func(c *federated.Config) { c.Tenant = "" }), "tenant is required"},
		{"microsoft tenant common", with(usher.ProviderMicrosoft, func(c *federated.Config) { c.Tenant = "common" }), `"common" is not supported`},
		{"microsoft tenant not a GUID", with(usher.ProviderMicrosoft, func(c *federated.Config) { c.Tenant = "contoso.onmicrosoft.com" }), "not a tenant ID"},
		{"microsoft organizations without allowed_tenants", with(usher.ProviderMicrosoft, func(c *federated.Config) { c.Tenant = "organizations" }), "allowed_tenants is required"},
		{"microsoft allowed_tenants entry not a GUID", with(usher.ProviderMicrosoft, func(c *federated.Config) {
			c.Tenant, c.AllowedTenants = "organizations", []string{"common"}
		}), "allowed_tenants"},
		{"microsoft allowed_tenants with a tenant ID", with(usher.ProviderMicrosoft, func(c *federated.Config) { c.AllowedTenants = []string{guid} }), "allowed_tenants applies only"},
		{"hosted_domain on microsoft", with(usher.ProviderMicrosoft, func(c *federated.Config) { c.HostedDomain = "example.com" }), "hosted_domain does not apply"},
		{"tenant on google", with(usher.ProviderGoogle, func(c *federated.Config) { c.Tenant = guid }), "tenant does not apply"},
		{"issuer on google", with(usher.ProviderGoogle, func(c *federated.Config) { c.Issuer = "https://evil.example" }), "issuer does not apply"},
		{"metadata_refresh on oidc", with(usher.ProviderOIDC, func(c *federated.Config) { c.MetadataRefresh = "6h" }), "metadata_refresh does not apply"},
		{"trust_email_verified on facebook", with(usher.ProviderFacebook, func(c *federated.Config) { c.TrustEmailVerified = true }), "trust_email_verified does not apply"},
		{"trust_email on oidc", with(usher.ProviderOIDC, func(c *federated.Config) { c.TrustEmail = boolp(true) }), "trust_email does not apply"},
		{"SAML setting on oidc", with(usher.ProviderOIDC, func(c *federated.Config) { c.IdPSSOURL = "https://idp.example/sso" }), "idp_sso_url does not apply"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := federated.New(tt.c, env(nil))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New: %v; want an error saying %q", err, tt.want)
			}
			if err != nil && tt.c.Name == "p1" && !strings.Contains(err.Error(), `"p1"`) {
				t.Errorf("error %q does not name the provider", err)
			}
		})
	}

	for _, kind := range []string{usher.ProviderGoogle, usher.ProviderMicrosoft, usher.ProviderFacebook, usher.ProviderOIDC} {
		if _, err := federated.New(ok(kind), env(nil)); err != nil {
			t.Errorf("New(%s): %v", kind, err)
		}
		if _, err := federated.New(ok(kind), federated.Env{}); err == nil || !strings.Contains(err.Error(), "base URL") {
			t.Errorf("New(%s) without a base URL: %v, want an error", kind, err)
		}
	}
	for _, tenant := range []string{"organizations", "consumers", strings.ToUpper(guid)} {
		c := ok(usher.ProviderMicrosoft)
		c.Tenant = tenant
		if tenant == "organizations" {
			c.AllowedTenants = []string{guid}
		}
		if _, err := federated.New(c, env(nil)); err != nil {
			t.Errorf("tenant %s: %v", tenant, err)
		}
	}
	// http is let in for an issuer on the machine itself.
	for _, issuer := range []string{"http://127.0.0.1:8080", "http://localhost:9000/realms/x", "http://[::1]:1"} {
		c := ok(usher.ProviderOIDC)
		c.Issuer = issuer
		if _, err := federated.New(c, env(nil)); err != nil {
			t.Errorf("issuer %s: %v", issuer, err)
		}
	}
}

// Labels default by kind (else the name); the switches default on.
func TestNewLabelsAndSwitches(t *testing.T) {
	tests := []struct {
		c         federated.Config
		wantLabel string
	}{
		{federated.Config{Name: "g", Kind: usher.ProviderGoogle}, "Google"},
		{federated.Config{Name: "m", Kind: usher.ProviderMicrosoft, Tenant: "consumers"}, "Microsoft"},
		{federated.Config{Name: "f", Kind: usher.ProviderFacebook}, "Facebook"},
		{federated.Config{Name: "acme-sso", Kind: usher.ProviderOIDC, Issuer: "https://idp.example"}, "acme-sso"},
		{federated.Config{Name: "g2", Kind: usher.ProviderGoogle, Label: "Google Workspace"}, "Google Workspace"},
	}
	for _, tt := range tests {
		tt.c.ClientID, tt.c.ClientSecret = "id", "secret"
		p := mustNew(t, tt.c, env(nil))
		if p.Label() != tt.wantLabel || p.Name() != tt.c.Name || p.Kind() != tt.c.Kind || !p.AllowLogin() || !p.AllowSignup() {
			t.Errorf("%s: name %q kind %q label %q login %v signup %v", tt.c.Name, p.Name(), p.Kind(), p.Label(), p.AllowLogin(), p.AllowSignup())
		}
	}
	// A SAML provider without a label is its name too (not an empty
	// "Log in with" button).
	if p := newTestSAML(t, samlConfig()); p.Label() != "acme" || !p.AllowLogin() || !p.AllowSignup() {
		t.Errorf("saml: label %q login %v signup %v; want acme, true, true", p.Label(), p.AllowLogin(), p.AllowSignup())
	}
	sc := samlConfig()
	sc.Label = "Acme SSO"
	if p := newTestSAML(t, sc); p.Label() != "Acme SSO" {
		t.Errorf("saml with a label: %q", p.Label())
	}
	c := federated.Config{Name: "g", Kind: usher.ProviderGoogle, ClientID: "id", ClientSecret: "s", AllowSignup: boolp(false), AllowLogin: boolp(false)}
	if p := mustNew(t, c, env(nil)); p.AllowLogin() || p.AllowSignup() {
		t.Error("allow_signup = false and allow_login = false are not kept")
	}
}

// NewAll refuses two providers of one name.
func TestNewAll(t *testing.T) {
	g := federated.Config{Name: "google", Kind: usher.ProviderGoogle, ClientID: "id", ClientSecret: "s"}
	ps, err := federated.NewAll([]federated.Config{g}, env(nil))
	if err != nil || len(ps) != 1 {
		t.Fatalf("NewAll: %v, %v", ps, err)
	}
	if _, err := federated.NewAll([]federated.Config{g, g}, env(nil)); err == nil {
		t.Error("two providers named google accepted")
	}
}
