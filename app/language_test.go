package app_test

import (
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/usher-auth/usher/i18n"
)

// TestEmailInUsersLanguage: a visitor who signs up on the German page
// gets the confirmation e-mail in German (through a real SMTP exchange),
// and after choosing Persian with the switcher, the next e-mail is in
// Persian.
func TestEmailInUsersLanguage(t *testing.T) {
	srv, mail, _ := server(t, filepath.Join(t.TempDir(), "u.db"), nil)
	cat := i18n.Default()
	c := browser()
	get := func(path string) string {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		req.Header.Set("Accept-Language", "de-DE,de;q=0.9,en;q=0.5")
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return string(b)
	}
	post := func(path string, form url.Values, page string) *http.Response {
		for _, m := range hiddenInput.FindAllStringSubmatch(page, -1) {
			if form.Get(m[1]) == "" {
				form.Set(m[1], m[2])
			}
		}
		req, _ := http.NewRequest("POST", srv.URL+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", srv.URL)
		req.Header.Set("Accept-Language", "de-DE,de;q=0.9,en;q=0.5")
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	page := get("/user/register")
	if !strings.Contains(page, `<html lang="de"`) {
		t.Fatal("the sign-up page is not in German")
	}
	if res := post("/user/register", url.Values{"email": {"jan@example.com"}, "password": {pw}, "retype_password": {pw}}, page); res.StatusCode != 200 {
		t.Fatalf("sign-up: %d", res.StatusCode)
	}
	want := cat.Text("de", "Confirm your email address")
	if want == "Confirm your email address" {
		t.Fatal("the German catalogue lacks the subject")
	}
	m := mail.WaitFor("jan@example.com", want, 1)
	if !strings.Contains(m.Text, cat.Text("de", "Confirm email address")) && !strings.Contains(m.HTML, cat.Text("de", "Confirm email address")) {
		t.Errorf("the e-mail's body is not in German:\n%s", m.Text)
	}
	// Confirm, then switch to Persian: the user's choice is kept on the
	// account, and the next e-mail follows it.
	link := m.Link(t, "/user/confirm-email/")
	u, _ := url.Parse(link)
	page = get(u.Path)
	post(u.Path, url.Values{}, page)
	page = get("/user/profile")
	post("/user/language", url.Values{"lang": {"fa"}, "next": {"/user/profile"}}, page)
	page = get("/user/forgot-password")
	if !strings.Contains(page, `dir="rtl"`) {
		t.Fatal("the switch to Persian did not stick")
	}
	post("/user/forgot-password", url.Values{"email": {"jan@example.com"}}, page)
	mail.WaitFor("jan@example.com", cat.Text("fa", "Reset your password"), 1)
}
