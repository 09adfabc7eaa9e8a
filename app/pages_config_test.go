package app_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/usher-auth/usher/app"
)

// TestPageSettingsValidated: the look and language settings are checked
// when the configuration is, not when the first visitor comes.
func TestPageSettingsValidated(t *testing.T) {
	broken := t.TempDir()
	os.MkdirAll(filepath.Join(broken, "pages"), 0o755)
	os.WriteFile(filepath.Join(broken, "pages", "login.html"), []byte(`{{if}}`), 0o644)
	badLang := t.TempDir()
	os.MkdirAll(filepath.Join(badLang, "i18n"), 0o755)
	os.WriteFile(filepath.Join(badLang, "i18n", "de.json"), []byte(`{"password_too_short": "mindestens %s"}`), 0o644)
	for _, tc := range []struct {
		name string
		edit func(*app.Config)
		want string
	}{
		{"accent colour", func(c *app.Config) { c.AccentColor = "red" }, "accent_color"},
		{"background colour", func(c *app.Config) { c.BackgroundColor = "#12345" }, "background_color"},
		{"remote logo", func(c *app.Config) { c.LogoURL = "https://cdn.example.com/logo.png" }, "logo_url"},
		{"broken page template", func(c *app.Config) { c.TemplatesDir = broken }, "templates_dir"},
		{"rewording with other placeholders", func(c *app.Config) { c.TemplatesDir = badLang }, "placeholders"},
		{"after-logout URL elsewhere", func(c *app.Config) { c.AfterLogoutURL = "//evil.example" }, "after_logout_url"},
	} {
		cfg := app.Defaults()
		tc.edit(&cfg)
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v; want an error naming %s", tc.name, err, tc.want)
		}
	}
	ok := app.Defaults()
	ok.AccentColor, ok.LogoURL, ok.Languages = "#0a7d3b", "/static/logo.svg", "en,de,fa"
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
}
