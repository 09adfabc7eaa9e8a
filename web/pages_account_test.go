package web_test

import (
	"bytes"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/usher-auth/usher"
	"github.com/usher-auth/usher/mfa"
	"github.com/usher-auth/usher/mfa/webauthn"
	"github.com/usher-auth/usher/password"
	"github.com/usher-auth/usher/usertest"
	"github.com/usher-auth/usher/web"
)

// acctEnv is a test server for the account pages: Usher's routes under
// /user/ over a real SQLite file, with second factors when asked.
type acctEnv struct {
	t   *testing.T
	srv *httptest.Server
	svc *usher.Service
}

// postJSON posts body as JSON to path, with no cookies, and returns the
// status and the decoded answer.
func (e *acctEnv) postJSON(path string, body any) (int, map[string]any) {
	e.t.Helper()
	buf, _ := json.Marshal(body)
	res, err := http.Post(e.srv.URL+path, "application/json", bytes.NewReader(buf))
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	json.NewDecoder(res.Body).Decode(&out)
	return res.StatusCode, out
}

func newAcctEnv(t *testing.T, cfg usher.Config, withMFA bool) *acctEnv {
	t.Helper()
	d := usher.Deps{Store: usertest.NewSQLiteStore(t), Passwords: usertest.FastHasher(), Policy: password.Policy{}, Logger: usertest.Discard}
	if withMFA {
		sealer, err := mfa.NewSealer(mfa.NewKey())
		if err != nil {
			t.Fatal(err)
		}
		d.MFA, d.WebAuthn, d.Sealer = mfa.Provider{}, webauthn.Provider{}, sealer
	}
	return newAcctEnvWith(t, cfg, d)
}

// newAcctEnvWith is newAcctEnv over a Service with the dependencies d.
func newAcctEnvWith(t *testing.T, cfg usher.Config, d usher.Deps) *acctEnv {
	t.Helper()
	svc, err := usher.New(cfg, d)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	mux := http.NewServeMux()
	mux.Handle("/user/", web.New(svc, web.Options{Logger: usertest.Discard}))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &acctEnv{t: t, srv: srv, svc: svc}
}

// acctBrowser is a browser without JavaScript: a cookie jar, a
// User-Agent of its own (to tell its session apart), and redirects not
// followed so that tests see each 303.
type acctBrowser struct {
	e   *acctEnv
	c   *http.Client
	jar *cookiejar.Jar
	ua  string
}

func (e *acctEnv) browser(ua string) *acctBrowser {
	jar, _ := cookiejar.New(nil)
	return &acctBrowser{e: e, jar: jar, ua: ua, c: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// acctPage is an answer: status, Location and body.
type acctPage struct {
	status   int
	location string
	header   http.Header
	body     string
}

func (b *acctBrowser) do(method, path string, form url.Values) acctPage {
	b.e.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.e.srv.URL+path, body)
	if err != nil {
		b.e.t.Fatal(err)
	}
	req.Header.Set("User-Agent", b.ua)
	req.Header.Set("Accept", "text/html")
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	res, err := b.c.Do(req)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return acctPage{status: res.StatusCode, location: res.Header.Get("Location"), header: res.Header, body: string(raw)}
}

func (b *acctBrowser) get(path string) acctPage {
	b.e.t.Helper()
	return b.do("GET", path, nil)
}

// csrf returns the browser's CSRF token, from its cookie (a page it got
// set it).
func (b *acctBrowser) csrf() string {
	u, _ := url.Parse(b.e.srv.URL + "/")
	for _, c := range b.jar.Cookies(u) {
		if c.Name == "usher_session_csrf" {
			return c.Value
		}
	}
	return ""
}

// post submits a form as the page's form does, with the CSRF token.
func (b *acctBrowser) post(path string, kv ...string) acctPage {
	b.e.t.Helper()
	if b.csrf() == "" {
		b.get("/user/login")
	}
	form := url.Values{"csrf_token": {b.csrf()}}
	for i := 0; i+1 < len(kv); i += 2 {
		form.Add(kv[i], kv[i+1])
	}
	return b.do("POST", path, form)
}

// login logs the browser in through the log-in page.
func (b *acctBrowser) login(email, pass string) {
	b.e.t.Helper()
	b.get("/user/login")
	if p := b.post("/user/login", "login", email, "password", pass); p.status != http.StatusSeeOther {
		b.e.t.Fatalf("log-in of %s: %d %s", email, p.status, p.body)
	}
}

// loggedIn returns a browser logged in as a new user with email.
func (e *acctEnv) loggedIn(email, ua string) (*acctBrowser, *usher.User) {
	e.t.Helper()
	u := usertest.MustCreateUser(e.t, e.svc, email)
	b := e.browser(ua)
	b.login(email, pw)
	return b, u
}

// wantRedirect fails the test unless p is a 303 to to.
func (p acctPage) wantRedirect(t *testing.T, what, to string) {
	t.Helper()
	if p.status != http.StatusSeeOther || p.location != to {
		t.Fatalf("%s: %d → %q; want 303 → %q\n%s", what, p.status, p.location, to, p.body)
	}
}

// want fails the test unless p has status and contains each string.
func (p acctPage) want(t *testing.T, what string, status int, contains ...string) {
	t.Helper()
	if p.status != status {
		t.Fatalf("%s: %d (→ %q); want %d\n%s", what, p.status, p.location, status, p.body)
	}
	for _, s := range contains {
		if !strings.Contains(p.body, s) {
			t.Errorf("%s: page lacks %q\n%s", what, s, p.body)
		}
	}
}

// hidden returns the value of the page's hidden input name.
func (p acctPage) hidden(t *testing.T, name string) string {
	t.Helper()
	m := regexp.MustCompile(`<input type="hidden" name="` + name + `" value="([^"]*)"`).FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no hidden input %s in\n%s", name, p.body)
	}
	return html.UnescapeString(m[1])
}

