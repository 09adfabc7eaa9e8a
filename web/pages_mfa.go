package web

import (
	"errors"
	"html/template"
	"net/http"
	"regexp"
	"strings"

	"github.com/usher-auth/usher"
)

// The two-factor page of a logged-in user (Anvil's anvil.users.mfa
// forms): the second factors with their remove buttons, setting up an
// authenticator app, and new recovery codes, which are shown once and so
// are the one answer to a POST here that is not a redirect.

// methodRow is one second factor in a list.
type methodRow struct {
	ID, Type, Name        string
	Added, AddedISO       string
	LastUsed, LastUsedISO string
}

func methodRows(list []*usher.MFAMethod) []methodRow {
	rows := make([]methodRow, len(list))
	for i, m := range list {
		rows[i] = methodRow{ID: m.ID, Type: m.Type, Name: m.Name,
			Added: pageTime(m.CreatedAt), AddedISO: isoTime(m.CreatedAt),
			LastUsed: pageTime(m.LastUsedAt), LastUsedISO: isoTime(m.LastUsedAt)}
	}
	return rows
}

// totpSetup is an authenticator app being set up, as the page shows it.
type totpSetup struct {
	Secret string       // the key to type into the app
	Method string       // the sealed secret, posted back to AddMFAMethod
	QRCode template.URL // the QR code's PNG data URL, for <img src>
}

// qrPrefix starts the only URLs the page trusts as an image source
// without html/template's filtering (which refuses data: URLs).
const qrPrefix = "data:image/png;base64,"

var (
	qrPattern     = regexp.MustCompile(`^data:image/png;base64,[A-Za-z0-9+/]+={0,2}$`)
	secretPattern = regexp.MustCompile(`^[A-Z2-7]+=*$`)
)

// qrURL returns s as a URL for <img src> when it is a PNG data URL, else
// "" (no image is shown).
func qrURL(s string) template.URL {
	if !strings.HasPrefix(s, qrPrefix) || len(s) > 32<<10 || !qrPattern.MatchString(s) {
		return ""
	}
	return template.URL(s) // #nosec G203 -- a PNG data URL, checked against qrPattern above
}

// mfaPage serves GET /user/mfa.
func (h *pageHandler) mfaPage(w http.ResponseWriter, r *http.Request, a *auth) {
	h.renderMFA(w, r, http.StatusOK, h.newPage(w, r), a, nil)
}

// renderMFA shows the two-factor page: the user's methods and the set-up
// of an authenticator app — setup, or a new secret when setup is nil.
func (h *pageHandler) renderMFA(w http.ResponseWriter, r *http.Request, status int, d *pageData, a *auth, setup *totpSetup) {
	methods, err := h.svc.ListMFAMethods(r.Context(), a.user.ID)
	if err != nil {
		h.pageError(w, r, err)
		return
	}
	d.Data["methods"] = methodRows(methods)
	if setup == nil {
		s, err := h.svc.GenerateTOTPSecret(r.Context(), a.user)
		switch {
		case errors.Is(err, usher.ErrNotFound):
			d.Data["unavailable"] = true
		case err != nil:
			h.pageError(w, r, err)
			return
		default:
			setup = &totpSetup{Secret: s.Secret, Method: s.Method, QRCode: qrURL(s.QRCode)}
		}
	}
	if setup != nil {
		d.Data["setup"] = setup
	}
	d.Data["webauthn"] = h.svc.WebAuthnAvailable()
	h.render(w, r, status, "mfa", d)
}

// mfaAddSubmit serves POST /user/mfa: the code from the app proves it has
// the secret, and the password proves the user is at the keyboard. On
// success the first second factor comes with recovery codes, shown this
// once.
func (h *pageHandler) mfaAddSubmit(w http.ResponseWriter, r *http.Request, a *auth) {
	d := h.newPage(w, r)
	d.Form = r.PostForm
	ctx := r.Context()
	before, err := h.svc.ListMFAMethods(ctx, a.user.ID)
	if err != nil {
		h.pageError(w, r, err)
		return
	}
	method := r.PostFormValue("mfa_method")
	_, err = h.svc.AddMFAMethod(ctx, a.sess, r.PostFormValue("password"), method,
		strings.TrimSpace(r.PostFormValue("code")), r.PostFormValue("name"), false, h.client(r))
	if err != nil {
		status := h.formError(r, d, err)
		if wrongPassword(err) {
			d.Error = h.textIn(d, "Your current password is not right.")
			d.Errors["password"] = d.Error
		}
		// Show the same secret again, so that the app the user has
		// already set up goes on working, unless the posted one is bad.
		// The key and the QR code come back from the form: they are only
		// shown, and only the sealed method is ever trusted.
		var setup *totpSetup
		if m, bad := d.Errors["mfa_method"]; bad {
			d.Error = m
			delete(d.Errors, "mfa_method")
		} else if secret := r.PostFormValue("secret"); method != "" && len(secret) <= 128 && secretPattern.MatchString(secret) {
			setup = &totpSetup{Secret: secret, Method: method, QRCode: qrURL(r.PostFormValue("qr_code"))}
		}
		h.renderMFA(w, r, status, d, a, setup)
		return
	}
	h.methodAdded(w, r, d, a, len(before) > 0, tr("The authenticator app has been added."))
}

