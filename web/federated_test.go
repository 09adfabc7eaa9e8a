package web_test

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/usher-auth/usher"
	"github.com/usher-auth/usher/password"
	"github.com/usher-auth/usher/usertest"
	"github.com/usher-auth/usher/web"
)

// fedEnv is a site with federated providers: Usher under /user/, and a
// stand-in provider whose /authorize sends the browser back to the
// callback.
type fedEnv struct {
	*acctEnv
	clock *usertest.Clock
	idp   *httptest.Server
}

func newFedEnv(t *testing.T, cfg usher.Config, ps ...*usertest.Provider) *fedEnv {
	t.Helper()
	// A clock the test can move, at the real time (cookies' lifetimes
	// are counted by the browser's clock).
	e := &fedEnv{clock: usertest.NewClock()}
	e.clock.Advance(time.Since(e.clock.Now()))
	e.idp = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The provider's "yes": back to the callback of the provider
		// named in the path, with the state.
		name := strings.TrimPrefix(r.URL.Path, "/authorize/")
		q := url.Values{"state": {r.URL.Query().Get("state")}, "code": {"c"}}
		http.Redirect(w, r, e.srv.URL+"/user/federated/"+name+"/callback?"+q.Encode(), http.StatusSeeOther)
	}))
	t.Cleanup(e.idp.Close)
	var providers []usher.FederatedProvider
	for _, p := range ps {
		p.AuthURL = e.idp.URL + "/authorize/" + p.ID
		if p.KindName == usher.ProviderSAML {
			providers = append(providers, usertest.SAMLProvider{Provider: p})
		} else {
			providers = append(providers, p)
		}
	}
	d := usher.Deps{Store: usertest.NewSQLiteStore(t), Passwords: usertest.FastHasher(), Policy: password.Policy{},
		Logger: usertest.Discard, Providers: providers, Now: e.clock.Now}
	e.acctEnv = newAcctEnvWith(t, cfg, d)
	return e
}

// oidcFake is a stand-in OpenID Connect provider (usertest.Provider, a
// test double) asserting ann@example.com, verified.
func oidcFake(name, label string) *usertest.Provider {
	return &usertest.Provider{ID: name, Text: label,
		Ext: usher.ExternalIdentity{Provider: name, Issuer: "https://idp.example", Subject: "sub-1", Email: "ann@example.com", EmailVerified: true}}
}

// iso is a provider's label as the pages put it in a sentence: isolated
// (U+2068 ... U+2069), so that right-to-left text around it keeps its
// order.
func iso(label string) string { return "\u2068" + label + "\u2069" }

// needsFlow skips a test that runs a whole federated sign-in while the
// Service's flow is not written yet; it runs once BeginFederated works.
func needsFlow(t *testing.T, svc *usher.Service, provider string) {
	t.Helper()
	_, err := svc.BeginFederated(context.Background(), usher.FederatedStart{Provider: provider, Intent: usher.IntentLogin, Browser: "probe"})
	if err != nil && strings.Contains(err.Error(), "not implemented") {
		t.Skip("needs the federated flow: BeginFederated")
	}
}

func TestFederatedRoutesUnknownProvider(t *testing.T) {
	e := newFedEnv(t, usher.Config{}, oidcFake("acme", "Acme SSO"), &usertest.Provider{ID: "corp", KindName: usher.ProviderSAML, Text: "Corp"})
	b := e.browser("ua")
	for _, c := range []struct{ method, path string }{
		{"GET", "/user/federated/nobody/start"},
		{"GET", "/user/federated/nobody/callback?state=x"},
		{"GET", "/user/saml/nobody/metadata"},
		{"POST", "/user/saml/nobody/acs"},
		// A provider's routes of the other kind.
		{"GET", "/user/federated/corp/callback?state=x"},
		{"POST", "/user/saml/acme/acs"},
		{"GET", "/user/saml/acme/metadata"},
	} {
		var p acctPage
		if c.method == "POST" {
			p = b.do("POST", c.path, url.Values{"RelayState": {"x"}})
		} else {
			p = b.get(c.path)
		}
		if p.status != http.StatusNotFound {
			t.Errorf("%s %s: %d; want 404", c.method, c.path, p.status)
		}
	}
	if p := b.get("/user/federated/acme/start?intent=admin"); p.status != http.StatusBadRequest {
		t.Errorf("start with an unknown intent: %d; want 400", p.status)
	}
}

