package browsertest_test

import (
	"context"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/usher-auth/usher"
	"github.com/usher-auth/usher/app"
	bt "github.com/usher-auth/usher/internal/browsertest"
)

// dateOrderJS finds every date the page shows ("2026-12-04 19:24 UTC"),
// in an element of its own or inside a sentence, and returns those whose
// parts a reader sees out of order: the year not left of "UTC" on the
// same line.
const dateOrderJS = `(() => {
  const bad = [], re = /\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC/g;
  const walk = document.createTreeWalker(document.querySelector('main'), NodeFilter.SHOW_TEXT);
  const rect = (node, from, to) => { const r = document.createRange(); r.setStart(node, from); r.setEnd(node, to); return r.getClientRects()[0]; };
  let found = 0;
  for (let n = walk.nextNode(); n; n = walk.nextNode()) {
    for (const m of n.data.matchAll(re)) {
      found++;
      const year = rect(n, m.index, m.index + 4), utc = rect(n, m.index + m[0].length - 3, m.index + m[0].length);
      if (!year || !utc) continue;
      if (Math.abs(year.top - utc.top) < 2 && !(year.left < utc.left)) bad.push(n.parentElement.outerHTML);
    }
  }
  return {found, bad};
})()`

// isolatedJS lists the addresses, keys and codes on the page that are
// not shown left to right in an isolate of their own (<bdi>, or dir=ltr,
// which isolates), so that right-to-left text around them cannot reorder
// their parts.
const isolatedJS = `[...document.querySelectorAll('main td.ip, main .addr, main code.secret, main ul.codes, header .topnav a[href$="/profile"]')].filter(el => {
  const iso = el.matches('bdi, [dir=ltr]') ? el : el.querySelector('bdi, [dir=ltr]');
  return !iso || getComputedStyle(iso).direction !== 'ltr' || !getComputedStyle(iso).unicodeBidi.startsWith('isolate') ||
    iso.textContent.trim() !== el.textContent.trim();
}).map(el => el.outerHTML.slice(0, 120))`

// TestRightToLeftIsolatesDatesAndAddresses: on the Persian (right to
// left) account pages, dates read year first, left to right ("2026-12-04
// 19:24 UTC", not "UTC 19:24 2026-12-04"), in the tables and inside
// sentences; IP addresses, e-mail addresses, the authenticator key and
// recovery codes sit in left-to-right isolates.
func TestRightToLeftIsolatesDatesAndAddresses(t *testing.T) {
	s := startServer(t, func(c *app.Config) { c.EnableMultipleEmails = true })
	s.createUser(t, longEmail)
	addSessions(t, s, longEmail)
	ctx, _ := bt.New(t, "")
	if st := logIn(t, ctx, s, longEmail, pw, false); st != 200 {
		t.Fatalf("log-in answered %d", st)
	}
	enrolTOTP(t, s, longEmail)
	check := func(page string, minDates int) {
		t.Helper()
		bt.Go(t, ctx, s.URL+page+"?lang=fa")
		if dir := bt.Eval[string](t, ctx, `document.documentElement.dir`); dir != "rtl" {
			t.Fatalf("%s in Persian: dir=%q", page, dir)
		}
		got := bt.Eval[struct {
			Found int
			Bad   []string
		}](t, ctx, dateOrderJS)
		if got.Found < minDates {
			t.Errorf("%s: %d dates found; want at least %d", page, got.Found, minDates)
		}
		for _, b := range got.Bad {
			t.Errorf("%s: a date reads out of order in Persian: %s", page, b)
		}
		for _, b := range bt.Eval[[]string](t, ctx, isolatedJS) {
			t.Errorf("%s: not isolated left to right: %s", page, b)
		}
	}
	// The account page: the sessions' dates and IP addresses (one
	// IPv6), the address, and "added <date>" in a sentence.
	check("/user/profile", 2*5+1)
	if n := bt.Eval[int](t, ctx, `document.querySelectorAll('main td.ip').length`); n != 5 {
		t.Errorf("%d IP address cells on the account page; want 5", n)
	}
	check("/user/mfa", 1)
	check("/user/manage-emails", 0)
	// usher.js's account dialog, in Persian (the switcher's cookie): the
	// sessions' IP addresses and the e-mail address.
	bt.Go(t, ctx, s.URL+"/user/login")
	bt.Submit(t, ctx, `footer button[name=lang][value="fa"]`)
	bt.Go(t, ctx, s.URL+"/app")
	bt.Eval[chromedp.Void](t, ctx, `usher.configureAccountWithForm(); 0`)
	d := dialog(t, ctx, "account")
	if dir := bt.Eval[string](t, ctx, `document.querySelector('`+d+`').getAttribute('dir')`); dir != "rtl" {
		t.Fatalf("the account dialog's dir is %q; want rtl", dir)
	}
	if bad := bt.Eval[[]string](t, ctx, `[...document.querySelectorAll('.usher-session .usher-item-meta, .usher-account-email')].filter(el =>
		!/\d|@/.test([...el.querySelectorAll('bdi')].map(b => b.textContent).join(''))).map(el => el.outerHTML)`); len(bad) > 0 {
		t.Errorf("account dialog: addresses not in a <bdi>: %q", bad)
	}
	if n := bt.Eval[int](t, ctx, `[...document.querySelectorAll('.usher-session bdi[dir=ltr]')].filter(b => getComputedStyle(b).direction === 'ltr').length`); n != 5 {
		t.Errorf("account dialog: %d IP addresses isolated left to right; want 5", n)
	}
	// A new authenticator app's key, then recovery codes.
	u, err := s.App.Service.FindUser(context.Background(), longEmail)
	if err != nil {
		t.Fatal(err)
	}
	methods, err := s.App.Service.ListMFAMethods(context.Background(), u.ID)
	if err != nil || len(methods) == 0 {
		t.Fatalf("methods: %v, %v", methods, err)
	}
	if err := s.App.Service.RemoveMFAMethod(context.Background(), u.ID, methods[0].ID, usher.Client{}); err != nil {
		t.Fatal(err)
	}
	check("/user/mfa", 0)
	if n := bt.Eval[int](t, ctx, `document.querySelectorAll('main code.secret').length`); n != 1 {
		t.Fatalf("no key on the set-up page")
	}
	bt.Go(t, ctx, s.URL+"/user/mfa?lang=en")
	bt.Fill(t, ctx, "#f-code", totpFromPage(t, ctx), "#f-password", pw)
	bt.Submit(t, ctx, "button[type=submit].primary")
	bt.Go(t, ctx, s.URL+"/user/mfa?lang=fa")
	bt.Submit(t, ctx, "form[action$='/recovery-codes'] button")
	if n := bt.Eval[int](t, ctx, `document.querySelectorAll('main ul.codes li').length`); n == 0 {
		t.Fatal("no recovery codes shown")
	}
	for _, b := range bt.Eval[[]string](t, ctx, isolatedJS) {
		t.Errorf("recovery codes: not isolated left to right: %s", b)
	}
}
