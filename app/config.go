package app

import (
	"context"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/usher-auth/usher"
	"github.com/usher-auth/usher/admin"

	"github.com/usher-auth/usher/federated"
	"github.com/usher-auth/usher/i18n"
	"github.com/usher-auth/usher/web"
)

// Config is the whole server's configuration, as the usher binary reads it
// from a TOML file, USHER_* environment variables and flags: the
// Service's settings (the embedded usher.Config) and the server's. Names
// follow Flask-User: each USER_X setting is USHER_X in the environment, x
// in the file and --x (with dashes) as a flag. Each setting is declared
// once, on its field, by its tags (see Setting); Defaults() gives the
// documented defaults.
type Config struct {
	Addr     string `toml:"addr" default:"127.0.0.1:8080" help:"address to listen on (HOST:PORT)"`
	Database string `toml:"database" default:"usher.db" help:"SQLite file, or postgres:// address" secret:"url"`

	usher.Config
	web.Options
	admin.Settings

	SMTPURL      string `toml:"smtp_url" help:"smtp://user:pass@host:587 (STARTTLS), smtps://...:465 (TLS), smtp+insecure://host:25; empty = the development mailbox" secret:"url"`
	MailFrom     string `toml:"mail_from" default:"usher@localhost" help:"sender address of emails"`
	MailFromName string `toml:"mail_from_name" help:"sender name of emails (default: app name + \" Accounts\")"`

	// DevMailbox says whether New may serve the development mailbox
	// (web.Options' DevMailbox, which it sets).
	DevMailbox   bool   `toml:"dev_mailbox" default:"false" help:"serve the development mailbox (no smtp_url) even when base_url is not on this machine; it shows everyone's links"`
	TemplatesDir string `toml:"templates_dir" help:"a folder of overrides: emails/<name> and pages/<name>.html replace those templates, i18n/<lang>.json rewords messages"`

	Languages string `toml:"languages" help:"comma-separated languages offered (empty = all: de,en,es,fa,fi,fr,it,nl,ru,sv,tr,zh)"`

	SecretKey string `toml:"secret_key" help:"32-byte key (base64 or hex) sealing second-factor secrets; several, comma-separated, to rotate (the first seals); unset with SQLite: generated into <database>.key" secret:"true"`

	PasswordHash        string        `toml:"password_hash" default:"argon2id" help:"argon2id or bcrypt"`
	PasswordRules       string        `toml:"password_rules" default:"nist" help:"nist (length and common-password list) or flask-user (6+ chars, upper, lower, digit)"`
	PasswordMinLength   int           `toml:"password_min_length" default:"0" help:"minimum password length (0 = the rules' default)"`
	FlaskSecuritySalt   string        `toml:"flask_security_salt" help:"SECURITY_PASSWORD_SALT of imported Flask-Security hashes" secret:"true"`
	SharedRateLimits    string        `toml:"shared_rate_limits" default:"auto" help:"keep rate-limit counters in the database: auto (with PostgreSQL), yes or no"`
	DebugAddr           string        `toml:"debug_addr" help:"if set, serve Go's pprof profiles on this address (keep it private)"`
	MetricsAddr         string        `toml:"metrics_addr" help:"if set, serve Prometheus metrics at /metrics on this address (HOST:PORT; keep it private)"`
	LogLevel            string        `toml:"log_level" default:"info" help:"debug, info, warn or error"`
	LogFormat           string        `toml:"log_format" default:"text" help:"text or json"`
	ShutdownGracePeriod time.Duration `toml:"shutdown_grace_period" default:"10s" help:"how long to wait for requests to finish on shutdown"`
	MemoryLimit         string        `toml:"memory_limit" help:"soft limit of the Go heap the server paces its collector by, e.g. 100MiB (empty = GOMEMLIMIT, else none); about 80% of a container's memory"`

	Webhooks []usher.Webhook `toml:"webhooks"`

	// Providers are the federated identity providers, the [[providers]]
	// entries of the file (or USHER_PROVIDERS): Google, Microsoft,
	// Facebook, any OpenID Connect provider, SAML IdPs (package
	// federated; docs/configuration.md lists every field per kind).
	Providers []federated.Config `toml:"providers"`

	// CustomProviders are federated providers a program writes itself
	// (usher.FederatedProvider), offered after those of Providers.
	// HTTPClient makes the providers' calls (discovery, keys, tokens,
	// metadata); nil means a client with a 10 s timeout.
	CustomProviders []usher.FederatedProvider
	HTTPClient      *http.Client

	// ValidateSignup and OnEvent are the Go hooks of usher.Deps, for
	// programs that build their server with this package; files, the
	// environment and flags cannot set them.
	ValidateSignup func(ctx context.Context, in *usher.Signup) error
	OnEvent        func(ctx context.Context, e usher.Event)
}