func TestSAMLMetadataRoute(t *testing.T) {
	e := newFedEnv(t, usher.Config{}, &usertest.Provider{ID: "corp", KindName: usher.ProviderSAML, Text: "Corp"})
	p := e.browser("ua").get("/user/saml/corp/metadata")
	if p.status != 200 || p.header.Get("Content-Type") != "application/samlmetadata+xml" || !strings.Contains(p.body, "EntityDescriptor") {
		t.Fatalf("metadata: %d %q\n%s", p.status, p.header.Get("Content-Type"), p.body)
	}
}

// TestSAMLACSIsCrossSiteAndBounded: the IdP's post comes from another
// site without a CSRF token and gets through to the sign-in (which
// refuses an unknown RelayState: back to the log-in page); any other
// form posted from another site is still refused; a huge body is
// refused before it is read whole.
func TestSAMLACSIsCrossSiteAndBounded(t *testing.T) {
	e := newFedEnv(t, usher.Config{}, &usertest.Provider{ID: "corp", KindName: usher.ProviderSAML, Text: "Corp"})
	b := e.browser("ua")
	post := func(path string, form url.Values) acctPage {
		req, _ := http.NewRequest("POST", e.srv.URL+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", "https://idp.example")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		res, err := b.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return acctPage{status: res.StatusCode, location: res.Header.Get("Location")}
	}
	p := post("/user/saml/corp/acs", url.Values{"SAMLResponse": {"x"}, "RelayState": {"unknown"}})
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.location, "/user/login") {
		t.Errorf("cross-site ACS post: %d → %q; want 303 to the log-in page", p.status, p.location)
	}
	if p := post("/user/logout", url.Values{}); p.status != http.StatusForbidden {
		t.Errorf("cross-site post to /user/logout: %d; want 403", p.status)
	}
	big := url.Values{"SAMLResponse": {strings.Repeat("A", 300<<10)}}
	if p := post("/user/saml/corp/acs", big); p.status != http.StatusBadRequest {
		t.Errorf("300 KiB ACS post: %d; want 400", p.status)
	}
}

// TestFederatedStartKeepsNextLocal: a sign-in whose start fails goes back
// to the log-in page, carrying next only when it is a path on this site.
func TestFederatedStartKeepsNextLocal(t *testing.T) {
	p := oidcFake("acme", "Acme")
	p.BeginErr = errors.New("the provider is down")
	e := newFedEnv(t, usher.Config{}, p)
	b := e.browser("ua")
	for _, next := range []string{"//evil.example", `/\evil.example`, "https://evil.example", "/%2F/evil.example",
		"/%5Cevil.example", "/\t/evil.example", `/./\evil.example`, "javascript:alert(1)"} {
		got := b.get("/user/federated/acme/start?next=" + url.QueryEscape(next))
		got.wantRedirect(t, "start with next "+next, "/user/login")
	}
	got := b.get("/user/federated/acme/start?intent=signup&next=" + url.QueryEscape("/welcome?a=1"))
	got.wantRedirect(t, "start with a local next", "/user/register?next="+url.QueryEscape("/welcome?a=1"))
	// The buttons carry next only when it is local, too.
	page := b.get("/user/login?next=" + url.QueryEscape("//evil.example"))
	if !strings.Contains(page.body, `href="/user/federated/acme/start?remember=1"`) {
		t.Errorf("the log-in page's button carries a foreign next:\n%s", page.body)
	}
}

func TestProviderButtons(t *testing.T) {
	signupOnly := &usertest.Provider{ID: "corp", KindName: usher.ProviderSAML, Text: "Corp SAML"}
	acme := oidcFake("acme", "Acme SSO")
	acme.NoSignup = true
	e := newFedEnv(t, usher.Config{}, acme, signupOnly)
	b := e.browser("ua")
	login := b.get("/user/login?next=%2Fapp")
	login.want(t, "log-in page", 200, `class="providers"`, "Log in with "+iso("Acme SSO"), "Log in with "+iso("Corp SAML"),
		`href="/user/federated/acme/start?next=%2Fapp&amp;remember=1"`)
	reg := b.get("/user/register?next=%2Fapp")
	reg.want(t, "sign-up page", 200, "Sign up with "+iso("Corp SAML"), `href="/user/federated/corp/start?intent=signup&amp;next=%2Fapp&amp;remember=1"`)
	if strings.Contains(reg.body, "Acme SSO") {
		t.Errorf("the sign-up page offers Acme, which does not allow sign-up")
	}
	// In Persian the buttons are translated.
	b.get("/user/login?lang=fa").want(t, "log-in page in Persian", 200, "ورود با "+iso("Acme SSO"))

	// No providers: no buttons.
	plain := newFedEnv(t, usher.Config{})
	for _, path := range []string{"/user/login", "/user/register"} {
		if p := plain.browser("ua").get(path); strings.Contains(p.body, `class="providers"`) {
			t.Errorf("%s shows provider buttons with none configured", path)
		}
	}
}

