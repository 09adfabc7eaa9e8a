package admin_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/usher-auth/usher"
	"github.com/usher-auth/usher/admin"
	"github.com/usher-auth/usher/internal/pagetest"
	"github.com/usher-auth/usher/usertest"
	"github.com/usher-auth/usher/web"
)

// env is a site with Usher's pages at /user and the console at
// /user/admin, as app mounts them, over a Service whose clock the test
// moves.
type env struct {
	t     *testing.T
	srv   *httptest.Server
	svc   *usher.Service
	store usher.Store
	clock *usertest.Clock
	admin *usher.User
}

func newEnv(t *testing.T, cfg usher.Config) *env {
	t.Helper()
	clock := usertest.NewClock()
	srv := httptest.NewUnstartedServer(nil)
	cfg.BaseURL = "http://" + srv.Listener.Addr().String()
	store := usertest.NewSQLiteStore(t)
	svc := usertest.NewService(t, cfg, store, clock)
	h := web.New(svc, web.Options{Logger: usertest.Discard})
	adm, err := admin.New(h, admin.Settings{})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/user/", h)
	mux.Handle("/user/admin", adm)
	mux.Handle("/user/admin/", adm)
	srv.Config.Handler = mux
	srv.Start()
	t.Cleanup(srv.Close)
	e := &env{t: t, srv: srv, svc: svc, store: store, clock: clock}
	e.admin = usertest.MustCreateUser(t, svc, "boss@example.com", "admin")
	return e
}

// logIn returns a browser logged in as email.
func (e *env) logIn(email string) *pagetest.Browser {
	e.t.Helper()
	b := pagetest.NewBrowser(e.t, e.srv.URL)
	st, loc, body := b.Submit("/user/login", url.Values{"login": {email}, "password": {usertest.Password}})
	if st != http.StatusSeeOther {
		e.t.Fatalf("log-in as %s: %d %s\n%s", email, st, loc, body)
	}
	return b
}

// post submits a form of page (its CSRF token) to action.
func post(t *testing.T, b *pagetest.Browser, page, action string, fields url.Values) (int, string, string) {
	t.Helper()
	st, _, body := b.Get(page)
	if st != 200 {
		t.Fatalf("GET %s: %d\n%s", page, st, body)
	}
	form := url.Values{"csrf_token": {pagetest.HiddenInputs(body)["csrf_token"]}}
	for k, v := range fields {
		form[k] = v
	}
	return b.Do("POST", action, form)
}

