package web

import (
	"context"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/usher-auth/usher"
)

// What another package (the admin console, package admin) uses to serve
// pages beside the Handler's own with the same look and the same rules:
// its templates parsed with the Handler's layouts and functions
// (PageSet), the log-in of a request (Session), the forms' CSRF check
// (Form), the 403 answer (Forbidden), flash messages and the Handler's
// own middleware (Protect). Nothing here is needed by an application that
// only mounts the Handler.

// PageSet renders another package's page templates as the Handler renders
// its own: with its layouts (base.html's base_start and base_end,
// public_base, member_base and its side_main, fields.html's field and
// profile_section, ...), its functions (T, field, ltr, ...), its overrides (Options.Templates) and what every page
// gets (.User, .Lang, .Dir, .CSRF, .Prefix, .Config, the flash message).
type PageSet struct {
	h     *core
	pages *pages
}

// NewPageSet parses the .html files of dir in fsys, each a page that
// calls one of the layouts; the files named in more are layouts of the
// set, parsed into each of its pages after the Handler's. A name may not
// be one of the Handler's own pages; a file of the same name in
// Options.Templates (pages/<name>.html) replaces the set's, as it does the
// Handler's.
func (h *Handler) NewPageSet(fsys fs.FS, dir string, more ...string) (*PageSet, error) {
	p := &pages{files: map[string]string{}, layouts: append(slices.Clone(layouts), more...),
		master: map[string]*template.Template{}, byLang: map[string]*template.Template{}}
	for name, src := range h.pages.files {
		p.files[name] = src
	}
	names, err := readPageFiles(p.files, fsys, dir)
	if err != nil {
		return nil, err
	}
	for _, name := range names {
		if h.pages.own[name] {
			return nil, fmt.Errorf("web: page %s is one of the Handler's own", name)
		}
		if over, ok := h.pages.files[name]; ok {
			// Options.Templates overrides the set's pages too.
			p.files[name] = over
		}
	}
	for _, name := range names {
		if err := p.parse(name); err != nil {
			return nil, err
		}
	}
	return &PageSet{h: h.core, pages: p}, nil
}

// Page is what a page of a PageSet shows besides what every page has:
// templates read .Data, .Form (the values the field template shows),
// .Errors (each field's message) and .Error (the form's message).
type Page struct {
	Data map[string]any
	Form url.Values
	// Err, if set, is shown as the Handler's forms show errors: each
	// field's message beside its input (among Fields; the message of an
	// error about another field becomes the form's message), else the
	// error's message for the whole form.
	Err    error
	Fields []string
}

// Render writes page name of the set for r with status (0: the status
// of p.Err, or 200).
func (s *PageSet) Render(w http.ResponseWriter, r *http.Request, status int, name string, p Page) {
	pg := &pageHandler{s.h}
	d := s.h.newPage(w, r)
	for k, v := range p.Data {
		d.Data[k] = v
	}
	if p.Form != nil {
		d.Form = p.Form
	}
	if p.Err != nil {
		st := pg.formError(r, d, p.Err)
		d.keepFields(p.Fields...)
		if status == 0 {
			status = st
		}
	}
	if status == 0 {
		status = http.StatusOK
	}
	s.h.renderWith(w, s.pages, status, name, d)
}

// Session returns the user and session of r's log-in (the session or
// remember-me cookie, or a Bearer token), or all nil when r is not logged
// in. It returns usher.ErrPasswordResetRequested, with the user, for a
// session that may only set a new password.
func (h *Handler) Session(r *http.Request) (*usher.User, *usher.Session, error) {
	a, err := h.authenticate(r, true)
	if a == nil {
		return nil, nil, err
	}
	return a.user, a.sess, err
}

// Form wraps a form's POST handler as the Handler's own forms are: the
// body limited and parsed, and a request without the browser's CSRF token
// (the csrf template's hidden field) refused with a 403 page.
func (h *Handler) Form(next http.HandlerFunc) http.HandlerFunc {
	return (&pageHandler{h.core}).form(next)
}

// Forbidden answers 403: JSON (forbidden) for a client that asks for
// JSON, else the page saying the user may not do this.
func (h *Handler) Forbidden(w http.ResponseWriter, r *http.Request) {
	if AcceptsJSON(r) {
		h.writeError(w, r, usher.ErrForbidden)
		return
	}
	h.forbiddenPage(w, r)
}

// AcceptsJSON reports whether r's Accept names JSON before HTML (or
// without it).
func AcceptsJSON(r *http.Request) bool {
	acc := r.Header.Get("Accept")
	j := strings.Index(acc, "application/json")
	h := strings.Index(acc, "text/html")
	return j >= 0 && (h < 0 || j < h)
}

// LoginURL returns the log-in page's path, with next to come back to
// when next is a path on this site.
func (h *Handler) LoginURL(next string) string { return h.loginURL(next) }

// Flash keeps a message of the catalogue (its ID) for the next page the
// browser shows, after a redirect; isErr shows it as an error.
func (h *Handler) Flash(w http.ResponseWriter, r *http.Request, id string, isErr bool) {
	(&pageHandler{h.core}).flash(w, r, id, isErr)
}

// Client returns who is making the request (address, user agent), for
// throttling and the audit trail.
func (h *Handler) Client(r *http.Request) usher.Client { return h.client(r) }

// AdminRole returns the role a user needs for the admin API and the
// admin console (Options.AdminRole).
func (h *Handler) AdminRole() string { return h.opts.AdminRole }

// LastAdmin reports whether actorID, acting on targetID, is acting on
// themselves as the only enabled user with the admin role (AdminRole):
// then they may not take that role from themselves, disable or delete
// themselves, or nobody could use the admin console and API any more.
// The console and the admin API both ask it.
func (h *Handler) LastAdmin(ctx context.Context, actorID, targetID string) (bool, error) {
	return h.lastAdmin(ctx, actorID, targetID)
}

// Lang returns the language of r's pages.
func (h *Handler) Lang(r *http.Request) string { return h.lang(r) }

// Protect returns next inside the Handler's own middleware: the security
// headers, and the refusal of cross-origin state-changing requests from
// browsers. A server that serves pages beside the Handler wraps them in
// it.
func (h *Handler) Protect(next http.Handler) http.Handler { return h.protect(next) }

// WriteError answers with the JSON API's error for err (its status, code
// and message in r's language); an error it does not know is logged and
// answered as internal_error.
func (h *Handler) WriteError(w http.ResponseWriter, r *http.Request, err error) {
	h.writeError(w, r, err)
}

// ErrorMessage returns the catalogue ID of err's message, as the JSON
// API names it (its reason, else its code): for a flash message. An
// error it does not know is logged and is "internal_error".
func (h *Handler) ErrorMessage(r *http.Request, err error) string {
	_, e := h.classify(r, err)
	if e.Reason != "" {
		return e.Reason
	}
	return e.Code
}
