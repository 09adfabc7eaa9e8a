package web_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/usher-auth/usher"
	"github.com/usher-auth/usher/usertest"
	"github.com/usher-auth/usher/web"
)

const pw = usertest.Password

// env is a test server: Usher's routes under /user/ and a developer's own
// guarded routes, over a real SQLite file.
type env struct {
	t   *testing.T
	srv *httptest.Server
	svc *usher.Service
	h   *web.Handler
}

func newEnv(t *testing.T, cfg usher.Config) *env {
	t.Helper()
	svc := usertest.NewService(t, cfg, usertest.NewSQLiteStore(t), nil)
	h := web.New(svc, web.Options{Logger: testLogger(t)})
	mux := http.NewServeMux()
	mux.Handle("/user/", h)
	whoami := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, web.UserFromContext(r.Context()).Email)
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "home") })
	mux.Handle("GET /private", h.LoginRequired(whoami))
	mux.Handle("GET /admin", h.RolesRequired("admin")(whoami))
	mux.Handle("GET /art", h.RolesRequired("starving", usher.AnyOf("artist", "programmer"))(whoami))
	mux.Handle("GET /basic", h.AuthenticateUsers(whoami))
	mux.Handle("GET /creds", h.RequireCredentials(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, _ := r.BasicAuth()
		fmt.Fprint(w, u+":"+p)
	})))
	mux.HandleFunc("GET /fresh", func(w http.ResponseWriter, r *http.Request) {
		u, err := h.GetUser(r, false)
		if err != nil || u == nil {
			fmt.Fprint(w, "nobody")
			return
		}
		fmt.Fprint(w, u.Email)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &env{t: t, srv: srv, svc: svc, h: h}
}

// browser returns a client with a cookie jar.
func (e *env) browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar}
}

type reply struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func (r reply) errCode() string {
	e, _ := r.body["error"].(map[string]any)
	s, _ := e["code"].(string)
	return s
}

func (e *env) do(c *http.Client, method, path string, body any, hdr ...string) reply {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, e.srv.URL+path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	r := reply{status: res.StatusCode, header: res.Header, raw: string(raw)}
	json.Unmarshal(raw, &r.body)
	return r
}

