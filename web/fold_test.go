package web_test

import (
	"html"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/usher-auth/usher"
	"github.com/usher-auth/usher/i18n"
)

// TestLookalikeAddressRefusedInEveryLanguage: an address with hidden,
// invalid or look-alike characters is refused on the JSON API and on the
// sign-up page with a message that says so, in the visitor's language.
func TestLookalikeAddressRefusedInEveryLanguage(t *testing.T) {
	e := newEnv(t, usher.Config{EnableUsername: true, SignupRateLimit: 1000})
	cat := i18n.Default()
	tests := []struct {
		field, email, username, msg string
	}{
		{"email", "kate\u202e@example.com", "kate", usher.MsgHiddenCharacters},
		{"email", "ka\u200dte@example.com", "kate", usher.MsgHiddenCharacters},
		{"email", "\ufb01sh@example.com", "kate", usher.MsgLookalikeCharacters},
		{"email", "kate\xff@example.com", "kate", usher.MsgInvalidText},
		{"username", "kate@example.com", "ka\u2066te", usher.MsgHiddenCharacters},
	}
	for _, l := range cat.Languages() {
		for _, tt := range tests {
			want := cat.Text(l.Tag, tt.msg)
			if want == "" || want == tt.msg || (l.Tag != "en" && want == cat.Text("en", tt.msg)) {
				t.Fatalf("%s: no %s text for %s", tt.msg, l.Tag, tt.field)
			}
			// The JSON API, with the body's bytes as sent (encoding/json
			// would turn invalid UTF-8 into U+FFFD before it travels).
			body := `{"email":"` + tt.email + `","username":"` + tt.username + `","password":"` + pw + `"}`
			req, _ := http.NewRequest("POST", e.srv.URL+"/user/api/signup", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept-Language", l.Tag)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(string(raw), `"`+tt.field+`":"`+want+`"`) {
				t.Errorf("JSON sign-up as %+q in %s: %d %s; want 422 with %s: %q", tt.email, l.Tag, res.StatusCode, raw, tt.field, want)
			}

			// The sign-up page.
			c := e.browser()
			e.submit(c, "/user/language", url.Values{"lang": {l.Tag}, "next": {"/user/register"}})
			status, page, _ := e.submit(c, "/user/register", url.Values{"email": {tt.email}, "username": {tt.username},
				"password": {pw}, "retype_password": {pw}})
			if status != http.StatusUnprocessableEntity || !strings.Contains(page, html.EscapeString(want)) {
				t.Errorf("sign-up page as %+q in %s: %d; want 422 showing %q", tt.email, l.Tag, status, want)
			}
		}
	}
	if _, n, err := e.svc.ListUsers(t.Context(), usher.UserQuery{}); err != nil || n != 0 {
		t.Errorf("%d users after refused sign-ups (%v); want none", n, err)
	}
}
