package web

import (
	"net/http"

	"github.com/usher-auth/usher"
)

// The request-level Go API: the Anvil calls that change who is logged in,
// for a developer's own handlers. Each sets or clears the cookies on w.

// LoginWithEmail logs the request's browser in with e-mail address and
// password (Anvil's login_with_email). Errors are those of
// usher.Service.Login.
func (h *Handler) LoginWithEmail(w http.ResponseWriter, r *http.Request, email, password string, remember bool) (*usher.User, error) {
	return h.Login(w, r, usher.Credentials{Email: email, Password: password, Remember: remember})
}

// Login logs the request's browser in with any credentials the
// configuration allows.
func (h *Handler) Login(w http.ResponseWriter, r *http.Request, cr usher.Credentials) (*usher.User, error) {
	sess, u, err := h.svc.Login(r.Context(), cr, h.client(r))
	if sess != nil {
		h.setSessionCookies(w, r, sess)
	}
	return u, err
}

// SignupWithEmail registers a user and, when the configuration lets them
// in at once, logs the browser in (Anvil's signup_with_email).
func (h *Handler) SignupWithEmail(w http.ResponseWriter, r *http.Request, in usher.Signup) (*usher.User, error) {
	u, sess, err := h.svc.SignupWithEmail(r.Context(), in, h.client(r))
	if sess != nil {
		h.setSessionCookies(w, r, sess)
	}
	return u, err
}

// ForceLogin logs the browser in as u with no check at all (Anvil's
// force_login), for server code that authenticated the user its own way.
func (h *Handler) ForceLogin(w http.ResponseWriter, r *http.Request, u *usher.User, remember bool) error {
	sess, err := h.svc.ForceLogin(r.Context(), u.ID, remember, h.client(r))
	if err != nil {
		return err
	}
	h.setSessionCookies(w, r, sess)
	return nil
}

// Logout ends the request's session and clears the cookies (Anvil's
// logout).
func (h *Handler) Logout(w http.ResponseWriter, r *http.Request) error { return h.logout(w, r) }

// logout is Logout, for the Handler's own log-out routes.
func (h *core) logout(w http.ResponseWriter, r *http.Request) error {
	h.clearSessionCookies(w, r)
	if tok, src := h.token(r, true); src != fromNone {
		if err := h.svc.Logout(r.Context(), tok, h.client(r)); err != nil {
			return err
		}
	}
	// A browser may hold a remember-me cookie of another session too.
	if c, err := r.Cookie(h.rememberCookieName()); err == nil && c.Value != "" {
		return h.svc.Logout(r.Context(), c.Value, h.client(r))
	}
	return nil
}

// ChangePassword sets a new password for the logged-in user (Anvil's
// reset_password(old, new)); their other sessions end. Without a session
// it returns ErrLoginRequired.
func (h *Handler) ChangePassword(w http.ResponseWriter, r *http.Request, oldPassword, newPassword string) error {
	a, err := h.authenticate(r, true)
	if a == nil || a.sess == nil {
		if err == nil {
			err = usher.ErrLoginRequired
		}
		return err
	}
	fresh, err := h.svc.ChangePassword(r.Context(), a.sess, oldPassword, newPassword, h.client(r))
	if fresh != nil {
		h.setSessionCookies(w, r, fresh)
	}
	return err
}