func cookie(h http.Header, name string) *http.Cookie {
	for _, c := range (&http.Response{Header: h}).Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func TestSignupLoginMeLogout(t *testing.T) {
	e := newEnv(t, usher.Config{})
	b := e.browser()
	r := e.do(b, "POST", "/user/api/signup", map[string]any{"email": "ann@example.com", "password": pw})
	if r.status != 201 {
		t.Fatalf("signup: %d %s", r.status, r.raw)
	}
	c := cookie(r.header, "usher_session")
	if c == nil || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Secure {
		t.Fatalf("session cookie %+v: want HttpOnly, SameSite=Lax, not Secure on http://127.0.0.1", c)
	}
	if strings.Contains(r.raw, "password") || strings.Contains(r.raw, "token") {
		t.Errorf("signup answer shows a password hash or token: %s", r.raw)
	}
	if r := e.do(b, "GET", "/user/api/me", nil); r.status != 200 || r.body["user"].(map[string]any)["email"] != "ann@example.com" {
		t.Fatalf("me: %d %s", r.status, r.raw)
	}
	if r := e.do(b, "POST", "/user/api/logout", map[string]any{}); r.status != 200 {
		t.Fatalf("logout: %d %s", r.status, r.raw)
	}
	if r := e.do(b, "GET", "/user/api/me", nil); r.status != 401 || r.errCode() != "login_required" {
		t.Fatalf("me after logout: %d %s", r.status, r.raw)
	}
	r = e.do(b, "POST", "/user/api/login", map[string]any{"email": "ANN@example.com", "password": pw})
	if r.status != 200 {
		t.Fatalf("login: %d %s", r.status, r.raw)
	}
	if cookie(r.header, "usher_session") == nil {
		t.Fatal("login set no session cookie")
	}
	if c := cookie(r.header, "usher_session_remember"); c == nil || c.MaxAge >= 0 {
		t.Errorf("login without remember: remember cookie %+v; want it deleted", c)
	}
	if r := e.do(b, "GET", "/private", nil); r.status != 200 || r.raw != "ann@example.com" {
		t.Errorf("LoginRequired route: %d %q", r.status, r.raw)
	}
}

func TestErrorAnswers(t *testing.T) {
	e := newEnv(t, usher.Config{MaxPasswordFailures: 2, LockoutDuration: -1, ProfileFields: []usher.ProfileField{{Name: "name", Required: true}}})
	usertest.MustCreateUser(t, e.svc, "ann@example.com")
	c := e.browser()
	tests := []struct {
		name       string
		method     string
		path       string
		body       any
		hdr        []string
		wantStatus int
		wantCode   string
		wantField  string
	}{
		{"unknown user", "POST", "/user/api/login", map[string]any{"email": "nobody@example.com", "password": "wrong password!"}, nil, 401, "authentication_failed", ""},
		{"wrong password", "POST", "/user/api/login", map[string]any{"email": "ann@example.com", "password": "wrong password!"}, nil, 401, "authentication_failed", ""},
		{"missing fields", "POST", "/user/api/login", map[string]any{}, nil, 422, "validation_failed", "password"},
		{"signup without name", "POST", "/user/api/signup", map[string]any{"email": "bob@example.com", "password": pw}, nil, 422, "validation_failed", "name"},
		{"signup taken", "POST", "/user/api/signup", map[string]any{"email": "ANN@example.com", "password": pw, "profile": map[string]string{"name": "A"}}, nil, 409, "user_exists", ""},
		{"weak password", "POST", "/user/api/signup", map[string]any{"email": "bob@example.com", "password": "qwerty123", "profile": map[string]string{"name": "B"}}, nil, 422, "password_not_acceptable", "password"},
		{"bad JSON", "POST", "/user/api/login", json.RawMessage(`{"email":`), nil, 400, "bad_request", ""},
		{"wrong type", "POST", "/user/api/login", map[string]any{"email": 5}, nil, 400, "bad_request", ""},
		{"cross-site POST", "POST", "/user/api/login", map[string]any{"email": "ann@example.com", "password": pw}, []string{"Sec-Fetch-Site", "cross-site"}, 403, "forbidden", ""},
		{"cross-origin POST", "POST", "/user/api/logout", map[string]any{}, []string{"Origin", "https://evil.example"}, 403, "forbidden", ""},
		{"unknown route", "GET", "/user/api/nope", nil, nil, 404, "not_found", ""},
		{"locked 1", "POST", "/user/api/login", map[string]any{"email": "ann@example.com", "password": "wrong password!"}, nil, 429, "too_many_password_failures", ""},
		{"locked, right password", "POST", "/user/api/login", map[string]any{"email": "ann@example.com", "password": pw}, nil, 429, "too_many_password_failures", ""},
	}
	for _, tt := range tests {
		r := e.do(c, tt.method, tt.path, tt.body, tt.hdr...)
		if r.status != tt.wantStatus || r.errCode() != tt.wantCode {
			t.Errorf("%s: %d %s; want %d %s", tt.name, r.status, r.raw, tt.wantStatus, tt.wantCode)
			continue
		}
		msg, _ := r.body["error"].(map[string]any)["message"].(string)
		if msg == "" || strings.Contains(msg, "usher:") {
			t.Errorf("%s: message %q; want human text", tt.name, msg)
		}
		if tt.wantField != "" {
			f, _ := r.body["error"].(map[string]any)["fields"].(map[string]any)
			if s, _ := f[tt.wantField].(string); s == "" {
				t.Errorf("%s: no message for field %s in %s", tt.name, tt.wantField, r.raw)
			}
		}
	}
	// A form post (not JSON) is refused: no cross-site form can reach the API.
	res, err := http.Post(e.srv.URL+"/user/api/login", "application/x-www-form-urlencoded", strings.NewReader("email=a&password=b"))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 415 {
		t.Errorf("form post: %d; want 415", res.StatusCode)
	}
}

func TestUnknownAndWrongLookAlike(t *testing.T) {
	e := newEnv(t, usher.Config{})
	usertest.MustCreateUser(t, e.svc, "ann@example.com")
	a := e.do(e.browser(), "POST", "/user/api/login", map[string]any{"email": "nobody@example.com", "password": "wrong password!"})
	b := e.do(e.browser(), "POST", "/user/api/login", map[string]any{"email": "ann@example.com", "password": "wrong password!"})
	if a.status != b.status || a.raw != b.raw {
		t.Fatalf("unknown: %d %s\nwrong:   %d %s", a.status, a.raw, b.status, b.raw)
	}
}

func TestRateLimitAnswer(t *testing.T) {
	// A clock that stands still, not newEnv's wall clock: the limit counts
	// in windows of a minute, and attempts either side of a minute's end
	// on the wall clock would count afresh.
	svc := usertest.NewService(t, usher.Config{LoginRateLimit: 2}, usertest.NewSQLiteStore(t), usertest.NewClock())
	srv := httptest.NewServer(web.New(svc, web.Options{Logger: testLogger(t)}))
	t.Cleanup(srv.Close)
	e := &env{t: t, srv: srv, svc: svc}
	c := e.browser()
	var r reply
	for range 3 {
		r = e.do(c, "POST", "/user/api/login", map[string]any{"email": "a@example.com", "password": "whatever pass"})
	}
	if r.status != 429 || r.errCode() != "rate_limited" || r.header.Get("Retry-After") == "" {
		t.Fatalf("3rd attempt: %d %s Retry-After=%q", r.status, r.raw, r.header.Get("Retry-After"))
	}
}

func TestRememberMe(t *testing.T) {
	e := newEnv(t, usher.Config{})
	usertest.MustCreateUser(t, e.svc, "ann@example.com")
	b := e.browser()
	r := e.do(b, "POST", "/user/api/login", map[string]any{"email": "ann@example.com", "password": pw, "remember": true})
	rc := cookie(r.header, "usher_session_remember")
	sc := cookie(r.header, "usher_session")
	if rc == nil || rc.MaxAge < 29*24*3600 || !rc.HttpOnly {
		t.Fatalf("remember cookie %+v; want persistent for 30 days, HttpOnly", rc)
	}
	if sc == nil || sc.MaxAge != 0 || !sc.Expires.IsZero() {
		t.Fatalf("session cookie %+v; want a browser-session cookie", sc)
	}
	// A browser restart keeps only the persistent cookie.
	restarted := &http.Client{}
	hdr := []string{"Cookie", "usher_session_remember=" + rc.Value}
	if r := e.do(restarted, "GET", "/user/api/me", nil, hdr...); r.status != 200 {
		t.Fatalf("me with the remember cookie only: %d %s", r.status, r.raw)
	}
	// get_user(allow_remembered=False) does not count it.
	if r := e.do(restarted, "GET", "/fresh", nil, hdr...); r.raw != "nobody" {
		t.Errorf("GetUser(allowRemembered=false) with only the remember cookie: %q", r.raw)
	}
	if r := e.do(b, "GET", "/fresh", nil); r.raw != "ann@example.com" {
		t.Errorf("GetUser(allowRemembered=false) in the log-in's browser session: %q", r.raw)
	}
}

func TestSecureCookies(t *testing.T) {
	e := newEnv(t, usher.Config{})
	usertest.MustCreateUser(t, e.svc, "ann@example.com")
	for _, tt := range []struct {
		hdr  []string
		want bool
	}{
		{nil, false},
		// Only a trusted proxy's X-Forwarded-Proto counts
		// (TestForwardedProtoNeedsTrust).
		{[]string{"X-Forwarded-Proto", "https"}, false},
	} {
		r := e.do(e.browser(), "POST", "/user/api/login", map[string]any{"email": "ann@example.com", "password": pw}, tt.hdr...)
		if c := cookie(r.header, "usher_session"); c == nil || c.Secure != tt.want {
			t.Errorf("headers %v: cookie %+v; want Secure=%v", tt.hdr, c, tt.want)
		}
	}
	// A request to a public host name over plain http still gets Secure.
	req := httptest.NewRequest("POST", "http://auth.example.com/user/api/login", strings.NewReader(`{"email":"ann@example.com","password":"`+pw+`"}`))
	req.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, req)
	if c := cookie(w.Header(), "usher_session"); c == nil || !c.Secure {
		t.Errorf("public host over http: cookie %+v; want Secure", c)
	}
}

