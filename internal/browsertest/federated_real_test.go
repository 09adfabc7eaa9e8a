package browsertest_test

import (
	"strings"
	"testing"

	"github.com/usher-auth/usher"
	"github.com/usher-auth/usher/app"
	"github.com/usher-auth/usher/federated"
	"github.com/usher-auth/usher/federated/federatedtest"
	bt "github.com/usher-auth/usher/internal/browsertest"
)

// The federated sign-in in Chromium with the real providers, configured
// as [[providers]] entries (app.Config.Providers): the oidc kind at an
// in-process OpenID Provider (zitadel/oidc's op, with its own login form)
// and the saml kind at an in-process SAML IdP (crewjam's samlidp).

// TestOIDCButtonAtRealOP: the log-in page's "Log in with Test OP" button
// takes the browser to the OP's login form; logging in there brings it
// back logged in (a new account), on next, with a session cookie. Then
// usher.loginWithProvider does the same from the site's own page.
func TestOIDCButtonAtRealOP(t *testing.T) {
	var op *federatedtest.OP
	s := startServer(t, func(c *app.Config) {
		users := []federatedtest.OPUser{
			{ID: "id-alice", Username: "alice", Password: federatedtest.OPPassword, Email: "alice@example.com", EmailVerified: true, FirstName: "Alice", LastName: "Example"},
			{ID: "id-carol", Username: "carol", Password: federatedtest.OPPassword, Email: "carol@example.com", EmailVerified: true, FirstName: "Carol", LastName: "Example"},
		}
		op = federatedtest.NewOPWithUsers(t, users, c.BaseURL+"/user/federated/op/callback")
		c.Providers = []federated.Config{{Name: "op", Kind: usher.ProviderOIDC, Label: "Test OP", Issuer: op.Issuer,
			ClientID: op.ClientID, ClientSecret: op.ClientSecret, TrustEmailVerified: true}}
	})
	ctx, _ := bt.New(t, "")
	bt.Go(t, ctx, s.URL+"/user/login?next=%2Fuser%2Fprofile")
	bt.Submit(t, ctx, `ul.providers a[data-provider="op"]`)
	bt.WaitVisible(t, ctx, `#username`)
	if loc := bt.Location(t, ctx); !strings.HasPrefix(loc, op.Issuer+"/") {
		t.Fatalf("the button led to %s, not the OP", loc)
	}
	bt.Fill(t, ctx, `#username`, "alice", `#password`, federatedtest.OPPassword)
	bt.Click(t, ctx, `button[type="submit"]`)
	bt.WaitJS(t, ctx, `location.pathname === '/user/profile'`)
	wantText(t, ctx, "main", "alice@example.com")
	wantText(t, ctx, "main", "Test OP")
	if c := bt.Cookies(t, ctx, s.URL+"/user/")["usher_session"]; c == nil || c.Value == "" {
		t.Fatal("no session cookie after the sign-in")
	}

	// usher.js, from the site's page, in a browser of its own.
	ctx2, _ := bt.New(t, "")
	bt.Go(t, ctx2, s.URL+"/app?x=1")
	bt.Eval[any](t, ctx2, `usher.loginWithProvider('op'); 0`)
	bt.WaitVisible(t, ctx2, `#username`)
	bt.Fill(t, ctx2, `#username`, "carol", `#password`, federatedtest.OPPassword)
	bt.Click(t, ctx2, `button[type="submit"]`)
	bt.WaitJS(t, ctx2, `location.pathname === '/app' && location.search === '?x=1' && document.readyState === 'complete' && window.usher`)
	bt.Eval[any](t, ctx2, `usher.getUser().then(u => { window.__me = u ? u.email : 'nobody'; }); 0`)
	bt.WaitJS(t, ctx2, `window.__me === 'carol@example.com'`)
}

// TestSAMLButtonAtRealIdP: the IdP knows Usher by the metadata Usher
// serves at /user/saml/corp/metadata; with the user logged in at the IdP
// (its login form, filled in the browser), the log-in page's "Log in
// with Corp SSO" button goes to the IdP, whose answer the browser posts
// to the ACS, and lands back logged in. (samlidp's own form, shown in the
// middle of a sign-in, posts the request back without the redirect
// binding's signature and refuses it for a service provider that signs
// its requests, as Usher's does: so the user logs in at the IdP first.)
func TestSAMLButtonAtRealIdP(t *testing.T) {
	idp := federatedtest.NewSAMLIdP(t)
	s := startServer(t, func(c *app.Config) {
		c.Providers = []federated.Config{{Name: "corp", Kind: usher.ProviderSAML, Label: "Corp SSO", IdPMetadataURL: idp.MetadataURL()}}
	})
	idp.RegisterSPFromURL(t, nil, "usher", s.URL+"/user/saml/corp/metadata")
	idp.AddUser(t, federatedtest.SAMLUser{Name: "sam", Password: "saml-password", Email: "sam@example.com", CommonName: "Sam Example"})

	ctx, _ := bt.New(t, "")
	bt.Go(t, ctx, idp.URL()+"/login")
	bt.Fill(t, ctx, `input[name="user"]`, "sam", `input[name="password"]`, "saml-password")
	bt.Submit(t, ctx, `input[type="submit"]`)

	bt.Go(t, ctx, s.URL+"/user/login?next=%2Fuser%2Fprofile")
	bt.Click(t, ctx, `ul.providers a[data-provider="corp"]`)
	bt.WaitJS(t, ctx, `location.pathname === '/user/profile' && document.readyState === 'complete'`)
	wantText(t, ctx, "main", "sam@example.com")
	wantText(t, ctx, "main", "Corp SSO")
	if c := bt.Cookies(t, ctx, s.URL+"/user/")["usher_session"]; c == nil || c.Value == "" {
		t.Fatal("no session cookie after the SAML sign-in")
	}
}
