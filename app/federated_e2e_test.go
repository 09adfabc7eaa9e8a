package app_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"html"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/usher-auth/usher"
	"github.com/usher-auth/usher/app"
	"github.com/usher-auth/usher/federated"
	"github.com/usher-auth/usher/federated/federatedtest"
	"github.com/usher-auth/usher/i18n"
	"github.com/usher-auth/usher/internal/smtptest"
	"github.com/usher-auth/usher/mfa"
	"github.com/usher-auth/usher/usertest"
)

// The whole stack over HTTP, with the real providers: package federated's
// oidc kind at an in-process zitadel OP, and its saml kind at an
// in-process crewjam samlidp IdP, configured as [[providers]] entries
// through app.Config; a browser is an http.Client with a cookie jar.

// fedSite is the app with two providers: "op" (kind oidc, trusting the
// OP's email_verified) and "corp" (kind saml).
type fedSite struct {
	URL  string
	App  *app.App
	Mail *smtptest.Server
	OP   *federatedtest.OP
	IdP  *federatedtest.SAMLIdP
	Log  *usertest.LogBuffer
}

// opUsers are the OP's users: the address of each is <username>@example.com,
// verified but for bob's.
func opUsers() []federatedtest.OPUser {
	var us []federatedtest.OPUser
	for _, n := range []string{"alice", "bob", "carol", "dave", "eve", "frank", "gina", "hugo"} {
		us = append(us, federatedtest.OPUser{ID: "id-" + n, Username: n, Password: federatedtest.OPPassword,
			Email: n + "@example.com", EmailVerified: n != "bob", FirstName: strings.ToUpper(n[:1]) + n[1:], LastName: "Example"})
	}
	return us
}

const samlPassword = "saml-password"

// startFedSite starts the OP, the SAML IdP and the app over database
// (secretKey: "" for SQLite's key file), and registers the app's SAML
// service provider at the IdP from /user/saml/corp/metadata.
func startFedSite(t *testing.T, database, secretKey string) *fedSite {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	op := federatedtest.NewOPWithUsers(t, opUsers(), base+"/user/federated/op/callback")
	idp := federatedtest.NewSAMLIdP(t)
	s := &fedSite{URL: base, OP: op, IdP: idp, Log: &usertest.LogBuffer{}}
	cfg := fedConfig(t, s, database, secretKey)
	s.Mail = smtptest.Start(t)
	cfg.SMTPURL = s.Mail.URL()
	s.App = openApp(t, cfg, s.Log)
	srv := httptest.NewUnstartedServer(s.App.Handler())
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	idp.RegisterSPFromURL(t, nil, "usher", base+"/user/saml/corp/metadata")
	idp.AddUser(t, federatedtest.SAMLUser{Name: "sam", Password: samlPassword, Email: "sam@example.com", CommonName: "Sam Example"})
	return s
}

// fedConfig is the site's configuration: its providers as [[providers]].
func fedConfig(t *testing.T, s *fedSite, database, secretKey string) app.Config {
	cfg := app.Defaults()
	cfg.Database = database
	cfg.SecretKey = secretKey
	cfg.MailFrom = "accounts@example.com"
	cfg.BaseURL = s.URL
	cfg.Providers = []federated.Config{
		{Name: "op", Kind: usher.ProviderOIDC, Label: "Test OP", Issuer: s.OP.Issuer, ClientID: s.OP.ClientID,
			ClientSecret: s.OP.ClientSecret, TrustEmailVerified: true},
		{Name: "corp", Kind: usher.ProviderSAML, Label: "Corp SSO", IdPMetadataURL: s.IdP.MetadataURL()},
	}
	return cfg
}

