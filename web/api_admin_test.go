package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/usher-auth/usher"
	"github.com/usher-auth/usher/usertest"
	"github.com/usher-auth/usher/web"
)

// adminEnv is a test server for the admin API: an admin logged in (a
// cookie browser), a plain user logged in, an API key and a revoked one,
// with a clock to age the admin's log-in.
type adminEnv struct {
	*env
	clock      *usertest.Clock
	admin      *usher.User
	adminB     *http.Client // the admin's browser
	plainB     *http.Client // a logged-in user without the admin role
	key        string
	revokedKey string
	n          int // users made so far
}

func newAdminEnv(t *testing.T) *adminEnv {
	t.Helper()
	clock := usertest.NewClock()
	cfg := usher.Config{EnableInviteUser: true, ProfileFields: []usher.ProfileField{{Name: "team"}}}
	svc := usertest.NewService(t, cfg, usertest.NewSQLiteStore(t), clock)
	h := web.New(svc, web.Options{Logger: testLogger(t)})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	e := &adminEnv{env: &env{t: t, srv: srv, svc: svc, h: h}, clock: clock}
	e.admin = usertest.MustCreateUser(t, svc, "root@example.com", "admin")
	usertest.MustCreateUser(t, svc, "plain@example.com")
	e.adminB, e.plainB = e.login("root@example.com"), e.login("plain@example.com")
	var err error
	if e.key, _, err = svc.CreateAPIKey(context.Background(), "ci"); err != nil {
		t.Fatal(err)
	}
	if e.revokedKey, _, err = svc.CreateAPIKey(context.Background(), "old"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.RevokeAPIKey(context.Background(), "old"); err != nil {
		t.Fatal(err)
	}
	return e
}

// login returns a browser logged in as email.
func (e *adminEnv) login(email string) *http.Client {
	e.t.Helper()
	b := e.browser()
	if r := e.do(b, "POST", "/user/api/login", map[string]any{"email": email, "password": pw}); r.status != 200 {
		e.t.Fatalf("login %s: %d %s", email, r.status, r.raw)
	}
	return b
}

// target makes a user to act on, with a live session and the role
// "editor".
func (e *adminEnv) target() (*usher.User, *usher.Session) {
	e.t.Helper()
	e.n++
	u := usertest.MustCreateUser(e.t, e.svc, fmt.Sprintf("target%d@example.com", e.n), "editor")
	s, err := e.svc.ForceLogin(context.Background(), u.ID, false, usher.Client{})
	if err != nil {
		e.t.Fatal(err)
	}
	return u, s
}

// asKey sends a request with an API key.
func (e *adminEnv) asKey(key, method, path string, body any) reply {
	e.t.Helper()
	return e.do(http.DefaultClient, method, path, body, "Authorization", "Bearer "+key)
}

// adminCall is one admin route called with good input.
type adminCall struct {
	route  string // the pattern in web/routes.go
	method string
	path   func(u *usher.User, s *usher.Session) string
	body   any
	status int
	// dangerous: an admin's session must have logged in lately.
	dangerous bool
}

func userPath(suffix string) func(u *usher.User, s *usher.Session) string {
	return func(u *usher.User, s *usher.Session) string {
		return "/user/api/admin/users/" + u.ID + strings.ReplaceAll(suffix, "{sid}", s.ID)
	}
}

func fixedPath(p string) func(*usher.User, *usher.Session) string {
	return func(*usher.User, *usher.Session) string { return p }
}

// adminCalls returns a good call of every admin route.
func adminCalls() []adminCall {
	return []adminCall{
		{"GET /api/admin/users", "GET", fixedPath("/user/api/admin/users?search=target"), nil, 200, false},
		{"POST /api/admin/users", "POST", fixedPath("/user/api/admin/users"), nil, 201, false}, // body per caller
		{"GET /api/admin/users/{id}", "GET", userPath(""), nil, 200, false},
		{"PATCH /api/admin/users/{id}", "PATCH", userPath(""), map[string]any{"profile": map[string]string{"team": "blue"}}, 200, false},
		{"DELETE /api/admin/users/{id}", "DELETE", userPath(""), nil, 200, true},
		{"POST /api/admin/users/{id}/enable", "POST", userPath("/enable"), map[string]any{}, 200, false},
		{"POST /api/admin/users/{id}/disable", "POST", userPath("/disable"), map[string]any{}, 200, false},
		{"POST /api/admin/users/{id}/unlock", "POST", userPath("/unlock"), map[string]any{}, 200, false},
		{"POST /api/admin/users/{id}/require-reset", "POST", userPath("/require-reset"), map[string]any{}, 200, false},
		{"POST /api/admin/users/{id}/password", "POST", userPath("/password"), map[string]any{"password": "another fine passphrase"}, 200, true},
		{"PUT /api/admin/users/{id}/roles/{role}", "PUT", userPath("/roles/auditor"), map[string]any{}, 200, true},
		{"DELETE /api/admin/users/{id}/roles/{role}", "DELETE", userPath("/roles/editor"), nil, 200, true},
		{"GET /api/admin/users/{id}/sessions", "GET", userPath("/sessions"), nil, 200, false},
		{"DELETE /api/admin/users/{id}/sessions", "DELETE", userPath("/sessions"), nil, 200, false},
		{"DELETE /api/admin/users/{id}/sessions/{sid}", "DELETE", userPath("/sessions/{sid}"), nil, 200, false},
		{"GET /api/admin/users/{id}/factors", "GET", userPath("/factors"), nil, 200, false},
		{"DELETE /api/admin/users/{id}/factors", "DELETE", userPath("/factors"), nil, 200, false},
		{"POST /api/admin/invite", "POST", fixedPath("/user/api/admin/invite"), nil, 200, false}, // body per caller
		{"GET /api/admin/audit", "GET", fixedPath("/user/api/admin/audit"), nil, 200, false},
	}
}

// body returns the call's body, made unique per use where it creates
// something.
func (c adminCall) bodyFor(e *adminEnv) any {
	e.n++
	switch c.route {
	case "POST /api/admin/users":
		return map[string]any{"email": fmt.Sprintf("new%d@example.com", e.n), "password": pw, "roles": []string{"editor"}}
	case "POST /api/admin/invite":
		return map[string]any{"email": fmt.Sprintf("invitee%d@example.com", e.n)}
	}
	return c.body
}

// TestAdminCallsCoverEveryRoute: the table below tests every admin route.
func TestAdminCallsCoverEveryRoute(t *testing.T) {
	var covered []string
	for _, c := range adminCalls() {
		covered = append(covered, c.route)
	}
	for _, rt := range web.AdminRoutes() {
		if !slices.Contains(covered, rt) {
			t.Errorf("admin route %q has no call in adminCalls", rt)
		}
	}
}

// TestAdminRoutesWhoMayCall: every admin route answers an admin's session
// and an API key; a revoked key, a key-like token that is no key, no
// credentials (401), a user without the admin role (403) and an admin's
// browser sent from another site (403) get nothing, and nothing changes
// for them.
func TestAdminRoutesWhoMayCall(t *testing.T) {
	e := newAdminEnv(t)
	for _, c := range adminCalls() {
		t.Run(c.route, func(t *testing.T) {
			e.t = t
			u, s := e.target()
			path := c.path(u, s)
			_, before, _ := e.svc.ListUsers(context.Background(), usher.UserQuery{})
			mails, _ := e.svc.Store().ListMessages(context.Background(), "", 100)
			for _, tc := range []struct {
				who    string
				do     func() reply
				status int
				code   string
			}{
				{"anonymous", func() reply { return e.do(e.browser(), c.method, path, c.bodyFor(e)) }, 401, "login_required"},
				{"non-admin", func() reply { return e.do(e.plainB, c.method, path, c.bodyFor(e)) }, 403, "forbidden"},
				{"revoked key", func() reply { return e.asKey(e.revokedKey, c.method, path, c.bodyFor(e)) }, 401, "authentication_failed"},
				{"unknown key", func() reply { return e.asKey(usher.APIKeyPrefix+strings.Repeat("A", 43), c.method, path, c.bodyFor(e)) }, 401, "authentication_failed"},
				{"not a key", func() reply { return e.asKey(usher.APIKeyPrefix+"short", c.method, path, c.bodyFor(e)) }, 401, "authentication_failed"},
				{"admin, other site", func() reply {
					return e.do(e.adminB, c.method, path, c.bodyFor(e), "Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site")
				}, 403, "forbidden"},
			} {
				if tc.who == "admin, other site" && c.method == "GET" {
					continue // a read from another site cannot read the answer
				}
				if r := tc.do(); r.status != tc.status || r.errCode() != tc.code {
					t.Errorf("%s: %d %s; want %d %s", tc.who, r.status, r.raw, tc.status, tc.code)
				}
			}
			// Nothing happened: to the target, no user made, no mail sent.
			if got, err := e.svc.User(context.Background(), u.ID); err != nil || !got.Enabled || !slices.Equal(got.Roles, []string{"editor"}) {
				t.Errorf("after refused calls the target is %+v, %v", got, err)
			}
			if _, after, _ := e.svc.ListUsers(context.Background(), usher.UserQuery{}); after != before {
				t.Errorf("refused calls changed the number of users from %d to %d", before, after)
			}
			if m, _ := e.svc.Store().ListMessages(context.Background(), "", 100); len(m) != len(mails) {
				t.Errorf("refused calls queued %d messages", len(m)-len(mails))
			}
			if ss, _ := e.svc.ListSessions(context.Background(), u.ID); len(ss) != 1 {
				t.Errorf("after refused calls the target has %d sessions, want 1", len(ss))
			}

			if r := e.do(e.adminB, c.method, path, c.bodyFor(e)); r.status != c.status {
				t.Errorf("admin session: %d %s; want %d", r.status, r.raw, c.status)
			}
			u2, s2 := e.target()
			if r := e.asKey(e.key, c.method, c.path(u2, s2), c.bodyFor(e)); r.status != c.status {
				t.Errorf("API key: %d %s; want %d", r.status, r.raw, c.status)
			}
		})
	}
}

// TestAdminFreshLogin: the dangerous routes need an admin's log-in within
// the last 10 minutes (403 reauthentication_required, nothing changed);
// the others do not, and API keys are exempt.
func TestAdminFreshLogin(t *testing.T) {
	e := newAdminEnv(t)
	e.clock.Advance(usher.FreshLogin + time.Minute)
	for _, c := range adminCalls() {
		t.Run(c.route, func(t *testing.T) {
			e.t = t
			u, s := e.target()
			r := e.do(e.adminB, c.method, c.path(u, s), c.bodyFor(e))
			dangerous := c.dangerous || c.route == "POST /api/admin/users" // it gives roles
			if dangerous {
				if r.status != 403 || r.errCode() != "reauthentication_required" {
					t.Fatalf("stale admin session: %d %s; want 403 reauthentication_required", r.status, r.raw)
				}
				if got, err := e.svc.User(context.Background(), u.ID); err != nil || !slices.Equal(got.Roles, []string{"editor"}) {
					t.Errorf("after a refused call the target is %+v, %v", got, err)
				}
			} else if r.status != c.status {
				t.Errorf("stale admin session, harmless route: %d %s; want %d", r.status, r.raw, c.status)
			}
			if r := e.asKey(e.key, c.method, c.path(u, s), c.bodyFor(e)); dangerous && r.status != c.status {
				t.Errorf("API key: %d %s; want %d", r.status, r.raw, c.status)
			}
		})
	}
	// Logging in again makes the session fresh.
	e.t = t
	b := e.login("root@example.com")
	u, _ := e.target()
	if r := e.do(b, "DELETE", "/user/api/admin/users/"+u.ID, nil); r.status != 200 {
		t.Errorf("delete after a new log-in: %d %s", r.status, r.raw)
	}
	// A user created without roles needs no fresh log-in.
	e.clock.Advance(usher.FreshLogin + time.Minute)
	if r := e.do(b, "POST", "/user/api/admin/users", map[string]any{"email": "plainnew@example.com", "password": pw}); r.status != 201 {
		t.Errorf("create without roles, stale session: %d %s", r.status, r.raw)
	}
}

// TestAPIReauth: POST /user/api/reauth with the password makes a stale
// admin session fresh for the dangerous routes; a wrong password does not
// (and counts as a failure), and it needs a session.
func TestAPIReauth(t *testing.T) {
	e := newAdminEnv(t)
	e.clock.Advance(usher.FreshLogin + time.Minute)
	u, _ := e.target()
	del := func() int { return e.do(e.adminB, "DELETE", "/user/api/admin/users/"+u.ID, nil).status }
	if got := del(); got != 403 {
		t.Fatalf("stale session: %d; want 403", got)
	}
	if r := e.do(e.adminB, "POST", "/user/api/reauth", map[string]any{"password": "not the password"}); r.status != 401 {
		t.Errorf("wrong password: %d %s; want 401", r.status, r.raw)
	}
	if got := del(); got != 403 {
		t.Errorf("after a wrong password: %d; want 403", got)
	}
	if r := e.do(e.adminB, "POST", "/user/api/reauth", map[string]any{}); r.status != 422 || r.errCode() != "validation_failed" {
		t.Errorf("no password: %d %s; want 422 validation_failed", r.status, r.raw)
	}
	r := e.do(e.adminB, "POST", "/user/api/reauth", map[string]any{"password": pw})
	if r.status != 200 || r.body["fresh_for_seconds"] != float64(600) {
		t.Fatalf("reauth: %d %s", r.status, r.raw)
	}
	if got := del(); got != 200 {
		t.Errorf("after re-authenticating: %d; want 200", got)
	}
	if r := e.asKey(e.key, "POST", "/user/api/reauth", map[string]any{"password": pw}); r.status != 401 {
		t.Errorf("API key: %d %s; want 401 (no session)", r.status, r.raw)
	}
}

// TestAdminCookieWritesNeedSameOriginJSON: an admin's browser request that
// changes something is refused from another site (Origin,
// Sec-Fetch-Site), and a POST unless it is JSON, which a cross-site form
// cannot send; an API key's request is not cookie-based and needs neither.
func TestAdminCookieWritesNeedSameOriginJSON(t *testing.T) {
	e := newAdminEnv(t)
	u, _ := e.target()
	path := "/user/api/admin/users/" + u.ID + "/disable"
	for _, hdr := range [][]string{
		{"Origin", "https://evil.example"},
		{"Sec-Fetch-Site", "cross-site"},
	} {
		if r := e.do(e.adminB, "POST", path, map[string]any{}, hdr...); r.status != 403 || r.errCode() != "forbidden" {
			t.Errorf("%v: %d %s; want 403 forbidden", hdr, r.status, r.raw)
		}
	}
	for _, ct := range []string{"application/x-www-form-urlencoded", "text/plain", "multipart/form-data; boundary=x", ""} {
		req, _ := http.NewRequest("POST", e.srv.URL+path, strings.NewReader("x=1"))
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		res, err := e.adminB.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusUnsupportedMediaType {
			t.Errorf("cookie POST as %q: %d; want 415", ct, res.StatusCode)
		}
	}
	if got, _ := e.svc.User(context.Background(), u.ID); !got.Enabled {
		t.Fatal("a refused request disabled the user")
	}
	// Reads need no Content-Type; an API key needs none either.
	if r := e.do(e.adminB, "GET", "/user/api/admin/users/"+u.ID, nil); r.status != 200 {
		t.Errorf("cookie GET: %d %s", r.status, r.raw)
	}
	req, _ := http.NewRequest("POST", e.srv.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+e.key)
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != 200 {
		t.Errorf("API key POST without a body: %v %v", res.StatusCode, err)
	}
}

// TestAdminLastAdmin: an admin cannot take the admin role from themselves,
// disable or delete themselves while nobody else has it (the console's
// rule: web.Handler.LastAdmin); once someone else has it they can.
func TestAdminLastAdmin(t *testing.T) {
	e := newAdminEnv(t)
	path := "/user/api/admin/users/" + e.admin.ID + "/roles/admin"
	if r := e.do(e.adminB, "DELETE", path, nil, "Content-Type", "application/json"); r.status != 409 || r.errCode() != "last_admin" {
		t.Fatalf("last admin removes own role: %d %s; want 409 last_admin", r.status, r.raw)
	}
	// Nor disable or delete themselves.
	self := "/user/api/admin/users/" + e.admin.ID
	if r := e.do(e.adminB, "POST", self+"/disable", map[string]any{}); r.status != 409 || r.errCode() != "last_admin" {
		t.Errorf("last admin disables themselves: %d %s; want 409 last_admin", r.status, r.raw)
	}
	if r := e.do(e.adminB, "DELETE", self, nil); r.status != 409 || r.errCode() != "last_admin" {
		t.Errorf("last admin deletes themselves: %d %s; want 409 last_admin", r.status, r.raw)
	}
	if got, _ := e.svc.User(context.Background(), e.admin.ID); got == nil || !got.HasRoles("admin") || !got.Enabled {
		t.Fatal("the last admin lost the role or was disabled")
	}
	other := usertest.MustCreateUser(t, e.svc, "second@example.com", "admin")
	if r := e.do(e.adminB, "DELETE", path, nil, "Content-Type", "application/json"); r.status != 200 {
		t.Fatalf("with a second admin: %d %s", r.status, r.raw)
	}
	// The session no longer has the role.
	if r := e.do(e.adminB, "GET", "/user/api/admin/users", nil); r.status != 403 {
		t.Errorf("after giving up the role: %d %s; want 403", r.status, r.raw)
	}
	// An API key may take the role from the last admin (a deliberate
	// act of the operator, not a slip of one's own session).
	if r := e.asKey(e.key, "DELETE", "/user/api/admin/users/"+other.ID+"/roles/admin", nil); r.status != 200 {
		t.Errorf("API key removes the last admin's role: %d %s", r.status, r.raw)
	}
}

// TestAdminBadInput: malformed input is 422 validation_failed (or 400 for
// a body that is not JSON) naming the field, and changes nothing.
func TestAdminBadInput(t *testing.T) {
	e := newAdminEnv(t)
	u, _ := e.target()
	id := u.ID
	for _, tc := range []struct {
		method, path string
		body         any
		status       int
		field        string
	}{
		{"GET", "/user/api/admin/users?limit=0", nil, 422, "limit"},
		{"GET", "/user/api/admin/users?limit=many", nil, 422, "limit"},
		{"GET", "/user/api/admin/users?cursor=%21%21", nil, 422, "cursor"},
		{"POST", "/user/api/admin/users", map[string]any{"email": "not an address", "password": pw}, 422, "email"},
		{"PATCH", "/user/api/admin/users/" + id, map[string]any{"profile": map[string]string{"shoe_size": "44"}}, 422, "shoe_size"},
		{"PATCH", "/user/api/admin/users/" + id, map[string]any{}, 422, "profile"},
		{"PATCH", "/user/api/admin/users/" + id, "a string", 400, ""},
		{"POST", "/user/api/admin/users/" + id + "/password", map[string]any{}, 422, "password"},
		{"PUT", "/user/api/admin/users/" + id + "/roles/no%20spaces", map[string]any{}, 422, "role"},
		{"POST", "/user/api/admin/invite", map[string]any{"email": "nope"}, 422, "email"},
		{"GET", "/user/api/admin/audit?since=yesterday", nil, 422, "since"},
		{"GET", "/user/api/admin/audit?limit=100000", nil, 422, "limit"},
		{"GET", "/user/api/admin/audit?cursor=zz", nil, 422, "cursor"},
	} {
		r := e.do(e.adminB, tc.method, tc.path, tc.body)
		if r.status != tc.status {
			t.Errorf("%s %s: %d %s; want %d", tc.method, tc.path, r.status, r.raw, tc.status)
			continue
		}
		if tc.field != "" {
			fields, _ := r.body["error"].(map[string]any)["fields"].(map[string]any)
			if r.errCode() != "validation_failed" || fields[tc.field] == nil {
				t.Errorf("%s %s: %s; want validation_failed on %s", tc.method, tc.path, r.raw, tc.field)
			}
		}
	}
	got, _ := e.svc.User(context.Background(), id)
	if !slices.Equal(got.Roles, []string{"editor"}) || len(got.Profile) != 0 || !got.Enabled {
		t.Errorf("bad input changed the user: %+v", got)
	}
	if _, n, _ := e.svc.ListUsers(context.Background(), usher.UserQuery{}); n != 3 {
		t.Errorf("%d users after bad input, want 3", n)
	}
	// An unknown user is 404 for every user route.
	if r := e.asKey(e.key, "POST", "/user/api/admin/users/nobody/disable", nil); r.status != 404 || r.errCode() != "not_found" {
		t.Errorf("unknown user: %d %s", r.status, r.raw)
	}
}

// TestAdminActions: what each action does, as the API and the Service see
// it, and the audit trail naming who did it.
func TestAdminActions(t *testing.T) {
	e := newAdminEnv(t)
	ctx := context.Background()
	u, s := e.target()
	base := "/user/api/admin/users/" + u.ID

	r := e.asKey(e.key, "GET", base, nil)
	user, _ := r.body["user"].(map[string]any)
	if r.status != 200 || user["email"] != u.Email || user["has_password"] != true || strings.Contains(r.raw, "argon2") {
		t.Fatalf("get: %s", r.raw)
	}
	if r := e.asKey(e.key, "POST", base+"/disable", nil); r.body["user"].(map[string]any)["enabled"] != false {
		t.Errorf("disable: %s", r.raw)
	}
	if _, _, err := e.svc.Authenticate(ctx, s.Token); err == nil {
		t.Error("the disabled user's session still works")
	}
	e.asKey(e.key, "POST", base+"/enable", nil)
	for i := 0; i < 10; i++ {
		e.svc.LoginWithEmail(ctx, u.Email, "wrong password", false, usher.Client{IP: "192.0.2.1"})
	}
	if r := e.do(e.adminB, "POST", base+"/unlock", map[string]any{}); r.body["user"].(map[string]any)["password_failures"] != 0.0 {
		t.Errorf("unlock: %s", r.raw)
	}
	if r := e.do(e.adminB, "PUT", base+"/roles/auditor", map[string]any{}); fmt.Sprint(r.body["user"].(map[string]any)["roles"]) != "[auditor editor]" {
		t.Errorf("add role: %s", r.raw)
	}
	if r := e.do(e.adminB, "POST", base+"/require-reset", map[string]any{}); r.body["user"].(map[string]any)["password_reset_required"] != true {
		t.Errorf("require-reset: %s", r.raw)
	}
	if r := e.do(e.adminB, "PATCH", base, map[string]any{"profile": map[string]string{"team": "blue"}}); fmt.Sprint(r.body["user"].(map[string]any)["profile"]) != "map[team:blue]" {
		t.Errorf("patch: %s", r.raw)
	}
	s2, _ := e.svc.ForceLogin(ctx, u.ID, false, usher.Client{})
	if r := e.asKey(e.key, "GET", base+"/sessions", nil); len(r.body["sessions"].([]any)) != 1 || strings.Contains(r.raw, s2.Token) {
		t.Errorf("sessions: %s", r.raw)
	}
	if r := e.asKey(e.key, "DELETE", base+"/sessions/"+s2.ID, nil); r.status != 200 {
		t.Errorf("revoke one: %s", r.raw)
	}
	if r := e.asKey(e.key, "DELETE", base+"/sessions/"+s2.ID, nil); r.status != 404 {
		t.Errorf("revoke it again: %d %s", r.status, r.raw)
	}
	if r := e.asKey(e.key, "GET", base+"/factors", nil); r.status != 200 || len(r.body["factors"].([]any)) != 0 {
		t.Errorf("factors: %s", r.raw)
	}

	// The audit trail: each change's own event names who did it (the
	// API key, or the admin) and from where; no extra event, no read.
	evs, _ := e.svc.AuditLog(ctx, usher.AuditQuery{UserID: u.ID})
	by := map[string]usher.Actor{}
	for _, ev := range evs {
		if ev.Actor.Kind == usher.ActorAPIKey || ev.Actor.Kind == usher.ActorAdmin {
			if ev.IP != "127.0.0.1" {
				t.Errorf("%s by %+v: IP %q", ev.Type, ev.Actor, ev.IP)
			}
			by[ev.Type+" "+ev.Detail] = ev.Actor
		}
		if ev.Type == "admin_action" {
			t.Errorf("an admin_action event: %+v", ev)
		}
	}
	keyID := ""
	if keys, _ := e.svc.ListAPIKeys(ctx); len(keys) > 0 {
		for _, k := range keys {
			if k.Name == "ci" {
				keyID = k.ID
			}
		}
	}
	asKey := usher.Actor{Kind: usher.ActorAPIKey, ID: keyID, Name: "ci"}
	asAdmin := usher.Actor{Kind: usher.ActorAdmin, ID: e.admin.ID, Name: e.admin.Email}
	for ev, want := range map[string]usher.Actor{
		usher.EventDisabled + " ": asKey, usher.EventEnabled + " ": asKey, usher.EventRoleAdded + " auditor": asAdmin,
	} {
		if got, ok := by[ev]; !ok || got != want {
			t.Errorf("the %q entry's actor: %+v (found %v); want %+v; all: %v", ev, got, ok, want, by)
		}
	}
	if len(by) < 6 {
		t.Errorf("only %d entries by an admin or key: %v", len(by), by)
	}

	// The audit route filters by actor, kind, user and time.
	r = e.asKey(e.key, "GET", "/user/api/admin/audit?actor="+keyID+"&user="+u.ID, nil)
	list := r.body["events"].([]any)
	if len(list) != 3 { // disabled, enabled, session_revoked
		t.Fatalf("audit by actor: %d events %s; want 3", len(list), r.raw)
	}
	last := list[len(list)-1].(map[string]any) // newest first: the disable is the oldest
	if last["actor"] != keyID || last["actor_kind"] != "apikey" || last["actor_name"] != "ci" || last["action"] != "disabled" ||
		last["type"] != "disabled" || last["user_id"] != u.ID || last["ip"] != "127.0.0.1" {
		t.Errorf("audit event: %v", last)
	}
	if r := e.asKey(e.key, "GET", "/user/api/admin/audit?actor_kind=admin&user="+u.ID, nil); len(r.body["events"].([]any)) < 3 {
		t.Errorf("audit by actor kind: %s", r.raw)
	}
	r = e.asKey(e.key, "GET", "/user/api/admin/audit?kind=disabled&user="+u.ID, nil)
	if list := r.body["events"].([]any); len(list) != 1 {
		t.Errorf("audit by kind: %s", r.raw)
	}
	later := e.clock.Now().Add(time.Hour).Format(time.RFC3339)
	if r := e.asKey(e.key, "GET", "/user/api/admin/audit?since="+later, nil); len(r.body["events"].([]any)) != 0 {
		t.Errorf("audit since later: %s", r.raw)
	}
	earlier := e.clock.Now().Add(-time.Hour).Format(time.RFC3339)
	if r := e.asKey(e.key, "GET", "/user/api/admin/audit?until="+earlier, nil); len(r.body["events"].([]any)) != 0 {
		t.Errorf("audit until earlier: %s", r.raw)
	}

	// Delete: gone, and recorded with the address.
	e.svc.ForceLogin(ctx, u.ID, false, usher.Client{})
	if r := e.do(e.adminB, "DELETE", base+"/factors", nil, "Content-Type", "application/json"); r.status != 200 {
		t.Errorf("reset factors: %s", r.raw)
	}
	if ss, _ := e.svc.ListSessions(ctx, u.ID); len(ss) != 0 {
		t.Errorf("sessions after the factors' reset: %d", len(ss))
	}
	if r := e.do(e.adminB, "DELETE", base, nil, "Content-Type", "application/json"); r.status != 200 {
		t.Fatalf("delete: %s", r.raw)
	}
	if _, err := e.svc.User(ctx, u.ID); err == nil {
		t.Error("the user is still there")
	}
	// The deleted user's entries stay, their target kept as the ID.
	r = e.asKey(e.key, "GET", "/user/api/admin/audit?kind=deleted,mfa_reset&actor="+e.admin.ID+"&user="+u.ID, nil)
	if list := r.body["events"].([]any); len(list) != 2 || list[0].(map[string]any)["type"] != "deleted" ||
		list[0].(map[string]any)["actor_name"] != e.admin.Email || list[0].(map[string]any)["user_id"] != u.ID {
		t.Errorf("delete and factors' reset in the audit log: %s", r.raw)
	}
}

// TestAdminListPaging: the users list pages with next_cursor until it is
// null, every user once; the audit log likewise.
func TestAdminListPaging(t *testing.T) {
	e := newAdminEnv(t)
	for i := 0; i < 7; i++ {
		e.target()
	}
	seen := map[string]bool{}
	path := "/user/api/admin/users?search=target&limit=3"
	for pages := 0; ; pages++ {
		r := e.asKey(e.key, "GET", path, nil)
		if r.status != 200 || r.body["total"] != 7.0 {
			t.Fatalf("page %d: %s", pages, r.raw)
		}
		for _, u := range r.body["users"].([]any) {
			id := u.(map[string]any)["id"].(string)
			if seen[id] {
				t.Errorf("user %s on two pages", id)
			}
			seen[id] = true
		}
		next, _ := r.body["next_cursor"].(string)
		if next == "" {
			break
		}
		if pages > 5 {
			t.Fatal("paging does not end")
		}
		path = "/user/api/admin/users?search=target&limit=3&cursor=" + next
	}
	if len(seen) != 7 {
		t.Errorf("paged through %d users, want 7", len(seen))
	}
	if r := e.asKey(e.key, "GET", "/user/api/admin/users?role=admin", nil); r.body["total"] != 1.0 {
		t.Errorf("role filter: %s", r.raw)
	}

	var ids []float64
	path = "/user/api/admin/audit?limit=4"
	for pages := 0; ; pages++ {
		r := e.asKey(e.key, "GET", path, nil)
		for _, ev := range r.body["events"].([]any) {
			ids = append(ids, ev.(map[string]any)["id"].(float64))
		}
		next, _ := r.body["next_cursor"].(string)
		if next == "" {
			break
		}
		if pages > 50 {
			t.Fatal("audit paging does not end")
		}
		path = "/user/api/admin/audit?limit=4&cursor=" + next
	}
	all, _ := e.svc.Events(context.Background(), "", 1000)
	if len(ids) != len(all) || !slices.IsSortedFunc(ids, func(a, b float64) int { return int(b - a) }) {
		t.Errorf("audit pages gave %d events %v; want all %d, newest first", len(ids), ids, len(all))
	}
}

// TestAdminInviteNeedsInvitations: with enable_invite_user off the invite
// route is 404, and no mail is queued.
func TestAdminInviteNeedsInvitations(t *testing.T) {
	svc := usertest.NewService(t, usher.Config{}, usertest.NewSQLiteStore(t), nil)
	key, _, err := svc.CreateAPIKey(context.Background(), "ci")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(web.New(svc, web.Options{Logger: testLogger(t)}))
	t.Cleanup(srv.Close)
	e := &env{t: t, srv: srv, svc: svc}
	r := e.do(http.DefaultClient, "POST", "/user/api/admin/invite", map[string]any{"email": "x@example.com"}, "Authorization", "Bearer "+key)
	if r.status != 404 || r.errCode() != "not_found" {
		t.Errorf("invite with invitations off: %d %s", r.status, r.raw)
	}
	if msgs, _ := svc.Store().ListMessages(context.Background(), "", 10); len(msgs) != 0 {
		t.Errorf("%d messages queued", len(msgs))
	}
}

// TestAPIKeyLastUsed: a key's use is recorded, at most once a minute.
func TestAPIKeyLastUsed(t *testing.T) {
	e := newAdminEnv(t)
	ctx := context.Background()
	lastUsed := func() time.Time {
		list, _ := e.svc.ListAPIKeys(ctx)
		for _, k := range list {
			if k.Name == "ci" {
				return k.LastUsedAt
			}
		}
		t.Fatal("no key ci")
		return time.Time{}
	}
	if !lastUsed().IsZero() {
		t.Fatal("a new key has been used")
	}
	e.asKey(e.key, "GET", "/user/api/admin/users", nil)
	first := lastUsed()
	if !first.Equal(e.clock.Now()) {
		t.Fatalf("last used %v, want %v", first, e.clock.Now())
	}
	e.clock.Advance(30 * time.Second)
	e.asKey(e.key, "GET", "/user/api/admin/users", nil)
	if !lastUsed().Equal(first) {
		t.Error("a second use within the minute was written")
	}
	e.clock.Advance(31 * time.Second)
	e.asKey(e.key, "GET", "/user/api/admin/users", nil)
	if !lastUsed().Equal(e.clock.Now()) {
		t.Error("a use after a minute was not written")
	}
}

// TestAPIKeyRevokedStopsWorking: a key works until it is revoked, and not
// a request after.
func TestAPIKeyRevokedStopsWorking(t *testing.T) {
	e := newAdminEnv(t)
	key, _, err := e.svc.CreateAPIKey(context.Background(), "deploy")
	if err != nil {
		t.Fatal(err)
	}
	if r := e.asKey(key, "GET", "/user/api/admin/users", nil); r.status != 200 {
		t.Fatalf("new key: %d %s", r.status, r.raw)
	}
	if _, err := e.svc.RevokeAPIKey(context.Background(), "deploy"); err != nil {
		t.Fatal(err)
	}
	if r := e.asKey(key, "GET", "/user/api/admin/users", nil); r.status != 401 || r.errCode() != "authentication_failed" {
		t.Errorf("revoked key: %d %s; want 401 authentication_failed", r.status, r.raw)
	}
	// A key is no session: the rest of the API does not take it.
	if r := e.asKey(e.key, "GET", "/user/api/me", nil); r.status != 401 {
		t.Errorf("an API key on /user/api/me: %d %s; want 401", r.status, r.raw)
	}
}

// TestAdminBearerSession: an admin's bearer session token (a program
// logged in as the admin) is an admin session, not a cookie: its POSTs
// need no JSON type, and the fresh-log-in rule holds.
func TestAdminBearerSession(t *testing.T) {
	e := newAdminEnv(t)
	r := e.do(http.DefaultClient, "POST", "/user/api/login", map[string]any{"email": "root@example.com", "password": pw, "bearer": true})
	tok, _ := r.body["session"].(map[string]any)["token"].(string)
	if tok == "" {
		t.Fatalf("bearer login: %s", r.raw)
	}
	u, _ := e.target()
	req, _ := http.NewRequest("POST", e.srv.URL+"/user/api/admin/users/"+u.ID+"/disable", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != 200 {
		t.Errorf("bearer session POST: %v %v", res.StatusCode, err)
	}
	e.clock.Advance(usher.FreshLogin + time.Minute)
	if r := e.asKey(tok, "DELETE", "/user/api/admin/users/"+u.ID, nil); r.status != 403 || r.errCode() != "reauthentication_required" {
		t.Errorf("stale bearer session deletes: %d %s", r.status, r.raw)
	}
}

// TestAdminListFilters: the users list takes the console's filters
// (field, exact, enabled, locked, confirmed, has_mfa, role, provider,
// sort, desc), and its keyset cursor is not shifted by a sign-up between
// pages.
func TestAdminListFilters(t *testing.T) {
	e := newAdminEnv(t)
	ctx := context.Background()
	e.clock.Advance(time.Second)
	a, _ := e.target()
	e.clock.Advance(time.Second)
	b, _ := e.target()
	e.svc.DisableUser(ctx, b.ID)
	e.svc.UpdateProfile(ctx, a.ID, map[string]string{"team": "blue"})
	count := func(query string) int {
		t.Helper()
		r := e.asKey(e.key, "GET", "/user/api/admin/users?"+query, nil)
		if r.status != 200 {
			t.Fatalf("%s: %d %s", query, r.status, r.raw)
		}
		return len(r.body["users"].([]any))
	}
	for q, want := range map[string]int{
		"search=target":                     2,
		"search=" + a.Email + "&exact=true": 1,
		"search=target1&exact=1":            0,
		"search=blue&field=team":            1,
		"enabled=false":                     1,
		"enabled=true&role=editor":          1,
		"locked=true":                       0,
		"has_mfa=false&search=target":       2,
		"confirmed=true&search=target":      2,
		"provider=github":                   0,
	} {
		if n := count(q); n != want {
			t.Errorf("%s: %d users; want %d", q, n, want)
		}
	}
	for _, q := range []string{"enabled=maybe", "desc=x", "sort=height", "field=shoe_size&search=1"} {
		if r := e.asKey(e.key, "GET", "/user/api/admin/users?"+q, nil); r.status != 422 {
			t.Errorf("%s: %d %s; want 422", q, r.status, r.raw)
		}
	}
	// Newest first, two a page; a sign-up between the pages does not
	// shift the second.
	r := e.asKey(e.key, "GET", "/user/api/admin/users?desc=true&limit=2", nil)
	next, _ := r.body["next_cursor"].(string)
	first := r.body["users"].([]any)
	if next == "" || first[0].(map[string]any)["id"] != b.ID {
		t.Fatalf("first page newest first: %s", r.raw)
	}
	e.clock.Advance(time.Second)
	e.target()
	r = e.asKey(e.key, "GET", "/user/api/admin/users?desc=true&limit=2&cursor="+next, nil)
	second := r.body["users"].([]any)
	var emails []string
	for _, u := range second {
		emails = append(emails, u.(map[string]any)["email"].(string))
	}
	slices.Sort(emails)
	if !slices.Equal(emails, []string{"plain@example.com", "root@example.com"}) || first[1].(map[string]any)["id"] != a.ID {
		t.Errorf("second page after a sign-up: %s", r.raw)
	}
}