func TestAccountPagesSendVisitorsToLogin(t *testing.T) {
	e := newAcctEnv(t, usher.Config{EnableUsername: true, EnableMultipleEmails: true}, true)
	b := e.browser("visitor")
	for _, path := range []string{"/user/profile", "/user/change-password", "/user/change-username", "/user/manage-emails", "/user/invite", "/user/mfa", "/user/profile?tab=1"} {
		b.get(path).wantRedirect(t, "GET "+path, "/user/login?next="+url.QueryEscape(path))
	}
	// A form's POST comes back to the form's page, not to its POST-only
	// address.
	for path, page := range map[string]string{
		"/user/profile/sessions/revoke-others": "/user/profile",
		"/user/profile/sessions/x/revoke":      "/user/profile",
		"/user/manage-emails/x/remove":         "/user/manage-emails",
		"/user/mfa/recovery-codes":             "/user/mfa",
		"/user/invite":                         "/user/invite",
	} {
		b.post(path, "email", "bob@example.com").wantRedirect(t, "POST "+path, "/user/login?next="+url.QueryEscape(page))
	}
}

func TestAccountFeaturePagesOff(t *testing.T) {
	e := newAcctEnv(t, usher.Config{}, false)
	b, _ := e.loggedIn("ann@example.com", "firefox")
	for _, path := range []string{"/user/change-username", "/user/manage-emails"} {
		b.get(path).want(t, "GET "+path, http.StatusNotFound)
	}
	b.post("/user/manage-emails", "email", "ann@work.example").want(t, "POST add address", http.StatusNotFound)
	p := b.get("/user/profile")
	p.want(t, "profile", http.StatusOK)
	if strings.Contains(p.body, "/user/manage-emails") || strings.Contains(p.body, "/user/change-username") {
		t.Errorf("profile links to pages that are off:\n%s", p.body)
	}
	b.get("/user/mfa").want(t, "mfa without second factors configured", http.StatusOK, "not available")
}

func TestAccountPagesRefuseMissingCSRFToken(t *testing.T) {
	e := newAcctEnv(t, usher.Config{}, false)
	b, u := e.loggedIn("ann@example.com", "firefox")
	b.get("/user/change-password")
	for _, token := range []string{"", "AAAAAAAAAAAAAAAAAAAAAAAAAA"} {
		form := url.Values{"old_password": {pw}, "new_password": {"a brand new password"}, "retype_password": {"a brand new password"}}
		if token != "" {
			form.Set("csrf_token", token)
		}
		b.do("POST", "/user/change-password", form).want(t, "change password with token "+token, http.StatusForbidden)
		b.do("POST", "/user/invite", url.Values{"csrf_token": {token}, "email": {"bob@example.com"}}).want(t, "invite with token "+token, http.StatusForbidden)
	}
	if _, _, err := e.svc.LoginWithEmail(t.Context(), u.Email, pw, false, usher.Client{}); err != nil {
		t.Errorf("old password after refused forms: %v", err)
	}
	if msgs, _ := e.svc.Store().ListMessages(t.Context(), "bob@example.com", 10); len(msgs) != 0 {
		t.Errorf("refused invitation sent %d e-mails", len(msgs))
	}
}

