package web_test

import (
	"html"
	"net/url"
	"strings"
	"testing"

	"github.com/usher-auth/usher"
	"github.com/usher-auth/usher/i18n"
)

// refusedPasswords are sign-ups the default policy refuses, one per
// reason it has.
var refusedPasswords = []struct{ reason, email, password string }{
	{usher.MsgPasswordTooShort, "short@example.com", "short"},
	{usher.MsgPasswordTooLong, "long@example.com", strings.Repeat("long ", 60)},
	{usher.MsgPasswordSameEmail, "identity@example.com", "identity@example.com"},
	{usher.MsgPasswordCommon, "common@example.com", "password1"},
}

// TestPasswordErrorsAreCleanText: a refused password is explained in
// plain words in every language, on the sign-up page and in the JSON
// API, with no fmt junk such as "%!(EXTRA int=8, int=256)".
func TestPasswordErrorsAreCleanText(t *testing.T) {
	e := newEnv(t, usher.Config{SignupRateLimit: -1})
	cat := i18n.Default()
	for _, l := range cat.Languages() {
		for _, tc := range refusedPasswords {
			r := e.do(e.browser(), "POST", "/user/api/signup", map[string]any{"email": tc.email, "password": tc.password}, "Accept-Language", l.Tag)
			msg, _ := r.body["error"].(map[string]any)["message"].(string)
			if r.errCode() != "password_not_acceptable" || msg == "" || strings.Contains(msg, "%!") {
				t.Errorf("%s %s: API answers %d %s", l.Tag, tc.reason, r.status, r.raw)
			}
			if l.Tag == "en" && !strings.HasSuffix(msg, ".") {
				t.Errorf("%s: API message %q does not end its sentence", tc.reason, msg)
			}

			_, body, _ := e.submit(e.browser(), "/user/register?lang="+l.Tag, url.Values{"email": {tc.email}, "password": {tc.password}, "retype_password": {tc.password}})
			if strings.Contains(body, "%!") || !strings.Contains(html.UnescapeString(body), msg) {
				t.Errorf("%s %s: the sign-up page does not show %q cleanly", l.Tag, tc.reason, msg)
			}
		}
	}
}

// TestChangePasswordErrorIsCleanText: the same for a logged-in user's new
// password.
func TestChangePasswordErrorIsCleanText(t *testing.T) {
	e := newEnv(t, usher.Config{})
	c := e.browser()
	if r := e.do(c, "POST", "/user/api/signup", map[string]any{"email": "ann@example.com", "password": pw}); r.status != 201 {
		t.Fatalf("signup: %d %s", r.status, r.raw)
	}
	r := e.do(c, "POST", "/user/api/change-password", map[string]any{"old_password": pw, "new_password": "password1"}, "Accept-Language", "ru")
	msg, _ := r.body["error"].(map[string]any)["message"].(string)
	if r.errCode() != "password_not_acceptable" || msg != i18n.Default().Text("ru", usher.MsgPasswordCommon) {
		t.Errorf("change-password: %d %s", r.status, r.raw)
	}
}