func TestBearer(t *testing.T) {
	e := newEnv(t, usher.Config{})
	usertest.MustCreateUser(t, e.svc, "ann@example.com")
	api := &http.Client{}
	r := e.do(api, "POST", "/user/api/login", map[string]any{"email": "ann@example.com", "password": pw, "bearer": true})
	if r.status != 200 || len(r.header.Values("Set-Cookie")) != 0 {
		t.Fatalf("bearer login: %d, Set-Cookie %v", r.status, r.header.Values("Set-Cookie"))
	}
	tok, _ := r.body["session"].(map[string]any)["token"].(string)
	if len(tok) != 43 {
		t.Fatalf("token %q", tok)
	}
	if r := e.do(api, "GET", "/user/api/me", nil, "Authorization", "Bearer "+tok); r.status != 200 {
		t.Fatalf("me with bearer: %d %s", r.status, r.raw)
	}
	if r := e.do(api, "GET", "/private", nil, "Authorization", "Bearer "+tok+"x"); r.status != 401 {
		t.Fatalf("bad bearer: %d", r.status)
	}
	if r := e.do(api, "POST", "/user/api/logout", map[string]any{}, "Authorization", "Bearer "+tok); r.status != 200 {
		t.Fatalf("logout: %d", r.status)
	}
	if r := e.do(api, "GET", "/user/api/me", nil, "Authorization", "Bearer "+tok); r.status != 401 {
		t.Fatalf("me after logout: %d", r.status)
	}
}