func TestChangePasswordPage(t *testing.T) {
	e := newAcctEnv(t, usher.Config{}, false)
	b, u := e.loggedIn("ann@example.com", "firefox")
	other := e.browser("safari")
	other.login(u.Email, pw)
	const newPW = "a brand new password"

	b.get("/user/change-password").want(t, "GET", http.StatusOK, `name="old_password"`, `name="retype_password"`)
	p := b.post("/user/change-password", "old_password", pw, "new_password", newPW, "retype_password", newPW+"!")
	p.want(t, "mismatch", http.StatusUnprocessableEntity, `id="e-retype_password"`, "do not match")
	p = b.post("/user/change-password", "old_password", "wrong password!", "new_password", newPW, "retype_password", newPW)
	p.want(t, "wrong old password", http.StatusUnauthorized, `id="e-old_password"`)
	p = b.post("/user/change-password", "old_password", pw, "new_password", "short", "retype_password", "short")
	p.want(t, "weak new password", http.StatusUnprocessableEntity, `id="e-new_password"`)
	if _, _, err := e.svc.LoginWithEmail(t.Context(), u.Email, pw, false, usher.Client{}); err != nil {
		t.Fatalf("old password after refused changes: %v", err)
	}

	p = b.post("/user/change-password", "old_password", pw, "new_password", newPW, "retype_password", newPW, "next", "/welcome")
	p.wantRedirect(t, "change", "/welcome")
	b.get("/user/profile").want(t, "flash after change", http.StatusOK, "Your password has been changed.")
	if _, _, err := e.svc.LoginWithEmail(t.Context(), u.Email, newPW, false, usher.Client{}); err != nil {
		t.Errorf("log-in with the new password: %v", err)
	}
	b.get("/user/profile").want(t, "profile after change", http.StatusOK)
	other.get("/user/profile").wantRedirect(t, "other device after change", "/user/login?next=%2Fuser%2Fprofile")
	// An open redirect is refused: next must be a path on this site.
	p = b.post("/user/change-password", "old_password", newPW, "new_password", pw, "retype_password", pw, "next", "//evil.example/")
	p.wantRedirect(t, "change with a foreign next", "/user/profile")
}

func TestChangePasswordPageRequiredByAdmin(t *testing.T) {
	e := newAcctEnv(t, usher.Config{}, false)
	u := usertest.MustCreateUser(t, e.svc, "ann@example.com")
	if err := e.svc.RequirePasswordReset(t.Context(), u.ID); err != nil {
		t.Fatal(err)
	}
	b := e.browser("firefox")
	b.get("/user/login")
	b.post("/user/login", "login", u.Email, "password", pw).wantRedirect(t, "log-in", "/user/change-password")
	// Other pages send the restricted session back here.
	b.get("/user/profile").wantRedirect(t, "profile", "/user/change-password?next=%2Fuser%2Fprofile")
	p := b.get("/user/change-password")
	p.want(t, "GET", http.StatusOK, `name="new_password"`)
	if strings.Contains(p.body, `name="old_password"`) {
		t.Error("the restricted session is asked for its old password")
	}
	const newPW = "a brand new password"
	b.post("/user/change-password", "new_password", newPW, "retype_password", newPW).wantRedirect(t, "change", "/user/profile")
	b.get("/user/profile").want(t, "profile after change", http.StatusOK)
}

