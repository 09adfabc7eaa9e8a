// Package admin is Usher's admin console: server-rendered pages under
// Config.Prefix + "/admin" where users with the admin role find users
// (search, filters, keyset paging), and act on one: edit the profile,
// enable or disable, confirm the address, unlock, require a new password,
// send a reset link, give or take roles, set the password, end sessions,
// remove second factors, unlink identities, delete; and create or invite
// users.
//
// It is its own http.Handler over the usher.Service, drawn with the pages
// of package web (its layouts, CSS, languages, CSRF check and log-in):
// see web.PageSet. app mounts it; a library user mounts it beside the web
// Handler (docs/library.md).
package admin

import (
	"embed"
	"errors"
	"net/http"
	"net/url"

	"github.com/usher-auth/usher"
	"github.com/usher-auth/usher/web"
)

// Settings configure the console. Fields tagged toml are also settings of
// the usher binary, declared here once (see app.Setting). The role a user
// needs is not one of them: it is the web Handler's (web.Options.AdminRole,
// the setting admin_role), so that the console and the admin JSON API
// check the same role.
type Settings struct{}

//go:embed templates/*.html
var templates embed.FS

// Handler serves the console at Config.Prefix + "/admin" (mount it there
// and at Prefix + "/admin/").
type Handler struct {
	svc   *usher.Service
	web   *web.Handler
	role  string
	base  string // Config.Prefix + "/admin"
	pages *web.PageSet
	mux   *http.ServeMux
	chain http.Handler
}

// New returns the console over the web Handler's Service, drawn with its
// pages. It fails only if a template does not parse (the web Handler's
// Options.Templates may override the layouts the console uses).
func New(h *web.Handler, s Settings) (*Handler, error) {
	ps, err := h.NewPageSet(templates, "templates", "admin_base.html")
	if err != nil {
		return nil, err
	}
	a := &Handler{svc: h.Service(), web: h, role: h.AdminRole(), base: h.Service().Config().Prefix + "/admin", pages: ps, mux: http.NewServeMux()}
	for _, rt := range a.routes() {
		a.mux.HandleFunc(rt.pattern, rt.handler)
	}
	a.chain = h.Protect(a.mux)
	return a, nil
}

// ServeHTTP serves the console.
func (a *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.chain.ServeHTTP(w, r) }

type route struct {
	pattern string
	handler http.HandlerFunc
}

// routes is every page and form of the console. A form's POST goes
// through web's CSRF check (post); a dangerous one needs a fresh log-in
// too (fresh).
func (a *Handler) routes() []route {
	b := a.base
	return []route{
		{"GET " + b, a.page(a.usersPage)},
		{"GET " + b + "/{$}", a.page(a.usersPage)},
		{"GET " + b + "/events", a.page(a.eventsPage)},
		{"GET " + b + "/reauth", a.page(a.reauthPage)},
		{"POST " + b + "/reauth", a.post(a.reauthSubmit)},
		{"GET " + b + "/users/new", a.page(a.newUserPage)},
		{"POST " + b + "/users/new", a.post(a.newUserSubmit)},
		{"GET " + b + "/invite", a.page(a.invitePage)},
		{"POST " + b + "/invite", a.post(a.inviteSubmit)},
		{"GET " + b + "/users/{id}", a.page(a.userPage)},
		{"POST " + b + "/users/{id}/profile", a.post(a.action(a.saveProfile, tr("The profile is saved.")))},
		{"POST " + b + "/users/{id}/enable", a.post(a.simple(a.svc.EnableUser, tr("The account is enabled.")))},
		{"POST " + b + "/users/{id}/disable", a.post(a.notLastAdmin(a.simple(a.svc.DisableUser, tr("The account is disabled and its sessions ended."))))},
		{"POST " + b + "/users/{id}/confirm", a.post(a.simple(a.svc.ConfirmUserEmail, tr("The email address is confirmed.")))},
		{"POST " + b + "/users/{id}/unlock", a.post(a.simple(a.svc.UnlockUser, tr("The account is unlocked.")))},
		{"POST " + b + "/users/{id}/require-password", a.post(a.simple(a.svc.RequirePasswordReset, tr("The user must choose a new password at their next log-in.")))},
		{"POST " + b + "/users/{id}/send-reset", a.post(a.action(a.sendReset, tr("A password reset link is on its way to the user.")))},
		{"POST " + b + "/users/{id}/roles", a.post(a.fresh(a.action(a.addRole, tr("The role is given."))))},
		{"POST " + b + "/users/{id}/roles/remove", a.post(a.fresh(a.removeRoleSubmit))},
		{"POST " + b + "/users/{id}/password", a.post(a.fresh(a.action(a.setPassword, tr("The password is set and the user's sessions ended."))))},
		{"POST " + b + "/users/{id}/sessions/{sid}/end", a.post(a.action(a.endSession, tr("The session is ended.")))},
		{"POST " + b + "/users/{id}/sessions/end-all", a.post(a.action(a.endSessions, tr("All the user's sessions are ended.")))},
		{"POST " + b + "/users/{id}/mfa/remove-all", a.post(a.fresh(a.simple(a.resetMFA, tr("The second factors are removed."))))},
		{"POST " + b + "/users/{id}/identities/{iid}/unlink", a.post(a.action(a.unlink, tr("The identity is unlinked.")))},
		{"POST " + b + "/users/{id}/delete", a.post(a.fresh(a.notLastAdmin(a.deleteSubmit)))},
	}
}

