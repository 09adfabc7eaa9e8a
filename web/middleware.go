package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/usher-auth/usher"
)

type ctxKey struct{}

// auth is what a request proved: set in the context by the middleware so
// that handlers below do not check again.
type auth struct {
	user       *usher.User
	sess       *usher.Session
	remembered bool // proved by the remember-me cookie only
}

// UserFromContext returns the user the middleware found for the request
// that ctx belongs to, or nil.
func UserFromContext(ctx context.Context) *usher.User {
	if a, ok := ctx.Value(ctxKey{}).(*auth); ok {
		return a.user
	}
	return nil
}

// SessionFromContext returns the session the middleware found, or nil
// (nil too for HTTP Basic auth, which has no session).
func SessionFromContext(ctx context.Context) *usher.Session {
	if a, ok := ctx.Value(ctxKey{}).(*auth); ok {
		return a.sess
	}
	return nil
}

// authenticate finds the request's session, from the context if middleware
// already did. It returns (nil, nil) when the request is not logged in, and
// the auth with ErrPasswordResetRequested for a session that may only set
// a new password.
func (h *core) authenticate(r *http.Request, allowRemembered bool) (*auth, error) {
	if a, ok := r.Context().Value(ctxKey{}).(*auth); ok && (allowRemembered || !a.remembered) {
		return a, nil
	}
	tok, src := h.token(r, allowRemembered)
	if src == fromNone {
		return nil, nil
	}
	sess, u, err := h.svc.Authenticate(r.Context(), tok)
	switch {
	case errors.Is(err, usher.ErrPasswordResetRequested):
		return &auth{user: u, sess: sess}, err
	case errors.Is(err, usher.ErrAuthenticationFailed):
		if src == fromSessionCookie && allowRemembered {
			// A stale browser-session cookie must not hide a good
			// remember-me cookie.
			if c, cerr := r.Cookie(h.rememberCookieName()); cerr == nil && c.Value != tok {
				if sess, u, err = h.svc.Authenticate(r.Context(), c.Value); err == nil {
					return &auth{user: u, sess: sess, remembered: true}, nil
				}
			}
		}
		return nil, nil
	case err != nil:
		return nil, err
	}
	return &auth{user: u, sess: sess, remembered: src == fromRememberCookie}, nil
}

// GetUser returns the logged-in user, or nil (Anvil's
// get_user(allow_remembered)). With allowRemembered false, a user known
// only by the remember-me cookie — a log-in from an earlier browser
// session — does not count. It returns ErrPasswordResetRequested when the
// session may only set a new password, and other errors only for an
// internal failure.
func (h *Handler) GetUser(r *http.Request, allowRemembered bool) (*usher.User, error) {
	a, err := h.authenticate(r, allowRemembered)
	if err != nil {
		return nil, err
	}
	if a == nil {
		return nil, nil
	}
	return a.user, nil
}

// CurrentUser returns the logged-in user (remembered or not), or nil.
func (h *Handler) CurrentUser(r *http.Request) *usher.User {
	u, err := h.GetUser(r, true)
	if err != nil {
		return nil
	}
	return u
}

// LoginRequired lets through requests from a logged-in user (session
// cookie, remember-me cookie or Bearer token) with the user in the
// context; others get 401 login_required (or 403
// password_reset_requested), except a browser navigating to a page, which
// is sent to the log-in page with next set to come back.
func (h *Handler) LoginRequired(next http.Handler) http.Handler {
	return h.RolesRequired()(next)
}

// ConfirmEmailRequired lets through a logged-in user whose e-mail address
// is confirmed (Flask-User's confirm_email_required), for apps that let
// unconfirmed users log in (EnableLoginWithoutConfirmEmail) but keep some
// routes for confirmed ones. Not logged in → 401; unconfirmed → 403
// email_not_confirmed.
func (h *Handler) ConfirmEmailRequired(next http.Handler) http.Handler {
	return h.LoginRequired(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !UserFromContext(r.Context()).EmailConfirmed() {
			h.writeError(w, r, usher.ErrEmailNotConfirmed)
			return
		}
		next.ServeHTTP(w, r)
	}))
}