func TestProfilePage(t *testing.T) {
	e := newAcctEnv(t, usher.Config{ProfileFields: []usher.ProfileField{
		{Name: "name", Label: "Full name", Required: true},
		{Name: "newsletter", Type: "bool"},
	}}, false)
	b, u := e.loggedIn("ann@example.com", "firefox")
	b.get("/user/profile").want(t, "GET", http.StatusOK, "ann@example.com", `name="name"`, `name="newsletter"`, "This device", "firefox", "/user/mfa", "/user/change-password")

	p := b.post("/user/profile", "name", "  ", "newsletter", "true")
	p.want(t, "required field empty", http.StatusUnprocessableEntity, `id="e-name"`, `aria-describedby="e-name"`)
	if got, _ := e.svc.User(t.Context(), u.ID); len(got.Profile) != 0 {
		t.Errorf("profile after a refused update: %v", got.Profile)
	}

	b.post("/user/profile", "name", "Ann Smith", "newsletter", "true").wantRedirect(t, "update", "/user/profile")
	b.get("/user/profile").want(t, "flash after update", http.StatusOK, "Your profile has been saved.", `value="Ann Smith"`, "checked")
	got, _ := e.svc.User(t.Context(), u.ID)
	if got.Profile["name"] != "Ann Smith" || got.Profile["newsletter"] != "true" {
		t.Fatalf("profile = %v", got.Profile)
	}
	// An unticked box is not sent: the field is cleared.
	b.post("/user/profile", "name", "Ann Smith").wantRedirect(t, "untick", "/user/profile")
	if got, _ := e.svc.User(t.Context(), u.ID); got.Profile["newsletter"] != "" || got.Profile["name"] != "Ann Smith" {
		t.Errorf("profile after unticking = %v", got.Profile)
	}
}

