// Package web turns HTTP into calls on usher.Service: the JSON API, the
// forward-auth endpoint, session cookies and the middleware that guards a
// developer's own routes (LoginRequired, RolesRequired, HTTP Basic auth).
// It never touches SQL.
package web

import (
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/usher-auth/usher"
	"github.com/usher-auth/usher/i18n"
)

// Options configure a Handler. The zero value works. Fields tagged toml
// are also settings of the usher binary, declared here once (see
// app.Setting).
type Options struct {
	// CookieName names the session cookie; "" means "usher_session". The
	// remember-me cookie is CookieName + "_remember".
	CookieName string
	// InsecureCookies drops the Secure flag everywhere. Without it cookies
	// are always Secure when the Service's BaseURL is https, and otherwise
	// except for plain-http requests to localhost, so that `usher serve`
	// works on a laptop and nowhere else without TLS.
	InsecureCookies bool `toml:"insecure_cookies" default:"false" help:"drop the Secure cookie flag (only behind plain-http development setups)"`
	// TrustForwardedHeaders says a trusted reverse proxy sets
	// X-Forwarded-Proto and X-Forwarded-Host: https in the first makes
	// cookies Secure, and the second is the host the cross-origin check
	// compares Origin with. Without it both are ignored, since any client
	// could send them.
	TrustForwardedHeaders bool `toml:"trust_forwarded_headers" default:"false" help:"a trusted reverse proxy sets X-Forwarded-Proto and X-Forwarded-Host: honour them (Secure cookies, the cross-origin check)"`
	// NoHSTS leaves out Strict-Transport-Security, which is otherwise sent
	// with every answer when the Service's BaseURL is https.
	NoHSTS bool `toml:"hsts" invert:"true" default:"true" help:"send Strict-Transport-Security (one year) when base_url is https"`
	// ClientIPHeader names a header set by a trusted reverse proxy that
	// carries the client's address ("X-Forwarded-For" takes its last
	// entry, "X-Real-IP" its value). "" means the connection's address.
	ClientIPHeader string `toml:"client_ip_header" help:"header with the client address set by a trusted proxy (X-Forwarded-For, X-Real-IP)"`
	// TrustedProxies lists the reverse proxies (IP addresses and CIDR
	// networks, separated by commas) whose ClientIPHeader and, with
	// TrustForwardedHeaders, X-Forwarded-Proto and X-Forwarded-Host are
	// believed; from any other peer those headers are ignored. "" means
	// loopback and the private networks, with one proxy: the client is the
	// last X-Forwarded-For entry. Listed, every proxy of a chain (a CDN and
	// the proxy beside Usher, say) is skipped from the right, and the
	// client is the last entry that is not one of them. New panics on an
	// entry that does not parse: check it first with ParseTrustedProxies.
	TrustedProxies string `toml:"trusted_proxies" help:"reverse proxies whose client_ip_header and X-Forwarded-* headers are believed: addresses or networks, comma-separated (empty = loopback and private networks)"`
	// BasicRealm is the realm of WWW-Authenticate: Basic; "" means the app
	// name.
	BasicRealm string
	// AfterConfirmURL, AfterResetPasswordURL, AfterLoginURL and
	// AfterRegisterURL are where the pages of e-mailed links send the
	// user once done (Flask-User's USER_AFTER_*_ENDPOINT); each must be a
	// path on this site. "" means "/".
	AfterConfirmURL       string `toml:"after_confirm_url" help:"where to send users after confirming their address (a path on this site)"`
	AfterResetPasswordURL string `toml:"after_reset_password_url" help:"where to send users after resetting their password (a path)"`
	AfterLoginURL         string `toml:"after_login_url" help:"where to send users after a login link (a path)"`
	AfterRegisterURL      string `toml:"after_register_url" help:"where to send users after registering through an invitation (a path)"`
	// AfterLogoutURL is where the log-out page sends the user; "" means
	// "/".
	AfterLogoutURL string `toml:"after_logout_url" help:"where to send users after logging out (a path)"`
	// LoginOrRegister shows Flask-User's combined page, with the log-in
	// and the sign-up form side by side, at /user/login and
	// /user/register.
	LoginOrRegister bool `toml:"login_or_register" default:"false" help:"show the log-in and sign-up forms side by side on one page"`
	// Templates, if set, overrides page templates file by file: a file
	// pages/<name>.html replaces the embedded one of that name (base.html,
	// public_base.html, member_base.html, login.html, ...). See
	// ParseTemplates.
	Templates fs.FS
	// Catalogue holds the messages in every language offered; nil means
	// i18n.Default() (all built-in languages).
	Catalogue *i18n.Catalogue
	// LogoURL is an image shown beside the app name on every page: a path
	// on this site or a data: URL (the pages' Content-Security-Policy
	// allows no other host).
	LogoURL string `toml:"logo_url" help:"logo shown on the pages: a path on this site or a data: URL"`
	// AccentColor and BackgroundColor are CSS colours (#rgb or #rrggbb)
	// of buttons and links, and of the page; "" means the defaults.
	AccentColor     string `toml:"accent_color" help:"colour of buttons and links, #rrggbb"`
	BackgroundColor string `toml:"background_color" help:"colour of the page background, #rrggbb"`
	// AdminRole is the role a user needs for the admin JSON API
	// (Prefix/api/admin/) and the admin console (package admin, which
	// reads it with Handler.AdminRole); "" means "admin".
	AdminRole string `toml:"admin_role" default:"admin" help:"the role that may use the admin console (<prefix>/admin) and the admin API (<prefix>/api/admin/)"`
	// DevMailbox, if set, is served at Prefix + "/dev/mailbox" (Prefix
	// being the Service's Config.Prefix) to requests from this machine
	// only: the development mailbox of package mail.
	DevMailbox http.Handler
	// Logger receives internal errors; nil means slog.Default().
	Logger *slog.Logger
}