// Service returns the usher.Config these settings describe: the embedded
// one, with BaseURL derived from Addr when it is unset.
func (c Config) Service() usher.Config {
	sc := c.Config
	sc.BaseURL = c.baseURL()
	return sc
}

// baseURL returns BaseURL, or, when it is unset, ListenOrigin.
func (c Config) baseURL() string {
	if c.BaseURL != "" {
		return c.BaseURL
	}
	return c.ListenOrigin()
}

// ListenOrigin returns the origin of Addr, with a loopback or wildcard
// address named localhost (which suits development only): browsers offer
// security keys and passkeys to a host name, never to an IP address. It is
// "" when Addr is not HOST:PORT. The usher binary, which listens on Addr,
// uses it as BaseURL when none is set; a program that serves the Handler
// itself names its BaseURL (Open and New refuse an empty one).
func (c Config) ListenOrigin() string {
	host, port, err := net.SplitHostPort(c.Addr)
	if err != nil {
		return ""
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && (ip.IsLoopback() || ip.IsUnspecified()) {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// Validate reports settings that cannot work.
func (c Config) Validate() error {
	switch c.PasswordHash {
	case "argon2id", "bcrypt":
	default:
		return fmt.Errorf("password_hash is %q; want argon2id or bcrypt", c.PasswordHash)
	}
	switch c.PasswordRules {
	case "nist", "flask-user":
	default:
		return fmt.Errorf("password_rules is %q; want nist or flask-user", c.PasswordRules)
	}
	switch c.SharedRateLimits {
	case "auto", "yes", "no":
	default:
		return fmt.Errorf("shared_rate_limits is %q; want auto, yes or no", c.SharedRateLimits)
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		return fmt.Errorf("log_format is %q; want text or json", c.LogFormat)
	}
	if _, err := ParseMemoryLimit(c.MemoryLimit); err != nil {
		return err
	}
	for _, u := range []struct{ name, v string }{
		{"after_confirm_url", c.AfterConfirmURL}, {"after_reset_password_url", c.AfterResetPasswordURL},
		{"after_login_url", c.AfterLoginURL}, {"after_register_url", c.AfterRegisterURL},
		{"after_logout_url", c.AfterLogoutURL},
	} {
		if u.v != "" && !web.LocalPath(u.v) {
			return fmt.Errorf("%s is %q; want a path on this site such as /welcome", u.name, u.v)
		}
	}
	if _, err := web.ParseTrustedProxies(c.TrustedProxies); err != nil {
		return err
	}
	if c.RequireInvitation && !c.EnableInviteUser {
		// As in Flask-User: the binary has no other way to invite.
		return fmt.Errorf("require_invitation needs enable_invite_user: without it no one can invite, so no one can sign up")
	}
	if c.TemplatesDir != "" {
		if fi, err := os.Stat(c.TemplatesDir); err != nil || !fi.IsDir() {
			return fmt.Errorf("templates_dir %q is not a folder", c.TemplatesDir)
		}
		if err := web.ParseTemplates(os.DirFS(c.TemplatesDir)); err != nil {
			return fmt.Errorf("templates_dir: %w", err)
		}
	}
	for _, col := range []struct{ name, v string }{{"accent_color", c.AccentColor}, {"background_color", c.BackgroundColor}} {
		if col.v != "" && !web.ValidColor(col.v) {
			return fmt.Errorf("%s is %q; want a colour such as #2563eb", col.name, col.v)
		}
	}
	if c.LogoURL != "" && !web.LocalPath(c.LogoURL) && !strings.HasPrefix(c.LogoURL, "data:image/") {
		return fmt.Errorf("logo_url is %q; want a path on this site or a data:image/ URL (pages load nothing from other hosts)", c.LogoURL)
	}
	if _, err := c.catalogue(); err != nil {
		return err
	}
	return c.Service().Validate()
}

// catalogue loads the message catalogues for the configured languages,
// with the rewordings of templates_dir/i18n.
func (c Config) catalogue() (*i18n.Catalogue, error) {
	var only []string
	for _, l := range strings.Split(c.Languages, ",") {
		if l = strings.TrimSpace(l); l != "" {
			only = append(only, l)
		}
	}
	var over fs.FS
	if c.TemplatesDir != "" {
		over, _ = fs.Sub(os.DirFS(c.TemplatesDir), "i18n")
	}
	cat, err := i18n.Load(over, only)
	if err != nil {
		return nil, fmt.Errorf("languages: %w", err)
	}
	return cat, nil
}
