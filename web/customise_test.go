package web_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/usher-auth/usher"
	"github.com/usher-auth/usher/i18n"
	"github.com/usher-auth/usher/usertest"
	"github.com/usher-auth/usher/web"
)

// TestTemplateOverrides: a file in Options.Templates replaces the embedded
// page of its name and only that one; the layouts can be replaced too.
func TestTemplateOverrides(t *testing.T) {
	over := fstest.MapFS{
		"pages/login.html":       {Data: []byte(`{{template "public_base" .}}{{define "title"}}{{T "Log in"}}{{end}}{{define "content"}}<p id="custom">Welcome back to {{.AppName}}.</p>{{template "login_form" .}}{{end}}`)},
		"pages/public_base.html": {Data: []byte(`{{define "public_base"}}{{template "base_start" .}}<div class="card narrow branded">{{template "content" .}}</div>{{template "base_end" .}}{{end}}`)},
	}
	if err := web.ParseTemplates(over); err != nil {
		t.Fatal(err)
	}
	svc := usertest.NewService(t, usher.Config{AppName: "Acme"}, usertest.NewSQLiteStore(t), nil)
	srv := httptest.NewServer(web.New(svc, web.Options{Templates: over, AccentColor: "#0a7d3b", LogoURL: "/logo.svg", Logger: usertest.Discard}))
	defer srv.Close()
	get := func(path string) string {
		res, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode != 200 {
			t.Fatalf("%s: %d\n%s", path, res.StatusCode, b)
		}
		return string(b)
	}
	login := get("/user/login")
	for _, want := range []string{`<p id="custom">Welcome back to Acme.</p>`, `class="card narrow branded"`, `name="password"`, `<img src="/logo.svg"`} {
		if !strings.Contains(login, want) {
			t.Errorf("the overridden log-in page lacks %q", want)
		}
	}
	if forgot := get("/user/forgot-password"); !strings.Contains(forgot, "branded") || strings.Contains(forgot, "custom") {
		t.Error("the other pages should keep their own file and use the new layout")
	}
	if css := get("/user/theme.css"); !strings.Contains(css, "--usher-accent:#0a7d3b") {
		t.Errorf("theme.css: %q", css)
	}

	bad := fstest.MapFS{"pages/login.html": {Data: []byte(`{{template "public_base" .}}{{define "content"}}{{if}}{{end}}`)}}
	if err := web.ParseTemplates(bad); err == nil {
		t.Error("a broken override was accepted")
	}
}

// TestThemeRefusesCSS: a colour that is not #rgb/#rrggbb never reaches the
// style sheet.
func TestThemeRefusesCSS(t *testing.T) {
	svc := usertest.NewService(t, usher.Config{}, usertest.NewSQLiteStore(t), nil)
	h := web.New(svc, web.Options{AccentColor: "red;}body{display:none", Logger: usertest.Discard})
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/user/theme.css", nil))
	if strings.Contains(w.Body.String(), "display") {
		t.Errorf("theme.css: %q", w.Body.String())
	}
	if web.ValidColor("red") || !web.ValidColor("#abc") || !web.ValidColor("#A0B1C2") {
		t.Error("ValidColor")
	}
}

// TestMemberPagesInEveryLanguage: the logged-in pages render in each
// language, right to left for Persian.
func TestMemberPagesInEveryLanguage(t *testing.T) {
	e := newAcctEnv(t, usher.Config{EnableUsername: true, EnableMultipleEmails: true, EnableInviteUser: true}, true)
	b, _ := e.loggedIn("ann@example.com", "pages")
	for _, l := range i18n.Default().Languages() {
		for _, p := range []string{"/user/profile", "/user/change-password", "/user/change-username", "/user/manage-emails", "/user/invite", "/user/mfa"} {
			r := b.get(p + "?lang=" + l.Tag)
			if r.status != 200 || !strings.Contains(r.body, `<html lang="`+l.Tag+`"`) {
				t.Fatalf("%s in %s: %d", p, l.Tag, r.status)
			}
			if l.RTL && !strings.Contains(r.body, `dir="rtl"`) {
				t.Errorf("%s in %s is not right to left", p, l.Tag)
			}
		}
	}
}
