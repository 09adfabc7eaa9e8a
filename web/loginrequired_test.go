package web_test

import (
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/usher-auth/usher"
	"github.com/usher-auth/usher/usertest"
)

// TestNotLoggedInIsNotWrongCredentials: a request that brings no
// credentials (or a session that has ended) is told to log in, not that
// the address or password it never entered is wrong.
func TestNotLoggedInIsNotWrongCredentials(t *testing.T) {
	e := newEnv(t, usher.Config{})
	usertest.MustCreateUser(t, e.svc, "ann@example.com")
	c := e.browser()
	tests := []struct {
		name, method, path string
		hdr                []string
		wantCode           string
	}{
		{"LoginRequired", "GET", "/private", []string{"Accept", "application/json"}, "login_required"},
		{"RolesRequired", "GET", "/admin", nil, "login_required"},
		{"API me", "GET", "/user/api/me", nil, "login_required"},
		{"API sessions", "GET", "/user/api/sessions", nil, "login_required"},
		{"API ended session", "GET", "/user/api/me", []string{"Authorization", "Bearer " + "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}, "login_required"},
		{"API change password", "POST", "/user/api/change-password", nil, "login_required"},
		{"Basic, none given", "GET", "/basic", nil, "login_required"},
		{"Basic, wrong password", "GET", "/basic", []string{"Authorization", basicAuth("ann@example.com", "wrong password!")}, "authentication_failed"},
	}
	for _, tt := range tests {
		var body any
		if tt.method == "POST" {
			body = map[string]any{"old_password": "x", "new_password": "y"}
		}
		r := e.do(c, tt.method, tt.path, body, tt.hdr...)
		if r.status != http.StatusUnauthorized || r.errCode() != tt.wantCode {
			t.Errorf("%s: %d %s; want 401 %s", tt.name, r.status, r.raw, tt.wantCode)
			continue
		}
		msg, _ := r.body["error"].(map[string]any)["message"].(string)
		if tt.wantCode == "login_required" && msg != "Please log in." {
			t.Errorf("%s: message %q; want %q", tt.name, msg, "Please log in.")
		}
	}
	// German, for a German client.
	r := e.do(c, "GET", "/user/api/me", nil, "Accept-Language", "de")
	if msg, _ := r.body["error"].(map[string]any)["message"].(string); msg != "Bitte melden Sie sich an." {
		t.Errorf("in German: %q", msg)
	}
}

// TestChangePasswordNotLoggedIn: the Go method says ErrLoginRequired, which
// still counts as ErrAuthenticationFailed for callers that check that.
func TestChangePasswordNotLoggedIn(t *testing.T) {
	e := newEnv(t, usher.Config{})
	err := e.h.ChangePassword(httptest.NewRecorder(), httptest.NewRequest("POST", "/x", nil), "a", "b")
	if !errors.Is(err, usher.ErrLoginRequired) || !errors.Is(err, usher.ErrAuthenticationFailed) {
		t.Errorf("ChangePassword without a session: %v; want ErrLoginRequired", err)
	}
}

// basicAuth returns an Authorization header value for HTTP Basic.
func basicAuth(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}