func openApp(t *testing.T, cfg app.Config, log io.Writer) *app.App {
	t.Helper()
	a, err := app.Open(context.Background(), cfg, slog.New(slog.NewTextHandler(log, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// fedBrowser is a browser without JavaScript: a cookie jar, redirects
// seen one by one.
type fedBrowser struct {
	t *testing.T
	c *http.Client
	s *fedSite
}

func (s *fedSite) browser(t *testing.T) *fedBrowser {
	return &fedBrowser{t: t, c: federatedtest.Browser(nil), s: s}
}

// get fetches u (absolute, or a path of the site) without following.
func (b *fedBrowser) get(u string) *http.Response {
	b.t.Helper()
	if strings.HasPrefix(u, "/") {
		u = b.s.URL + u
	}
	res, err := b.c.Get(u)
	if err != nil {
		b.t.Fatal(err)
	}
	return res
}

// land opens u and follows the redirects; it returns the last address
// (its path and query) and the page's text, HTML entities decoded.
func (b *fedBrowser) land(u string) (string, string) {
	b.t.Helper()
	res := b.get(u)
	return b.follow(res)
}

func (b *fedBrowser) follow(res *http.Response) (string, string) {
	b.t.Helper()
	for range 10 {
		if res.StatusCode < 300 || res.StatusCode > 399 {
			break
		}
		res.Body.Close()
		loc, err := res.Location()
		if err != nil {
			b.t.Fatal(err)
		}
		res = b.get(loc.String())
	}
	raw, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		b.t.Fatalf("%s: %d\n%s", res.Request.URL, res.StatusCode, raw)
	}
	return res.Request.URL.RequestURI(), html.UnescapeString(string(raw))
}

// start opens the provider's start and returns where it sends the
// browser (the provider's address).
func (b *fedBrowser) start(provider, query string) string {
	b.t.Helper()
	res := b.get("/user/federated/" + provider + "/start" + query)
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther {
		b.t.Fatalf("start at %s: %d", provider, res.StatusCode)
	}
	return res.Header.Get("Location")
}

// atOP logs in at the OP as user, from a sign-in started with query, and
// returns the callback address the OP sends the browser to (not opened).
func (b *fedBrowser) atOP(user, query string) string {
	b.t.Helper()
	authURL := b.start("op", query)
	if !strings.HasPrefix(authURL, b.s.OP.Issuer+"/") {
		b.t.Fatalf("start sent the browser to %s, not the OP", authURL)
	}
	return b.s.OP.Login(b.t, b.c, authURL, user, federatedtest.OPPassword, b.s.URL+"/user/federated/op/callback").URL.String()
}

// cookie returns the browser's cookie name for the site's path p.
func (b *fedBrowser) cookie(p, name string) *http.Cookie {
	u, _ := url.Parse(b.s.URL + p)
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// me returns the logged-in user's address, or "" (no session).
func (b *fedBrowser) me() string {
	b.t.Helper()
	res := b.get("/user/api/me")
	defer res.Body.Close()
	if res.StatusCode == http.StatusUnauthorized {
		return ""
	}
	var me struct {
		User struct {
			Email string `json:"email"`
		} `json:"user"`
	}
	if err := json.NewDecoder(res.Body).Decode(&me); err != nil || res.StatusCode != 200 {
		b.t.Fatalf("GET /user/api/me: %d %v", res.StatusCode, err)
	}
	return me.User.Email
}

// post submits a page's form: its hidden fields (the CSRF token) and kv.
func (b *fedBrowser) post(page, action string, kv ...string) (string, string) {
	b.t.Helper()
	form := url.Values{}
	for _, m := range hiddenInput.FindAllStringSubmatch(page, -1) {
		form.Set(m[1], html.UnescapeString(m[2]))
	}
	for i := 0; i+1 < len(kv); i += 2 {
		form.Set(kv[i], kv[i+1])
	}
	req, _ := http.NewRequest("POST", b.s.URL+action, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", b.s.URL)
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.follow(res)
}

// logIn logs in with the password on the log-in page.
func (b *fedBrowser) logIn(email string) {
	b.t.Helper()
	_, page := b.land("/user/login")
	if at, _ := b.post(page, "/user/login", "login", email, "password", pw); strings.HasPrefix(at, "/user/login") {
		b.t.Fatalf("password log-in of %s ended at %s", email, at)
	}
}

var enCat = i18n.Default()

// wantMessage fails unless page shows the English text of message id.
func wantMessage(t *testing.T, what, page, id string) {
	t.Helper()
	if want := enCat.Text("en", id); !strings.Contains(page, want) {
		t.Errorf("%s: the page does not say %q (%s)", what, want, id)
	}
}

// wantRefused opens the provider's answer at callbackURL and fails unless
// it ends on the log-in page with message id, without a session.
func (b *fedBrowser) wantRefused(what, callbackURL, id string) {
	b.t.Helper()
	at, page := b.land(callbackURL)
	if !strings.HasPrefix(at, "/user/login") || b.me() != "" {
		b.t.Fatalf("%s: at %s, logged in as %q; want the log-in page, no session", what, at, b.me())
	}
	wantMessage(b.t, what, page, id)
}

// noIdentity fails if the OP's subject of user is linked to anyone.
func (s *fedSite) noIdentity(t *testing.T, user string) {
	t.Helper()
	if id, err := s.App.Store.IdentityBySubject(context.Background(), s.OP.Issuer, "id-"+user); !errors.Is(err, usher.ErrNotFound) {
		t.Errorf("identity %s at the OP: %+v, %v; want none", user, id, err)
	}
}

func (s *fedSite) user(t *testing.T, email string) *usher.User {
	t.Helper()
	u, err := s.App.Store.UserByEmail(context.Background(), email)
	if err != nil {
		t.Fatalf("user %s: %v", email, err)
	}
	return u
}

func (s *fedSite) createUser(t *testing.T, email string, confirmed bool) *usher.User {
	t.Helper()
	u, err := s.App.Service.CreateUser(context.Background(), usher.NewUser{Email: email, Password: pw, Enabled: true, Confirmed: confirmed})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestFederatedEndToEnd: the federated sign-in's cases through the whole
// app, over HTTP, with the real oidc provider at a real OP.
func TestFederatedEndToEnd(t *testing.T) {
	s := startFedSite(t, filepath.Join(t.TempDir(), "u.db"), "")
	ctx := context.Background()
	callback := s.URL + "/user/federated/op/callback"

	t.Run("sign-up, log-out, log-in by subject", func(t *testing.T) {
		b := s.browser(t)
		at, page := b.land(b.atOP("alice", "?next=%2Fuser%2Fprofile"))
		if at != "/user/profile" || b.me() != "alice@example.com" || b.cookie("/user/", "usher_session") == nil {
			t.Fatalf("after signing up at the OP: at %s, me %q, session cookie %v", at, b.me(), b.cookie("/user/", "usher_session"))
		}
		for _, want := range []string{"alice@example.com", "Test OP"} {
			if !strings.Contains(page, want) {
				t.Errorf("the account page lacks %q", want)
			}
		}
		u := s.user(t, "alice@example.com")
		if !u.EmailConfirmed() || u.PasswordHash != "" {
			t.Errorf("the new account: confirmed %v, password %q; want confirmed (the OP verified it, trusted) and no password", u.EmailConfirmed(), u.PasswordHash)
		}
		// Log out (the page's form), then log in again, the account's
		// address changed meanwhile: found by (issuer, subject), not by
		// address.
		_, page = b.land("/user/logout")
		b.post(page, "/user/logout")
		if b.me() != "" {
			t.Fatal("still logged in after logging out")
		}
		renamed := "alice.renamed@example.com"
		if err := s.App.Store.UpdateUser(ctx, u.ID, usher.UserUpdate{Email: &renamed}); err != nil {
			t.Fatal(err)
		}
		b.land(b.atOP("alice", ""))
		if got := b.me(); got != renamed {
			t.Fatalf("log-in again: logged in as %q; want %s (the account the subject is linked to)", got, renamed)
		}
		if _, err := s.App.Store.UserByEmail(ctx, "alice@example.com"); !errors.Is(err, usher.ErrNotFound) {
			t.Errorf("a second account was made for the OP's address: %v", err)
		}
		ids, _ := s.App.Service.Identities(ctx, u.ID)
		if len(ids) != 1 || ids[0].Subject != "id-alice" || ids[0].Issuer != s.OP.Issuer || ids[0].LastUsedAt.IsZero() {
			t.Errorf("identities after two log-ins: %+v", ids)
		}
	})

	t.Run("a second factor is still asked", func(t *testing.T) {
		s.createUser(t, "dave@example.com", true)
		secret := enrolTOTPOverAPI(t, s, "dave@example.com")
		b := s.browser(t)
		at, page := b.land(b.atOP("dave", "?next=%2Fuser%2Fprofile"))
		if !strings.HasPrefix(at, "/user/mfa/verify") || b.me() != "" {
			t.Fatalf("federated log-in of a user with an authenticator: at %s, me %q; want the second step, no session", at, b.me())
		}
		code := mfa.TOTPCode(secret, time.Now().Add(30*time.Second)) // the enrolment used this step's code
		at, _ = b.post(page, at, "code", code)
		if at != "/user/profile" || b.me() != "dave@example.com" {
			t.Fatalf("after the second step: at %s, me %q", at, b.me())
		}
	})

	t.Run("link from the account page, then unlink", func(t *testing.T) {
		s.createUser(t, "carol@example.com", true)
		b := s.browser(t)
		b.logIn("carol@example.com")
		_, page := b.land("/user/profile")
		if !strings.Contains(page, "/user/federated/op/start?intent=link") {
			t.Fatalf("the account page offers no link to Test OP")
		}
		// bob: an address the OP did not verify, which linking does not need.
		at, page := b.land(b.atOP("bob", "?intent=link&next=%2Fuser%2Fprofile"))
		if at != "/user/profile" || !strings.Contains(page, enCat.Text("en", "The account has been linked.")) || !strings.Contains(page, "bob@example.com") {
			t.Fatalf("after linking: at %s\n%s", at, page)
		}
		u := s.user(t, "carol@example.com")
		ids, _ := s.App.Service.Identities(ctx, u.ID)
		if len(ids) != 1 || ids[0].Subject != "id-bob" {
			t.Fatalf("carol's identities: %+v", ids)
		}
		s.Mail.WaitFor("carol@example.com", "A new way to log in was added", 1)
		at, page = b.post(page, "/user/profile/identities/"+ids[0].ID+"/unlink")
		if at != "/user/profile" || !strings.Contains(page, enCat.Text("en", "The account has been unlinked.")) {
			t.Fatalf("after unlinking: at %s", at)
		}
		if ids, _ := s.App.Service.Identities(ctx, u.ID); len(ids) != 0 {
			t.Errorf("still linked: %+v", ids)
		}
		s.Mail.WaitFor("carol@example.com", "A way to log in was removed", 1)
		// bob's identity, unlinked, is no way into carol's account.
		c := s.browser(t)
		c.land(c.atOP("bob", ""))
		if got := c.me(); got == "carol@example.com" {
			t.Error("the unlinked identity still logs in to carol's account")
		}
	})

	t.Run("pre-hijacking: an unconfirmed account with the address", func(t *testing.T) {
		attacker := s.browser(t)
		if st, body := postJSON(t, attacker.c, s.URL+"/user/api/signup", map[string]any{"email": "eve@example.com", "password": pw}); st/100 != 2 {
			t.Fatalf("the attacker's sign-up: %d %v", st, body)
		}
		victim := s.browser(t)
		victim.wantRefused("the victim's sign-in", victim.atOP("eve", ""), "link_required")
		s.noIdentity(t, "eve")
		if s.user(t, "eve@example.com").EmailConfirmed() {
			t.Error("the victim's verified identity confirmed the attacker's account")
		}
	})

	t.Run("a disabled account is refused", func(t *testing.T) {
		u := s.createUser(t, "frank@example.com", true)
		if err := s.App.Service.DisableUser(ctx, u.ID); err != nil {
			t.Fatal(err)
		}
		b := s.browser(t)
		b.wantRefused("disabled account", b.atOP("frank", ""), "account_not_enabled")
		s.noIdentity(t, "frank")
		// An account whose identity is linked: found by subject, refused
		// all the same.
		alice := s.user(t, "alice.renamed@example.com")
		if err := s.App.Service.DisableUser(ctx, alice.ID); err != nil {
			t.Fatal(err)
		}
		b.wantRefused("disabled account with a linked identity", b.atOP("alice", ""), "account_not_enabled")
	})

	t.Run("another browser's callback is refused", func(t *testing.T) {
		victim, attacker := s.browser(t), s.browser(t)
		attacker.start("op", "") // the attacker has a binding cookie of their own
		cb := victim.atOP("gina", "")
		attacker.wantRefused("the victim's answer in the attacker's browser", cb, "federated_refused")
		if !strings.Contains(s.Log.String(), "state of another browser") {
			t.Error("the log does not say why")
		}
		// The state was spent by that try: the victim's own browser is
		// refused too, and starts again.
		if at, _ := victim.land(cb); !strings.HasPrefix(at, "/user/login") || victim.me() != "" {
			t.Fatalf("a spent state: at %s, me %q", at, victim.me())
		}
		s.noIdentity(t, "gina")
	})

	t.Run("a state replayed is refused", func(t *testing.T) {
		b := s.browser(t)
		cb := b.atOP("hugo", "")
		binding := b.cookie("/user/federated/op/callback", "usher_session_federated")
		if binding == nil {
			t.Fatal("no binding cookie after the start")
		}
		b.land(cb)
		if b.me() != "hugo@example.com" {
			t.Fatal("the sign-in failed")
		}
		// The same answer, with the binding cookie it came with, from a
		// browser without a session (someone who copied both).
		replay := s.browser(t)
		u, _ := url.Parse(s.URL + "/user/federated/op/")
		replay.c.Jar.SetCookies(u, []*http.Cookie{binding})
		replay.wantRefused("the replay", cb, "federated_refused")
		if !strings.Contains(s.Log.String(), "unknown, used or expired state") {
			t.Error("the log does not say why")
		}
	})

	t.Run("cancelled at the provider", func(t *testing.T) {
		b := s.browser(t)
		authURL, _ := url.Parse(b.start("op", ""))
		q := url.Values{"state": {authURL.Query().Get("state")}, "error": {"access_denied"}}
		b.wantRefused("cancelled", callback+"?"+q.Encode(), "federated_cancelled")
		// In another language, its own words.
		authURL, _ = url.Parse(b.start("op", ""))
		q.Set("state", authURL.Query().Get("state"))
		res := b.get(callback + "?" + q.Encode())
		res.Body.Close()
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/user/login" {
			t.Fatalf("cancelled: %d → %q", res.StatusCode, res.Header.Get("Location"))
		}
		_, page := b.land("/user/login?lang=de")
		if want := enCat.Text("de", "federated_cancelled"); !strings.Contains(page, want) {
			t.Errorf("in German, the page does not say %q", want)
		}
	})

	t.Run("SAML sign-up through the ACS, the response posted twice", func(t *testing.T) {
		b := s.browser(t)
		action, fields := b.atIdP(s, "/user/federated/corp/start?next=%2Fuser%2Fprofile")
		binding := b.cookie("/user/saml/corp/acs", "usher_session_federated")
		at, page := b.postACS(action, fields)
		if at != "/user/profile" || b.me() != "sam@example.com" || !strings.Contains(page, "Corp SSO") {
			t.Fatalf("SAML sign-in: at %s, me %q", at, b.me())
		}
		replay := s.browser(t)
		u, _ := url.Parse(action)
		replay.c.Jar.SetCookies(u, []*http.Cookie{binding})
		at, page = replay.postACS(action, fields)
		if !strings.HasPrefix(at, "/user/login") || replay.me() != "" {
			t.Fatalf("the same response again: at %s, me %q", at, replay.me())
		}
		wantMessage(t, "SAML replay", page, "federated_refused")
	})

	// Federated log-ins are counted under the provider's name.
	_, fams := scrape(t, s.App)
	for _, l := range []struct {
		provider, result string
	}{{"op", "success"}, {"op", "failure"}, {"corp", "success"}} {
		if v, ok := value(fams, "usher_federated_logins_total", "provider", l.provider, "result", l.result); !ok || v < 1 {
			t.Errorf("usher_federated_logins_total{provider=%q,result=%q} = %v (%v); want at least 1", l.provider, l.result, v, ok)
		}
	}
	if v, ok := value(fams, "usher_federated_logins_total", "provider", "other", "result", "success"); ok && v > 0 {
		t.Errorf("federated log-ins counted as other: %v", v)
	}
}

// atIdP starts a SAML sign-in and logs in at the IdP as sam; it returns
// the IdP's form for the ACS (not posted).
func (b *fedBrowser) atIdP(s *fedSite, start string) (string, url.Values) {
	b.t.Helper()
	res := b.get(start)
	res.Body.Close()
	authURL := res.Header.Get("Location")
	if !strings.HasPrefix(authURL, s.IdP.SSOURL()) {
		b.t.Fatalf("the SAML start sent the browser to %q, not the IdP", authURL)
	}
	action, fields := s.IdP.LogIn(b.t, b.c, authURL, "sam", samlPassword)
	if action != s.URL+"/user/saml/corp/acs" {
		b.t.Fatalf("the IdP posts to %s, not the ACS", action)
	}
	return action, fields
}

// postACS posts the IdP's form to action as the IdP's page does.
func (b *fedBrowser) postACS(action string, fields url.Values) (string, string) {
	b.t.Helper()
	req, _ := http.NewRequest("POST", action, strings.NewReader(fields.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", b.s.IdP.URL())
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.follow(res)
}

// enrolTOTPOverAPI gives the account an authenticator app through the
// JSON API and returns its secret.
func enrolTOTPOverAPI(t *testing.T, s *fedSite, email string) []byte {
	t.Helper()
	c := browser()
	if st, body := postJSON(t, c, s.URL+"/user/api/login", map[string]any{"email": email, "password": pw}); st != 200 {
		t.Fatalf("log-in: %d %v", st, body)
	}
	st, setup := postJSON(t, c, s.URL+"/user/api/mfa/totp/secret", map[string]any{})
	if st != 200 {
		t.Fatalf("totp secret: %d %v", st, setup)
	}
	secret, err := mfa.DecodeSecret(setup["secret"].(string))
	if err != nil {
		t.Fatal(err)
	}
	if st, body := postJSON(t, c, s.URL+"/user/api/mfa/methods", map[string]any{"password": pw, "mfa_method": setup["mfa_method"],
		"code": mfa.TOTPCode(secret, time.Now()), "name": "Phone"}); st != 201 {
		t.Fatalf("add method: %d %v", st, body)
	}
	return secret
}

// TestSAMLResponseReplayedAcrossInstances: two instances of the app on one
// PostgreSQL database (USHER_TEST_POSTGRES), one base URL: a response the
// first accepted, posted to the second's ACS with its binding cookie, is
// refused; a fresh sign-in started on the first and finished on the
// second works (the second is not merely broken).
func TestSAMLResponseReplayedAcrossInstances(t *testing.T) {
	db := usertest.PostgresAddress(t)
	key := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
	s := startFedSite(t, db, key)
	second := *s
	second.Log = &usertest.LogBuffer{}
	second.App = openApp(t, fedConfig(t, s, db, key), second.Log)
	srv2 := httptest.NewServer(second.App.Handler())
	t.Cleanup(srv2.Close)
	acs2 := srv2.URL + "/user/saml/corp/acs"

	b := s.browser(t)
	action, fields := b.atIdP(s, "/user/federated/corp/start")
	binding := b.cookie("/user/saml/corp/acs", "usher_session_federated")
	if at, _ := b.postACS(action, fields); b.me() != "sam@example.com" {
		t.Fatalf("instance 1: at %s, not logged in", at)
	}
	replay := s.browser(t)
	u, _ := url.Parse(acs2)
	replay.c.Jar.SetCookies(u, []*http.Cookie{binding})
	res := post(t, replay.c, acs2, fields, s.IdP.URL())
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/user/login") || hasCookie(res, "usher_session") {
		t.Fatalf("instance 2, the same response: %d → %q; want 303 to the log-in page and no session", res.StatusCode, res.Header.Get("Location"))
	}
	if !strings.Contains(second.Log.String(), "unknown, used or expired state") {
		t.Errorf("instance 2's log does not say why:\n%s", second.Log)
	}

	// A fresh sign-in, started on instance 1, posted to instance 2.
	c := s.browser(t)
	_, fields = c.atIdP(s, "/user/federated/corp/start")
	binding = c.cookie("/user/saml/corp/acs", "usher_session_federated")
	other := s.browser(t)
	other.c.Jar.SetCookies(u, []*http.Cookie{binding})
	res = post(t, other.c, acs2, fields, s.IdP.URL())
	if res.StatusCode != http.StatusSeeOther || !hasCookie(res, "usher_session") {
		t.Fatalf("instance 2, a fresh response: %d → %q; want a session", res.StatusCode, res.Header.Get("Location"))
	}
}

func post(t *testing.T, c *http.Client, u string, form url.Values, origin string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("POST", u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", origin)
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res
}

func hasCookie(res *http.Response, name string) bool {
	for _, c := range res.Cookies() {
		if c.Name == name && c.Value != "" && c.MaxAge >= 0 {
			return true
		}
	}
	return false
}