// methodAdded ends the adding of a second factor: a user who had one
// already keeps their recovery codes (new ones would void those they
// keep; they can ask for new ones) and goes back to the page with a
// flash; a first second factor comes with recovery codes, shown this once.
func (h *pageHandler) methodAdded(w http.ResponseWriter, r *http.Request, d *pageData, a *auth, hadOne bool, flash string) {
	if hadOne {
		h.flash(w, r, flash, false)
		http.Redirect(w, r, h.prefix+"/mfa", http.StatusSeeOther)
		return
	}
	codes, err := h.svc.NewRecoveryCodes(r.Context(), a.user.ID, h.client(r))
	if err != nil {
		h.pageError(w, r, err)
		return
	}
	d.Form = nil
	d.Data["added"] = true
	d.Data["codes"] = codes
	h.render(w, r, http.StatusOK, "mfa", d)
}

// mfaRemoveSubmit serves POST /user/mfa/methods/{id}/remove. As with the
// JSON API's DELETE, being logged in is enough.
func (h *pageHandler) mfaRemoveSubmit(w http.ResponseWriter, r *http.Request, a *auth) {
	if err := h.svc.RemoveMFAMethod(r.Context(), a.user.ID, r.PathValue("id"), h.client(r)); err != nil {
		d := h.newPage(w, r)
		h.renderMFA(w, r, h.formError(r, d, err), d, a, nil)
		return
	}
	h.flash(w, r, tr("The method has been removed."), false)
	http.Redirect(w, r, h.prefix+"/mfa", http.StatusSeeOther)
}

// recoveryCodesSubmit serves POST /user/mfa/recovery-codes: ten new codes,
// shown this once; the old ones stop working.
func (h *pageHandler) recoveryCodesSubmit(w http.ResponseWriter, r *http.Request, a *auth) {
	codes, err := h.svc.NewRecoveryCodes(r.Context(), a.user.ID, h.client(r))
	if err != nil {
		d := h.newPage(w, r)
		h.renderMFA(w, r, h.formError(r, d, err), d, a, nil)
		return
	}
	d := h.newPage(w, r)
	d.Data["codes"] = codes
	h.render(w, r, http.StatusOK, "mfa", d)
}

// mfaWebAuthnSubmit serves POST /user/mfa/webauthn: the security key that
// usher-webauthn.js has just created (the hidden state and credential),
// its name and the password.
func (h *pageHandler) mfaWebAuthnSubmit(w http.ResponseWriter, r *http.Request, a *auth) {
	d := h.newPage(w, r)
	d.Form = r.PostForm
	ctx := r.Context()
	before, err := h.svc.ListMFAMethods(ctx, a.user.ID)
	if err != nil {
		h.pageError(w, r, err)
		return
	}
	_, err = h.svc.FinishWebAuthnRegistration(ctx, a.sess, r.PostFormValue("key_password"), r.PostFormValue("state"),
		r.PostFormValue("key_name"), []byte(r.PostFormValue("credential")), h.client(r))
	if err != nil {
		status := h.formError(r, d, err)
		if m, ok := d.Errors["password"]; ok {
			d.Errors["key_password"] = m
			delete(d.Errors, "password")
		}
		if wrongPassword(err) {
			d.Error = h.textIn(d, "Your current password is not right.")
			d.Errors["key_password"] = d.Error
		}
		if _, ok := d.Errors["credential"]; ok || errors.Is(err, usher.ErrInvalidToken) {
			d.Error = h.textIn(d, "The security key could not be added. Try again.")
			delete(d.Errors, "credential")
		}
		h.renderMFA(w, r, status, d, a, nil)
		return
	}
	h.methodAdded(w, r, d, a, len(before) > 0, tr("The security key has been added."))
}
