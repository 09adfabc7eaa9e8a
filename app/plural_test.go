package app_test

import (
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/usher-auth/usher/app"
	"github.com/usher-auth/usher/i18n"
)

// TestEmailLifetimeInWords: an e-mailed link's lifetime is written with
// the plural form the recipient's language takes for it (Russian: "21
// день", not the abbreviation "21 дн.").
func TestEmailLifetimeInWords(t *testing.T) {
	tests := []struct {
		lang string
		ttl  time.Duration
		want string
	}{
		{"ru", 21 * 24 * time.Hour, "21 день"},
		{"ru", 5 * 24 * time.Hour, "5 дней"},
		{"ru", 2 * time.Hour, "2 часа"},
		{"en", 24 * time.Hour, "24 hours"},
		{"fr", 3 * 24 * time.Hour, "3 jours"},
	}
	for _, tt := range tests {
		t.Run(tt.lang+" "+tt.want, func(t *testing.T) {
			srv, mail, _ := server(t, filepath.Join(t.TempDir(), "u.db"), func(c *app.Config) {
				c.EnableConfirmEmail = true
				c.ConfirmEmailExpiration = tt.ttl
			})
			c := browser()
			get, _ := http.NewRequest("GET", srv.URL+"/user/register", nil)
			get.Header.Set("Accept-Language", tt.lang)
			res, err := c.Do(get)
			if err != nil {
				t.Fatal(err)
			}
			page, _ := io.ReadAll(res.Body)
			res.Body.Close()
			form := url.Values{"email": {"ivan@example.com"}, "password": {pw}, "retype_password": {pw}}
			for _, m := range hiddenInput.FindAllStringSubmatch(string(page), -1) {
				form.Set(m[1], m[2])
			}
			post, _ := http.NewRequest("POST", srv.URL+"/user/register", strings.NewReader(form.Encode()))
			post.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			post.Header.Set("Origin", srv.URL)
			post.Header.Set("Accept-Language", tt.lang)
			if res, err = c.Do(post); err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			cat := i18n.Default()
			m := mail.WaitFor("ivan@example.com", cat.Text(tt.lang, "Confirm your email address"), 1)
			want := cat.Sprintf(tt.lang, "This link expires in %s and can be used only once.", tt.want)
			if !strings.Contains(m.Text, want) {
				t.Errorf("the e-mail does not say %q:\n%s", want, m.Text)
			}
		})
	}
}