// RolesRequired returns middleware that lets through a logged-in user who
// meets every requirement, with Flask-User's semantics: each argument is a
// role the user must have, or an usher.AnyOf of which they must have one.
// Not logged in → 401 login_required (a browser navigating to a page is
// sent to the log-in page instead); logged in without the roles → 403 (a
// page for a browser, JSON for others).
func (h *Handler) RolesRequired(reqs ...string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			a, err := h.authenticate(r, true)
			if err != nil {
				h.writeError(w, r, err)
				return
			}
			if a == nil {
				if wantsPage(r) {
					// A browser following a link: show it the log-in
					// page, and bring it back here afterwards.
					http.Redirect(w, r, h.loginURL(r.URL.RequestURI()), http.StatusSeeOther) // #nosec G710 -- to our own log-in page; the next it carries is checked when used
					return
				}
				h.writeError(w, r, usher.ErrLoginRequired)
				return
			}
			if !a.user.HasRoles(reqs...) {
				if wantsPage(r) {
					h.forbiddenPage(w, r)
					return
				}
				h.writeError(w, r, usher.ErrForbidden)
				return
			}
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, a)))
		})
	}
}

// loginURL returns the log-in page's path, with next to come back to
// when next is a path on this site.
func (h *core) loginURL(next string) string {
	if !LocalPath(next) {
		return h.prefix + "/login"
	}
	return h.prefix + "/login?next=" + url.QueryEscape(next)
}

// forbiddenPage answers 403 with a page saying the user may not do this.
func (h *core) forbiddenPage(w http.ResponseWriter, r *http.Request) {
	d := h.newPage(w, r)
	d.Data["title"], d.Data["text"] = tr("Not allowed"), tr("forbidden")
	h.render(w, r, http.StatusForbidden, "message", d)
}

// wantsPage reports whether r is a browser's navigation to a page (a GET
// whose Accept puts HTML first), which should be sent to the log-in page
// rather than answered with a JSON 401.
func wantsPage(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	if m := r.Header.Get("Sec-Fetch-Mode"); m != "" {
		return m == "navigate"
	}
	return strings.HasPrefix(r.Header.Get("Accept"), "text/html")
}

// AuthenticateUsers guards a developer's endpoint as Anvil's
// authenticate_users does: a logged-in session counts, else HTTP Basic
// credentials are checked against Usher (username = e-mail address or
// username) with the user put in the context. Without valid credentials
// the answer is 401 with WWW-Authenticate: Basic; a malformed Authorization
// header gets 400; throttling gets 429 with Retry-After.
func (h *Handler) AuthenticateUsers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if authz := r.Header.Get("Authorization"); authz == "" || !isBasic(authz) {
			if a, err := h.authenticate(r, true); err == nil && a != nil {
				next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, a)))
				return
			}
		}
		user, pass, err := basicCredentials(r)
		if err != nil {
			h.basicChallenge(w, r, err)
			return
		}
		u, err := h.svc.CheckBasic(r.Context(), user, pass, h.client(r))
		if err != nil {
			if errors.Is(err, usher.ErrRateLimited) || !isAuthError(err) {
				h.writeError(w, r, err)
				return
			}
			h.basicChallenge(w, r, usher.ErrAuthenticationFailed)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, &auth{user: u})))
	})
}

// RequireCredentials insists on HTTP Basic credentials and hands them to
// the handler, which checks them itself (Anvil's require_credentials):
// read them with r.BasicAuth(). Missing → 401 with WWW-Authenticate:
// Basic; malformed → 400.
func (h *Handler) RequireCredentials(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, _, err := basicCredentials(r); err != nil {
			h.basicChallenge(w, r, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}
