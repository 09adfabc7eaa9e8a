package usher

import (
	"errors"
	"fmt"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Config holds the Service's settings. Its zero value works: sign-up open,
// accounts enabled at once, log-in by e-mail, remember-me for 30 days,
// lock-out after 10 failures for an hour. Each default is written on its
// field. Names follow Flask-User's USER_* settings (see docs/configuration.md).
// A field tagged toml is also a setting of the usher binary, declared by
// its tags (key, help, the binary's default; see app.Setting): a zero
// number or duration means the default, -1 turns it off, and booleans are
// named so that false is the default.
type Config struct {
	// AppName is shown on pages and in e-mails; "" means "Usher".
	AppName string `toml:"app_name" default:"Usher" help:"name shown on pages and in emails"`

	// DisableRegistration turns self sign-up off (USER_ENABLE_REGISTRATION
	// = false). Server code and admins can still create users.
	DisableRegistration bool `toml:"enable_registration" invert:"true" default:"true" help:"let visitors sign up"`
	// RequireApproval creates self-registered accounts disabled, to be
	// enabled by an admin (Anvil's enable_automatically = false).
	RequireApproval bool `toml:"require_approval" default:"false" help:"new accounts wait for an admin to enable them"`
	// EnableConfirmEmail refuses password log-in until the address is
	// confirmed (USER_ENABLE_CONFIRM_EMAIL).
	EnableConfirmEmail bool `toml:"enable_confirm_email" default:"true" help:"refuse log-in until the email address is confirmed"`
	// EnableLoginWithoutConfirmEmail lets unconfirmed users log in even
	// when EnableConfirmEmail is set (USER_ENABLE_LOGIN_WITHOUT_CONFIRM_EMAIL).
	EnableLoginWithoutConfirmEmail bool `toml:"enable_login_without_confirm_email" default:"false" help:"let unconfirmed users log in anyway"`
	// EnableMultipleEmails lets users add addresses to their account
	// (USER_ENABLE_MULTIPLE_EMAILS); confirmed ones count for log-in.
	EnableMultipleEmails bool `toml:"enable_multiple_emails" default:"false" help:"let users add email addresses to their account"`
	// RequireInvitation allows sign-up only through an invitation link
	// (USER_REQUIRE_INVITATION).
	RequireInvitation bool `toml:"require_invitation" default:"false" help:"allow sign-up only through an invitation link (needs enable_invite_user)"`
	// EnableInviteUser lets users invite someone by e-mail
	// (USER_ENABLE_INVITE_USER). Off by default: otherwise anyone who
	// signs up could make the server mail any address. Server code may
	// always invite (Service.Invite without an inviter).
	EnableInviteUser bool `toml:"enable_invite_user" default:"false" help:"let users invite someone by email (off: no one can make the server mail an address)"`
	// InviteRole is the role a user needs to invite (with
	// EnableInviteUser), as in RolesRequired ("a|b" = either); "" means
	// any logged-in user.
	InviteRole string `toml:"invite_role" help:"the role a user needs to invite (with enable_invite_user); a|b = either; empty = any logged-in user"`
	// EnableUsername gives users a username, required at sign-up
	// (USER_ENABLE_USERNAME).
	EnableUsername bool `toml:"enable_username" default:"false" help:"users have a username, required at sign-up"`
	// LoginWith says how users identify themselves: "email", "username" or
	// "either". "" means "either" when EnableUsername is set, else "email".
	LoginWith string `toml:"login_with" help:"email, username or either (default: either with usernames, else email)"`
	// ShowAccountDoesNotExist lets errors say that no account has the
	// given address (USER_SHOW_USERNAME_DOES_NOT_EXIST). Off by default: it
	// enables account enumeration.
	ShowAccountDoesNotExist bool `toml:"show_username_does_not_exist" default:"false" help:"say when no account matches (enables account enumeration)"`

	// ProfileFields declares custom user fields.
	ProfileFields []ProfileField `toml:"profile_fields"`

	// BaseURL is the public origin put in e-mailed links, e.g.
	// "https://auth.example.com", with a path only when a reverse proxy
	// serves the whole site below one and strips it before Usher sees the
	// request. It is never guessed from a request's Host header, which an
	// attacker controls. "" means "http://localhost:8080". Its scheme and
	// host are also the WebAuthn relying party (origin and RP ID):
	// security keys and passkeys work only with https://<domain> or
	// http://localhost.
	BaseURL string `toml:"base_url" help:"public origin used in emailed links, e.g. https://auth.example.com"`
	// Prefix is the path where Usher's pages and JSON API live: package
	// web serves its routes under it, and e-mailed links point there
	// (BaseURL + Prefix + "/confirm-email/TOKEN"). "" means "/user"; "/"
	// means the root (links like /confirm-email/TOKEN). Mount the web
	// Handler at Prefix + "/".
	Prefix string `toml:"path_prefix" default:"/user" help:"path where Usher's pages and JSON API live, e.g. /auth (/ for the root); emailed links follow it"`
	// LinkPrefix, if set, replaces Prefix in e-mailed links, for a
	// single-page app that takes them in the address's fragment, which
	// usher.js reads: "/#usher" gives /#usher/confirm-email/TOKEN. It
	// must hold a "#": for Usher mounted elsewhere, set Prefix, which
	// the routes follow too.
	LinkPrefix string
	// EnableLoginLink lets users log in with a link sent by e-mail
	// (Anvil's use_token).
	EnableLoginLink bool `toml:"enable_login_link" default:"false" help:"let users log in with a link sent by email"`
	// EnablePasskeys lets users log in with a passkey alone, without the
	// password (BeginPasskeyLogin). Security keys as a second factor are
	// available whenever second factors are configured. WebAuthn needs a
	// secure context and a domain name: BaseURL must be https://... or
	// http://localhost...; with an IP address as its host, or plain http
	// to another host, WebAuthn is unavailable.
	EnablePasskeys bool `toml:"enable_passkeys" default:"false" help:"let users log in with a passkey alone (needs base_url on https:// or http://localhost)"`
	// NoAutoLoginAfterRegister leaves a new user logged out after sign-up
	// even when the account could log in at once
	// (USER_AUTO_LOGIN_AFTER_REGISTER = false).
	NoAutoLoginAfterRegister bool `toml:"auto_login_after_register" invert:"true" default:"true" help:"log the user in at sign-up when the account may log in at once"`
	// AutoLoginAfterConfirm logs the user in when they confirm their
	// address (USER_AUTO_LOGIN_AFTER_CONFIRM); AutoLoginAfterReset when
	// they reset their password (USER_AUTO_LOGIN_AFTER_RESET_PASSWORD).
	AutoLoginAfterConfirm bool `toml:"auto_login_after_confirm" default:"true" help:"log the user in when they confirm their address"`
	AutoLoginAfterReset   bool `toml:"auto_login_after_reset_password" default:"true" help:"log the user in when they reset their password"`
	// DisableRegisteredEmail, DisablePasswordChangedEmail and
	// DisableUsernameChangedEmail turn notifications off
	// (USER_SEND_REGISTERED_EMAIL and friends = false).
	DisableRegisteredEmail      bool `toml:"send_registered_email" invert:"true" default:"true" help:"send a welcome email at sign-up (when no confirmation is needed)"`
	DisablePasswordChangedEmail bool `toml:"send_password_changed_email" invert:"true" default:"true" help:"tell users by email when their password changes"`
	DisableUsernameChangedEmail bool `toml:"send_username_changed_email" invert:"true" default:"true" help:"tell users by email when their username changes"`
	// Lifetimes of e-mailed links: 0 means 48 hours (confirm), 1 hour
	// (reset), 15 minutes (login link), 90 days (invitation).
	ConfirmEmailExpiration  time.Duration `toml:"confirm_email_expiration" default:"48h" help:"lifetime of a confirmation link"`
	ResetPasswordExpiration time.Duration `toml:"reset_password_expiration" default:"1h" help:"lifetime of a password-reset link"`
	LoginLinkExpiration     time.Duration `toml:"login_link_expiration" default:"15m" help:"lifetime of a login link"`
	InvitationExpiration    time.Duration `toml:"invitation_expiration" default:"2160h" help:"lifetime of an invitation link"`
	// MailRateLimit is how many e-mail requests (resend confirmation,
	// password reset, login link) one IP address may make per hour, and
	// how many link uses; 0 means 20, negative means no limit.
	MailRateLimit int `toml:"mail_rate_limit" default:"20" help:"email requests and link uses per IP address per hour (-1 = no limit)"`

	// AllowMFAEmailReset lets users who lost their second factors turn
	// two-factor authentication off through an e-mailed link plus their
	// password (Anvil's allow_mfa_email_reset).
	AllowMFAEmailReset bool `toml:"allow_mfa_email_reset" default:"false" help:"let users who lost their second factors turn them off with an emailed link and their password"`
	// MFAResetExpiration is the lifetime of such a link; 0 means 1 hour.
	MFAResetExpiration time.Duration
	// MFARememberDuration is how long "remember this device" spares a
	// device the second factor (Anvil's mfa_timeout_days); 0 means 30
	// days, negative means the option is off.
	MFARememberDuration time.Duration `toml:"mfa_remember_duration" zero:"off" default:"720h" help:"how long \"remember this device\" spares the second factor (0 = never)"`
	// RequireMFA makes every user have a second factor (USHER_REQUIRE_MFA):
	// a user without one who logs in gets ErrMFARequired with an
	// enrolment to complete (MFARequiredError.Enroll) instead of a
	// session, and sign-up starts no session. It needs second factors to
	// be configured (Deps.MFA and Deps.Sealer).
	RequireMFA bool `toml:"require_mfa" default:"false" help:"every user must set up two-factor authentication (at sign-up or their next log-in)"`

	// DisableRememberMe ignores the remember flag of log-ins
	// (USER_ENABLE_REMEMBER_ME = false).
	DisableRememberMe bool `toml:"enable_remember_me" invert:"true" default:"true" help:"honour remember-me at log-in"`
	// RememberDuration is how long a remember-me session lasts; 0 means
	// 30 days.
	RememberDuration time.Duration `toml:"remember_duration" default:"720h" help:"lifetime of a remember-me session"`
	// IdleTimeout ends a browser session not used for this long; 0 means
	// 30 minutes.
	IdleTimeout time.Duration `toml:"idle_timeout" default:"30m" help:"a browser session ends after this long unused"`
	// SessionLifetime ends a browser session this long after log-in
	// however much it is used; 0 means 24 hours.
	SessionLifetime time.Duration `toml:"session_lifetime" default:"24h" help:"a browser session ends this long after log-in"`

	// MaxPasswordFailures is how many consecutive failures lock password
	// log-in; 0 means 10, negative means never.
	MaxPasswordFailures int `toml:"max_password_failures" zero:"off" default:"10" help:"consecutive failures that lock password log-in (-1 = never)"`
	// LockoutDuration is how long a lock-out lasts; 0 means 1 hour,
	// negative means until the password is reset or an admin unlocks.
	LockoutDuration time.Duration `toml:"lockout_duration" zero:"off" default:"1h" help:"how long a lock-out lasts (0 = until the password is reset or an admin unlocks)"`

	// LoginRateLimit is how many log-in attempts one IP address may make
	// per minute; 0 means 30, negative means no limit.
	LoginRateLimit int `toml:"login_rate_limit" default:"30" help:"log-in attempts per IP address per minute (-1 = no limit)"`
	// SignupRateLimit is how many sign-ups one IP address may make per
	// hour; 0 means 20, negative means no limit.
	SignupRateLimit int `toml:"signup_rate_limit" default:"20" help:"sign-ups per IP address per hour (-1 = no limit)"`

	// BasicAuthCacheTTL is how long a successful HTTP Basic check is
	// remembered, so that a Basic-auth endpoint does not hash on every
	// request; 0 means 1 minute, negative means no cache.
	BasicAuthCacheTTL time.Duration `toml:"basic_auth_cache_ttl" zero:"off" default:"1m" help:"how long a successful HTTP Basic check is remembered (0 = no cache)"`

	// SessionCacheTTL is how long a checked session is kept in memory so
	// that the check on the next requests needs no query; 0 means 10
	// minutes, negative means no cache. Changes made through this Service
	// evict entries at once; changes made by other processes on the same
	// database, within CacheSyncInterval.
	SessionCacheTTL time.Duration `toml:"session_cache_ttl" zero:"off" default:"10m" help:"how long a checked session is kept in memory (0 = no cache); other instances' changes reach the cache within cache_sync_interval"`
	// SessionCacheSize bounds the number of cached sessions; 0 means
	// 100,000. An entry takes about 360 bytes of heap (a session with its
	// user), and the collector lets the heap grow to twice what is live
	// (GOGC), so the bound is chosen for memory, not hit rate: a full cache
	// drops an arbitrary entry for each new one.
	SessionCacheSize int `toml:"session_cache_size" default:"100000" help:"most sessions kept in memory (about 360 bytes of heap each; 0 = 100000)"`
	// CacheSyncInterval is how often the Service reads the changes other
	// processes made (the audit trail) to evict stale cache entries; 0
	// means 1 second.
	CacheSyncInterval time.Duration `toml:"cache_sync_interval" default:"1s" help:"how often to read other instances' changes to evict stale cached sessions"`

	// AuditRetention is how long events stay in the audit log; the
	// background worker deletes older ones. 0 means 365 days, negative
	// means forever.
	AuditRetention time.Duration `toml:"audit_retention" zero:"off" default:"8760h" help:"how long audit log entries are kept (0 = forever)"`

	// MaxConcurrentHashes bounds how many password hashes run at once, so
	// that a log-in flood cannot exhaust memory; 0 means runtime.NumCPU().
	// A hash holds its scheduler slot (P) for its whole 30 ms or so, so for
	// other requests to stay fast while every slot hashes, run with
	// GOMAXPROCS above this bound: `usher serve` uses twice the CPUs.
	MaxConcurrentHashes int `toml:"max_concurrent_hashes" default:"0" help:"password hashes that may run at once (0 = number of CPUs)"`
}

// defaults returns c with every zero field set to its documented default.
func (c Config) defaults() Config {
	if c.AppName == "" {
		c.AppName = "Usher"
	}
	if c.LoginWith == "" {
		c.LoginWith = "email"
		if c.EnableUsername {
			c.LoginWith = "either"
		}
	}
	if c.BaseURL == "" {
		c.BaseURL = "http://localhost:8080"
	}
	c.BaseURL = strings.TrimSuffix(c.BaseURL, "/")
	if c.Prefix == "" {
		c.Prefix = "/user"
	}
	c.Prefix = strings.TrimSuffix(c.Prefix, "/")
	if c.LinkPrefix == "" {
		c.LinkPrefix = c.Prefix
	}
	for _, d := range []struct {
		v   *time.Duration
		def time.Duration
	}{
		{&c.ConfirmEmailExpiration, 48 * time.Hour}, {&c.ResetPasswordExpiration, time.Hour},
		{&c.LoginLinkExpiration, 15 * time.Minute}, {&c.InvitationExpiration, 90 * 24 * time.Hour},
		{&c.MFAResetExpiration, time.Hour},
	} {
		if *d.v == 0 {
			*d.v = d.def
		}
	}
	if c.MFARememberDuration == 0 {
		c.MFARememberDuration = defaultMFARememberDuration
	}
	if c.MailRateLimit == 0 {
		c.MailRateLimit = 20
	}
	if c.RememberDuration == 0 {
		c.RememberDuration = 30 * 24 * time.Hour
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = 30 * time.Minute
	}
	if c.SessionLifetime == 0 {
		c.SessionLifetime = 24 * time.Hour
	}
	if c.MaxPasswordFailures == 0 {
		c.MaxPasswordFailures = 10
	}
	if c.LockoutDuration == 0 {
		c.LockoutDuration = time.Hour
	}
	if c.BasicAuthCacheTTL == 0 {
		c.BasicAuthCacheTTL = time.Minute
	}
	if c.SessionCacheTTL == 0 {
		c.SessionCacheTTL = 10 * time.Minute
	}
	if c.SessionCacheSize <= 0 {
		c.SessionCacheSize = 100_000
	}
	if c.CacheSyncInterval <= 0 {
		c.CacheSyncInterval = time.Second
	}
	if c.AuditRetention == 0 {
		c.AuditRetention = 365 * 24 * time.Hour
	}
	if c.LoginRateLimit == 0 {
		c.LoginRateLimit = 30
	}
	if c.SignupRateLimit == 0 {
		c.SignupRateLimit = 20
	}
	c.ProfileFields = slices.Clone(c.ProfileFields)
	for i, f := range c.ProfileFields {
		if f.Type == "" {
			c.ProfileFields[i].Type = "text"
		}
		if f.MaxLength == 0 {
			c.ProfileFields[i].MaxLength = 200
		}
		if f.Label == "" {
			c.ProfileFields[i].Label = f.Name
		}
	}
	return c
}

var fieldNameRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)

