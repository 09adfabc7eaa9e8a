package app

import (
	"context"
	"fmt"
	"io/fs"
	"net"
	"os"
	"strings"
	"time"

	"github.com/usher-auth/usher"
	"github.com/usher-auth/usher/i18n"
	"github.com/usher-auth/usher/web"
)

// Config is the whole server's configuration, as the usher binary reads it
// from a TOML file, USHER_* environment variables and flags. Names follow
// Flask-User: each USER_X setting is USHER_X in the environment, x in the
// file and --x (with dashes) as a flag. Fields tagged secret are masked by
// `usher config`. Defaults() gives the documented defaults.
type Config struct {
	Addr     string `toml:"addr" help:"address to listen on (HOST:PORT)"`
	Database string `toml:"database" help:"SQLite file, or postgres:// address" secret:"url"`
	BaseURL  string `toml:"base_url" help:"public origin used in emailed links, e.g. https://auth.example.com"`
	Prefix   string `toml:"path_prefix" help:"path where Usher's pages and JSON API live, e.g. /auth (/ for the root); emailed links follow it"`
	AppName  string `toml:"app_name" help:"name shown on pages and in emails"`

	EnableRegistration             bool   `toml:"enable_registration" help:"let visitors sign up"`
	RequireApproval                bool   `toml:"require_approval" help:"new accounts wait for an admin to enable them"`
	EnableConfirmEmail             bool   `toml:"enable_confirm_email" help:"refuse log-in until the email address is confirmed"`
	EnableLoginWithoutConfirmEmail bool   `toml:"enable_login_without_confirm_email" help:"let unconfirmed users log in anyway"`
	EnableUsername                 bool   `toml:"enable_username" help:"users have a username, required at sign-up"`
	LoginWith                      string `toml:"login_with" help:"email, username or either (default: either with usernames, else email)"`
	ShowUsernameDoesNotExist       bool   `toml:"show_username_does_not_exist" help:"say when no account matches (enables account enumeration)"`

	SMTPURL      string `toml:"smtp_url" help:"smtp://user:pass@host:587 (STARTTLS), smtps://...:465 (TLS), smtp+insecure://host:25; empty = the development mailbox" secret:"url"`
	MailFrom     string `toml:"mail_from" help:"sender address of emails"`
	MailFromName string `toml:"mail_from_name" help:"sender name of emails (default: app name + \" Accounts\")"`

	EnableLoginLink             bool     `toml:"enable_login_link" help:"let users log in with a link sent by email"`
	RequireInvitation           bool     `toml:"require_invitation" help:"allow sign-up only through an invitation link"`
	EnableInviteUser            bool     `toml:"enable_invite_user" help:"let users invite someone by email (off: no one can make the server mail an address)"`
	InviteRole                  string   `toml:"invite_role" help:"the role a user needs to invite (with enable_invite_user); empty = any logged-in user"`
	EnableMultipleEmails        bool     `toml:"enable_multiple_emails" help:"let users add email addresses to their account"`
	SendUsernameChangedEmail    bool     `toml:"send_username_changed_email" help:"tell users by email when their username changes"`
	InvitationExpiration        Duration `toml:"invitation_expiration" help:"lifetime of an invitation link"`
	AutoLoginAfterRegister      bool     `toml:"auto_login_after_register" help:"log the user in at sign-up when the account may log in at once"`
	AutoLoginAfterConfirm       bool     `toml:"auto_login_after_confirm" help:"log the user in when they confirm their address"`
	AutoLoginAfterResetPassword bool     `toml:"auto_login_after_reset_password" help:"log the user in when they reset their password"`
	SendRegisteredEmail         bool     `toml:"send_registered_email" help:"send a welcome email at sign-up (when no confirmation is needed)"`
	SendPasswordChangedEmail    bool     `toml:"send_password_changed_email" help:"tell users by email when their password changes"`
	ConfirmEmailExpiration      Duration `toml:"confirm_email_expiration" help:"lifetime of a confirmation link"`
	ResetPasswordExpiration     Duration `toml:"reset_password_expiration" help:"lifetime of a password-reset link"`
	LoginLinkExpiration         Duration `toml:"login_link_expiration" help:"lifetime of a login link"`
	MailRateLimit               int      `toml:"mail_rate_limit" help:"email requests and link uses per IP address per hour (-1 = no limit)"`

	AfterConfirmURL       string `toml:"after_confirm_url" help:"where to send users after confirming their address (a path on this site)"`
	AfterResetPasswordURL string `toml:"after_reset_password_url" help:"where to send users after resetting their password (a path)"`
	AfterLoginURL         string `toml:"after_login_url" help:"where to send users after a login link (a path)"`
	AfterRegisterURL      string `toml:"after_register_url" help:"where to send users after registering through an invitation (a path)"`
	DevMailbox            bool   `toml:"dev_mailbox" help:"serve the development mailbox (no smtp_url) even when base_url is not on this machine; it shows everyone's links"`
	AfterLogoutURL        string `toml:"after_logout_url" help:"where to send users after logging out (a path)"`
	TemplatesDir          string `toml:"templates_dir" help:"a folder of overrides: emails/<name> and pages/<name>.html replace those templates, i18n/<lang>.json rewords messages"`

	LoginOrRegister bool   `toml:"login_or_register" help:"show the log-in and sign-up forms side by side on one page"`
	Languages       string `toml:"languages" help:"comma-separated languages offered (empty = all: de,en,es,fa,fi,fr,it,nl,ru,sv,tr,zh)"`
	LogoURL         string `toml:"logo_url" help:"logo shown on the pages: a path on this site or a data: URL"`
	AccentColor     string `toml:"accent_color" help:"colour of buttons and links, #rrggbb"`
	BackgroundColor string `toml:"background_color" help:"colour of the page background, #rrggbb"`

	SecretKey           string   `toml:"secret_key" help:"32-byte key (base64 or hex) sealing second-factor secrets; several, comma-separated, to rotate (the first seals); unset with SQLite: generated into <database>.key" secret:"true"`
	EnablePasskeys      bool     `toml:"enable_passkeys" help:"let users log in with a passkey alone (needs base_url on https:// or http://localhost)"`
	RequireMFA          bool     `toml:"require_mfa" help:"every user must set up two-factor authentication (at sign-up or their next log-in)"`
	AllowMFAEmailReset  bool     `toml:"allow_mfa_email_reset" help:"let users who lost their second factors turn them off with an emailed link and their password"`
	MFARememberDuration Duration `toml:"mfa_remember_duration" help:"how long \"remember this device\" spares the second factor (0 = never)"`

	EnableRememberMe bool     `toml:"enable_remember_me" help:"honour remember-me at log-in"`
	RememberDuration Duration `toml:"remember_duration" help:"lifetime of a remember-me session"`
	IdleTimeout      Duration `toml:"idle_timeout" help:"a browser session ends after this long unused"`
	SessionLifetime  Duration `toml:"session_lifetime" help:"a browser session ends this long after log-in"`

	MaxPasswordFailures int      `toml:"max_password_failures" help:"consecutive failures that lock password log-in (-1 = never)"`
	LockoutDuration     Duration `toml:"lockout_duration" help:"how long a lock-out lasts (0 = until the password is reset or an admin unlocks)"`
	LoginRateLimit      int      `toml:"login_rate_limit" help:"log-in attempts per IP address per minute (-1 = no limit)"`
	SignupRateLimit     int      `toml:"signup_rate_limit" help:"sign-ups per IP address per hour (-1 = no limit)"`
	MaxConcurrentHashes int      `toml:"max_concurrent_hashes" help:"password hashes that may run at once (0 = number of CPUs)"`
	BasicAuthCacheTTL   Duration `toml:"basic_auth_cache_ttl" help:"how long a successful HTTP Basic check is remembered (0 = no cache)"`

	SessionCacheTTL   Duration `toml:"session_cache_ttl" help:"how long a checked session is kept in memory (0 = no cache); other instances' changes reach the cache within cache_sync_interval"`
	CacheSyncInterval Duration `toml:"cache_sync_interval" help:"how often to read other instances' changes to evict stale cached sessions"`

	PasswordHash          string   `toml:"password_hash" help:"argon2id or bcrypt"`
	PasswordRules         string   `toml:"password_rules" help:"nist (length and common-password list) or flask-user (6+ chars, upper, lower, digit)"`
	PasswordMinLength     int      `toml:"password_min_length" help:"minimum password length (0 = the rules' default)"`
	FlaskSecuritySalt     string   `toml:"flask_security_salt" help:"SECURITY_PASSWORD_SALT of imported Flask-Security hashes" secret:"true"`
	ClientIPHeader        string   `toml:"client_ip_header" help:"header with the client address set by a trusted proxy (X-Forwarded-For, X-Real-IP)"`
	TrustForwardedHeaders bool     `toml:"trust_forwarded_headers" help:"a trusted reverse proxy sets X-Forwarded-Proto and X-Forwarded-Host: honour them (Secure cookies, the cross-origin check)"`
	InsecureCookies       bool     `toml:"insecure_cookies" help:"drop the Secure cookie flag (only behind plain-http development setups)"`
	HSTS                  bool     `toml:"hsts" help:"send Strict-Transport-Security (one year) when base_url is https"`
	SharedRateLimits      string   `toml:"shared_rate_limits" help:"keep rate-limit counters in the database: auto (with PostgreSQL), yes or no"`
	DebugAddr             string   `toml:"debug_addr" help:"if set, serve Go's pprof profiles on this address (keep it private)"`
	LogLevel              string   `toml:"log_level" help:"debug, info, warn or error"`
	LogFormat             string   `toml:"log_format" help:"text or json"`
	ShutdownGracePeriod   Duration `toml:"shutdown_grace_period" help:"how long to wait for requests to finish on shutdown"`

	ProfileFields []usher.ProfileField `toml:"profile_fields"`
	Webhooks      []usher.Webhook      `toml:"webhooks"`

	// ValidateSignup and OnEvent are the Go hooks of usher.Deps, for
	// programs that build their server with this package; files, the
	// environment and flags cannot set them.
	ValidateSignup func(ctx context.Context, in *usher.Signup) error
	OnEvent        func(ctx context.Context, e usher.Event)
}