func TestProfilePageSessions(t *testing.T) {
	e := newAcctEnv(t, usher.Config{}, false)
	b, u := e.loggedIn("ann@example.com", "firefox")
	b2, b3 := e.browser("safari"), e.browser("chrome")
	b2.login(u.Email, pw)
	b3.login(u.Email, pw)
	sessionID := func(ua string) string {
		t.Helper()
		list, err := e.svc.ListSessions(t.Context(), u.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range list {
			if s.UserAgent == ua {
				return s.ID
			}
		}
		t.Fatalf("no session of %s", ua)
		return ""
	}
	safari, firefox := sessionID("safari"), sessionID("firefox")
	p := b.get("/user/profile")
	p.want(t, "GET", http.StatusOK, "safari", "chrome", "/user/profile/sessions/"+safari+"/revoke", "/user/profile/sessions/revoke-others")
	if strings.Contains(p.body, "/user/profile/sessions/"+firefox+"/revoke") {
		t.Error("the current session has a sign-out button of its own")
	}
	if !regexp.MustCompile(`\d{4}-\d\d-\d\d \d\d:\d\d UTC`).MatchString(p.body) {
		t.Error("no date of the form 2006-01-02 15:04 UTC on the sessions list")
	}

	// Someone else's session cannot be signed out.
	stranger, _ := e.loggedIn("bob@example.com", "edge")
	stranger.post("/user/profile/sessions/"+safari+"/revoke").want(t, "revoke someone else's session", http.StatusNotFound)
	b2.get("/user/profile").want(t, "safari after a stranger's try", http.StatusOK)

	b.post("/user/profile/sessions/"+safari+"/revoke").wantRedirect(t, "revoke safari", "/user/profile")
	b2.get("/user/profile").wantRedirect(t, "safari after revoke", "/user/login?next=%2Fuser%2Fprofile")
	b3.get("/user/profile").want(t, "chrome after revoking safari", http.StatusOK)

	b.post("/user/profile/sessions/revoke-others").wantRedirect(t, "revoke others", "/user/profile")
	b3.get("/user/profile").wantRedirect(t, "chrome after revoke others", "/user/login?next=%2Fuser%2Fprofile")
	b.get("/user/profile").want(t, "firefox after revoke others", http.StatusOK)
	stranger.get("/user/profile").want(t, "stranger after revoke others", http.StatusOK)
}

func TestChangeUsernamePage(t *testing.T) {
	e := newAcctEnv(t, usher.Config{EnableUsername: true}, false)
	b, u := e.loggedIn("ann@example.com", "firefox")
	b.get("/user/change-username").want(t, "GET", http.StatusOK, `name="username"`, `name="password"`)
	b.post("/user/change-username", "username", "ann", "password", "wrong password!").want(t, "wrong password", http.StatusUnauthorized, `id="e-password"`)
	b.post("/user/change-username", "username", "a", "password", pw).want(t, "bad username", http.StatusUnprocessableEntity, `id="e-username"`)
	b.post("/user/change-username", "username", "ann", "password", pw).wantRedirect(t, "change", "/user/profile")
	if got, _ := e.svc.User(t.Context(), u.ID); got.Username != "ann" {
		t.Errorf("username = %q", got.Username)
	}
}

func TestManageEmailsPage(t *testing.T) {
	e := newAcctEnv(t, usher.Config{EnableMultipleEmails: true}, false)
	b, u := e.loggedIn("ann@example.com", "firefox")
	ctx := t.Context()
	b.get("/user/manage-emails").want(t, "GET", http.StatusOK, "ann@example.com", "Primary", `name="email"`)
	b.post("/user/manage-emails", "email", "not an address").want(t, "add a bad address", http.StatusUnprocessableEntity, `id="e-email"`)
	b.post("/user/manage-emails", "email", "ann@work.example").wantRedirect(t, "add", "/user/manage-emails")

	list, _ := e.svc.ListEmails(ctx, u.ID)
	if len(list) != 2 {
		t.Fatalf("addresses: %d", len(list))
	}
	work := list[1]
	p := b.get("/user/manage-emails")
	p.want(t, "GET after add", http.StatusOK, "ann@work.example", "Unconfirmed", "/user/manage-emails/"+work.ID+"/remove")
	if strings.Contains(p.body, "/user/manage-emails/"+work.ID+"/primary") {
		t.Error("an unconfirmed address has a make-primary button")
	}
	b.post("/user/manage-emails/"+work.ID+"/primary").want(t, "make an unconfirmed address primary", http.StatusUnprocessableEntity, `role="alert"`)

	e.confirm("ann@work.example")
	b.get("/user/manage-emails").want(t, "GET after confirming", http.StatusOK, "/user/manage-emails/"+work.ID+"/primary")
	b.post("/user/manage-emails/"+work.ID+"/primary").wantRedirect(t, "make primary", "/user/manage-emails")
	if got, _ := e.svc.User(ctx, u.ID); got.Email != "ann@work.example" {
		t.Fatalf("primary = %s", got.Email)
	}
	// The primary address cannot be removed; the old one can.
	b.post("/user/manage-emails/"+work.ID+"/remove").want(t, "remove the primary", http.StatusNotFound)
	b.post("/user/manage-emails/"+list[0].ID+"/remove").wantRedirect(t, "remove", "/user/manage-emails")
	if list, _ := e.svc.ListEmails(ctx, u.ID); len(list) != 1 || list[0].Email != "ann@work.example" {
		t.Errorf("addresses after removal: %+v", list)
	}
}

// confirm confirms an address with the link e-mailed to it.
func (e *acctEnv) confirm(to string) {
	t, svc := e.t, e.svc
	t.Helper()
	msgs, err := svc.Store().ListMessages(t.Context(), to, 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if m.Kind == usher.MailConfirmEmail {
			link := m.Vars["link"]
			if _, _, err := svc.ConfirmEmail(t.Context(), link[strings.LastIndexByte(link, '/')+1:], usher.Client{}); err != nil {
				t.Fatal(err)
			}
			return
		}
	}
	t.Fatalf("no confirmation e-mail to %s", to)
}

func TestInvitePage(t *testing.T) {
	e := newAcctEnv(t, usher.Config{EnableInviteUser: true}, false)
	b, _ := e.loggedIn("ann@example.com", "firefox")
	usertest.MustCreateUser(t, e.svc, "carol@example.com")
	b.get("/user/invite").want(t, "GET", http.StatusOK, `name="email"`)
	b.post("/user/invite", "email", "nope").want(t, "bad address", http.StatusUnprocessableEntity, `id="e-email"`)
	b.post("/user/invite", "email", "carol@example.com").want(t, "existing user", http.StatusConflict, `role="alert"`)
	b.post("/user/invite", "email", "bob@example.com").wantRedirect(t, "invite", "/user/invite")
	b.get("/user/invite").want(t, "flash after invite", http.StatusOK, "Your invitation has been sent.")
	msgs, _ := e.svc.Store().ListMessages(t.Context(), "bob@example.com", 10)
	if len(msgs) != 1 || msgs[0].Kind != usher.MailInvitation || msgs[0].Vars["inviter"] != "ann@example.com" {
		t.Errorf("outbox for the invitee: %+v", msgs)
	}
}

var acctCodesRE = regexp.MustCompile(`(?s)<ul class="codes"[^>]*>(.*?)</ul>`)

// codes returns the recovery codes the page shows.
func (p acctPage) codes() []string {
	m := acctCodesRE.FindStringSubmatch(p.body)
	if m == nil {
		return nil
	}
	return regexp.MustCompile(`<li>([^<]+)</li>`).FindAllString(m[1], -1)
}

func TestMFAPage(t *testing.T) {
	e := newAcctEnv(t, usher.Config{}, true)
	b, u := e.loggedIn("ann@example.com", "firefox")
	ctx := t.Context()

	p := b.get("/user/mfa")
	p.want(t, "GET", http.StatusOK, `<img class="qr" src="data:image/png;base64,`, `name="code"`, `name="password"`)
	method, secret := p.hidden(t, "mfa_method"), p.hidden(t, "secret")
	if !strings.Contains(p.body, `<code class="secret" dir="ltr">`+inFours(secret)+`</code>`) {
		t.Errorf("the key %s is not shown in groups of four", secret)
	}
	code := func() string {
		t.Helper()
		c, err := totp.GenerateCode(secret, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	add := func(kv ...string) acctPage {
		t.Helper()
		return b.post("/user/mfa", append([]string{"mfa_method", method, "secret", secret, "qr_code", p.hidden(t, "qr_code")}, kv...)...)
	}

	// Refusals keep the same secret on the page, for the app set up
	// already.
	r := add("code", "000000", "password", pw)
	r.want(t, "wrong code", http.StatusUnprocessableEntity, `id="e-code"`, `<code class="secret" dir="ltr">`+inFours(secret)+`</code>`, `<img class="qr" src="data:image/png;base64,`)
	if r.hidden(t, "mfa_method") != method {
		t.Error("a refused code changed the secret")
	}
	r = add("code", code(), "password", "wrong password!")
	r.want(t, "wrong password", http.StatusUnauthorized, `id="e-password"`)
	b.post("/user/mfa", "mfa_method", "x"+method, "code", code(), "password", pw).want(t, "tampered method", http.StatusUnprocessableEntity, `role="alert"`)
	if list, _ := e.svc.ListMFAMethods(ctx, u.ID); len(list) != 0 {
		t.Fatalf("methods after refusals: %d", len(list))
	}

	r = add("code", code(), "password", pw, "name", "Phone")
	r.want(t, "add", http.StatusOK)
	if codes := r.codes(); len(codes) != 10 {
		t.Fatalf("recovery codes shown: %d\n%s", len(codes), r.body)
	}
	if r.header.Get("Cache-Control") != "no-store" {
		t.Errorf("recovery codes page Cache-Control = %q", r.header.Get("Cache-Control"))
	}
	list, _ := e.svc.ListMFAMethods(ctx, u.ID)
	if len(list) != 1 || list[0].Name != "Phone" {
		t.Fatalf("methods after add: %+v", list)
	}

	p = b.get("/user/mfa")
	p.want(t, "GET with a method", http.StatusOK, "Phone", "/user/mfa/methods/"+list[0].ID+"/remove", "/user/mfa/recovery-codes")
	if p.codes() != nil {
		t.Error("the page shows recovery codes again")
	}
	b.get("/user/profile").want(t, "profile summary", http.StatusOK, "Phone")

	r = b.post("/user/mfa/recovery-codes")
	r.want(t, "new recovery codes", http.StatusOK)
	if codes := r.codes(); len(codes) != 10 {
		t.Fatalf("new recovery codes shown: %d", len(codes))
	}

	stranger, _ := e.loggedIn("bob@example.com", "edge")
	stranger.post("/user/mfa/methods/"+list[0].ID+"/remove").want(t, "remove someone else's method", http.StatusNotFound)
	b.post("/user/mfa/methods/"+list[0].ID+"/remove").wantRedirect(t, "remove", "/user/mfa")
	if list, _ := e.svc.ListMFAMethods(ctx, u.ID); len(list) != 0 {
		t.Errorf("methods after removal: %d", len(list))
	}
}