// reservedFields are names a profile field may not take: they are the
// fields every user has.
var reservedFields = map[string]bool{
	"id": true, "email": true, "username": true, "password": true, "remember": true,
	"roles": true, "enabled": true, "retype_password": true, "csrf_token": true, "next": true,
}

// MayInvite reports whether u may invite someone by e-mail:
// EnableInviteUser is on and u has InviteRole (any user when it is "").
// The pages hide "Invite someone" from users who may not.
func (c Config) MayInvite(u *User) bool {
	return c.EnableInviteUser && u != nil && (c.InviteRole == "" || u.HasRoles(c.InviteRole))
}

// Validate reports settings that cannot work together or cannot be parsed.
func (c Config) Validate() error {
	var errs []error
	switch c.LoginWith {
	case "", "email", "either":
	case "username":
		if !c.EnableUsername {
			errs = append(errs, errors.New(`login_with "username" needs enable_username`))
		}
	default:
		errs = append(errs, fmt.Errorf("login_with is %q; want email, username or either", c.LoginWith))
	}
	if c.LoginWith == "either" && !c.EnableUsername {
		errs = append(errs, errors.New(`login_with "either" needs enable_username`))
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"remember_duration", c.RememberDuration}, {"idle_timeout", c.IdleTimeout}, {"session_lifetime", c.SessionLifetime}} {
		if d.v < 0 {
			errs = append(errs, fmt.Errorf("%s is %v; it must not be negative", d.name, d.v))
		}
	}
	if c.BaseURL != "" {
		if u, err := url.Parse(c.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			errs = append(errs, fmt.Errorf("base_url is %q; want an origin such as https://auth.example.com", c.BaseURL))
		}
	}
	if c.Prefix != "" && !validPrefix(c.Prefix) {
		errs = append(errs, fmt.Errorf("path_prefix is %q; want a path such as /user or /auth, or / for the root", c.Prefix))
	}
	if c.LinkPrefix != "" && (!strings.HasPrefix(c.LinkPrefix, "/") || !strings.Contains(c.LinkPrefix, "#")) {
		errs = append(errs, fmt.Errorf("link_prefix is %q; want a path with a fragment such as /#usher (for Usher mounted elsewhere, set prefix: the routes and the links follow it)", c.LinkPrefix))
	}
	if c.MaxConcurrentHashes < 0 {
		errs = append(errs, fmt.Errorf("max_concurrent_hashes is %d; it must not be negative", c.MaxConcurrentHashes))
	}
	seen := map[string]bool{}
	for _, f := range c.ProfileFields {
		switch {
		case !fieldNameRE.MatchString(f.Name):
			errs = append(errs, fmt.Errorf("profile field %q: a name is lower-case letters, digits and _, starting with a letter", f.Name))
		case reservedFields[f.Name]:
			errs = append(errs, fmt.Errorf("profile field %q: the name is reserved", f.Name))
		case seen[f.Name]:
			errs = append(errs, fmt.Errorf("profile field %q is declared twice", f.Name))
		}
		seen[f.Name] = true
		switch f.Type {
		case "", "text", "int", "bool", "email", "url":
		default:
			errs = append(errs, fmt.Errorf("profile field %q: type %q; want text, int, bool, email or url", f.Name, f.Type))
		}
		if f.MaxLength < 0 {
			errs = append(errs, fmt.Errorf("profile field %q: max_length must not be negative", f.Name))
		}
		if f.Pattern != "" {
			if _, err := regexp.Compile(f.Pattern); err != nil {
				errs = append(errs, fmt.Errorf("profile field %q: pattern: %v", f.Name, err))
			}
		}
	}
	return errors.Join(errs...)
}

// validPrefix reports whether p can be Config.Prefix: "/" or a clean path
// of one or more segments (a trailing slash is dropped), without a query
// or fragment, in characters that need no escaping in a URL or a ServeMux
// pattern.
func validPrefix(p string) bool {
	p = strings.TrimSuffix(p, "/")
	return p == "" || prefixRE.MatchString(p) && path.Clean(p) == p
}

var prefixRE = regexp.MustCompile(`^(/[A-Za-z0-9._~-]+)+$`)