func TestSessionsAndChangePassword(t *testing.T) {
	e := newEnv(t, usher.Config{})
	usertest.MustCreateUser(t, e.svc, "ann@example.com")
	laptop, phone, tablet := e.browser(), e.browser(), e.browser()
	for _, b := range []*http.Client{laptop, phone, tablet} {
		e.do(b, "POST", "/user/api/login", map[string]any{"email": "ann@example.com", "password": pw})
	}
	r := e.do(laptop, "GET", "/user/api/sessions", nil)
	list, _ := r.body["sessions"].([]any)
	if r.status != 200 || len(list) != 3 {
		t.Fatalf("sessions: %d %s", r.status, r.raw)
	}
	var phoneID string
	for _, s := range list {
		m := s.(map[string]any)
		if m["current"] != true && phoneID == "" {
			phoneID = m["id"].(string)
		}
	}
	if r := e.do(laptop, "DELETE", "/user/api/sessions/"+phoneID, nil); r.status != 200 {
		t.Fatalf("revoke: %d %s", r.status, r.raw)
	}
	if r := e.do(laptop, "DELETE", "/user/api/sessions/nosuchsession", nil); r.status != 404 {
		t.Fatalf("revoke unknown: %d %s", r.status, r.raw)
	}
	alive := 0
	for _, b := range []*http.Client{phone, tablet} {
		if e.do(b, "GET", "/user/api/me", nil).status == 200 {
			alive++
		}
	}
	if alive != 1 {
		t.Fatalf("%d of phone and tablet alive after revoking one; want 1", alive)
	}
	r = e.do(laptop, "POST", "/user/api/change-password", map[string]any{"old_password": "wrong password!", "new_password": "a brand new password"})
	if r.status != 401 {
		t.Fatalf("wrong old password: %d %s", r.status, r.raw)
	}
	r = e.do(laptop, "POST", "/user/api/change-password", map[string]any{"old_password": pw, "new_password": "a brand new password"})
	if r.status != 200 {
		t.Fatalf("change-password: %d %s", r.status, r.raw)
	}
	if e.do(laptop, "GET", "/user/api/me", nil).status != 200 {
		t.Error("the session that changed the password ended")
	}
	for _, b := range []*http.Client{phone, tablet} {
		if e.do(b, "GET", "/user/api/me", nil).status != 401 {
			t.Error("another session survived a password change")
		}
	}
	e.do(phone, "POST", "/user/api/login", map[string]any{"email": "ann@example.com", "password": "a brand new password"})
	if r := e.do(laptop, "DELETE", "/user/api/sessions", nil); r.status != 200 || r.body["revoked"] != float64(1) {
		t.Fatalf("sign out other devices: %d %s", r.status, r.raw)
	}
	if e.do(phone, "GET", "/user/api/me", nil).status != 401 {
		t.Error("phone still logged in after 'sign out other devices'")
	}
}

