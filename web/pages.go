package web

import (
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/usher-auth/usher"
	"github.com/usher-auth/usher/i18n"
)

// The pages: server-rendered HTML forms for every flow, working without
// JavaScript. Each page is a template file in templates/pages that calls
// one of the layouts (public_base for visitors, member_base for logged-in
// users, both built on base); an application overrides any file by giving
// one of the same name under pages/ in Options.Templates.

//go:embed templates/pages/*.html
var pageFiles embed.FS

// layouts are parsed into every page's template set.
var layouts = []string{"base.html", "public_base.html", "member_base.html", "fields.html", "forms.html"}

// pages parses the page templates once, and keeps per language a clone
// whose T speaks that language (html/template escapes a set on its first
// execution, so each language's clone is escaped once and then reused).
type pages struct {
	files   map[string]string // file name → source
	layouts []string          // files parsed into every page (layouts, then more)
	own     map[string]bool   // the embedded files' names (not the overrides')
	master  map[string]*template.Template
	mu      sync.Mutex
	byLang  map[string]*template.Template // "page\x00lang" → ready to execute
}

// loadPages reads the embedded page templates, then the overrides under
// pages/ in over, and parses every page with the layouts.
func loadPages(over fs.FS) (*pages, error) {
	p := &pages{files: map[string]string{}, layouts: layouts, master: map[string]*template.Template{}, byLang: map[string]*template.Template{}}
	names, err := readPageFiles(p.files, pageFiles, "templates/pages")
	if err != nil {
		return nil, err
	}
	p.own = map[string]bool{}
	for _, n := range names {
		p.own[n] = true
	}
	if over != nil {
		if _, err := readPageFiles(p.files, over, "pages"); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("web: Templates: %w", err)
		}
	}
	for name := range p.files {
		if err := p.parse(name); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// readPageFiles reads the .html files of dir in fsys into files (by file
// name) and returns their names.
func readPageFiles(files map[string]string, fsys fs.FS, dir string) ([]string, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".html") {
			continue
		}
		b, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		files[e.Name()] = string(b)
		names = append(names, e.Name())
	}
	return names, nil
}

// parse parses page file name (not a layout) with the layouts into
// p.master.
func (p *pages) parse(name string) error {
	if slices.Contains(p.layouts, name) {
		return nil
	}
	// Stand-in functions for parsing; each language's clone rebinds them.
	// The layouts first, so that the page's definitions replace their
	// defaults ({{block}}); the page is the set's root.
	t := template.New(name).Funcs(pageFuncs(nil, "en"))
	for _, l := range p.layouts {
		if _, err := t.New(l).Parse(p.files[l]); err != nil {
			return fmt.Errorf("web: template %s: %w", l, err)
		}
	}
	if _, err := t.Parse(p.files[name]); err != nil {
		return fmt.Errorf("web: template %s: %w", name, err)
	}
	p.master[strings.TrimSuffix(name, ".html")] = t
	return nil
}

// get returns page name's template set for language lang.
func (p *pages) get(cat *i18n.Catalogue, name, lang string) (*template.Template, error) {
	key := name + "\x00" + lang
	p.mu.Lock()
	defer p.mu.Unlock()
	if t, ok := p.byLang[key]; ok {
		return t, nil
	}
	m, ok := p.master[name]
	if !ok {
		return nil, fmt.Errorf("web: no page template %q", name)
	}
	t, err := m.Clone()
	if err != nil {
		return nil, err
	}
	t.Funcs(pageFuncs(cat, lang))
	p.byLang[key] = t
	return t, nil
}

