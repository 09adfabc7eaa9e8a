package web_test

import (
	"html"
	"maps"
	"net/url"
	"strings"
	"testing"

	"github.com/usher-auth/usher"
	"github.com/usher-auth/usher/i18n"
)

// TestMessagesFollowUsernameSetting: the messages that name what a user
// identifies with speak of a username only when the configuration has
// usernames (in the JSON API and on the pages, in every language), and of
// an e-mail address only when one is accepted there.
func TestMessagesFollowUsernameSetting(t *testing.T) {
	configs := []struct {
		name     string
		cfg      usher.Config
		username bool // the English texts mention a username
		email    bool // the log-in texts mention an email address
	}{
		{"usernames off", usher.Config{}, false, true},
		{"log in with either", usher.Config{EnableUsername: true}, true, true},
		{"log in with username", usher.Config{EnableUsername: true, LoginWith: "username"}, true, false},
	}
	cat := i18n.Default()
	seen := map[string]map[string]string{} // lang + case → config → message
	for _, cf := range configs {
		cf.cfg.ShowAccountDoesNotExist = true
		cf.cfg.SignupRateLimit, cf.cfg.LoginRateLimit, cf.cfg.MaxPasswordFailures = -1, -1, 1000
		e := newEnv(t, cf.cfg)
		ann := usher.NewUser{Email: "ann@example.com", Password: pw, Enabled: true, Confirmed: true}
		if cf.cfg.EnableUsername {
			ann.Username = "ann"
		}
		if _, err := e.svc.CreateUser(t.Context(), ann); err != nil {
			t.Fatal(err)
		}
		cases := []struct {
			name, path string
			body       map[string]any
			form       url.Values
			username   bool // the English text names a username
			email      bool // the English text names an email address
		}{
			{"wrong password", "login", loginBody(cf.cfg, "ann", "wrong password!"),
				url.Values{"login": {loginBody(cf.cfg, "ann", "")["ident"].(string)}, "password": {"wrong password!"}}, cf.username, cf.email},
			{"unknown account", "login", loginBody(cf.cfg, "nobody", "wrong password!"),
				url.Values{"login": {loginBody(cf.cfg, "nobody", "")["ident"].(string)}, "password": {"wrong password!"}}, cf.username, cf.email},
			{"taken", "signup", map[string]any{"email": "ann@example.com", "password": pw, "username": "bob"},
				url.Values{"email": {"ann@example.com"}, "username": {"bob"}, "password": {pw}, "retype_password": {pw}}, cf.cfg.EnableUsername, true},
			{"password is the address", "signup", map[string]any{"email": "cid@example.com", "username": "cid", "password": "cid@example.com"},
				url.Values{"email": {"cid@example.com"}, "username": {"cid"}, "password": {"cid@example.com"}, "retype_password": {"cid@example.com"}}, cf.cfg.EnableUsername, true},
		}
		for i := range cases {
			delete(cases[i].body, "ident")
		}
		for _, l := range cat.Languages() {
			for _, tc := range cases {
				r := e.do(e.browser(), "POST", "/user/api/"+tc.path, tc.body, "Accept-Language", l.Tag)
				msg, _ := r.body["error"].(map[string]any)["message"].(string)
				if msg == "" {
					t.Fatalf("%s %s %s: %d %s", cf.name, l.Tag, tc.name, r.status, r.raw)
				}
				page := "/user/login"
				if tc.path == "signup" {
					page = "/user/register"
				}
				_, body, _ := e.submit(e.browser(), page+"?lang="+l.Tag, maps.Clone(tc.form))
				if !strings.Contains(html.UnescapeString(body), msg) {
					t.Errorf("%s %s %s: the page does not show the API's message %q:\n%s", cf.name, l.Tag, tc.name, msg, formText(body))
				}
				if l.Tag == "en" {
					if got := strings.Contains(strings.ToLower(msg), "username"); got != tc.username {
						t.Errorf("%s %s: %q; want a username mentioned: %v", cf.name, tc.name, msg, tc.username)
					}
					if got := strings.Contains(msg, "email"); got != tc.email {
						t.Errorf("%s %s: %q; want an email address mentioned: %v", cf.name, tc.name, msg, tc.email)
					}
				}
				key := l.Tag + " " + tc.name
				if seen[key] == nil {
					seen[key] = map[string]string{}
				}
				seen[key][cf.name] = msg
			}
		}
	}
	// Each configuration's wording is translated: no language says the
	// same with usernames off and on.
	for key, byCfg := range seen {
		if off := byCfg["usernames off"]; off == byCfg["log in with either"] {
			t.Errorf("%s: %q with usernames off and on", key, off)
		}
	}
}

// loginBody returns the JSON log-in of user who (an account's name
// before "@example.com", or its username) with password, in the field
// cfg's LoginWith takes; "ident" holds what the pages' field takes.
func loginBody(cfg usher.Config, who, password string) map[string]any {
	switch cfg.LoginWith {
	case "username":
		return map[string]any{"username": who, "password": password, "ident": who}
	case "":
		if !cfg.EnableUsername {
			break
		}
		return map[string]any{"login": who + "@example.com", "password": password, "ident": who + "@example.com"}
	}
	return map[string]any{"email": who + "@example.com", "password": password, "ident": who + "@example.com"}
}

// formText returns the error texts of a page.
func formText(body string) string {
	var out []string
	for _, part := range strings.Split(body, "<")[1:] {
		if strings.Contains(part, "error") {
			out = append(out, part)
		}
	}
	return strings.Join(out, "\n")
}