func TestPasswordResetRequestedAPI(t *testing.T) {
	e := newEnv(t, usher.Config{})
	u := usertest.MustCreateUser(t, e.svc, "ann@example.com")
	e.svc.RequirePasswordReset(t.Context(), u.ID)
	b := e.browser()
	r := e.do(b, "POST", "/user/api/login", map[string]any{"email": "ann@example.com", "password": pw})
	if r.status != 403 || r.errCode() != "password_reset_requested" {
		t.Fatalf("login: %d %s", r.status, r.raw)
	}
	if r := e.do(b, "GET", "/user/api/me", nil); r.status != 403 || r.errCode() != "password_reset_requested" {
		t.Fatalf("me: %d %s", r.status, r.raw)
	}
	if r := e.do(b, "GET", "/private", nil); r.status != 403 {
		t.Fatalf("guarded route: %d %s", r.status, r.raw)
	}
	if r := e.do(b, "POST", "/user/api/change-password", map[string]any{"new_password": "a brand new password"}); r.status != 200 {
		t.Fatalf("change-password: %d %s", r.status, r.raw)
	}
	if r := e.do(b, "GET", "/user/api/me", nil); r.status != 200 {
		t.Fatalf("me after new password: %d %s", r.status, r.raw)
	}
}

func TestRolesRequired(t *testing.T) {
	e := newEnv(t, usher.Config{})
	usertest.MustCreateUser(t, e.svc, "admin@example.com", "admin")
	usertest.MustCreateUser(t, e.svc, "artist@example.com", "starving", "artist")
	usertest.MustCreateUser(t, e.svc, "poor@example.com", "starving")
	tests := []struct {
		who, path string
		want      int
	}{
		{"", "/admin", 401},
		{"admin@example.com", "/admin", 200},
		{"artist@example.com", "/admin", 403},
		{"artist@example.com", "/art", 200},
		{"poor@example.com", "/art", 403},
		{"admin@example.com", "/art", 403},
	}
	for _, tt := range tests {
		b := e.browser()
		if tt.who != "" {
			e.do(b, "POST", "/user/api/login", map[string]any{"email": tt.who, "password": pw})
		}
		if r := e.do(b, "GET", tt.path, nil); r.status != tt.want {
			t.Errorf("%s %s: %d; want %d", tt.who, tt.path, r.status, tt.want)
		}
	}
}

func TestVerify(t *testing.T) {
	e := newEnv(t, usher.Config{})
	u := usertest.MustCreateUser(t, e.svc, "ann@example.com", "staff", "dev")
	b := e.browser()
	if r := e.do(b, "GET", "/user/api/verify", nil); r.status != 401 {
		t.Fatalf("verify logged out: %d", r.status)
	}
	e.do(b, "POST", "/user/api/login", map[string]any{"email": "ann@example.com", "password": pw})
	r := e.do(b, "GET", "/user/api/verify", nil)
	if r.status != 200 || r.header.Get("X-Usher-User-Id") != u.ID || r.header.Get("X-Usher-Email") != u.Email || r.header.Get("X-Usher-Roles") != "dev,staff" {
		t.Fatalf("verify: %d %v", r.status, r.header)
	}
	if r := e.do(b, "GET", "/user/api/verify?roles=staff,ops|dev", nil); r.status != 200 {
		t.Errorf("verify with met roles: %d", r.status)
	}
	if r := e.do(b, "GET", "/user/api/verify?roles=admin", nil); r.status != 403 {
		t.Errorf("verify with unmet roles: %d", r.status)
	}
}