// pageFuncs returns the functions templates use: T translates (T "English
// text" args...), field describes a form field.
func pageFuncs(cat *i18n.Catalogue, lang string) template.FuncMap {
	return template.FuncMap{
		"T": func(id string, args ...any) string {
			if cat == nil {
				return fmt.Sprintf(id, args...)
			}
			return cat.Sprintf(lang, id, args...)
		},
		// inFours writes an authenticator app's key in groups of four
		// characters, to be read and typed without losing one's place
		// (apps ignore the spaces).
		"inFours": func(key string) string {
			var b strings.Builder
			for i, r := range []rune(key) {
				if i > 0 && i%4 == 0 {
					b.WriteByte(' ')
				}
				b.WriteRune(r)
			}
			return b.String()
		},
		// ltr isolates a date, an address or a code that a translated
		// sentence takes as an argument ({{T "added %s" (ltr .Added)}}),
		// so that right-to-left text around it cannot reorder its parts.
		"ltr": isolateLTR,
		// pageTime and isoTime write a time as the pages show it and
		// for a <time datetime> attribute; browserName and systemName
		// name a User-Agent's browser and system ("" if unknown).
		"pageTime":    pageTime,
		"isoTime":     isoTime,
		"browserName": browserName,
		"systemName":  systemName,

		// isolate does the same for a name of either direction (a
		// provider's label in "Log in with %s"): its first strong
		// character sets its direction.
		"isolate": func(s string) string {
			if s == "" {
				return ""
			}
			return "\u2068" + s + "\u2069"
		},
		// inputType is the input type of a profile field's type.
		"inputType": func(t string) string {
			switch t {
			case "int":
				return "number"
			case "email", "url":
				return t
			}
			return "text"
		},
		// field describes an input for the "field" template: field $
		// name type label [autocomplete] ["optional"] ["autofocus"]
		// ["numeric"].
		"field": func(d *pageData, name, typ, label string, more ...string) formField {
			f := formField{Name: name, Type: typ, Label: label, Required: true}
			for _, m := range more {
				switch m {
				case "optional":
					f.Required = false
				case "autofocus":
					f.Autofocus = true
				case "numeric":
					// A code of digits: phones show the number pad.
					f.Inputmode = "numeric"
				default:
					f.Autocomplete = m
				}
			}
			if d != nil {
				if typ != "password" {
					f.Value = d.Form.Get(name)
				}
				f.Error = d.Errors[name]
				// Fields are described in the page's order.
				switch {
				case len(d.Errors) > 0:
					// The first wrong field gets the focus.
					f.Autofocus = f.Error != "" && !d.focused
				case d.Error != "":
					// A refused form (a wrong password): the
					// cleared password field.
					f.Autofocus = typ == "password" && !d.focused
				}
				d.focused = d.focused || f.Autofocus
			}
			return f
		},
	}
}

// isolateLTR returns s between the Unicode characters LEFT-TO-RIGHT
// ISOLATE and POP DIRECTIONAL ISOLATE: the text equivalent of <bdi
// dir="ltr">, for a value inside a sentence (an element cannot go into a
// translated string). In "2026-12-04 19:24 UTC" inside Persian text, the
// bidirectional algorithm would otherwise show "UTC 19:24 2026-12-04".
func isolateLTR(s string) string {
	if s == "" {
		return ""
	}
	return "\u2066" + s + "\u2069"
}

// formField is what the "field" template renders: a label, the input, and
// the field's error tied to it with aria-describedby.
type formField struct {
	Name, Type, Label, Value, Error, Autocomplete string
	Inputmode                                     string // "numeric" for a code of digits
	Required, Autofocus                           bool
}

// pageData is what every page template gets.
type pageData struct {
	Lang      string
	Dir       string
	Languages []i18n.Language
	AppName   string
	LogoURL   string
	Prefix    string
	CSRF      string
	Path      string // this page's path and query, for the language switcher
	Here      string // this page's path, to mark the menu's current entry
	User      *usher.User
	Config    usher.Config
	Profile   []usher.ProfileField
	Flash     string // a message ID
	FlashErr  bool
	Error     string // translated, for the whole form
	Form      url.Values
	Errors    map[string]string // field → translated message
	Next      string
	Done      bool // the action succeeded: show the outcome, not the form
	Data      map[string]any

	focused bool // a field described so far has the focus
}

// newPage starts the data of a page for r.
func (h *core) newPage(w http.ResponseWriter, r *http.Request) *pageData {
	var user *usher.User
	if a, _ := h.authenticate(r, true); a != nil {
		user = a.user
	}
	lang := h.langFor(r, user)
	cfg := h.svc.Config()
	d := &pageData{
		Lang: lang, Dir: h.cat.Dir(lang), Languages: h.cat.Languages(),
		AppName: cfg.AppName, LogoURL: h.opts.LogoURL, Prefix: h.prefix,
		CSRF: h.csrfToken(w, r), Path: r.URL.RequestURI(), Here: r.URL.Path,
		Config: cfg, Profile: cfg.ProfileFields,
		Form: url.Values{}, Errors: map[string]string{}, Data: map[string]any{},
		Next: h.nextParam(r), User: user,
	}
	d.Flash, d.FlashErr = h.takeFlash(w, r)
	return d
}

