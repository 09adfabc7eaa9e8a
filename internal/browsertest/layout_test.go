package browsertest_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/usher-auth/usher"
	"github.com/usher-auth/usher/app"
	bt "github.com/usher-auth/usher/internal/browsertest"
	"github.com/usher-auth/usher/mfa"
	"github.com/usher-auth/usher/usertest"
)

// phoneWidth and phoneHeight are the viewport of a common phone (an
// iPhone 12 to 15, in CSS pixels).
const phoneWidth, phoneHeight = 390, 844

// A long, real-looking address: it must wrap, not widen the page.
const longEmail = "alexandra.konstantinopoulou@example.com"

// overflowJS measures the page: its width against the viewport's, and the
// innermost elements that stick out of the viewport on either side (an RTL page
// overflows to the left) or whose text spills out of them, for the failure
// message.
const overflowJS = `(() => {
  const out = [];
  for (const el of document.body.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (el.matches('.skip')) continue;
    const spills = el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflowX === 'visible' && el.children.length === 0;
    if (!spills) {
      if (r.width === 0 || (r.right <= innerWidth + 0.5 && r.left >= -0.5)) continue;
      if (el.children.length > 0 && !el.matches('table, tr')) continue;
    }
    let name = el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\s+/).join('.') : '');
    out.push(name + ' [' + Math.round(r.left) + ',' + Math.round(r.right) + '] ' + JSON.stringify((el.textContent || '').trim().slice(0, 40)));
    if (out.length >= 8) break;
  }
  return {scroll: document.documentElement.scrollWidth, inner: innerWidth, culprits: out};
})()`

// checkFits fails the test when the page in the tab is wider than the
// viewport (width px), that is, when a person would have to scroll
// sideways.
func checkFits(t *testing.T, ctx context.Context, where string, width int) {
	t.Helper()
	m := bt.Eval[struct {
		Scroll, Inner int
		Culprits      []string
	}](t, ctx, overflowJS)
	if m.Inner != width {
		t.Fatalf("%s: the viewport is %d px wide; want %d", where, m.Inner, width)
	}
	if m.Scroll > m.Inner {
		t.Errorf("%s (%s): the page is %d px wide in a %d px viewport; sticking out: %s",
			where, path(t, bt.Location(t, ctx)), m.Scroll, m.Inner, strings.Join(m.Culprits, "; "))
	}
}

// viewport makes the tab's viewport width by height px.
func viewport(t *testing.T, ctx context.Context, width, height int64) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(width, height)); err != nil {
		t.Fatal(err)
	}
}

// pageTemplates returns the names of the page templates (without .html)
// that are pages rather than layouts: web's and the admin console's.
func pageTemplates(t *testing.T) []string {
	t.Helper()
	layouts := map[string]bool{"base": true, "public_base": true, "member_base": true, "fields": true, "forms": true, "admin_base": true}
	var names []string
	for _, dir := range []string{"../../web/templates/pages", "../../admin/templates"} {
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if n, ok := strings.CutSuffix(e.Name(), ".html"); ok && !layouts[n] {
				names = append(names, n)
			}
		}
	}
	return names
}