// Handler serves Usher's HTTP surface and offers the middleware and the
// request-level Go API (CurrentUser, LoginWithEmail, ForceLogin, Logout).
// It owns the mux, whose routes (routes.go) go to handlers with one job
// each — apiHandler, pageHandler, verifyHandler, staticHandler — over the
// core they share.
type Handler struct {
	*core
	mux   *http.ServeMux
	chain http.Handler // the mux inside the Handler's own middleware
	// protect wraps a handler in the Handler's own middleware (Protect).
	protect func(http.Handler) http.Handler
}

// New returns a Handler over svc. It panics if Options.Templates holds a
// page template that does not parse: check them first with
// ParseTemplates.
func New(svc *usher.Service, opts Options) *Handler {
	if opts.CookieName == "" {
		opts.CookieName = "usher_session"
	}
	for _, u := range []*string{&opts.AfterConfirmURL, &opts.AfterResetPasswordURL, &opts.AfterLoginURL, &opts.AfterRegisterURL, &opts.AfterLogoutURL} {
		if !LocalPath(*u) {
			*u = "/"
		}
	}
	if opts.AdminRole == "" {
		opts.AdminRole = "admin"
	}
	if opts.BasicRealm == "" {
		opts.BasicRealm = svc.Config().AppName
	}
	c := &core{svc: svc, opts: opts, prefix: svc.Config().Prefix, log: opts.Logger, cat: opts.Catalogue}
	base, _ := url.Parse(svc.Config().BaseURL)
	c.httpsBase = base != nil && base.Scheme == "https"
	c.proxies = newProxies(opts.TrustedProxies)
	if c.log == nil {
		c.log = slog.Default()
	}
	if c.cat == nil {
		c.cat = i18n.Default()
	}
	pg, err := loadPages(opts.Templates)
	if err != nil {
		panic(err) // see ParseTemplates
	}
	c.pages = pg
	h := &Handler{core: c, mux: http.NewServeMux()}
	h.register(routes(c))
	// Cross-origin state-changing requests from browsers are refused
	// (Sec-Fetch-Site / Origin, Go's CSRF protection); requests without
	// those headers come from non-browser clients, which hold no cookies
	// of ours to abuse. The public origin is trusted: behind a proxy that
	// does not pass Host on, Usher sees 127.0.0.1 while the browser's
	// Origin names the public host.
	cop := http.NewCrossOriginProtection()
	if base != nil && base.Host != "" {
		if err := cop.AddTrustedOrigin(base.Scheme + "://" + base.Host); err != nil {
			h.log.Warn("usher: base_url is not an origin the cross-origin check can trust", "err", err)
		}
	}
	// A SAML IdP posts its answer from its own site (see samlACS).
	acsMethod, acsPath, _ := strings.Cut(samlACSPattern, " ")
	cop.AddInsecureBypassPattern(acsMethod + " " + h.prefix + acsPath)
	h.protect = func(next http.Handler) http.Handler { return h.SecurityHeaders(h.crossOrigin(cop, next)) }
	h.chain = h.SecurityHeaders(h.warnForwardedFor(h.crossOrigin(cop, h.mux)))
	return h
}

