package federated_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/usher-auth/usher"
	"github.com/usher-auth/usher/federated"
	"github.com/usher-auth/usher/federated/federatedtest"
)

// Tenants of these tests.
const (
	contoso  = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	fabrikam = "3c5c7b5e-1d3b-4b6e-9f0e-2f0c4f3a9b11"
	attacker = "6f1d7a3e-0000-4c1e-8a5b-a77acce55000"
)

func msIssuer(tid string) string { return "https://login.microsoftonline.com/" + tid + "/v2.0" }

func microsoftProvider(t *testing.T, f *federatedtest.FakeOP, tenant string, allowed ...string) usher.FederatedProvider {
	t.Helper()
	return mustNew(t, federated.Config{
		Name: "microsoft", Kind: usher.ProviderMicrosoft, ClientID: f.ClientID, ClientSecret: f.ClientSecret,
		Tenant: tenant, AllowedTenants: allowed,
	}, env(f.Hosts()))
}

// One tenant, at Microsoft's real URLs (served locally): the subject is
// tid:oid, the issuer the tenant's, the e-mail vouched for by xms_edov.
func TestMicrosoftSignIn(t *testing.T) {
	f := federatedtest.NewFakeMicrosoft(t, contoso, federatedtest.FakeOptions{})
	p := microsoftProvider(t, f, contoso)
	if p.Label() != "Microsoft" {
		t.Errorf("label %q", p.Label())
	}
	s := begin(t, p)
	checkPKCEAndNonce(t, p, s, true)
	if !strings.HasPrefix(s.authURL, "https://login.microsoftonline.com/"+contoso+"/oauth2/v2.0/authorize?") {
		t.Errorf("auth URL %s, want the tenant's", s.authURL)
	}
	id, err := signIn(t, p, f.Hosts())
	if err != nil {
		t.Fatal(err)
	}
	want := usher.ExternalIdentity{Provider: "microsoft", Issuer: msIssuer(contoso), Subject: contoso + ":" + federatedtest.MicrosoftOID,
		Email: "alice@contoso.example", EmailVerified: true, Name: "Alice Example"}
	if *id != want {
		t.Errorf("identity = %+v, want %+v", *id, want)
	}
}

// nOAuth: preferred_username, Graph's mail and userPrincipalName, and the
// Graph user info's email are set by the tenant's administrator; they are
// never the e-mail. Only the email claim is, vouched for only by xms_edov.
func TestMicrosoftNeverTakesPreferredUsernameOrGraphMail(t *testing.T) {
	f := federatedtest.NewFakeMicrosoft(t, contoso, federatedtest.FakeOptions{Claims: map[string]any{"email": nil, "xms_edov": nil}})
	id, err := signIn(t, microsoftProvider(t, f, contoso), f.Hosts())
	if err != nil {
		t.Fatal(err)
	}
	if id.Email != "" || id.EmailVerified {
		t.Errorf("email %q verified %v; want none (preferred_username and Graph say %s)", id.Email, id.EmailVerified, federatedtest.MicrosoftVictim)
	}
	if n := f.Calls("/v1.0/me") + f.Calls("/oidc/userinfo"); n != 0 {
		t.Errorf("Microsoft Graph was called %d times", n)
	}
}

func TestMicrosoftXMSEdov(t *testing.T) {
	tests := []struct {
		name string
		edov any
		want bool
	}{
		{"xms_edov true", true, true},
		{`xms_edov "1"`, "1", true},
		{`xms_edov "true"`, "true", true},
		{"xms_edov false", false, false},
		{`xms_edov "false"`, "false", false},
		{`xms_edov "0"`, "0", false},
		{"xms_edov 1 (a number)", 1, false},
		{"xms_edov absent", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := federatedtest.NewFakeMicrosoft(t, contoso, federatedtest.FakeOptions{Claims: map[string]any{"xms_edov": tt.edov}})
			id, err := signIn(t, microsoftProvider(t, f, contoso), f.Hosts())
			if err != nil {
				t.Fatal(err)
			}
			if id.Email != "alice@contoso.example" || id.EmailVerified != tt.want {
				t.Errorf("email %q verified %v, want verified %v", id.Email, id.EmailVerified, tt.want)
			}
		})
	}
}