func TestProviderButtonsOnLoginOrRegister(t *testing.T) {
	e := newFedEnv(t, usher.Config{}, oidcFake("acme", "Acme"))
	mux := http.NewServeMux()
	mux.Handle("/user/", web.New(e.svc, web.Options{Logger: usertest.Discard, LoginOrRegister: true}))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	res, err := http.Get(srv.URL + "/user/login")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(res.Body)
	res.Body.Close()
	for _, want := range []string{"Log in with " + iso("Acme"), "Sign up with " + iso("Acme"), "intent=signup"} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("the combined page lacks %q", want)
		}
	}
}

// TestLinkNeedsFreshLogin: linking from the account page needs a
// logged-in user (else: log in, and come back) whose log-in is recent
// (else: log in again; the log-in page shows its form to a logged-in
// user asked to), and a start from this site.
func TestLinkNeedsFreshLogin(t *testing.T) {
	e := newFedEnv(t, usher.Config{}, oidcFake("acme", "Acme"))
	start := "/user/federated/acme/start?intent=link&next=%2Fuser%2Fprofile"
	e.browser("visitor").get(start).wantRedirect(t, "link without a session", "/user/login?next="+url.QueryEscape(start))

	b, _ := e.loggedIn("ann@example.com", "ua")
	// Another site cannot start a link in the user's browser.
	req, _ := http.NewRequest("GET", e.srv.URL+start, nil)
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if res, err := b.c.Do(req); err != nil {
		t.Fatal(err)
	} else if res.Body.Close(); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/user/profile" {
		t.Fatalf("link started from another site: %d → %q; want 303 to the account page", res.StatusCode, res.Header.Get("Location"))
	}
	e.clock.Advance(11 * time.Minute)
	b.get(start).wantRedirect(t, "link 11 minutes after logging in", "/user/login?reauth=1&next="+url.QueryEscape(start))
	b.get("/user/login?reauth=1&next="+url.QueryEscape(start)).want(t, "log in again", 200, "Log in again to link an account.", `name="password"`)
	// Logging in again makes the session fresh: the start goes on.
	b.login("ann@example.com", pw)
	p := b.get(start)
	if strings.Contains(p.location, "/user/login") {
		t.Fatalf("link right after logging in: → %q; want the provider", p.location)
	}
}

// TestBindingCookie: the start sets the binding cookie (HttpOnly, ten
// minutes, only for the provider's own path) and the callback clears it.
func TestBindingCookie(t *testing.T) {
	e := newFedEnv(t, usher.Config{}, oidcFake("acme", "Acme"))
	needsFlow(t, e.svc, "acme")
	b := e.browser("ua")
	p := b.get("/user/federated/acme/start")
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.location, e.idp.URL) {
		t.Fatalf("start: %d → %q; want the provider", p.status, p.location)
	}
	c := cookie(p.header, "usher_session_federated")
	if c == nil || !c.HttpOnly || c.MaxAge != 600 || c.Path != "/user/federated/acme" || c.SameSite != http.SameSiteLaxMode || c.Secure {
		t.Fatalf("binding cookie %+v: want HttpOnly, Max-Age 600, Path /user/federated/acme, Lax, not Secure on http://127.0.0.1", c)
	}
	back := b.get(strings.TrimPrefix(mustGetLocation(t, b, p.location), e.srv.URL))
	if c := cookie(back.header, "usher_session_federated"); c == nil || c.MaxAge >= 0 {
		t.Errorf("the callback does not clear the binding cookie: %+v", c)
	}
}