// ParseTemplates reports whether the page templates of fsys (files
// pages/<name>.html, as in Options.Templates) parse, with the embedded
// ones they do not replace.
func ParseTemplates(fsys fs.FS) error {
	_, err := loadPages(fsys)
	return err
}

// Service returns the Service the Handler serves.
func (h *Handler) Service() *usher.Service { return h.svc }

// ServeHTTP serves the routes under the Service's Config.Prefix (mount the
// Handler at Prefix + "/").
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.chain.ServeHTTP(w, r) }

// LocalPath reports whether u is a path on this site, as a redirect
// target: see LocalLocation. Only such paths are used as redirect
// targets, so that Usher is never an open redirect.
func LocalPath(u string) bool {
	_, ok := LocalLocation(u)
	return ok
}

// LocalLocation returns the Location header http.Redirect sends for the
// target u, and whether both u and that Location are paths on this site.
// http.Redirect cleans the path (path.Clean, which removes "." and ".."
// segments), so "/./\evil.example" is sent as "/\evil.example", which
// browsers follow to evil.example: the check must hold for what is sent,
// not only for what came in.
//
// A path on this site starts with a single "/", names no scheme, host or
// user, and holds no backslash (browsers read it as a slash), no control
// character (browsers drop tabs and newlines, so "/\t/evil" becomes
// "//evil"), and in its path no encoded slash, backslash or control
// character ("%2F", "%5C", "%09"), which a server or proxy behind this one
// may decode.
func LocalLocation(u string) (string, bool) {
	if !localPath(u) {
		return "", false
	}
	loc := cleanLocation(u)
	return loc, localPath(loc)
}

// cleanLocation returns the Location http.Redirect sends for u, a target
// that starts with "/": everything before the first "?" cleaned by
// path.Clean, a trailing slash kept, the query appended unchanged.
func cleanLocation(u string) string {
	p, query, hasQuery := strings.Cut(u, "?")
	loc := path.Clean(p)
	if strings.HasSuffix(p, "/") && !strings.HasSuffix(loc, "/") {
		loc += "/"
	}
	if hasQuery {
		loc += "?" + query
	}
	return loc
}

// localPath checks u itself for the rules of LocalLocation.
func localPath(u string) bool {
	if !strings.HasPrefix(u, "/") || strings.HasPrefix(u, "//") || strings.ContainsFunc(u, isControlOrBackslash) {
		return false
	}
	p, err := url.Parse(u)
	if err != nil || p.Scheme != "" || p.Host != "" || p.User != nil || p.Opaque != "" {
		return false
	}
	raw := p.EscapedPath()
	return !strings.ContainsFunc(p.Path, isControlOrBackslash) && strings.Count(p.Path, "/") == strings.Count(raw, "/")
}

