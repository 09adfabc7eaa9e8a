package web

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"

	"github.com/usher-auth/usher"
	"github.com/usher-auth/usher/i18n"
)

// core is what every handler of the Handler shares: the Service, the
// options, the catalogue and page templates, the logger, and the helpers
// over them — cookies, sessions, CSRF, languages, client addresses and
// the writing of errors and pages. Its methods live beside their topic:
// cookies.go, errors.go, messages.go, middleware.go (authenticate) and
// pages.go (rendering, CSRF, languages, flash messages).
type core struct {
	svc    *usher.Service
	opts   Options
	prefix string // the Service's Config.Prefix: where every route lives
	log    *slog.Logger

	cat   *i18n.Catalogue
	pages *pages

	httpsBase bool        // the Service's BaseURL is https: every cookie is Secure
	proxies   proxies     // the peers whose forwarding headers are believed
	warnedXFF atomic.Bool // the X-Forwarded-For warning was logged
}

// apiHandler serves the JSON API under Prefix/api/.
type apiHandler struct{ *core }

// pageHandler serves the server-rendered pages and their forms.
type pageHandler struct{ *core }

// verifyHandler serves forward auth: Prefix/api/verify, which a reverse
// proxy asks whether to let a request through.
type verifyHandler struct{ *core }

// staticHandler serves the embedded assets, the theme's CSS and the
// development mailbox.
type staticHandler struct{ *core }

// forwarded returns the value of a header that a trusted proxy sets
// (X-Forwarded-Proto, X-Forwarded-Host), or "" unless
// Options.TrustForwardedHeaders says there is such a proxy and the request
// came from one (Options.TrustedProxies).
func (h *core) forwarded(r *http.Request, name string) string {
	if !h.opts.TrustForwardedHeaders || !h.proxies.fromProxy(r) {
		return ""
	}
	return strings.TrimSpace(r.Header.Get(name))
}

// writeJSON writes v as the JSON body with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// client returns who is making the request, for throttling and auditing.
func (h *core) client(r *http.Request) usher.Client {
	return usher.Client{IP: h.clientIP(r), UserAgent: r.UserAgent()}
}

// clientIP returns the request's client address: the connection's, or,
// when the request came from a trusted proxy (Options.TrustedProxies), the
// one it put in ClientIPHeader.
func (h *core) clientIP(r *http.Request) string {
	if name := h.opts.ClientIPHeader; name != "" && h.proxies.fromProxy(r) {
		if a, ok := h.proxies.client(r.Header.Values(name)); ok {
			return a.String()
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// lastAdmin is Handler.LastAdmin.
func (c *core) lastAdmin(ctx context.Context, actorID, targetID string) (bool, error) {
	if actorID == "" || actorID != targetID {
		return false, nil
	}
	yes := true
	_, n, err := c.svc.ListUsers(ctx, usher.UserQuery{Role: c.opts.AdminRole, Enabled: &yes, Limit: 1})
	return n <= 1, err
}
