package browsertest_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/usher-auth/usher"
	"github.com/usher-auth/usher/app"
	bt "github.com/usher-auth/usher/internal/browsertest"
)

// TestInviteMenuInBrowser: by default a member's menu has no "Invite
// someone" and the page is refused; with enable_invite_user and
// invite_role, a user with the role finds it in the menu and opens it.
func TestInviteMenuInBrowser(t *testing.T) {
	for _, tc := range []struct {
		name    string
		edit    func(*app.Config)
		roles   []string
		allowed bool
	}{
		{"default", nil, nil, false},
		{"without the role", func(c *app.Config) { c.EnableInviteUser, c.InviteRole = true, "inviter" }, []string{"admin"}, false},
		{"with the role", func(c *app.Config) { c.EnableInviteUser, c.InviteRole = true, "inviter" }, []string{"inviter"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startServer(t, tc.edit)
			if _, err := s.App.Service.CreateUser(context.Background(), usher.NewUser{Email: "ann@example.com", Password: pw, Enabled: true, Confirmed: true, Roles: tc.roles}); err != nil {
				t.Fatal(err)
			}
			ctx, _ := bt.New(t, "")
			if st := logIn(t, ctx, s, "ann@example.com", pw, false); st != http.StatusOK {
				t.Fatalf("log-in answered %d", st)
			}
			bt.Go(t, ctx, s.URL+"/user/profile")
			links := bt.Eval[int](t, ctx, `document.querySelectorAll('nav.side a[href="/user/invite"]').length`)
			if (links == 1) != tc.allowed {
				t.Fatalf("the menu has %d Invite someone links; allowed %v", links, tc.allowed)
			}
			if !tc.allowed {
				if st := bt.Go(t, ctx, s.URL+"/user/invite"); st != http.StatusForbidden {
					t.Fatalf("GET /user/invite answered %d; want 403", st)
				}
				want, _ := json.Marshal(en("forbidden"))
				bt.WaitJS(t, ctx, `document.body && document.body.innerText.includes(`+string(want)+`)`)
				return
			}
			if st := bt.Submit(t, ctx, `nav.side a[href="/user/invite"]`); st != http.StatusOK {
				t.Fatalf("the menu's Invite someone answered %d", st)
			}
			bt.WaitJS(t, ctx, `document.querySelector('h1') && document.querySelector('h1').innerText.includes("Invite someone")`)
		})
	}
}

// TestNextStaysOnSiteInBrowser: Chromium, logged in, opens the log-in
// page with the next parameters of the outside testers' report and stays
// on the site.
func TestNextStaysOnSiteInBrowser(t *testing.T) {
	s := startServer(t, nil)
	s.createUser(t, "ann@example.com")
	ctx, _ := bt.New(t, "")
	if st := logIn(t, ctx, s, "ann@example.com", pw, false); st != http.StatusOK {
		t.Fatalf("log-in answered %d", st)
	}
	site, _ := url.Parse(s.URL)
	for _, next := range []string{`/./\evil.example`, `/x/../\evil.example`, `/../\evil.example`, "/\t/evil.example", `/%2F/evil.example`} {
		for _, page := range []string{"/user/login", "/user/register"} {
			bt.Go(t, ctx, s.URL+page+"?next="+url.QueryEscape(next))
			loc, err := url.Parse(bt.Location(t, ctx))
			if err != nil || loc.Host != site.Host {
				t.Fatalf("%s?next=%q took the browser to %s", page, next, bt.Location(t, ctx))
			}
			if strings.Contains(loc.Path, "evil") {
				t.Errorf("%s?next=%q led to %s", page, next, loc)
			}
		}
	}
}
