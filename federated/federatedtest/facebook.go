package federatedtest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// FakeFacebook is Facebook Login and the Graph API, as much as a relying
// party uses: the login dialog (/vNN.0/dialog/oauth, which logs the user
// in at once), the code exchange (/vNN.0/oauth/access_token, which checks
// the app secret, the redirect URI and, when the dialog had a challenge,
// the PKCE verifier) and /vNN.0/me, which — like Graph with "Require App
// Secret" on — refuses a call without a correct appsecret_proof. It
// answers by path suffix, whatever the version, at www.facebook.com and
// graph.facebook.com (Hosts).
type FakeFacebook struct {
	Server           *httptest.Server
	AppID, AppSecret string

	opts  FacebookOptions
	hosts map[string]string

	codes      codes
	mu         sync.Mutex
	tokens     map[string]bool
	meCalls    int
	badProofs  int
	lastDialog url.Values
}

// FacebookOptions is what a FakeFacebook does differently in one test.
type FacebookOptions struct {
	// AppID and AppSecret (default "1234567890" and "facebook-app-secret").
	AppID, AppSecret string
	// User is /me's answer: the fields asked for, of id, name, email and
	// mail (default id FacebookUserID, name, email alice@example.com).
	// A nil value leaves a field out (the user declined the email
	// permission, say).
	User map[string]any
	// DialogError sends the browser back with error=DialogError.
	DialogError string
	// TokenError makes the code exchange answer 400 with this error.
	TokenError string
}

// FacebookUserID is the default app-scoped user ID.
const FacebookUserID = "10160000000000001"

// NewFakeFacebook starts a FakeFacebook.
func NewFakeFacebook(t testing.TB, o FacebookOptions) *FakeFacebook {
	t.Helper()
	f := &FakeFacebook{AppID: o.AppID, AppSecret: o.AppSecret, opts: o, tokens: map[string]bool{}}
	if f.AppID == "" {
		f.AppID = "1234567890"
	}
	if f.AppSecret == "" {
		f.AppSecret = "facebook-app-secret"
	}
	f.opts.User = merge(map[string]any{"id": FacebookUserID, "name": "Alice Example", "email": "alice@example.com"}, o.User)
	f.Server = httptest.NewServer(f)
	t.Cleanup(f.Server.Close)
	f.hosts = map[string]string{"www.facebook.com": f.Server.URL, "graph.facebook.com": f.Server.URL}
	return f
}

// Hosts maps www.facebook.com and graph.facebook.com to the fake.
func (f *FakeFacebook) Hosts() map[string]string { return f.hosts }

// MeCalls is how many calls /me answered; BadProofs how many it refused
// for a missing or wrong appsecret_proof.
func (f *FakeFacebook) MeCalls() (answered, badProofs int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.meCalls, f.badProofs
}

// LastDialog is the query of the last login dialog request.
func (f *FakeFacebook) LastDialog() url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lastDialog
}

// Proof is the appsecret_proof of accessToken.
func (f *FakeFacebook) Proof(accessToken string) string {
	m := hmac.New(sha256.New, []byte(f.AppSecret))
	m.Write([]byte(accessToken))
	return hex.EncodeToString(m.Sum(nil))
}

// ServeHTTP serves the dialog, the code exchange and /me.
func (f *FakeFacebook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch p := r.URL.Path; {
	case strings.HasSuffix(p, "/dialog/oauth"):
		f.dialog(w, r)
	case strings.HasSuffix(p, "/oauth/access_token"):
		f.accessToken(w, r)
	case strings.HasSuffix(p, "/me"):
		f.me(w, r)
	default:
		http.NotFound(w, r)
	}
}

func (f *FakeFacebook) dialog(w http.ResponseWriter, r *http.Request) {
	q, back, ok := authorizationRequest(w, r, f.AppID, &f.mu, &f.lastDialog)
	if !ok {
		return
	}
	answer := url.Values{"state": {q.Get("state")}}
	if f.opts.DialogError != "" {
		answer.Set("error", f.opts.DialogError)
		answer.Set("error_reason", "user_denied")
		answer.Set("error_description", "Permissions error")
	} else {
		answer.Set("code", f.codes.issue(grant{challenge: q.Get("code_challenge"), redirectURI: q.Get("redirect_uri")}))
	}
	sendBack(w, r, back, answer)
}

func graphError(w http.ResponseWriter, status int, typ, msg string, code int) {
	writeJSON(w, status, map[string]any{"error": map[string]any{"message": msg, "type": typ, "code": code}})
}

func (f *FakeFacebook) accessToken(w http.ResponseWriter, r *http.Request) {
	if r.ParseForm() != nil {
		graphError(w, http.StatusBadRequest, "OAuthException", "bad request", 1)
		return
	}
	if r.Form.Get("client_id") != f.AppID || r.Form.Get("client_secret") != f.AppSecret {
		graphError(w, http.StatusBadRequest, "OAuthException", "Error validating client secret.", 1)
		return
	}
	if f.opts.TokenError != "" {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": f.opts.TokenError, "error_description": "the fake was told to refuse"})
		return
	}
	g, found := f.codes.take(r.Form.Get("code"))
	if !found || g.redirectURI != r.Form.Get("redirect_uri") || (g.challenge != "" && s256(r.Form.Get("code_verifier")) != g.challenge) {
		graphError(w, http.StatusBadRequest, "OAuthException", "This authorization code has been used or is invalid.", 100)
		return
	}
	token := randomString()
	f.mu.Lock()
	f.tokens[token] = true
	f.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"access_token": token, "token_type": "bearer", "expires_in": 5183944})
}

func (f *FakeFacebook) me(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		token = q.Get("access_token")
	}
	f.mu.Lock()
	known := f.tokens[token]
	f.mu.Unlock()
	if !known {
		graphError(w, http.StatusBadRequest, "OAuthException", "Invalid OAuth access token.", 190)
		return
	}
	if !hmac.Equal([]byte(q.Get("appsecret_proof")), []byte(f.Proof(token))) {
		f.mu.Lock()
		f.badProofs++
		f.mu.Unlock()
		graphError(w, http.StatusBadRequest, "GraphMethodException", "Invalid appsecret_proof provided in the API argument", 100)
		return
	}
	answer := map[string]any{}
	for _, field := range strings.Split(q.Get("fields"), ",") {
		if v, ok := f.opts.User[field]; ok {
			answer[field] = v
		}
	}
	if _, ok := answer["id"]; !ok {
		answer["id"] = f.opts.User["id"]
	}
	f.mu.Lock()
	f.meCalls++
	f.mu.Unlock()
	writeJSON(w, http.StatusOK, answer)
}
