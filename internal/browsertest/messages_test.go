package browsertest_test

import (
	"strings"
	"testing"

	bt "github.com/usher-auth/usher/internal/browsertest"
)

// TestMessagesInBrowser: what a person sees in Chromium after a refused
// sign-up and a refused log-in, with the default configuration (no
// usernames): plain sentences, no fmt junk ("%!(EXTRA int=8, int=256)"),
// and no word about usernames, in English and in Russian.
func TestMessagesInBrowser(t *testing.T) {
	s := startServer(t, nil)
	s.createUser(t, "ann@example.com")
	ctx, _ := bt.New(t, "")
	con := bt.Watch(t, ctx)
	for _, lang := range []string{"en", "ru"} {
		if lang != "en" { // choose it with the switcher, as a person would
			bt.Go(t, ctx, s.URL+"/user/register")
			bt.Submit(t, ctx, `footer button[name=lang][value="`+lang+`"]`)
		}
		bt.Go(t, ctx, s.URL+"/user/register")
		bt.Fill(t, ctx, "#f-email", "bob-"+lang+"@example.com", "#f-password", "password1", "#f-retype_password", "password1")
		bt.Submit(t, ctx, "button[type=submit].primary")
		if got, want := bt.Text(t, ctx, "#e-password"), cat.Text(lang, "password_common"); got != want {
			t.Errorf("%s: sign-up with password1 says %q under the password; want %q", lang, got, want)
		}
		if body := bt.Text(t, ctx, "body"); strings.Contains(body, "%!") {
			t.Errorf("%s: the sign-up page shows fmt junk:\n%s", lang, body)
		}

		bt.Go(t, ctx, s.URL+"/user/login")
		if label := bt.Text(t, ctx, "label[for=f-login]"); label != cat.Text(lang, "Email address") {
			t.Errorf("%s: the log-in field is labelled %q", lang, label)
		}
		bt.Fill(t, ctx, "#f-login", "ann@example.com", "#f-password", "not Ann's password")
		bt.Submit(t, ctx, "button[type=submit].primary")
		if got, want := bt.Text(t, ctx, "#form-error"), cat.Text(lang, "authentication_failed"); got != want {
			t.Errorf("%s: a wrong password says %q; want %q", lang, got, want)
		}
		body := strings.ToLower(bt.Text(t, ctx, "body"))
		for _, word := range []string{"username", cat.Text(lang, "Username")} {
			if strings.Contains(body, strings.ToLower(word)) {
				t.Errorf("%s: the log-in page speaks of %q with usernames off:\n%s", lang, word, body)
			}
		}
	}
	con.Check(t, ctx, "messages")
}