// admin is what a handler of the console gets: the request's admin and
// their session.
type admin struct {
	user *usher.User
	sess *usher.Session
}

type handlerFunc func(w http.ResponseWriter, r *http.Request, me admin)

// guard lets through a logged-in user with the admin role (the web
// Handler's AdminRole, which the admin API checks too), with the request's
// context naming them as the actor of every change (usher.WithActor) and
// their address and user agent (usher.WithClient). Not logged in:
// a browser is sent to the log-in page (to come back here), a client
// that asks for JSON gets 401; without the role, 403 (a page, or JSON for a client
// that asks for JSON).
func (a *Handler) guard(next handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		u, sess, err := a.web.Session(r)
		if err != nil && !errors.Is(err, usher.ErrPasswordResetRequested) {
			a.web.WriteError(w, r, err)
			return
		}
		if u == nil {
			if !web.AcceptsJSON(r) {
				// A browser: to the log-in page, and back to this
				// page (a form's user page: the form is not resent).
				back := r.URL.RequestURI()
				if r.Method != http.MethodGet {
					back = a.base
					if id := r.PathValue("id"); id != "" {
						back = a.userURL(id)
					}
				}
				http.Redirect(w, r, a.web.LoginURL(back), http.StatusSeeOther) // #nosec G710 -- to our own log-in page; next is checked when used
				return
			}
			a.web.WriteError(w, r, usher.ErrLoginRequired)
			return
		}
		if err != nil || !u.HasRole(a.role) {
			a.web.Forbidden(w, r)
			return
		}
		// What the admin does is recorded as theirs, from their address.
		ctx := usher.WithActor(r.Context(), usher.Actor{Kind: usher.ActorAdmin, ID: u.ID, Name: u.Email})
		r = r.WithContext(usher.WithClient(ctx, a.web.Client(r)))
		next(w, r, admin{user: u, sess: sess})
	}
}

// page is a GET page of the console.
func (a *Handler) page(next handlerFunc) http.HandlerFunc { return a.guard(next) }

// post is a form of the console: the admin check, then web's CSRF check.
func (a *Handler) post(next handlerFunc) http.HandlerFunc {
	return a.guard(func(w http.ResponseWriter, r *http.Request, me admin) {
		a.web.Form(func(w http.ResponseWriter, r *http.Request) { next(w, r, me) })(w, r)
	})
}

// fresh guards a dangerous action: it needs a log-in, or a
// re-authentication, within usher.FreshLogin in this session; else the
// browser is sent to the re-authentication page, to come back to the
// user's page and do it again.
func (a *Handler) fresh(next handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, me admin) {
		ok, err := a.svc.FreshSession(r.Context(), me.sess)
		if err != nil {
			a.web.WriteError(w, r, err)
			return
		}
		if !ok {
			back := a.base + "/users/" + url.PathEscape(r.PathValue("id"))
			http.Redirect(w, r, a.base+"/reauth?next="+url.QueryEscape(back), http.StatusSeeOther) // #nosec G710 -- our own path
			return
		}
		next(w, r, me)
	}
}

// done sends the browser back to the user's page with a message.
func (a *Handler) done(w http.ResponseWriter, r *http.Request, id, msg string) {
	a.web.Flash(w, r, msg, false)
	http.Redirect(w, r, a.userURL(id), http.StatusSeeOther) // #nosec G710 -- our own path
}

// failed sends the browser back to the user's page with the error's
// message, or shows the error page for an internal error.
func (a *Handler) failed(w http.ResponseWriter, r *http.Request, id string, err error) {
	if errors.Is(err, usher.ErrNotFound) && id != "" {
		if _, uerr := a.svc.User(r.Context(), id); errors.Is(uerr, usher.ErrNotFound) {
			a.notFound(w, r)
			return
		}
	}
	msg := a.web.ErrorMessage(r, err)
	if msg == "internal_error" || id == "" {
		a.web.WriteError(w, r, err)
		return
	}
	a.web.Flash(w, r, msg, true)
	http.Redirect(w, r, a.userURL(id), http.StatusSeeOther) // #nosec G710 -- our own path
}

func (a *Handler) userURL(id string) string { return a.base + "/users/" + url.PathEscape(id) }

// tr marks a message ID given in Go code, for the catalogue test that
// collects every ID in use; it returns id.
func tr(id string) string { return id }
