package web

import (
	"errors"
	"net/http"
	"strings"

	"github.com/usher-auth/usher"
)

// Forward auth (Prefix/api/verify, which a reverse proxy asks whether to
// let a request through) and the HTTP Basic credentials that it and the
// middleware AuthenticateUsers and RequireCredentials take.

// handleVerify serves GET /user/api/verify, the forward-auth endpoint for
// reverse proxies: 200 with X-Usher-User-Id, X-Usher-Email and
// X-Usher-Roles (and Cookie: the request's cookies without Usher's,
// appCookies) for a logged-in user, else 401. Each roles query
// parameter is a requirement as in RolesRequired ("a|b" = any of them);
// a user without them gets 403.
//
// It also takes HTTP Basic credentials (checked as AuthenticateUsers
// does, with its cache), so a proxy can guard an API with Usher's
// accounts.
//
// When the original request (X-Forwarded-Method, X-Forwarded-Uri, as
// Traefik and Caddy send them and the nginx recipe does) was a browser
// loading a page, the 401 carries a Location: the log-in page, with the
// original URI as next, for nginx's error_page to send the browser to.
// With ?redirect=1 (Traefik and Caddy, which pass the answer on to the
// browser) it is a 303 to that page instead.
func (h *verifyHandler) handleVerify(w http.ResponseWriter, r *http.Request) {
	var a *auth
	if isBasic(r.Header.Get("Authorization")) {
		if user, pass, err := basicCredentials(r); err == nil {
			if u, err := h.svc.CheckBasic(r.Context(), user, pass, h.client(r)); err == nil {
				a = &auth{user: u}
			}
		}
	} else if aa, err := h.authenticate(r, true); err == nil {
		a = aa
	}
	if a == nil {
		h.verifyRefused(w, r)
		return
	}
	var reqs []string
	for _, v := range r.URL.Query()["roles"] {
		for req := range strings.SplitSeq(v, ",") {
			if req = strings.TrimSpace(req); req != "" {
				reqs = append(reqs, req)
			}
		}
	}
	if !a.user.HasRoles(reqs...) {
		w.WriteHeader(http.StatusForbidden)
		return
	}
	hd := w.Header()
	hd.Set("X-Usher-User-Id", a.user.ID)
	hd.Set("X-Usher-Email", a.user.Email)
	hd.Set("X-Usher-Roles", strings.Join(a.user.Roles, ","))
	if c := h.appCookies(r); c != "" {
		hd.Set("Cookie", c)
	}
	w.WriteHeader(http.StatusOK)
}

// appCookies returns the request's Cookie header without Usher's token
// cookies (the session, remember-me, second-factor and federated ones),
// each other cookie as the client sent it. The answer carries it as
// Cookie, so that a proxy which copies the answer's headers onto the
// request it passes on, replacing the client's (Traefik's
// authResponseHeaders), hands the app its own cookies and never a token
// of Usher's.
func (h *verifyHandler) appCookies(r *http.Request) string {
	token := map[string]bool{h.opts.CookieName: true, h.rememberCookieName(): true, h.deviceCookieName(): true,
		h.pendingMFACookieName(): true, h.federatedCookieName(): true}
	var keep []string
	for _, line := range r.Header.Values("Cookie") {
		for part := range strings.SplitSeq(line, ";") {
			part = strings.TrimSpace(part)
			n, _, _ := strings.Cut(part, "=")
			if part != "" && !token[strings.TrimSpace(n)] {
				keep = append(keep, part)
			}
		}
	}
	return strings.Join(keep, "; ")
}

// verifyRefused answers forward auth for a request that is not logged in
// (see handleVerify).
func (h *verifyHandler) verifyRefused(w http.ResponseWriter, r *http.Request) {
	orig := *r
	if m := r.Header.Get("X-Forwarded-Method"); m != "" {
		orig.Method = m
	}
	if !wantsPage(&orig) {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	w.Header().Set("Location", h.loginURL(r.Header.Get("X-Forwarded-Uri")))
	if r.URL.Query().Get("redirect") == "1" {
		w.WriteHeader(http.StatusSeeOther)
		return
	}
	w.WriteHeader(http.StatusUnauthorized)
}

func isBasic(authz string) bool {
	return len(authz) >= 6 && strings.EqualFold(authz[:6], "basic ")
}

// basicCredentials returns the request's Basic credentials, or why there
// are none: ErrLoginRequired when none were given (401), errBadRequest
// when the header is malformed (400).
func basicCredentials(r *http.Request) (user, pass string, err error) {
	authz := r.Header.Get("Authorization")
	if authz == "" || !isBasic(authz) {
		return "", "", usher.ErrLoginRequired
	}
	user, pass, ok := r.BasicAuth()
	if !ok {
		return "", "", errBadRequest
	}
	if user == "" || pass == "" {
		return "", "", usher.ErrLoginRequired
	}
	return user, pass, nil
}

// basicChallenge answers a request that HTTP Basic credentials did not
// let through with err: a 401 (no credentials, or wrong ones) asks for
// credentials with WWW-Authenticate.
func (h *Handler) basicChallenge(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, usher.ErrAuthenticationFailed) {
		w.Header().Set("WWW-Authenticate", `Basic realm="`+strings.ReplaceAll(h.opts.BasicRealm, `"`, "'")+`", charset="UTF-8"`)
	}
	h.writeError(w, r, err)
}

// isAuthError reports whether err is a refused log-in (as opposed to an
// internal failure, which must not turn into a 401).
func isAuthError(err error) bool {
	return errors.Is(err, usher.ErrAuthenticationFailed) || errors.Is(err, usher.ErrPasswordResetRequested) ||
		errors.Is(err, usher.ErrValidation)
}