// TestFederatedStartThrottled: a start writes a state row, so the route
// is throttled per IP; the start over the limit goes back to the log-in
// page with the rate-limit message, sets no binding cookie and does not
// reach the provider.
func TestFederatedStartThrottled(t *testing.T) {
	e := newFedEnv(t, usher.Config{LoginRateLimit: 2}, oidcFake("acme", "Acme"))
	b := e.browser("ua")
	for i := range 2 {
		if p := b.get("/user/federated/acme/start"); p.status != http.StatusSeeOther || !strings.HasPrefix(p.location, e.idp.URL) {
			t.Fatalf("start %d: %d → %q; want the provider", i+1, p.status, p.location)
		}
	}
	p := b.get("/user/federated/acme/start?next=%2Fapp")
	p.wantRedirect(t, "third start in a minute", "/user/login?next=%2Fapp")
	if c := cookie(p.header, "usher_session_federated"); c != nil {
		t.Errorf("the refused start set the binding cookie %+v", c)
	}
	b.get("/user/login?next=%2Fapp").want(t, "log-in page after the refused start", 200, "Too many attempts. Please wait a moment and try again.")
}

// mustGetLocation GETs an absolute URL (the stand-in provider) and returns
// where it sends the browser.
func mustGetLocation(t *testing.T, b *acctBrowser, u string) string {
	t.Helper()
	res, err := b.c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.Header.Get("Location")
}

// TestFederatedLoginFlow: a whole sign-in through the stand-in provider
// logs in (a new account) and lands on next; a callback from another
// browser (without the binding cookie) is refused; next never leaves the
// site.
func TestFederatedLoginFlow(t *testing.T) {
	e := newFedEnv(t, usher.Config{}, oidcFake("acme", "Acme"))
	needsFlow(t, e.svc, "acme")
	b := e.browser("ua")
	p := b.get("/user/federated/acme/start?next=%2Fuser%2Fprofile&remember=1")
	cb := mustGetLocation(t, b, p.location)
	// Another browser bringing the same answer back is refused.
	other := e.browser("attacker")
	if p := other.get(strings.TrimPrefix(cb, e.srv.URL)); p.status != http.StatusSeeOther || !strings.HasPrefix(p.location, "/user/login") || cookie(p.header, "usher_session") != nil {
		t.Fatalf("callback without the binding cookie: %d → %q, session cookie %v; want 303 to the log-in page and no session", p.status, p.location, cookie(p.header, "usher_session"))
	}
	// (That spent the state: start again.)
	p = b.get("/user/federated/acme/start?next=%2Fuser%2Fprofile&remember=1")
	cb = mustGetLocation(t, b, p.location)
	done := b.get(strings.TrimPrefix(cb, e.srv.URL))
	done.wantRedirect(t, "callback", "/user/profile")
	if c := cookie(done.header, "usher_session"); c == nil || c.Value == "" {
		t.Fatalf("no session cookie after the callback")
	}
	if c := cookie(done.header, "usher_session_remember"); c == nil || c.Value == "" {
		t.Errorf("remember=1 gave no remember-me cookie")
	}
	b.get("/user/profile").want(t, "account page", 200, "Linked accounts", "Acme")

	// next that leaves the site is dropped at the start.
	b2 := e.browser("ua2")
	p = b2.get("/user/federated/acme/start?next=" + url.QueryEscape("//evil.example"))
	done = b2.get(strings.TrimPrefix(mustGetLocation(t, b2, p.location), e.srv.URL))
	if done.status != http.StatusSeeOther || strings.Contains(done.location, "evil") {
		t.Errorf("callback after next //evil.example: %d → %q", done.status, done.location)
	}
}