// isControlOrBackslash reports whether r is a control character or a
// backslash, none of which a redirect target may hold.
func isControlOrBackslash(r rune) bool { return r < ' ' || r == 0x7f || r == '\\' }

// SecurityHeaders returns next with the headers of every Usher answer:
// not to be cached, sniffed or framed, since answers carry personal data
// and session state; and, when the Service's BaseURL is https (unless
// Options.NoHSTS), Strict-Transport-Security, so that browsers never
// again reach the site over plain http. The Handler applies it to its
// own routes; a server uses it for routes beside them.
func (h *Handler) SecurityHeaders(next http.Handler) http.Handler {
	// The values are shared, read-only slices: the headers are set on every
	// answer, so they should not allocate.
	noStore, nosniff, deny, sameOrigin := []string{"no-store"}, []string{"nosniff"}, []string{"DENY"}, []string{"same-origin"}
	var hsts []string
	if h.httpsBase && !h.opts.NoHSTS {
		hsts = []string{"max-age=31536000"}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd["Cache-Control"] = noStore
		hd["X-Content-Type-Options"] = nosniff
		hd["X-Frame-Options"] = deny
		hd["Referrer-Policy"] = sameOrigin
		if hsts != nil {
			hd["Strict-Transport-Security"] = hsts
		}
		next.ServeHTTP(w, r)
	})
}

// crossOrigin refuses cross-origin state-changing requests from browsers
// (cop's check), comparing Origin with the host the browser asked for: a
// trusted proxy's X-Forwarded-Host, else Host.
func (h *Handler) crossOrigin(cop *http.CrossOriginProtection, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		checked := r
		if fh := h.forwarded(r, "X-Forwarded-Host"); fh != "" {
			c := *r
			c.Host = fh
			checked = &c
		}
		if cop.Check(checked) != nil {
			h.refuseCrossOrigin(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// refuseCrossOrigin answers a refused cross-origin request: a page for
// the pages' forms, JSON for the API.
func (h *Handler) refuseCrossOrigin(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.URL.Path, h.prefix+"/api/") {
		d := h.newPage(w, r)
		d.Data["title"], d.Data["text"] = tr("Request refused"), tr("This form was sent from another site, so it was refused. Open the page on this site and try again.")
		h.render(w, r, http.StatusForbidden, "message", d)
		return
	}
	writeJSON(w, http.StatusForbidden, map[string]any{"error": apiError{Code: "forbidden", Message: h.msg(r, "forbidden")}})
}

// warnForwardedFor logs once that requests come through a proxy
// (X-Forwarded-For) while ClientIPHeader is unset: every client then has
// the proxy's address, and they all share one log-in budget. With
// ClientIPHeader set, it logs once that the header came from a peer that
// is not a trusted proxy, which is ignored (Options.TrustedProxies).
func (h *Handler) warnForwardedFor(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !h.warnedXFF.Load() {
			switch name := h.opts.ClientIPHeader; {
			case name == "" && r.Header.Get("X-Forwarded-For") != "":
				if !h.warnedXFF.Swap(true) {
					h.log.Warn("usher: requests carry X-Forwarded-For but client_ip_header is not set: every client behind the proxy has its address and they share one log-in budget; set client_ip_header = \"X-Forwarded-For\" if a trusted proxy sets it")
				}
			case name != "" && r.Header.Get(name) != "" && !h.proxies.fromProxy(r):
				if !h.warnedXFF.Swap(true) {
					a, _ := peer(r)
					h.log.Warn("usher: a request carried "+name+" from a peer that is not a trusted proxy, so it was ignored; if that peer is your reverse proxy, list it in trusted_proxies", "peer", a.String())
				}
			}
		}
		next.ServeHTTP(w, r)
	})
}
