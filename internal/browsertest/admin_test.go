package browsertest_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/usher-auth/usher"
	"github.com/usher-auth/usher/app"
	bt "github.com/usher-auth/usher/internal/browsertest"
)

// TestAdminConsoleInBrowser: in Chromium, an admin searches the users
// table, opens a user, disables and enables them, unlocks them and gives
// and takes a role, then finds the disable in the audit log by its
// filters; a user without the role gets the 403 page.
func TestAdminConsoleInBrowser(t *testing.T) {
	s := startServer(t, func(c *app.Config) { c.MaxPasswordFailures = 3 })
	ctx0 := context.Background()
	svc := s.App.Service
	if _, err := svc.CreateUser(ctx0, usher.NewUser{Email: "boss@example.com", Password: pw, Enabled: true, Confirmed: true, Roles: []string{"admin"}}); err != nil {
		t.Fatal(err)
	}
	s.createUser(t, "ann@example.com")
	s.createUser(t, "bob@example.com")
	for range 3 {
		svc.LoginWithEmail(ctx0, "ann@example.com", "not the password", false, usher.Client{})
	}
	ann, err := svc.FindUser(ctx0, "ann@example.com")
	if err != nil || ann.LockedAt.IsZero() {
		t.Fatalf("ann not locked: %v", err)
	}

	// A user without the role.
	ctx, _ := bt.New(t, "")
	if st := logIn(t, ctx, s, "bob@example.com", pw, false); st != http.StatusOK {
		t.Fatalf("log-in answered %d", st)
	}
	if st := bt.Go(t, ctx, s.URL+"/user/admin"); st != http.StatusForbidden {
		t.Fatalf("GET /user/admin as a non-admin answered %d; want 403", st)
	}
	want, _ := json.Marshal(en("forbidden"))
	bt.WaitJS(t, ctx, `document.body && document.body.innerText.includes(`+string(want)+`)`)

	// The admin, in a browser of their own.
	ctx, _ = bt.New(t, "")
	con := bt.Watch(t, ctx)
	if st := logIn(t, ctx, s, "boss@example.com", pw, false); st != http.StatusOK {
		t.Fatalf("log-in answered %d", st)
	}
	// search submits the page's search form and wants one row.
	search := func(what string) {
		t.Helper()
		if st := bt.Submit(t, ctx, "form.search button[type=submit]"); st != http.StatusOK {
			t.Fatalf("%s answered %d", what, st)
		}
		if n := bt.Eval[int](t, ctx, `document.querySelectorAll('table.list tbody tr').length`); n != 1 {
			t.Fatalf("%s: %d rows; want 1", what, n)
		}
	}
	bt.Go(t, ctx, s.URL+"/user/admin")
	bt.Fill(t, ctx, "#f-q", "ann@")
	search("search for ann@")
	wantText(t, ctx, "table.list", "ann@example.com")
	wantText(t, ctx, "table.list", en("Locked"))
	bt.Submit(t, ctx, "table.list a")
	wantText(t, ctx, "h1", "ann@example.com")

	act := func(action, message string) {
		t.Helper()
		if st := bt.Submit(t, ctx, `form[action$="/`+action+`"] button`); st != http.StatusOK {
			t.Fatalf("%s answered %d", action, st)
		}
		wantText(t, ctx, "p.flash", en(message))
	}
	act("disable", "The account is disabled and its sessions ended.")
	if u, _ := svc.User(ctx0, ann.ID); u.Enabled {
		t.Error("not disabled")
	}
	act("enable", "The account is enabled.")
	act("unlock", "The account is unlocked.")
	if u, _ := svc.User(ctx0, ann.ID); !u.LockedAt.IsZero() {
		t.Error("not unlocked")
	}
	bt.Fill(t, ctx, "#f-role", "editor")
	act("roles", "The role is given.")
	if u, _ := svc.User(ctx0, ann.ID); !u.HasRole("editor") {
		t.Error("role not given")
	}
	act("roles/remove", "The role is taken away.")
	if u, _ := svc.User(ctx0, ann.ID); u.HasRole("editor") {
		t.Error("role not taken away")
	}
	checkAccessible(t, ctx, "admin user page")

	// The audit log, filtered to ann's disable: by the admin.
	bt.Go(t, ctx, s.URL+"/user/admin/events")
	bt.Fill(t, ctx, "#f-user", "ann@example.com")
	bt.Fill(t, ctx, "#f-kind", "disabled")
	search("audit log filter for ann's disable")
	wantText(t, ctx, "table.list", "boss@example.com")
	con.Check(t, ctx, "admin console")
	checkAccessible(t, ctx, "admin audit log")
}
