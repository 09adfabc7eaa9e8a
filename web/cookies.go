package web

import (
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/usher-auth/usher"
)

// secure reports whether cookies for r get the Secure flag. Never with
// InsecureCookies; always when the Service's BaseURL is https, whatever
// the request says (a proxy may reach Usher as http://127.0.0.1); else
// unless the request is plain http (by the connection, or a trusted
// proxy's X-Forwarded-Proto) to a loopback host, so that development on
// http://localhost works.
func (h *core) secure(r *http.Request) bool {
	if h.opts.InsecureCookies {
		return false
	}
	if h.httpsBase || r.TLS != nil || strings.EqualFold(h.forwarded(r, "X-Forwarded-Proto"), "https") {
		return true
	}
	host := r.Host
	if hh, _, err := net.SplitHostPort(host); err == nil {
		host = hh
	}
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return false
	}
	ip := net.ParseIP(host)
	return ip == nil || !ip.IsLoopback()
}

func (h *core) rememberCookieName() string { return h.opts.CookieName + "_remember" }

// deviceCookieName names the cookie that remembers a device for the
// second factor.
func (h *core) deviceCookieName() string { return h.opts.CookieName + "_mfa_device" }

// setSessionCookies gives the browser the session's token: a browser-session
// cookie always, and for a remember-me session also a persistent cookie
// that outlives the browser. Both are HttpOnly (no script can read the
// token) and SameSite=Lax (not sent on cross-site POSTs).
func (h *core) setSessionCookies(w http.ResponseWriter, r *http.Request, sess *usher.Session) {
	secure := h.secure(r)
	http.SetCookie(w, &http.Cookie{
		Name: h.opts.CookieName, Value: sess.Token, Path: "/",
		HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode,
	})
	if sess.DeviceToken != "" {
		http.SetCookie(w, &http.Cookie{
			Name: h.deviceCookieName(), Value: sess.DeviceToken, Path: "/",
			MaxAge:   int(h.svc.Config().MFARememberDuration / time.Second),
			HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode,
		})
	}
	if sess.Remember {
		http.SetCookie(w, &http.Cookie{
			Name: h.rememberCookieName(), Value: sess.Token, Path: "/",
			Expires: sess.ExpiresAt, MaxAge: int(time.Until(sess.ExpiresAt) / time.Second),
			HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode,
		})
	} else {
		h.clearCookie(w, r, h.rememberCookieName())
	}
}

// clearSessionCookies removes both session cookies.
func (h *core) clearSessionCookies(w http.ResponseWriter, r *http.Request) {
	h.clearCookie(w, r, h.opts.CookieName)
	h.clearCookie(w, r, h.rememberCookieName())
}

func (h *core) clearCookie(w http.ResponseWriter, r *http.Request, name string) {
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: h.secure(r), SameSite: http.SameSiteLaxMode,
	})
}

// deviceToken returns the remembered-device token for the second factor:
// fromBody if the client sent one, else the browser's cookie.
func (h *core) deviceToken(r *http.Request, fromBody string) string {
	if fromBody != "" {
		return fromBody
	}
	if c, err := r.Cookie(h.deviceCookieName()); err == nil {
		return c.Value
	}
	return ""
}

// tokenSource says where a request's session token came from.
type tokenSource int

const (
	fromNone tokenSource = iota
	fromBearer
	fromSessionCookie
	fromRememberCookie
)

// token returns the request's session token: an Authorization: Bearer
// header, else the browser-session cookie, else (if allowRemembered) the
// remember-me cookie.
func (h *core) token(r *http.Request, allowRemembered bool) (string, tokenSource) {
	if a := r.Header.Get("Authorization"); len(a) > 7 && strings.EqualFold(a[:7], "bearer ") {
		return strings.TrimSpace(a[7:]), fromBearer
	}
	if c, err := r.Cookie(h.opts.CookieName); err == nil && c.Value != "" {
		return c.Value, fromSessionCookie
	}
	if allowRemembered {
		if c, err := r.Cookie(h.rememberCookieName()); err == nil && c.Value != "" {
			return c.Value, fromRememberCookie
		}
	}
	return "", fromNone
}

func (h *core) pendingMFACookieName() string { return h.opts.CookieName + "_mfa_pending" }

// setPendingMFA keeps a pending log-in for the second-factor page, with
// the remember-me choice made on the log-in form.
func (h *core) setPendingMFA(w http.ResponseWriter, r *http.Request, pending string, remember bool) {
	v := "0." + pending
	if remember {
		v = "1." + pending
	}
	http.SetCookie(w, &http.Cookie{
		Name: h.pendingMFACookieName(), Value: v, Path: "/", MaxAge: pendingMFAMaxAge,
		HttpOnly: true, Secure: h.secure(r), SameSite: http.SameSiteLaxMode,
	})
}

// pendingMFA returns the pending log-in of the browser, if any.
func (h *core) pendingMFA(r *http.Request) (pending string, remember, ok bool) {
	c, err := r.Cookie(h.pendingMFACookieName())
	if err != nil {
		return "", false, false
	}
	flag, tok, found := strings.Cut(c.Value, ".")
	if !found || tok == "" {
		return "", false, false
	}
	return tok, flag == "1", true
}