// Defaults returns the configuration used when nothing is set.
func Defaults() Config {
	return Config{
		Addr:                        "127.0.0.1:8080",
		Database:                    "usher.db",
		Prefix:                      "/user",
		AppName:                     "Usher",
		EnableRegistration:          true,
		EnableConfirmEmail:          true,
		MailFrom:                    "usher@localhost",
		AutoLoginAfterRegister:      true,
		AutoLoginAfterConfirm:       true,
		AutoLoginAfterResetPassword: true,
		SendRegisteredEmail:         true,
		SendPasswordChangedEmail:    true,
		SendUsernameChangedEmail:    true,
		InvitationExpiration:        Duration(90 * 24 * time.Hour),
		ConfirmEmailExpiration:      Duration(48 * time.Hour),
		ResetPasswordExpiration:     Duration(time.Hour),
		LoginLinkExpiration:         Duration(15 * time.Minute),
		MailRateLimit:               20,
		MFARememberDuration:         Duration(30 * 24 * time.Hour),
		EnableRememberMe:            true,
		RememberDuration:            Duration(30 * 24 * time.Hour),
		IdleTimeout:                 Duration(30 * time.Minute),
		SessionLifetime:             Duration(24 * time.Hour),
		MaxPasswordFailures:         10,
		LockoutDuration:             Duration(time.Hour),
		LoginRateLimit:              30,
		SignupRateLimit:             20,
		BasicAuthCacheTTL:           Duration(time.Minute),
		SessionCacheTTL:             Duration(10 * time.Minute),
		CacheSyncInterval:           Duration(time.Second),
		PasswordHash:                "argon2id",
		PasswordRules:               "nist",
		SharedRateLimits:            "auto",
		HSTS:                        true,
		LogLevel:                    "info",
		LogFormat:                   "text",
		ShutdownGracePeriod:         Duration(10 * time.Second),
	}
}