// TestAccountPageLinkedAccounts: the account page lists the user's
// linked accounts (label, address, dates, each with an Unlink form) and
// offers to link the providers they have none of; the Unlink form needs
// the CSRF token.
func TestAccountPageLinkedAccounts(t *testing.T) {
	e := newFedEnv(t, usher.Config{}, oidcFake("acme", "Acme SSO"), oidcFake("other", "Other ID"))
	b, u := e.loggedIn("ann@example.com", "ua")
	page := b.get("/user/profile")
	page.want(t, "account page without links", 200, "Linked accounts", "No accounts are linked",
		"Link a "+iso("Acme SSO")+" account", `href="/user/federated/acme/start?intent=link&amp;next=%2Fuser%2Fprofile"`)

	st := e.svc.Store().(usher.IdentityStore)
	id := &usher.Identity{ID: rand.Text(), UserID: u.ID, Provider: "acme", Issuer: "https://idp.example", Subject: "s1",
		Email: "ann.at.acme@example.com", LinkedAt: time.Now()}
	if err := st.CreateIdentity(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	page = b.get("/user/profile")
	page.want(t, "account page with a link", 200, "Acme SSO", `<span class="addr" dir="ltr">ann.at.acme@example.com</span>`,
		"Never", `action="/user/profile/identities/`+id.ID+`/unlink"`, "Link a "+iso("Other ID")+" account")
	if strings.Contains(page.body, "Link a "+iso("Acme SSO")+" account") {
		t.Errorf("the account page offers to link Acme again")
	}
	// Without the CSRF token the Unlink form is refused.
	if p := b.do("POST", "/user/profile/identities/"+id.ID+"/unlink", url.Values{}); p.status != http.StatusForbidden {
		t.Errorf("unlink without the CSRF token: %d; want 403", p.status)
	}
	if ids, _ := e.svc.Identities(context.Background(), u.ID); len(ids) != 1 {
		t.Fatalf("the identity went without the CSRF token")
	}

	// No providers and no links: no section.
	plain := newFedEnv(t, usher.Config{})
	pb, _ := plain.loggedIn("bob@example.com", "ua")
	if p := pb.get("/user/profile"); strings.Contains(p.body, "Linked accounts") {
		t.Errorf("the account page shows linked accounts with no provider configured")
	}
}

// TestUnlinkFlow unlinks through the account page's form.
func TestUnlinkFlow(t *testing.T) {
	e := newFedEnv(t, usher.Config{}, oidcFake("acme", "Acme SSO"))
	b, u := e.loggedIn("ann@example.com", "ua")
	id := &usher.Identity{ID: rand.Text(), UserID: u.ID, Provider: "acme", Issuer: "https://idp.example", Subject: "s1", LinkedAt: time.Now()}
	if err := e.svc.Store().(usher.IdentityStore).CreateIdentity(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.UnlinkIdentity(context.Background(), u.ID, "none", usher.Client{}); err != nil && strings.Contains(err.Error(), "not implemented") {
		t.Skip("needs the federated flow: UnlinkIdentity")
	}
	b.get("/user/profile")
	b.post("/user/profile/identities/"+id.ID+"/unlink").wantRedirect(t, "unlink", "/user/profile")
	b.get("/user/profile").want(t, "after unlinking", 200, "The account has been unlinked.", "Link a "+iso("Acme SSO")+" account")
}

// TestLinkFlow: a freshly logged-in user links an account from the
// account page; back there, a notice says so and the list shows it.
func TestLinkFlow(t *testing.T) {
	p := oidcFake("acme", "Acme SSO")
	p.Ext.Email = "ann.elsewhere@example.com"
	e := newFedEnv(t, usher.Config{}, p)
	needsFlow(t, e.svc, "acme")
	b, _ := e.loggedIn("ann@example.com", "ua")
	start := b.get("/user/federated/acme/start?intent=link&next=%2Fuser%2Fprofile")
	done := b.get(strings.TrimPrefix(mustGetLocation(t, b, start.location), e.srv.URL))
	done.wantRedirect(t, "link callback", "/user/profile")
	b.get("/user/profile").want(t, "account page after linking", 200, "The account has been linked.",
		`<span class="addr" dir="ltr">ann.elsewhere@example.com</span>`)
}

// TestRememberFlagCannotBeForged: the remember-me choice travels in the
// binding cookie's hashed value, so a browser that turns it on after the
// start is refused.
func TestRememberFlagCannotBeForged(t *testing.T) {
	e := newFedEnv(t, usher.Config{}, oidcFake("acme", "Acme"))
	needsFlow(t, e.svc, "acme")
	b := e.browser("ua")
	start := b.get("/user/federated/acme/start")
	c := cookie(start.header, "usher_session_federated")
	if c == nil || !strings.HasPrefix(c.Value, "0.") {
		t.Fatalf("binding cookie %+v; want a value starting 0. (no remember-me)", c)
	}
	u, _ := url.Parse(e.srv.URL + "/user/federated/acme/callback")
	b.jar.SetCookies(u, []*http.Cookie{{Name: c.Name, Value: "1." + strings.TrimPrefix(c.Value, "0."), Path: c.Path}})
	done := b.get(strings.TrimPrefix(mustGetLocation(t, b, start.location), e.srv.URL))
	if done.status != http.StatusSeeOther || !strings.HasPrefix(done.location, "/user/login") || cookie(done.header, "usher_session") != nil {
		t.Fatalf("callback with the flag turned on: %d → %q; want the log-in page, no session", done.status, done.location)
	}
}