func (e *env) user(id string) *usher.User {
	e.t.Helper()
	u, err := e.svc.User(e.t.Context(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

func userPage(u *usher.User) string { return "/user/admin/users/" + u.ID }

// Visitors are sent to log in (and back); users without the role get 403,
// a page for browsers and JSON for clients that ask for JSON, on every
// page and form.
func TestAccess(t *testing.T) {
	e := newEnv(t, usher.Config{})
	ann := usertest.MustCreateUser(t, e.svc, "ann@example.com")
	visitor := pagetest.NewBrowser(t, e.srv.URL)
	st, loc, _ := visitor.Get("/user/admin?search=x")
	if st != http.StatusSeeOther || loc != "/user/login?next="+url.QueryEscape("/user/admin?search=x") {
		t.Errorf("visitor: %d %q; want 303 to the log-in page with next", st, loc)
	}
	st, loc, _ = visitor.Do("POST", userPage(ann)+"/disable", url.Values{})
	if st != http.StatusSeeOther || loc != "/user/login?next="+url.QueryEscape(userPage(ann)) {
		t.Errorf("visitor's form: %d %q; want 303 to the log-in page, back to the user's page", st, loc)
	}
	b := e.logIn("ann@example.com")
	for _, path := range []string{"/user/admin", "/user/admin/", userPage(ann), "/user/admin/users/new", "/user/admin/reauth", "/user/admin/events"} {
		if st, _, body := b.Get(path); st != http.StatusForbidden || !strings.Contains(body, "<html") {
			t.Errorf("GET %s as a non-admin: %d; want a 403 page", path, st)
		}
	}
	// A form, with a good CSRF token: still 403, and nothing done.
	_, _, page := b.Get("/user/profile")
	tok := pagetest.HiddenInputs(page)["csrf_token"]
	for _, action := range []string{"/disable", "/roles", "/delete", "/password"} {
		st, _, _ := b.Do("POST", userPage(e.admin)+action, url.Values{"csrf_token": {tok}, "role": {"admin"}, "confirm": {"1"}, "password": {"a new long password 1"}})
		if st != http.StatusForbidden {
			t.Errorf("POST %s as a non-admin: %d; want 403", action, st)
		}
	}
	if u := e.user(e.admin.ID); !u.Enabled || len(u.Roles) != 1 {
		t.Errorf("a non-admin changed the admin: %+v", u)
	}
	if u := e.user(ann.ID); u.HasRole("admin") {
		t.Error("a non-admin gave themselves the admin role")
	}
	// JSON: a client not logged in gets 401, one without the role 403.
	req, _ := http.NewRequest("GET", e.srv.URL+"/user/admin", nil)
	req.Header.Set("Accept", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized {
		t.Errorf("JSON client not logged in: %d; want 401", res.StatusCode)
	}
	req, _ = http.NewRequest("GET", e.srv.URL+"/user/admin", nil)
	req.Header.Set("Accept", "application/json")
	sess, _, err := e.svc.LoginWithEmail(t.Context(), "ann@example.com", usertest.Password, false, usher.Client{})
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+sess.Token)
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var body struct{ Error struct{ Code string } }
	json.NewDecoder(res.Body).Decode(&body)
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden || body.Error.Code != "forbidden" {
		t.Errorf("JSON client: %d %q; want 403 forbidden", res.StatusCode, body.Error.Code)
	}
	// The admin gets in.
	if st, _, _ := e.logIn("boss@example.com").Get("/user/admin"); st != 200 {
		t.Errorf("admin: %d", st)
	}
}

// A form without the browser's CSRF token is refused, and nothing done.
func TestCSRF(t *testing.T) {
	e := newEnv(t, usher.Config{})
	ann := usertest.MustCreateUser(t, e.svc, "ann@example.com")
	b := e.logIn("boss@example.com")
	for _, tok := range []string{"", "AAAAAAAAAAAAAAAAAAAAAAAAAA"} {
		st, _, _ := b.Do("POST", userPage(ann)+"/disable", url.Values{"csrf_token": {tok}})
		if st != http.StatusForbidden {
			t.Errorf("token %q: %d; want 403", tok, st)
		}
	}
	if !e.user(ann.ID).Enabled {
		t.Error("disabled without the CSRF token")
	}
	// Another site's form is refused too (Origin).
	b.Origin = "https://evil.example"
	if st, _, _ := post(t, b, userPage(ann), userPage(ann)+"/disable", nil); st != http.StatusForbidden {
		t.Errorf("cross-origin: %d; want 403", st)
	}
	if !e.user(ann.ID).Enabled {
		t.Error("disabled from another site")
	}
}

// Every action of the user page does what it says and comes back to the
// page with a message.
func TestActions(t *testing.T) {
	e := newEnv(t, usher.Config{ProfileFields: []usher.ProfileField{{Name: "name"}}, MaxPasswordFailures: 2})
	ctx := t.Context()
	ann := usertest.MustCreateUser(t, e.svc, "ann@example.com")
	b := e.logIn("boss@example.com")
	page := userPage(ann)
	do := func(action string, fields url.Values) string {
		t.Helper()
		st, loc, body := post(t, b, page, page+action, fields)
		if st != http.StatusSeeOther {
			t.Fatalf("%s: %d %s\n%s", action, st, loc, body)
		}
		_, _, body = b.Get(loc)
		return body
	}
	if _, _, body := b.Get(page); !strings.Contains(body, `action="`+page+`/profile"`) {
		t.Errorf("the user page's profile form does not post to %s/profile", page)
	}
	if _, _, err := e.svc.LoginWithEmail(ctx, ann.Email, usertest.Password, false, usher.Client{}); err != nil {
		t.Fatal(err)
	}
	if body := do("/profile", url.Values{"name": {"Ann Lee"}}); !strings.Contains(body, "The profile is saved.") {
		t.Error("profile: no message")
	}
	if e.user(ann.ID).Profile["name"] != "Ann Lee" {
		t.Error("profile not saved")
	}
	do("/disable", nil)
	if u := e.user(ann.ID); u.Enabled {
		t.Error("not disabled")
	}
	if list, _ := e.svc.ListSessions(ctx, ann.ID); len(list) != 0 {
		t.Errorf("disabling left %d sessions", len(list))
	}
	do("/enable", nil)
	if !e.user(ann.ID).Enabled {
		t.Error("not enabled")
	}
	for range 2 {
		e.svc.LoginWithEmail(ctx, ann.Email, "wrong password!", false, usher.Client{})
	}
	if e.user(ann.ID).LockedAt.IsZero() {
		t.Fatal("not locked by the test's wrong passwords")
	}
	do("/unlock", nil)
	if u := e.user(ann.ID); !u.LockedAt.IsZero() || u.PasswordFailures != 0 {
		t.Error("not unlocked")
	}
	do("/require-password", nil)
	if !e.user(ann.ID).PasswordResetRequired {
		t.Error("no new password required")
	}
	if body := do("/send-reset", nil); !strings.Contains(body, "A password reset link is on its way to the user.") {
		t.Error("send reset: no message")
	}
	// Roles and the password (fresh: the admin just logged in).
	do("/roles", url.Values{"role": {"editor"}})
	if !e.user(ann.ID).HasRole("editor") {
		t.Error("role not given")
	}
	do("/roles/remove", url.Values{"role": {"editor"}})
	if e.user(ann.ID).HasRole("editor") {
		t.Error("role not taken away")
	}
	do("/password", url.Values{"password": {"a brand new password"}})
	if _, _, err := e.svc.LoginWithEmail(ctx, ann.Email, "a brand new password", false, usher.Client{}); err != nil && !strings.Contains(err.Error(), "reset") {
		t.Errorf("log-in with the password set: %v", err)
	}
	// Sessions: end one, end all.
	s1, _, _ := e.svc.LoginWithEmail(ctx, ann.Email, "a brand new password", false, usher.Client{})
	if s1 != nil {
		do("/sessions/"+s1.ID+"/end", nil)
	}
	e.svc.ForceLogin(ctx, ann.ID, false, usher.Client{})
	e.svc.ForceLogin(ctx, ann.ID, false, usher.Client{})
	do("/sessions/end-all", nil)
	if list, _ := e.svc.ListSessions(ctx, ann.ID); len(list) != 0 {
		t.Errorf("%d sessions left", len(list))
	}
	// Second factors: remove all.
	do("/mfa/remove-all", nil)
	// Delete, which needs the box ticked.
	do("/delete", nil)
	if _, err := e.svc.User(ctx, ann.ID); err != nil {
		t.Error("deleted without the box ticked")
	}
	st, loc, _ := post(t, b, page, page+"/delete", url.Values{"confirm": {"1"}})
	if st != http.StatusSeeOther || loc != "/user/admin" {
		t.Errorf("delete: %d %q", st, loc)
	}
	if _, err := e.svc.User(ctx, ann.ID); err == nil {
		t.Error("not deleted")
	}
	if st, _, _ := b.Get(page); st != http.StatusNotFound {
		t.Errorf("deleted user's page: %d; want 404", st)
	}
}

// Confirming the address, and unlinking an identity: refused while it is
// the user's last way to log in, done once they have a password.
func TestConfirmAndUnlink(t *testing.T) {
	e := newEnv(t, usher.Config{})
	st := e.store
	u, err := e.svc.CreateUser(t.Context(), usher.NewUser{Email: "new@example.com", Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	b := e.logIn("boss@example.com")
	id := &usher.Identity{ID: usher.NewID(), UserID: u.ID, Provider: "google", Issuer: "https://accounts.example.com", Subject: "s1", Email: "new@gmail.example"}
	if err := st.CreateIdentity(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	if _, _, body := b.Get(userPage(u)); !strings.Contains(body, "new@gmail.example") {
		t.Error("the linked identity is not shown")
	}
	if st, _, _ := post(t, b, userPage(u), userPage(u)+"/confirm", nil); st != http.StatusSeeOther {
		t.Fatalf("confirm: %d", st)
	}
	if !e.user(u.ID).EmailConfirmed() {
		t.Error("not confirmed")
	}
	post(t, b, userPage(u), userPage(u)+"/identities/"+id.ID+"/unlink", nil)
	if ids, _ := e.svc.Identities(t.Context(), u.ID); len(ids) != 1 {
		t.Fatalf("the last way to log in was unlinked: %d identities left", len(ids))
	}
	if err := e.svc.SetPassword(t.Context(), u.ID, usertest.Password); err != nil {
		t.Fatal(err)
	}
	status, _, _ := post(t, b, userPage(u), userPage(u)+"/identities/"+id.ID+"/unlink", nil)
	if status != http.StatusSeeOther {
		t.Errorf("unlink: %d; want 303 back to the page", status)
	}
	if ids, _ := e.svc.Identities(t.Context(), u.ID); len(ids) != 0 {
		t.Errorf("%d identities left", len(ids))
	}
}

// Delete, role changes, setting the password and removing second factors
// need a log-in within ten minutes: else the re-authentication page, after
// which they work.
func TestFreshness(t *testing.T) {
	e := newEnv(t, usher.Config{})
	ann := usertest.MustCreateUser(t, e.svc, "ann@example.com")
	b := e.logIn("boss@example.com")
	e.clock.Advance(usher.FreshLogin + time.Minute)
	page := userPage(ann)
	for _, c := range []struct {
		action string
		fields url.Values
	}{
		{"/roles", url.Values{"role": {"admin"}}},
		{"/roles/remove", url.Values{"role": {"x"}}},
		{"/password", url.Values{"password": {"a brand new password"}}},
		{"/mfa/remove-all", nil},
		{"/delete", url.Values{"confirm": {"1"}}},
	} {
		st, loc, _ := post(t, b, page, page+c.action, c.fields)
		if st != http.StatusSeeOther || !strings.HasPrefix(loc, "/user/admin/reauth?next=") {
			t.Errorf("%s after 11 minutes: %d %q; want the re-authentication page", c.action, st, loc)
		}
	}
	if u := e.user(ann.ID); u.HasRole("admin") {
		t.Error("role given without a fresh log-in")
	}
	// The admin API applies the same rule to the same session.
	api := "/user/api/admin/users/" + ann.ID + "/roles/editor"
	if st, _, body := b.Do("PUT", api, nil); st != http.StatusForbidden || !strings.Contains(body, "reauthentication_required") {
		t.Errorf("admin API, stale session: %d %s; want 403 reauthentication_required", st, body)
	}
	// A wrong password does not make it fresh.
	reauth := "/user/admin/reauth?next=" + url.QueryEscape(page)
	if st, _, body := post(t, b, reauth, "/user/admin/reauth", url.Values{"password": {"wrong password!"}, "next": {page}}); st != http.StatusUnauthorized || !strings.Contains(body, "f-password") {
		t.Errorf("wrong password: %d; want the page again with 401", st)
	}
	if st, loc, _ := post(t, b, page, page+"/roles", url.Values{"role": {"admin"}}); st != http.StatusSeeOther || !strings.HasPrefix(loc, "/user/admin/reauth") {
		t.Errorf("after a wrong password: %d %q", st, loc)
	}
	st, loc, _ := post(t, b, reauth, "/user/admin/reauth", url.Values{"password": {usertest.Password}, "next": {page}})
	if st != http.StatusSeeOther || loc != page {
		t.Fatalf("re-authentication: %d %q; want 303 to %s", st, loc, page)
	}
	if st, loc, _ := post(t, b, page, page+"/roles", url.Values{"role": {"admin"}}); st != http.StatusSeeOther || loc != page {
		t.Errorf("after re-authentication: %d %q", st, loc)
	}
	if !e.user(ann.ID).HasRole("admin") {
		t.Error("role not given after re-authentication")
	}
	// Re-authenticated in the console: fresh for the admin API too.
	if st, _, body := b.Do("PUT", api, nil); st != http.StatusOK {
		t.Errorf("admin API after the console's re-authentication: %d %s", st, body)
	}
	// The next address must be on this site.
	st, loc, _ = post(t, b, reauth, "/user/admin/reauth", url.Values{"password": {usertest.Password}, "next": {"//evil.example/"}})
	if st != http.StatusSeeOther || loc != "/user/admin" {
		t.Errorf("foreign next: %d %q; want /user/admin", st, loc)
	}
}

// The last admin cannot take the admin role from themselves, nor disable
// or delete themselves; with another admin they can.
func TestLastAdmin(t *testing.T) {
	e := newEnv(t, usher.Config{})
	b := e.logIn("boss@example.com")
	me := userPage(e.admin)
	for _, c := range []struct {
		action string
		fields url.Values
	}{
		{"/roles/remove", url.Values{"role": {"admin"}}},
		{"/disable", nil},
		{"/delete", url.Values{"confirm": {"1"}}},
	} {
		st, loc, _ := post(t, b, me, me+c.action, c.fields)
		if st != http.StatusSeeOther || loc != me {
			t.Errorf("%s: %d %q", c.action, st, loc)
		}
		_, _, body := b.Get(me)
		if !strings.Contains(body, "You are the last admin") {
			t.Errorf("%s: no refusal shown", c.action)
		}
	}
	if u := e.user(e.admin.ID); !u.HasRole("admin") || !u.Enabled {
		t.Fatalf("the last admin lost their access: %+v", u)
	}
	usertest.MustCreateUser(t, e.svc, "other@example.com", "admin")
	post(t, b, me, me+"/roles/remove", url.Values{"role": {"admin"}})
	if e.user(e.admin.ID).HasRole("admin") {
		t.Error("with another admin, the role could not be taken away")
	}
}

// The users table: search, filters and keyset pages.
func TestUsersTable(t *testing.T) {
	e := newEnv(t, usher.Config{})
	for i := range 60 {
		usertest.MustCreateUser(t, e.svc, usertest.Email(i))
		e.clock.Advance(time.Second)
	}
	b := e.logIn("boss@example.com")
	_, _, body := b.Get("/user/admin?search=user42")
	if !strings.Contains(body, "user42@example.com") || strings.Contains(body, "user41@example.com") {
		t.Error("search user42: wrong rows")
	}
	_, _, body = b.Get("/user/admin?search=USER42%40example.com&exact=1")
	if !strings.Contains(body, "user42@example.com") {
		t.Error("exact search: no row")
	}
	e.svc.DisableUser(t.Context(), e.user(mustFind(t, e, "user7@example.com")).ID)
	_, _, body = b.Get("/user/admin?enabled=false")
	if !strings.Contains(body, "user7@example.com") || strings.Contains(body, "user8@example.com") {
		t.Error("disabled filter: wrong rows")
	}
	// Newest first: the first page ends before user10; the next page
	// starts after it even when someone signs up meanwhile.
	_, _, body = b.Get("/user/admin")
	if !strings.Contains(body, "user59@example.com") || strings.Contains(body, "user5@example.com") {
		t.Error("first page: wrong rows")
	}
	next := nextLink(body)
	if next == "" {
		t.Fatal("no next page link")
	}
	usertest.MustCreateUser(t, e.svc, "late@example.com")
	_, _, body = b.Get(next)
	if !strings.Contains(body, "user5@example.com") || strings.Contains(body, "user59@example.com") || strings.Contains(body, "late@example.com") {
		t.Error("second page: wrong rows")
	}
	if st, _, _ := b.Get("/user/admin?cursor=garbage"); st != http.StatusUnprocessableEntity {
		t.Errorf("bad cursor: %d; want 422", st)
	}
}

func mustFind(t *testing.T, e *env, email string) string {
	u, err := e.svc.FindUser(t.Context(), email)
	if err != nil {
		t.Fatal(err)
	}
	return u.ID
}

func nextLink(body string) string {
	i := strings.Index(body, `rel="next"`)
	if i < 0 {
		return ""
	}
	j := strings.LastIndex(body[:i], `href="`)
	s := body[j+len(`href="`):]
	return strings.ReplaceAll(s[:strings.IndexByte(s, '"')], "&amp;", "&")
}

// Creating a user and inviting someone.
func TestCreateAndInvite(t *testing.T) {
	e := newEnv(t, usher.Config{EnableInviteUser: true})
	b := e.logIn("boss@example.com")
	st, loc, body := post(t, b, "/user/admin/users/new", "/user/admin/users/new", url.Values{"email": {"made@example.com"}, "enabled": {"1"}, "confirmed": {"1"}})
	if st != http.StatusSeeOther || !strings.HasPrefix(loc, "/user/admin/users/") {
		t.Fatalf("create: %d %q\n%s", st, loc, body)
	}
	u, err := e.svc.FindUser(t.Context(), "made@example.com")
	if err != nil || !u.Enabled || !u.EmailConfirmed() {
		t.Fatalf("created: %+v, %v", u, err)
	}
	if st, _, body := post(t, b, "/user/admin/users/new", "/user/admin/users/new", url.Values{"email": {"made@example.com"}}); st == http.StatusSeeOther || !strings.Contains(body, "f-email") {
		t.Errorf("duplicate: %d; want the form again", st)
	}
	if st, _, body := post(t, b, "/user/admin/invite", "/user/admin/invite", url.Values{"email": {"friend@example.com"}}); st != 200 || !strings.Contains(body, "friend@example.com") {
		t.Errorf("invite: %d", st)
	}
}

// Without invitations, the invite page is not there.
func TestInviteOff(t *testing.T) {
	e := newEnv(t, usher.Config{})
	if st, _, _ := e.logIn("boss@example.com").Get("/user/admin/invite"); st != http.StatusNotFound {
		t.Errorf("invite page with invitations off: %d; want 404", st)
	}
}

// The audit log shows everyone's newest events, each with its user.
func TestAuditLog(t *testing.T) {
	e := newEnv(t, usher.Config{})
	ann := usertest.MustCreateUser(t, e.svc, "ann@example.com")
	bob := usertest.MustCreateUser(t, e.svc, "bob@example.com")
	if err := e.svc.DisableUser(t.Context(), ann.ID); err != nil { // the system: Go code
		t.Fatal(err)
	}
	b := e.logIn("boss@example.com")
	// Actions in the console are the admin's, from their address.
	for _, u := range []*usher.User{ann, bob} {
		if st, loc, body := post(t, b, userPage(u), userPage(u)+"/unlock", nil); st != http.StatusSeeOther {
			t.Fatalf("unlock: %d %s %s", st, loc, body)
		}
	}
	evs, err := e.svc.AuditLog(t.Context(), usher.AuditQuery{UserID: ann.ID, Types: []string{usher.EventUnlocked}})
	if err != nil || len(evs) != 1 {
		t.Fatalf("the unlock's entry: %v %v", evs, err)
	}
	if got := evs[0]; got.Actor != (usher.Actor{Kind: usher.ActorAdmin, ID: e.admin.ID, Name: e.admin.Email}) || got.IP != "127.0.0.1" || got.UserAgent == "" {
		t.Errorf("the console's unlock is recorded as %+v; want by the admin, from 127.0.0.1", got)
	}
	// bob is deleted: his entries stay, showing his ID.
	if err := e.svc.DeleteUser(t.Context(), bob.ID); err != nil {
		t.Fatal(err)
	}
	get := func(query string) string {
		t.Helper()
		st, _, body := b.Get("/user/admin/events" + query)
		if st != 200 {
			t.Fatalf("GET events%s: %d\n%s", query, st, body)
		}
		return body
	}
	rows := func(body string) int { return strings.Count(body, "<tr><td>") }
	body := get("")
	if !strings.Contains(body, ">disabled<") || !strings.Contains(body, `href="/user/admin/users/`+ann.ID+`"`) ||
		!strings.Contains(body, ">"+bob.ID+"<") || !strings.Contains(body, ">"+e.admin.Email+"<") || !strings.Contains(body, ">system<") {
		t.Errorf("audit log: no disabled entry of ann, bob's ID, the admin as actor or the system\n%s", body)
	}
	for _, tc := range []struct {
		query string
		want  int
	}{
		{"?user=ann@example.com", 3},                 // signup, disabled, unlocked
		{"?user=" + bob.ID, 3},                       // signup, unlocked, deleted: by ID after deletion
		{"?user=" + bob.ID + "&kind=unlocked", 1},    // the type
		{"?actor=boss@example.com&kind=unlocked", 2}, // the admin, by address
		{"?actor_kind=system&kind=disabled", 1},
		{"?actor_kind=admin&user=ann@example.com", 1},
		{"?since=2999-01-01", 0},
		{"?until=2000-01-01", 0},
	} {
		if n := rows(get(tc.query)); n != tc.want {
			t.Errorf("%s: %d entries; want %d", tc.query, n, tc.want)
		}
	}
	today := e.clock.Now().UTC().Format(time.DateOnly)
	if n := rows(get("?since=" + today + "&until=" + today + "&user=ann@example.com")); n != 3 {
		t.Errorf("since and until today: %d entries; want 3", n)
	}
	if st, _, body := b.Get("/user/admin/events?since=yesterday"); st != http.StatusUnprocessableEntity || !strings.Contains(body, "f-since") {
		t.Errorf("a bad date: %d; want 422 naming the field", st)
	}
}

// The audit log pages by keyset: the next page's link carries on before
// the last entry shown, and an entry added meanwhile does not shift it.
func TestAuditLogPaging(t *testing.T) {
	e := newEnv(t, usher.Config{})
	for i := range 150 {
		usertest.MustCreateUser(t, e.svc, "u"+strconv.Itoa(i)+"@example.com")
	}
	b := e.logIn("boss@example.com")
	_, _, body := b.Get("/user/admin/events?kind=signup")
	if n := strings.Count(body, "<tr><td>"); n != 100 {
		t.Fatalf("first page: %d entries; want 100", n)
	}
	next := nextLink(body)
	if next == "" {
		t.Fatal("no next page")
	}
	usertest.MustCreateUser(t, e.svc, "late@example.com")
	_, _, body = b.Get(next)
	if n := strings.Count(body, "<tr><td>"); n != 51 || strings.Contains(body, "late@example.com") || nextLink(body) != "" {
		t.Errorf("second page: %d entries (want the 51 oldest sign-ups, boss's too), next %q", n, nextLink(body))
	}
}

// An operator's pages/<name>.html (web.Options.Templates, templates_dir)
// replaces a console page as it does the other pages.
func TestTemplateOverride(t *testing.T) {
	svc := usertest.NewService(t, usher.Config{BaseURL: "http://localhost"}, usertest.NewSQLiteStore(t), nil)
	over := fstest.MapFS{"pages/admin_message.html": {Data: []byte(`{{template "admin_base" .}}{{define "title"}}Gone{{end}}{{define "content"}}<p>Custom: not here.</p>{{end}}`)}}
	h := web.New(svc, web.Options{Templates: over, Logger: usertest.Discard})
	adm, err := admin.New(h, admin.Settings{})
	if err != nil {
		t.Fatal(err)
	}
	usertest.MustCreateUser(t, svc, "boss@example.com", "admin")
	sess, _, err := svc.LoginWithEmail(t.Context(), "boss@example.com", usertest.Password, false, usher.Client{})
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/user/admin/users/nobody", nil)
	r.Header.Set("Authorization", "Bearer "+sess.Token)
	w := httptest.NewRecorder()
	adm.ServeHTTP(w, r)
	if w.Code != http.StatusNotFound || !strings.Contains(w.Body.String(), "Custom: not here.") {
		t.Errorf("overridden page: %d\n%s", w.Code, w.Body)
	}
	// A console page may not take the name of one of web's own.
	if _, err := h.NewPageSet(fstest.MapFS{"t/login.html": {Data: []byte("x")}}, "t"); err == nil {
		t.Error("NewPageSet took login.html")
	}
}
