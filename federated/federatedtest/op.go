package federatedtest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"testing"

	"golang.org/x/text/language"

	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"
)

// OP is a real OpenID Provider running in process: zitadel/oidc's op
// package with its example server's storage and login form. It does
// discovery, JWKS, the code flow with PKCE (S256) and nonce, user info,
// client_secret_basic and client_secret_post.
type OP struct {
	Server       *httptest.Server
	Issuer       string // the server's URL (http://127.0.0.1:port)
	ClientID     string
	ClientSecret string
}

// OPUser is a user who can log in at an OP.
type OPUser struct {
	ID, Username, Password string
	Email                  string
	EmailVerified          bool
	FirstName, LastName    string
}

// OPPassword is the password of OPUsers' users.
const OPPassword = "verysecure"

// OPUsers are NewOP's users: alice (subject id-alice), whose address the
// OP says it verified, and bob (id-bob), whose address it does not; both
// with OPPassword.
func OPUsers() []OPUser {
	return []OPUser{
		{ID: "id-alice", Username: "alice", Password: OPPassword, Email: "alice@example.com", EmailVerified: true, FirstName: "Alice", LastName: "Example"},
		{ID: "id-bob", Username: "bob", Password: OPPassword, Email: "bob@example.com", EmailVerified: false, FirstName: "Bob", LastName: "Example"},
	}
}

// NewOP starts an OP with OPUsers and one web client ("usher", with a
// secret) allowed to redirect to redirectURIs. It stops when the test
// ends.
func NewOP(t testing.TB, redirectURIs ...string) *OP {
	return NewOPWithUsers(t, OPUsers(), redirectURIs...)
}

// NewOPWithUsers is NewOP with other users.
func NewOPWithUsers(t testing.TB, users []OPUser, redirectURIs ...string) *OP {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	issuer := "http://" + srv.Listener.Addr().String()
	us := userStore{}
	for _, u := range users {
		us[u.ID] = &storage.User{
			ID: u.ID, Username: u.Username, Password: u.Password,
			FirstName: u.FirstName, LastName: u.LastName,
			Email: u.Email, EmailVerified: u.EmailVerified,
			PreferredLanguage: language.English,
		}
	}
	op := &OP{Server: srv, Issuer: issuer, ClientID: "usher", ClientSecret: "usher-op-secret"}
	// The clients map is this OP's own (storage.RegisterClients would
	// change a map shared by every OP in the process).
	clients := map[string]*storage.Client{
		op.ClientID: storage.WebClient(op.ClientID, op.ClientSecret, redirectURIs...),
	}
	stor := storage.NewStorageWithClients(us, clients)
	srv.Config.Handler = exampleop.SetupServer(issuer, stor, nil, false)
	srv.Start()
	t.Cleanup(srv.Close)
	return op
}

// userStore is the example storage's UserStore over a map.
type userStore map[string]*storage.User

func (s userStore) GetUserByID(id string) *storage.User { return s[id] }
func (s userStore) GetUserByUsername(name string) *storage.User {
	for _, u := range s {
		if u.Username == name {
			return u
		}
	}
	return nil
}
func (s userStore) ExampleClientID() string { return "service" }

// Hosts is the OP's host map (none needed: it is on a loopback address).
func (op *OP) Hosts() map[string]string { return nil }

var authRequestIDRE = regexp.MustCompile(`name="id" value="([^"]+)"`)

// Login plays the browser: it follows authURL to the OP's login form,
// logs in there as username with password, and follows the redirects
// until one goes to callback, which it returns as a request for
// FederatedProvider.Finish.
func (op *OP) Login(t testing.TB, browser *http.Client, authURL, username, password, callback string) *http.Request {
	t.Helper()
	resp := get(t, browser, authURL)
	for {
		loc, ok := redirect(t, resp)
		if !ok {
			break
		}
		resp = get(t, browser, loc)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("federatedtest: the OP's login page answered %d: %s", resp.StatusCode, body)
	}
	m := authRequestIDRE.FindSubmatch(body)
	if m == nil {
		t.Fatalf("federatedtest: no login form at %s: %s", resp.Request.URL, body)
	}
	form := url.Values{"id": {string(m[1])}, "username": {username}, "password": {password}}
	resp, err := browser.PostForm(op.Issuer+"/login/username", form)
	if err != nil {
		t.Fatalf("federatedtest: posting the OP's login form: %v", err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return followTo(t, browser, resp, callback)
}