func TestBasicAuth(t *testing.T) {
	e := newEnv(t, usher.Config{})
	usertest.MustCreateUser(t, e.svc, "ann@example.com")
	c := &http.Client{}
	get := func(path string, setAuth func(*http.Request)) (*http.Response, string) {
		req, _ := http.NewRequest("GET", e.srv.URL+path, nil)
		if setAuth != nil {
			setAuth(req)
		}
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, string(b)
	}
	res, _ := get("/basic", nil)
	if res.StatusCode != 401 || !strings.HasPrefix(res.Header.Get("WWW-Authenticate"), "Basic realm=") {
		t.Fatalf("no credentials: %d %q", res.StatusCode, res.Header.Get("WWW-Authenticate"))
	}
	res, _ = get("/basic", func(r *http.Request) { r.SetBasicAuth("ann@example.com", "wrong password!") })
	if res.StatusCode != 401 || res.Header.Get("WWW-Authenticate") == "" {
		t.Fatalf("wrong password: %d", res.StatusCode)
	}
	res, _ = get("/basic", func(r *http.Request) { r.Header.Set("Authorization", "Basic !!!notbase64") })
	if res.StatusCode != 400 {
		t.Fatalf("malformed header: %d", res.StatusCode)
	}
	res, body := get("/basic", func(r *http.Request) { r.SetBasicAuth("ann@example.com", pw) })
	if res.StatusCode != 200 || body != "ann@example.com" {
		t.Fatalf("right password: %d %q", res.StatusCode, body)
	}
	res, _ = get("/creds", nil)
	if res.StatusCode != 401 || res.Header.Get("WWW-Authenticate") == "" {
		t.Fatalf("require credentials without any: %d", res.StatusCode)
	}
	res, body = get("/creds", func(r *http.Request) { r.SetBasicAuth("key", "secret") })
	if res.StatusCode != 200 || body != "key:secret" {
		t.Fatalf("require credentials: %d %q", res.StatusCode, body)
	}
}

// TestLocalPath: only paths on this site are redirect targets (no open
// redirects).
func TestLocalPath(t *testing.T) {
	for u, want := range map[string]bool{
		"/": true, "/welcome": true, "/a/b?x=1#y": true,
		"": false, "welcome": false, "//evil.example": false, "/\\evil.example": false,
		"https://evil.example/": false, "javascript:alert(1)": false, "/x\r\nLocation: //evil": false, "\t/x": false,
	} {
		if got := web.LocalPath(u); got != want {
			t.Errorf("LocalPath(%q) = %v; want %v", u, got, want)
		}
	}
}

func TestConfirmEmailRequired(t *testing.T) {
	svc := usertest.NewService(t, usher.Config{EnableConfirmEmail: true, EnableLoginWithoutConfirmEmail: true}, usertest.NewSQLiteStore(t), nil)
	h := web.New(svc, web.Options{Logger: testLogger(t)})
	mux := http.NewServeMux()
	mux.Handle("/user/", h)
	mux.Handle("GET /confirmed-only", h.ConfirmEmailRequired(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	e := &env{t: t, srv: srv, svc: svc, h: h}
	b := e.browser()
	if r := e.do(b, "GET", "/confirmed-only", nil); r.status != 401 {
		t.Errorf("not logged in: %d", r.status)
	}
	e.do(b, "POST", "/user/api/signup", map[string]any{"email": "ann@example.com", "password": pw})
	if r := e.do(b, "GET", "/confirmed-only", nil); r.status != 403 || r.errCode() != "email_not_confirmed" {
		t.Errorf("unconfirmed: %d %s", r.status, r.raw)
	}
	msgs, _ := svc.Store().ListMessages(t.Context(), "ann@example.com", 1)
	link := msgs[0].Vars["link"]
	if _, _, err := svc.ConfirmEmail(t.Context(), link[strings.LastIndexByte(link, '/')+1:], usher.Client{}); err != nil {
		t.Fatal(err)
	}
	if r := e.do(b, "GET", "/confirmed-only", nil); r.status != 200 {
		t.Errorf("confirmed: %d %s", r.status, r.raw)
	}
}
