package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/usher-auth/usher/app"
	"github.com/usher-auth/usher/internal/pagetest"
	"github.com/usher-auth/usher/usertest"
)

// start runs the example over a temporary SQLite database (e-mails go to
// the development mailbox; this example sends none).
func start(t *testing.T) (*httptest.Server, *app.App) {
	t.Helper()
	return pagetest.Start(t, app.Defaults(), newServer)
}

func TestEnsureAdmin(t *testing.T) {
	_, a := start(t)
	ctx := context.Background()
	if created, err := ensureAdmin(ctx, a.Service, "boss@example.com", defaultAdminPassword); err != nil || !created {
		t.Fatalf("first start: created %v, %v", created, err)
	}
	if created, err := ensureAdmin(ctx, a.Service, "boss@example.com", "another password entirely"); err != nil || created {
		t.Fatalf("second start: created %v, %v; want the account left as it is", created, err)
	}
	u, err := a.Service.FindUser(ctx, "boss@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(u.Roles, []string{"admin", "agent"}) || !u.EmailConfirmed() || !u.Enabled {
		t.Fatalf("admin: roles %v, confirmed %v, enabled %v", u.Roles, u.EmailConfirmed(), u.Enabled)
	}
	if _, err := ensureAdmin(ctx, a.Service, "weak@example.com", "123"); err == nil {
		t.Fatal("an administrator was created with a password the policy refuses")
	}
}

func TestRolesRequired(t *testing.T) {
	srv, a := start(t)
	if _, err := ensureAdmin(context.Background(), a.Service, "admin@example.com", defaultAdminPassword); err != nil {
		t.Fatal(err)
	}
	usertest.MustCreateUser(t, a.Service, "user@example.com")
	usertest.MustCreateUser(t, a.Service, "manager@example.com", "manager")

	admin := logIn(t, srv.URL, "admin@example.com", defaultAdminPassword)
	user := logIn(t, srv.URL, "user@example.com", usertest.Password)
	manager := logIn(t, srv.URL, "manager@example.com", usertest.Password)

	for _, c := range []struct {
		who  string
		b    *pagetest.Browser
		path string
		want int
	}{
		{"user", user, "/members", 200},
		{"user", user, "/manager", 403},
		{"user", user, "/admin", 403},
		{"manager without agent", manager, "/members", 200},
		{"manager without agent", manager, "/manager", 403},
		{"manager without agent", manager, "/admin", 403},
		{"admin", admin, "/members", 200},
		{"admin", admin, "/manager", 200}, // agent, and admin
		{"admin", admin, "/admin", 200},
		{"visitor", pagetest.NewBrowser(t, srv.URL), "/admin", 303}, // to the log-in page
	} {
		if st, _, body := c.b.Get(c.path); st != c.want {
			t.Errorf("%s on %s: %d; want %d\n%s", c.who, c.path, st, c.want, body)
		}
	}
	if st, _, body := admin.Get("/admin"); !strings.Contains(body, "user@example.com") || !strings.Contains(body, "manager@example.com") {
		t.Errorf("admin page does not list the users: %d\n%s", st, body)
	}
	res, err := http.Get(srv.URL + "/admin") // a program, not a browser
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized {
		t.Errorf("API client on /admin: %d; want 401", res.StatusCode)
	}

	// The admin gives the manager the role agent on the admin page: now
	// agent and manager, they pass /manager (still not /admin).
	give := url.Values{"user": {"manager@example.com"}, "role": {"agent"}, "action": {"add"}}
	if st, loc, body := admin.Do("POST", "/admin/roles", give); st != http.StatusSeeOther || loc != "/admin" {
		t.Fatalf("giving a role: %d Location %q\n%s", st, loc, body)
	}
	if st, _, body := manager.Get("/manager"); st != 200 || !strings.Contains(body, "Manager page") {
		t.Fatalf("agent and manager on /manager: %d\n%s", st, body)
	}
	if st, _, _ := manager.Get("/admin"); st != 403 {
		t.Fatalf("agent and manager on /admin: %d; want 403", st)
	}

	// Only admins change roles, only from this site, only valid names.
	if st, _, _ := user.Do("POST", "/admin/roles", url.Values{"user": {"user@example.com"}, "role": {"admin"}}); st != 403 {
		t.Errorf("a user giving themselves admin: %d; want 403", st)
	}
	admin.Origin = "http://evil.example"
	if st, _, _ := admin.Do("POST", "/admin/roles", url.Values{"user": {"user@example.com"}, "role": {"admin"}}); st != 403 {
		t.Errorf("cross-origin POST: %d; want 403", st)
	}
	admin.Origin = srv.URL
	if st, _, _ := user.Get("/admin"); st != 403 {
		t.Fatalf("user on /admin after the refused changes: %d; want 403", st)
	}
	if _, loc, _ := admin.Do("POST", "/admin/roles", url.Values{"user": {"user@example.com"}, "role": {"no|pipes"}}); loc != "/admin?error=invalid-role" {
		t.Errorf("invalid role name: Location %q", loc)
	}
	if _, loc, _ := admin.Do("POST", "/admin/roles", url.Values{"user": {"nobody@example.com"}, "role": {"agent"}}); loc != "/admin?error=no-such-user" {
		t.Errorf("unknown user: Location %q", loc)
	}

	// Taking manager away: agent alone does not pass /manager.
	take := url.Values{"user": {"manager@example.com"}, "role": {"manager"}, "action": {"remove"}}
	if st, _, _ := admin.Do("POST", "/admin/roles", take); st != http.StatusSeeOther {
		t.Fatalf("taking a role: %d", st)
	}
	if st, _, _ := manager.Get("/manager"); st != 403 {
		t.Fatalf("agent alone on /manager: %d; want 403", st)
	}
}

// logIn logs in through Usher's log-in page and returns the browser.
func logIn(t *testing.T, base, email, password string) *pagetest.Browser {
	t.Helper()
	b := pagetest.NewBrowser(t, base)
	if st, loc, body := b.Submit("/user/login", url.Values{"login": {email}, "password": {password}}); st != http.StatusSeeOther || loc != "/" {
		t.Fatalf("log-in as %s: %d Location %q\n%s", email, st, loc, body)
	}
	return b
}