// Which tenants get in, by the tenant setting.
func TestMicrosoftTenants(t *testing.T) {
	tests := []struct {
		name    string
		tenant  string
		allowed []string
		tid     string         // the user's tenant: the fake issues its tokens
		claims  map[string]any // more claims
		iss     string         // iss parameter
		wantErr string
	}{
		{"tenant ID: its user", contoso, nil, contoso, nil, "", ""},
		{"tenant ID: foreign tenant", contoso, nil, attacker, nil, "", "tenant"},
		{"tenant ID: tid of the tenant, issuer of another", contoso, nil, contoso, map[string]any{"iss": msIssuer(attacker)}, "", "issued by a different provider"},
		{"tenant ID: issuer of the tenant, tid of another", contoso, nil, attacker, map[string]any{"iss": msIssuer(contoso)}, "", "tenant"},
		{"tenant ID: no tid", contoso, nil, contoso, map[string]any{"tid": nil}, "", "tenant"},
		{"tenant ID: no oid", contoso, nil, contoso, map[string]any{"oid": nil}, "", "oid"},
		{"organizations: a listed tenant", "organizations", []string{fabrikam, contoso}, contoso, nil, "", ""},
		{"organizations: the other listed tenant", "organizations", []string{fabrikam, contoso}, fabrikam, nil, "", ""},
		{"organizations: foreign tenant", "organizations", []string{fabrikam, contoso}, attacker, nil, "", "tenant"},
		{"organizations: placeholder issuer", "organizations", []string{contoso}, contoso, map[string]any{"iss": msIssuer("{tenantid}")}, "", "issued by a different provider"},
		{"organizations: personal account", "organizations", []string{contoso}, federated.MicrosoftConsumersTenant, nil, "", "tenant"},
		{"consumers: personal account", "consumers", nil, federated.MicrosoftConsumersTenant, nil, "", ""},
		{"consumers: work account", "consumers", nil, contoso, nil, "", "tenant"},
		{"iss parameter of the tenant", contoso, nil, contoso, nil, msIssuer(contoso), ""},
		{"iss parameter of another tenant", contoso, nil, contoso, nil, msIssuer(attacker), "iss parameter"},
		{"organizations: iss parameter of a listed tenant, token of the other", "organizations", []string{fabrikam, contoso}, contoso, nil, msIssuer(fabrikam), "iss parameter"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := federatedtest.NewFakeMicrosoft(t, tt.tid, federatedtest.FakeOptions{Claims: tt.claims, IssParam: tt.iss})
			p := microsoftProvider(t, f, tt.tenant, tt.allowed...)
			s := begin(t, p)
			if u, _ := url.Parse(s.authURL); !strings.HasPrefix(u.Path, "/"+tt.tenant+"/") {
				t.Errorf("auth URL %s is not at tenant %s", s.authURL, tt.tenant)
			}
			r := federatedtest.Follow(t, federatedtest.Browser(f.Hosts()), s.authURL, callbackURL("microsoft"))
			id, err := p.Finish(context.Background(), r, s.saved, nil)
			if tt.wantErr != "" {
				wantRefused(t, id, err, tt.wantErr)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if id.Issuer != msIssuer(tt.tid) || id.Subject != tt.tid+":"+federatedtest.MicrosoftOID {
				t.Errorf("identity %+v: want issuer %s, subject %s:%s", *id, msIssuer(tt.tid), tt.tid, federatedtest.MicrosoftOID)
			}
		})
	}
}

// The token matrix holds for Microsoft too (its verification path picks
// the issuer by tenant): a few of the attacks.
func TestMicrosoftAttacks(t *testing.T) {
	tests := []struct {
		name   string
		opts   federatedtest.FakeOptions
		reason string
	}{
		{"alg none", federatedtest.FakeOptions{Sign: (*federatedtest.FakeOP).SignNone}, "malformed jwt"},
		{"HS256 signed with the RSA public key", federatedtest.FakeOptions{Sign: (*federatedtest.FakeOP).SignHS256WithPublicKey}, "malformed jwt"},
		{"unknown kid", federatedtest.FakeOptions{Sign: (*federatedtest.FakeOP).SignUnknownKey}, "signature"},
		{"wrong audience", federatedtest.FakeOptions{Claims: map[string]any{"aud": "another-client"}}, "audience"},
		{"nonce mismatch", federatedtest.FakeOptions{Claims: map[string]any{"nonce": "x"}}, "nonce"},
		{"unreadable token", federatedtest.FakeOptions{Sign: func(*federatedtest.FakeOP, map[string]any) string { return "garbage" }}, "unreadable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := federatedtest.NewFakeMicrosoft(t, contoso, tt.opts)
			id, err := signIn(t, microsoftProvider(t, f, "organizations", contoso), f.Hosts())
			wantRefused(t, id, err, tt.reason)
		})
	}
}