// addSessions logs email in from other devices (a phone, a browser it
// does not recognise, a long IPv6 address), for a long list of sessions.
func addSessions(t *testing.T, s *server, email string) {
	t.Helper()
	for _, c := range []usher.Client{
		{IP: "2001:0db8:85a3:0000:0000:8a2e:0370:7334", UserAgent: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"},
		{IP: "198.51.100.234", UserAgent: "SomeVeryLongCustomHTTPClientLibraryName/12.3.4-beta+build.20261204 (compatible; an-unrecognised-robot)"},
		{IP: "203.0.113.7"},
	} {
		if _, _, err := s.App.Service.Login(context.Background(), usher.Credentials{Login: email, Password: pw, Remember: true}, c); err != nil {
			t.Fatal(err)
		}
	}
}

// totpFromPage returns the current code of the authenticator key that the
// page in the tab shows, as an authenticator app would.
func totpFromPage(t *testing.T, ctx context.Context) string {
	t.Helper()
	key := regexp.MustCompile(`\s+`).ReplaceAllString(bt.Text(t, ctx, "code.secret"), "")
	secret, err := mfa.DecodeSecret(key)
	if err != nil {
		t.Fatalf("the key %q: %v", key, err)
	}
	return mfa.TOTPCode(secret, time.Now())
}

// devMailboxLink has send e-mail a link to email, and returns the path of
// the link in the development mailbox's newest message of kind to email.
func devMailboxLink(t *testing.T, s *server, email, kind string, send func(context.Context, string, usher.Client) error) string {
	t.Helper()
	ctx := context.Background()
	if err := send(ctx, email, usher.Client{}); err != nil {
		t.Fatal(err)
	}
	for range 100 {
		s.App.Service.DeliverMail(ctx)
		for _, m := range s.App.Mailer.Mailbox().Messages() {
			if m.Kind == kind && m.To == email && len(m.Links) > 0 {
				return strings.TrimPrefix(m.Links[0], s.App.Service.Config().BaseURL)
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no %s e-mail to %s in the development mailbox", kind, email)
	return ""
}

// phoneProviders are stand-in federated providers (test doubles) with
// long labels.
func phoneProviders() []usher.FederatedProvider {
	return []usher.FederatedProvider{
		&usertest.Provider{ID: "entra", Text: "Microsoft Entra ID (Contoso International Holdings)"},
		&usertest.Provider{ID: "google", Text: "Google"},
	}
}

// linkIdentity links an account at provider to the user with email, as a
// federated sign-in would.
func linkIdentity(t *testing.T, s *server, email, provider, extEmail string) {
	t.Helper()
	ctx := context.Background()
	u, err := s.App.Store.UserByEmail(ctx, email)
	if err != nil {
		t.Fatal(err)
	}
	id := &usher.Identity{ID: rand.Text(), UserID: u.ID, Provider: provider, Issuer: "https://login.microsoftonline.com/tid/v2.0",
		Subject: "sub-" + rand.Text(), Email: extEmail, LinkedAt: time.Now()}
	if err := s.App.Store.CreateIdentity(ctx, id); err != nil {
		t.Fatal(err)
	}
}

// TestEveryPageFitsAPhone opens every page, logged out and logged in, in
// English and in Persian (right to left), in a 390 px wide viewport, and
// fails when one is wider than the viewport. The pages carry long content
// a real account can have: a long address, several sessions with long
// browser names and an IPv6 address, the key of an authenticator app,
// recovery codes, the development mailbox; usher.js's dialogs too. It
// fails for a page template it does not visit.
func TestEveryPageFitsAPhone(t *testing.T) {
	s := startServer(t, func(c *app.Config) {
		c.SMTPURL = "" // the development mailbox
		c.EnableUsername = true
		c.EnableMultipleEmails = true
		c.EnableLoginLink = true
		c.AllowMFAEmailReset = true
		c.EnableInviteUser = true
		// Federated providers with long labels: their buttons on the
		// log-in and sign-up pages, "Linked accounts" on the account page.
		c.CustomProviders = phoneProviders()
	})
	s.createUser(t, longEmail)
	addSessions(t, s, longEmail)
	linkIdentity(t, s, longEmail, "entra", "alexandra.konstantinopoulou@contoso-international.onmicrosoft.com")
	s.createUser(t, "mo@example.com")
	enrolTOTP(t, s, "mo@example.com")
	// The long address is an admin, for the admin console's pages.
	boss, err := s.App.Service.FindUser(context.Background(), longEmail)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.App.Service.AddRole(context.Background(), boss.ID, "admin"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.App.Service.CreateUser(context.Background(), usher.NewUser{Email: "una@example.com", Password: pw, Enabled: true}); err != nil {
		t.Fatal(err)
	}
	// Live links, for the pages e-mailed links open (opening one does not
	// use it up).
	svc := s.App.Service
	invite := func(ctx context.Context, email string, c usher.Client) error { return svc.Invite(ctx, email, "", c) }
	links := map[string]string{
		"invitation":        devMailboxLink(t, s, "new@example.com", usher.MailInvitation, invite),
		"confirm":           devMailboxLink(t, s, "una@example.com", usher.MailConfirmEmail, svc.SendConfirmEmail),
		"reset password":    devMailboxLink(t, s, longEmail, usher.MailResetPassword, svc.SendPasswordResetEmail),
		"use a log-in link": devMailboxLink(t, s, longEmail, usher.MailLoginLink, svc.SendLoginLink),
		"two-factor reset":  devMailboxLink(t, s, "mo@example.com", usher.MailMFAReset, svc.SendMFAResetEmail),
	}
	// A second site: the combined log-in page, and two-factor
	// authentication required of everyone.
	s2 := startServer(t, func(c *app.Config) {
		c.LoginOrRegister = true
		c.RequireMFA = true
		c.CustomProviders = phoneProviders()
	})
	s2.createUser(t, "ann@example.com")

	ctx, _ := bt.New(t, "")
	con := bt.Watch(t, ctx)
	viewport(t, ctx, phoneWidth, phoneHeight)
	seen := map[string]bool{}
	check := func(lang, name, template string) {
		t.Helper()
		seen[template] = true
		if template != "dev mailbox" && template != "usher.js" {
			if got := bt.Eval[string](t, ctx, `document.documentElement.lang`); got != lang {
				t.Errorf("%s: the page is in %q; want %s", name, got, lang)
			}
		}
		con.Check(t, ctx, name+" "+lang)
		checkFits(t, ctx, name+" "+lang, phoneWidth)
	}
	open := func(lang, name, template, page string) {
		t.Helper()
		sep := "?"
		if strings.Contains(page, "?") {
			sep = "&"
		}
		bt.Go(t, ctx, page+sep+"lang="+lang)
		check(lang, name, template)
	}
	// openDialog opens one of usher.js's dialogs on the application's
	// page, by calling call, and waits for it to show view.
	openDialog := func(lang, call, view string) {
		t.Helper()
		bt.Go(t, ctx, s.URL+"/app")
		bt.Eval[chromedp.Void](t, ctx, call+"; 0")
		dialog(t, ctx, view)
		check(lang, "usher.js dialog "+view, "usher.js")
		// The dialog is in the top layer, outside the document's
		// width: it must fit by itself, and not scroll sideways inside.
		m := bt.Eval[struct{ Left, Right, Scroll, Client float64 }](t, ctx, `(() => {
			const d = document.querySelector('dialog.usher-dialog'), r = d.getBoundingClientRect();
			return {left: r.left, right: r.right, scroll: d.scrollWidth, client: d.clientWidth};
		})()`)
		if m.Left < 0 || m.Right > phoneWidth || m.Scroll > m.Client {
			t.Errorf("usher.js dialog %s (%s): spans %.0f to %.0f px, %.0f px of content in %.0f; want it inside the %d px viewport",
				view, lang, m.Left, m.Right, m.Scroll, m.Client, phoneWidth)
		}
	}

	for _, lang := range []string{"en", "fa"} {
		// The language switcher's cookie, on both sites: the answers to
		// forms are in the language too.
		for _, site := range []string{s.URL, s2.URL} {
			bt.Go(t, ctx, site+"/user/login")
			bt.Submit(t, ctx, `footer button[name=lang][value="`+lang+`"]`)
		}
		// Visitors' pages.
		for _, p := range []struct{ name, template, path string }{
			{"log in", "login", "/user/login"},
			{"sign up", "register", "/user/register"},
			{"invitation", "register", links["invitation"]},
			{"log out", "logout", "/user/logout"},
			{"forgot password", "forgot_password", "/user/forgot-password"},
			{"resend confirmation", "resend_confirm_email", "/user/resend-confirm-email"},
			{"ask for a log-in link", "login_link", "/user/login-link"},
			{"ask for a two-factor reset", "mfa_reset_request", "/user/mfa-reset"},
			{"confirm", "confirm_email", links["confirm"]},
			{"reset password", "reset_password", links["reset password"]},
			{"use a log-in link", "login_link_use", links["use a log-in link"]},
			{"two-factor reset", "mfa_reset", links["two-factor reset"]},
			{"dead link", "link_invalid", "/user/reset-password/x"},
		} {
			open(lang, p.name, p.template, s.URL+p.path)
		}
		openDialog(lang, "usher.loginWithForm({allowCancel: true})", "login")
		openDialog(lang, "usher.signupWithForm()", "signup")
		// A form sent: "we sent you an email".
		open(lang, "forgot password", "forgot_password", s.URL+"/user/forgot-password")
		bt.Fill(t, ctx, "#f-email", longEmail)
		bt.Submit(t, ctx, "button[type=submit].primary")
		check(lang, "forgot password, sent", "forgot_password")
		// Errors: a wrong password, an unconfirmed address.
		logIn(t, ctx, s, longEmail, "not the password", false)
		check(lang, "wrong password", "login")
		logIn(t, ctx, s, "una@example.com", pw, false)
		check(lang, "unconfirmed address", "login")
		// The second step of logging in.
		logIn(t, ctx, s, "mo@example.com", pw, false)
		check(lang, "second factor", "mfa_verify")
		bt.Go(t, ctx, "about:blank")
		// The development mailbox: the list, and one message.
		bt.Go(t, ctx, s.URL+"/user/dev/mailbox")
		check(lang, "mailbox", "dev mailbox")
		bt.Submit(t, ctx, "table a[href^='?id=']")
		check(lang, "mailbox message", "dev mailbox")
		// The other site: the combined page, a page of its own for a
		// missing feature, setting up the required second factor.
		open(lang, "log in or sign up", "login_or_register", s2.URL+"/user/login")
		open(lang, "not found", "message", s2.URL+"/user/change-username")
		logIn(t, ctx, s2, "ann@example.com", pw, false)
		check(lang, "required second factor", "mfa_enroll")
		bt.Go(t, ctx, "about:blank")

		// The pages of a logged-in user.
		logIn(t, ctx, s, longEmail, pw, true)
		for _, p := range []struct{ name, template, path string }{
			{"account", "profile", "/user/profile"},
			{"change password", "change_password", "/user/change-password"},
			{"change username", "change_username", "/user/change-username"},
			{"addresses", "manage_emails", "/user/manage-emails"},
			{"invite", "invite", "/user/invite"},
			{"log out", "logout", "/user/logout"},
			{"two-factor", "mfa", "/user/mfa"},
			// The admin console (package admin).
			{"admin: users", "admin_users", "/user/admin"},
			{"admin: a search", "admin_users", "/user/admin?search=example&enabled=true&sort=last_login"},
			{"admin: a user", "admin_user", "/user/admin/users/" + boss.ID},
			{"admin: no such user", "admin_message", "/user/admin/users/nobody"},
			{"admin: create a user", "admin_new_user", "/user/admin/users/new"},
			{"admin: invite", "admin_invite", "/user/admin/invite"},
			{"admin: re-authenticate", "admin_reauth", "/user/admin/reauth?next=/user/admin"},
			{"admin: audit log", "admin_events", "/user/admin/events"},
			{"admin: audit log, filtered", "admin_events", "/user/admin/events?actor_kind=admin&kind=role_added&since=2020-01-01"},
		} {
			open(lang, p.name, p.template, s.URL+p.path)
		}
		openDialog(lang, "usher.configureAccountWithForm()", "account")
		openDialog(lang, "usher.configureMfaWithForm()", "mfa-setup")
		// A picture of the account page as a phone shows it (see
		// bt.Screenshot), for docs/screenshots.
		bt.Go(t, ctx, s.URL+"/user/profile?lang="+lang)
		bt.Screenshot(t, ctx, "phone-profile-"+lang)
		viewport(t, ctx, phoneWidth, phoneHeight)
		bt.Go(t, ctx, s.URL+"/user/mfa?lang="+lang)
		// Turn on an authenticator app with the key the page shows:
		// the recovery codes, then the list of methods.
		bt.Fill(t, ctx, "#f-code", totpFromPage(t, ctx), "#f-password", pw)
		bt.Submit(t, ctx, "button[type=submit].primary")
		check(lang, "recovery codes", "mfa")
		open(lang, "account with two-factor", "profile", s.URL+"/user/profile")
		open(lang, "two-factor methods", "mfa", s.URL+"/user/mfa")
		// Turn it off again, for the next language.
		bt.Submit(t, ctx, "form[action$='/remove'] button")
		bt.Submit(t, ctx, "header .topnav button[type=submit]")
	}

	for _, name := range pageTemplates(t) {
		if !seen[name] {
			t.Errorf("page template %s.html is not checked on a phone: add a page that shows it", name)
		}
	}
}

// wrappedJS lists the column headings and buttons of the pages' tables
// whose text takes more than one line.
const wrappedJS = `[...document.querySelectorAll('table.list th, table.list button')].filter(el => {
  const r = document.createRange();
  r.selectNodeContents(el);
  return new Set([...r.getClientRects()].filter(q => q.width > 0).map(q => Math.round(q.top))).size > 1;
}).map(el => el.textContent.trim())`

// TestTablesAtEveryWidth: the account's tables (sessions with long browser
// names and an IPv6 address, second factors, addresses, a linked account
// with a long label and address), in languages with
// long words and right to left, from a phone's width to a desktop's: the
// page never scrolls sideways, and where a table is shown as a table
// (always at 1280 px; on narrow screens its rows are stacked) its headings
// and buttons each stay on one line.
func TestTablesAtEveryWidth(t *testing.T) {
	s := startServer(t, func(c *app.Config) { c.EnableMultipleEmails = true; c.CustomProviders = phoneProviders() })
	s.createUser(t, longEmail)
	addSessions(t, s, longEmail)
	linkIdentity(t, s, longEmail, "entra", "alexandra.konstantinopoulou@contoso-international.onmicrosoft.com")
	ctx, _ := bt.New(t, "")
	if st := logIn(t, ctx, s, longEmail, pw, true); st != 200 {
		t.Fatalf("log-in answered %d", st)
	}
	enrolTOTP(t, s, longEmail)
	u, err := s.App.Service.FindUser(context.Background(), longEmail)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.App.Service.AddEmail(context.Background(), u.ID, "second.address.for.alexandra@example.org", usher.Client{}); err != nil {
		t.Fatal(err)
	}
	for _, width := range []int{phoneWidth, 480, 600, 640, 700, 800, 900, 1024, 1280} {
		viewport(t, ctx, int64(width), 900)
		for _, lang := range []string{"en", "de", "fa"} {
			for _, page := range []string{"/user/profile", "/user/mfa", "/user/manage-emails"} {
				where := fmt.Sprintf("%s in %s, %d px wide", page, lang, width)
				bt.Go(t, ctx, s.URL+page+"?lang="+lang)
				if n := bt.Eval[int](t, ctx, `document.querySelectorAll('table.list tbody tr').length`); n < 1 {
					t.Fatalf("%s: no table rows", where)
				}
				checkFits(t, ctx, where, width)
				table := bt.Eval[bool](t, ctx, `getComputedStyle(document.querySelector('table.list')).display === 'table'`)
				if width == 1280 && !table {
					t.Errorf("%s: the table's rows are stacked; want a table", where)
				}
				if w := bt.Eval[[]string](t, ctx, wrappedJS); table && len(w) > 0 {
					t.Errorf("%s: these take more than one line: %q", where, w)
				}
			}
		}
	}
}
