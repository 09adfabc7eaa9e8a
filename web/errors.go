package web

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/usher-auth/usher"
)

// errorKind is one row of the table from error kind to HTTP answer.
type errorKind struct {
	err    error
	status int
	code   string
}

// errorTable maps each error kind to its status and JSON code (docs/design.md, docs/api.md).
// Order matters: the first kind that errors.Is matches wins, so children
// come before ErrAuthenticationFailed.
var errorTable = []errorKind{
	{usher.ErrEmailNotConfirmed, http.StatusForbidden, "email_not_confirmed"},
	{usher.ErrAccountIsNotEnabled, http.StatusForbidden, "account_not_enabled"},
	{usher.ErrMFARequired, http.StatusUnauthorized, "mfa_required"},
	{usher.ErrTooManyPasswordFailures, http.StatusTooManyRequests, "too_many_password_failures"},
	{usher.ErrLoginRequired, http.StatusUnauthorized, "login_required"},
	{usher.ErrAccountNotFound, http.StatusUnauthorized, "authentication_failed"},
	// Federated sign-in: the provider's answer refused (why is logged,
	// never shown), or the user cancelled there; both are kinds of
	// authentication_failed.
	{usher.ErrFederatedRefused, http.StatusUnauthorized, "federated_refused"},
	{usher.ErrFederatedCancelled, http.StatusUnauthorized, "federated_cancelled"},
	{usher.ErrAuthenticationFailed, http.StatusUnauthorized, "authentication_failed"},
	{usher.ErrUserExists, http.StatusConflict, "user_exists"},
	{usher.ErrLinkRequired, http.StatusConflict, "link_required"},
	{usher.ErrLastLoginMethod, http.StatusConflict, "last_login_method"},
	// A *ValidationError that also carries the password's refusal is
	// validation_failed: its fields say everything that is wrong.
	{usher.ErrValidation, http.StatusUnprocessableEntity, "validation_failed"},
	{usher.ErrPasswordNotAcceptable, http.StatusUnprocessableEntity, "password_not_acceptable"},
	{usher.ErrPasswordResetRequested, http.StatusForbidden, "password_reset_requested"},
	{usher.ErrInvalidToken, http.StatusBadRequest, "invalid_token"},
	{usher.ErrSignupDisabled, http.StatusForbidden, "signup_disabled"},
	{usher.ErrRateLimited, http.StatusTooManyRequests, "rate_limited"},
	{usher.ErrReauthenticationRequired, http.StatusForbidden, "reauthentication_required"},
	{usher.ErrForbidden, http.StatusForbidden, "forbidden"},
	{errLastAdmin, http.StatusConflict, "last_admin"},
	{usher.ErrNotFound, http.StatusNotFound, "not_found"},
	{usher.ErrUnavailable, http.StatusServiceUnavailable, "service_unavailable"},
}

// unavailableRetryAfter is the Retry-After of a 503 service_unavailable, in
// seconds: a PostgreSQL restart takes a few.
const unavailableRetryAfter = "5"

// errBadRequest means a body that is not the JSON expected.
var errBadRequest = errors.New("web: bad request")

// apiError is the JSON error body:
// {"error":{"code","message","reason","fields"}}. Reason, when there is
// one, says why a credential was refused within the code's kind (see
// refusalReason).
type apiError struct {
	Code    string            `json:"code"`
	Message string            `json:"message"`
	Reason  string            `json:"reason,omitempty"`
	Fields  map[string]string `json:"fields,omitempty"`
}

// refusalReason returns why a second factor or a passkey was refused (a
// message ID), or "" — for a second factor that is missing, say.
func refusalReason(err error) string {
	var mfa *usher.MFARequiredError
	if errors.As(err, &mfa) {
		return mfa.Reason
	}
	var le *usher.LoginError
	if errors.As(err, &le) {
		return le.Reason
	}
	return ""
}

// classify returns the status and JSON error for err in the request's
// language.
func (h *core) classify(r *http.Request, err error) (int, apiError) {
	return h.classifyIn(r, h.lang(r), err)
}

// classifyIn returns the status and JSON error for err, its messages in
// language lang. Anything not in the table is an internal error, whose
// detail is logged, never shown: a database outage must not look like a
// wrong password.
func (h *core) classifyIn(r *http.Request, lang string, err error) (int, apiError) {
	cfg := h.svc.Config()
	msg := func(id string) string { return h.cat.Text(lang, identityMessage(cfg, id)) }
	if errors.Is(err, errBadRequest) {
		return http.StatusBadRequest, apiError{Code: "bad_request", Message: msg("bad_request")}
	}
	for _, k := range errorTable {
		if !errors.Is(err, k.err) {
			continue
		}
		e := apiError{Code: k.code, Message: msg(k.code)}
		if k.err == usher.ErrUnavailable {
			// The reason (connection refused, disk full, …) is for
			// the operator, never for the client.
			h.log.Warn("usher: database unavailable", "method", r.Method, "path", r.URL.Path, "err", err)
		}
		if errors.Is(err, usher.ErrAccountNotFound) {
			e.Message = msg("account_not_found")
		}
		if reason := refusalReason(err); reason != "" {
			e.Reason, e.Message = reason, msg(reason)
		}
		var ve *usher.ValidationError
		if errors.As(err, &ve) {
			e.Fields = map[string]string{}
			for f, id := range ve.Fields {
				e.Fields[f] = msg(id)
			}
		}
		var pe *usher.PasswordError
		if errors.As(err, &pe) {
			// The policy's reason with its bounds, beside the other
			// fields' problems, if any (a sign-up reports them all).
			if e.Fields == nil {
				e.Fields = map[string]string{}
			}
			e.Fields["password"] = h.cat.Sprintf(lang, identityMessage(cfg, pe.Reason), pe.Args()...)
			if len(e.Fields) == 1 {
				e.Message = e.Fields["password"]
			}
		}
		return k.status, e
	}
	h.log.Error("usher: internal error", "method", r.Method, "path", r.URL.Path, "err", err)
	return http.StatusInternalServerError, apiError{Code: "internal_error", Message: msg("internal_error")}
}

// writeError answers with the JSON error for err.
func (h *core) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status, e := h.classify(r, err)
	var rl *usher.RateLimitError
	if errors.As(err, &rl) {
		w.Header().Set("Retry-After", strconv.Itoa(rl.RetryAfter))
	}
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", unavailableRetryAfter)
	}
	body := map[string]any{"error": e}
	var mfa *usher.MFARequiredError
	if errors.As(err, &mfa) && mfa.Pending != "" {
		// The pending log-in: POST it with the second factor to
		// /user/api/mfa/login.
		body["mfa_token"], body["mfa_types"] = mfa.Pending, mfa.Types
		if mfa.Enroll {
			// No second factor yet, and one is required: set one
			// up with /user/api/mfa/enroll.
			body["mfa_enroll"] = true
		}
	}
	writeJSON(w, status, body)
}