// render writes page name with status.
func (h *core) render(w http.ResponseWriter, r *http.Request, status int, name string, d *pageData) {
	h.keepLinkLang(w, r, d.Lang)
	h.renderWith(w, h.pages, status, name, d)
}

// keepLinkLang keeps a language that a link chose (?lang=, shown as lang)
// in the language cookie until the browser closes, so that the page's
// form, which posts without the query, answers in it too. A choice made
// with the language switcher lasts longer and is not replaced by the same
// language.
func (h *core) keepLinkLang(w http.ResponseWriter, r *http.Request, lang string) {
	q := r.URL.Query().Get("lang")
	if q == "" || !h.cat.Supported(q) || q != lang {
		return
	}
	if c, err := r.Cookie(h.langCookieName()); err == nil && c.Value == q {
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: h.langCookieName(), Value: q, Path: "/",
		HttpOnly: true, Secure: h.secure(r), SameSite: http.SameSiteLaxMode,
	})
}

// renderWith writes page name of set with status.
func (h *core) renderWith(w http.ResponseWriter, set *pages, status int, name string, d *pageData) {
	t, err := set.get(h.cat, name, d.Lang)
	var buf bytes.Buffer
	if err == nil {
		err = t.ExecuteTemplate(&buf, name+".html", d)
	}
	if err != nil {
		h.log.Error("usher: page template", "page", name, "err", err)
		http.Error(w, h.cat.Text(d.Lang, "internal_error"), http.StatusInternalServerError)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Content-Language", d.Lang)
	hd.Set("Content-Security-Policy", pageCSP)
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// pageCSP allows only this site's own scripts, styles and images (and
// images in data: URLs, for QR codes): no inline script or style at all.
const pageCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// formError fills d from err: the message for the form, and each field's
// message in d's language. It returns the HTTP status for err.
//
// When fields are wrong, each field says what is wrong with it and the
// form's message only what kind of error it is ("Some fields are missing
// or not valid.", "This password is not acceptable."): no message is said
// twice.
func (h *pageHandler) formError(r *http.Request, d *pageData, err error) int {
	status, e := h.classifyIn(r, d.Lang, err)
	d.Error = e.Message
	for f, m := range e.Fields {
		d.Errors[f] = m
	}
	if len(e.Fields) > 0 {
		d.Error = h.cat.Text(d.Lang, e.Code)
	}
	return status
}

// mismatchError fills d for a new password (new_password) retyped
// differently, together with what the password policy says of it, so the
// user learns both at once; the user's email and username, when known,
// are words the password must not be built on. It returns the status.
func (h *pageHandler) mismatchError(r *http.Request, d *pageData, pw, email, username string) int {
	status := h.formError(r, d, &usher.ValidationError{Fields: map[string]string{"retype_password": usher.MsgPasswordMismatch}})
	if pw == "" {
		return status
	}
	if err := h.svc.CheckNewPassword(pw, email, username); err != nil {
		status = h.formError(r, d, err)
		d.renameError("password", "new_password")
	}
	return status
}

// renameError moves the error of field from to field to: the Service names
// a new password "password" in a *PasswordError, which some forms call
// new_password.
func (d *pageData) renameError(from, to string) {
	if m, ok := d.Errors[from]; ok && from != to {
		delete(d.Errors, from)
		d.Errors[to] = m
	}
}

// keepFields keeps the errors of the form's fields, and makes the message
// of an error about any other field the form's message: a page can only
// tie an error to an input it has.
func (d *pageData) keepFields(fields ...string) {
	for f, m := range d.Errors {
		if !slices.Contains(fields, f) {
			d.Error = m
			delete(d.Errors, f)
		}
	}
}

// lang picks the request's language (langFor) with the user that
// middleware put in its context, if any.
func (h *core) lang(r *http.Request) string {
	var u *usher.User
	if a, ok := r.Context().Value(ctxKey{}).(*auth); ok {
		u = a.user
	}
	return h.langFor(r, u)
}

// langFor picks the language of a request from u (nil when not logged
// in): ?lang=, then the language cookie, then u's choice, then
// Accept-Language.
func (h *core) langFor(r *http.Request, u *usher.User) string {
	var chosen []string
	if q := r.URL.Query().Get("lang"); q != "" {
		chosen = append(chosen, q)
	}
	if c, err := r.Cookie(h.langCookieName()); err == nil {
		chosen = append(chosen, c.Value)
	}
	if u != nil {
		chosen = append(chosen, u.Locale)
	}
	return h.cat.Match(r.Header.Get("Accept-Language"), chosen...)
}

func (h *core) langCookieName() string { return h.opts.CookieName + "_lang" }

// csrfToken returns the browser's CSRF token, setting its cookie when the
// browser has none. The token guards the pages' forms for browsers too
// old to send Sec-Fetch-Site or Origin (which Go's CrossOriginProtection
// checks first): a form must echo the cookie's value.
func (h *core) csrfToken(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(h.csrfCookieName()); err == nil && csrfPattern.MatchString(c.Value) {
		return c.Value
	}
	tok := rand.Text()
	http.SetCookie(w, &http.Cookie{
		Name: h.csrfCookieName(), Value: tok, Path: "/",
		HttpOnly: true, Secure: h.secure(r), SameSite: http.SameSiteLaxMode,
	})
	return tok
}

var csrfPattern = regexp.MustCompile(`^[A-Z2-7]{26}$`)

func (h *core) csrfCookieName() string { return h.opts.CookieName + "_csrf" }

// checkCSRF reports whether a form POST carries the browser's CSRF token.
func (h *core) checkCSRF(r *http.Request) bool {
	c, err := r.Cookie(h.csrfCookieName())
	if err != nil || !csrfPattern.MatchString(c.Value) {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(c.Value), []byte(r.PostFormValue("csrf_token"))) == 1
}

// form wraps a page's POST handler: it limits and parses the body and
// refuses a request without the CSRF token with a 403 page.
func (h *pageHandler) form(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		if err := r.ParseForm(); err != nil {
			http.Error(w, h.cat.Text(h.lang(r), "bad_request"), http.StatusBadRequest)
			return
		}
		if !h.checkCSRF(r) {
			d := h.newPage(w, r)
			d.Data["title"], d.Data["text"] = tr("Page expired"), tr("csrf_failed")
			h.render(w, r, http.StatusForbidden, "message", d)
			return
		}
		next(w, r)
	}
}

// flash keeps a message ID for the next page the browser shows (after a
// redirect). Only IDs of the catalogue are kept, and pages show their
// text escaped: a flash cannot carry markup.
func (h *pageHandler) flash(w http.ResponseWriter, r *http.Request, id string, isErr bool) {
	v := "ok:" + id
	if isErr {
		v = "err:" + id
	}
	http.SetCookie(w, &http.Cookie{
		Name: h.opts.CookieName + "_flash", Value: url.QueryEscape(v), Path: "/",
		HttpOnly: true, Secure: h.secure(r), SameSite: http.SameSiteLaxMode, MaxAge: 60,
	})
}

// takeFlash returns the flash message ID and clears it.
func (h *core) takeFlash(w http.ResponseWriter, r *http.Request) (string, bool) {
	c, err := r.Cookie(h.opts.CookieName + "_flash")
	if err != nil {
		return "", false
	}
	h.clearCookie(w, r, c.Name)
	v, _ := url.QueryUnescape(c.Value)
	kind, id, _ := strings.Cut(v, ":")
	if !h.cat.Known(id) {
		return "", false
	}
	return id, kind == "err"
}

// nextParam returns the Location a redirect to the request's next
// parameter sends, when that is a path on this site (LocalLocation), else
// "".
func (h *core) nextParam(r *http.Request) string {
	loc, _ := LocalLocation(r.FormValue("next"))
	return loc
}

// redirectNext sends the browser to the request's next parameter, or to
// def.
func (h *pageHandler) redirectNext(w http.ResponseWriter, r *http.Request, def string) {
	redirectLocal(w, r, r.FormValue("next"), def)
}

// redirectLocal sends the browser (303) to target when LocalLocation
// accepts it, else to def, a configured path. Every redirect to a target
// that came with the request goes through here, so that the Location
// sent, not only the target received, is checked.
func redirectLocal(w http.ResponseWriter, r *http.Request, target, def string) {
	loc, ok := LocalLocation(target)
	if !ok {
		if loc, ok = LocalLocation(def); !ok {
			loc = "/"
		}
	}
	http.Redirect(w, r, loc, http.StatusSeeOther) // #nosec G710 -- loc passed LocalLocation: a path on this site
}

// tr marks a message ID given in Go code, for the catalogue test that
// collects every ID in use; it returns id.
func tr(id string) string { return id }