// Service returns the usher.Config these settings describe.
func (c Config) Service() usher.Config {
	sc := usher.Config{
		AppName:                        c.AppName,
		DisableRegistration:            !c.EnableRegistration,
		RequireApproval:                c.RequireApproval,
		EnableConfirmEmail:             c.EnableConfirmEmail,
		EnableLoginWithoutConfirmEmail: c.EnableLoginWithoutConfirmEmail,
		EnableUsername:                 c.EnableUsername,
		LoginWith:                      c.LoginWith,
		ShowAccountDoesNotExist:        c.ShowUsernameDoesNotExist,
		BaseURL:                        c.baseURL(),
		Prefix:                         c.Prefix,
		EnableLoginLink:                c.EnableLoginLink,
		NoAutoLoginAfterRegister:       !c.AutoLoginAfterRegister,
		AutoLoginAfterConfirm:          c.AutoLoginAfterConfirm,
		AutoLoginAfterReset:            c.AutoLoginAfterResetPassword,
		DisableRegisteredEmail:         !c.SendRegisteredEmail,
		DisablePasswordChangedEmail:    !c.SendPasswordChangedEmail,
		DisableUsernameChangedEmail:    !c.SendUsernameChangedEmail,
		RequireInvitation:              c.RequireInvitation,
		EnableInviteUser:               c.EnableInviteUser,
		InviteRole:                     c.InviteRole,
		EnableMultipleEmails:           c.EnableMultipleEmails,
		InvitationExpiration:           time.Duration(c.InvitationExpiration),
		ConfirmEmailExpiration:         time.Duration(c.ConfirmEmailExpiration),
		ResetPasswordExpiration:        time.Duration(c.ResetPasswordExpiration),
		LoginLinkExpiration:            time.Duration(c.LoginLinkExpiration),
		MailRateLimit:                  c.MailRateLimit,
		MFARememberDuration:            time.Duration(c.MFARememberDuration),
		AllowMFAEmailReset:             c.AllowMFAEmailReset,
		RequireMFA:                     c.RequireMFA,
		EnablePasskeys:                 c.EnablePasskeys,
		ProfileFields:                  c.ProfileFields,
		DisableRememberMe:              !c.EnableRememberMe,
		RememberDuration:               time.Duration(c.RememberDuration),
		IdleTimeout:                    time.Duration(c.IdleTimeout),
		SessionLifetime:                time.Duration(c.SessionLifetime),
		MaxPasswordFailures:            c.MaxPasswordFailures,
		LockoutDuration:                time.Duration(c.LockoutDuration),
		LoginRateLimit:                 c.LoginRateLimit,
		SignupRateLimit:                c.SignupRateLimit,
		MaxConcurrentHashes:            c.MaxConcurrentHashes,
		BasicAuthCacheTTL:              time.Duration(c.BasicAuthCacheTTL),
		SessionCacheTTL:                time.Duration(c.SessionCacheTTL),
		CacheSyncInterval:              time.Duration(c.CacheSyncInterval),
	}
	if c.LockoutDuration == 0 {
		sc.LockoutDuration = -1 // the file's 0 means "until reset"
	}
	if c.BasicAuthCacheTTL == 0 {
		sc.BasicAuthCacheTTL = -1
	}
	if c.MaxPasswordFailures == 0 {
		sc.MaxPasswordFailures = -1
	}
	if c.SessionCacheTTL == 0 {
		sc.SessionCacheTTL = -1
	}
	if c.MFARememberDuration == 0 {
		sc.MFARememberDuration = -1
	}
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
	for _, u := range []struct{ name, v string }{
		{"after_confirm_url", c.AfterConfirmURL}, {"after_reset_password_url", c.AfterResetPasswordURL},
		{"after_login_url", c.AfterLoginURL}, {"after_register_url", c.AfterRegisterURL},
		{"after_logout_url", c.AfterLogoutURL},
	} {
		if u.v != "" && !web.LocalPath(u.v) {
			return fmt.Errorf("%s is %q; want a path on this site such as /welcome", u.name, u.v)
		}
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

// Duration is a time.Duration written as text in files, the environment
// and flags ("30m", "720h").
type Duration time.Duration

// UnmarshalText parses a Go duration such as "90s" or "720h".
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("%q is not a duration (examples: 90s, 30m, 720h)", b)
	}
	*d = Duration(v)
	return nil
}

// MarshalText writes the duration as Go writes it.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

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
