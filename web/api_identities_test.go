package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/usher-auth/usher"
	"github.com/usher-auth/usher/password"
	"github.com/usher-auth/usher/usertest"
	"github.com/usher-auth/usher/web"
)

// stubProvider is a test double of a configured identity provider: the
// identity API only needs its name and label (the real providers are
// tested in package federated).
type stubProvider struct{ name string }

func (p stubProvider) Name() string      { return p.name }
func (p stubProvider) Kind() string      { return "stub" }
func (p stubProvider) Label() string     { return "Stub SSO" }
func (p stubProvider) AllowSignup() bool { return false }
func (p stubProvider) AllowLogin() bool  { return true }
func (p stubProvider) Begin(context.Context, string) (string, string, error) {
	return "", "", usher.ErrFederatedRefused
}
func (p stubProvider) Finish(context.Context, *http.Request, string, usher.SeenFunc) (*usher.ExternalIdentity, error) {
	return nil, usher.ErrFederatedRefused
}

// TestIdentitiesAPI: GET /user/api/identities lists the user's own
// identities without their subjects; DELETE unlinks one of the user's own,
// never the last way to log in, nor someone else's.
func TestIdentitiesAPI(t *testing.T) {
	svc, err := usher.New(usher.Config{}, usher.Deps{Store: usertest.NewSQLiteStore(t), Passwords: usertest.FastHasher(),
		Policy: password.Policy{}, Logger: usertest.Discard, Providers: []usher.FederatedProvider{stubProvider{"stub"}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	srv := httptest.NewServer(web.New(svc, web.Options{Logger: testLogger(t)}))
	t.Cleanup(srv.Close)
	e := &env{t: t, srv: srv, svc: svc}

	ctx := t.Context()
	ann := usertest.MustCreateUser(t, svc, "ann@example.com")
	bob := usertest.MustCreateUser(t, svc, "bob@example.com")
	link := func(u *usher.User, sub, email string) *usher.Identity {
		id, err := svc.LinkIdentity(ctx, u.ID, &usher.ExternalIdentity{Provider: "stub", Issuer: "https://sso.example", Subject: sub, Email: email}, usher.Client{})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	annID := link(ann, "secret-subject-ann", "ann@sso.example")
	bobID := link(bob, "secret-subject-bob", "bob@sso.example")

	if r := e.do(e.browser(), "GET", "/user/api/identities", nil); r.status != 401 || r.errCode() != "login_required" {
		t.Fatalf("logged out: %d %s", r.status, r.raw)
	}
	b := e.browser()
	if r := e.do(b, "POST", "/user/api/login", map[string]any{"email": "ann@example.com", "password": pw}); r.status != 200 {
		t.Fatalf("login: %d %s", r.status, r.raw)
	}
	r := e.do(b, "GET", "/user/api/identities", nil)
	list, _ := r.body["identities"].([]any)
	if r.status != 200 || len(list) != 1 {
		t.Fatalf("list: %d %s", r.status, r.raw)
	}
	got := list[0].(map[string]any)
	if got["id"] != annID.ID || got["provider"] != "stub" || got["provider_label"] != "Stub SSO" || got["issuer"] != "https://sso.example" ||
		got["email"] != "ann@sso.example" || got["linked_at"] == nil || got["last_used_at"] != nil {
		t.Errorf("identity: %v", got)
	}
	if strings.Contains(r.raw, "secret-subject") {
		t.Errorf("the list shows a subject: %s", r.raw)
	}

	if r := e.do(b, "DELETE", "/user/api/identities/"+bobID.ID, nil); r.status != 404 || r.errCode() != "not_found" {
		t.Errorf("unlinking someone else's identity: %d %s", r.status, r.raw)
	}
	if ids, _ := svc.Identities(ctx, bob.ID); len(ids) != 1 {
		t.Errorf("bob's identities: %v", ids)
	}
	if r := e.do(b, "DELETE", "/user/api/identities/"+annID.ID, nil); r.status != 200 || r.body["ok"] != true {
		t.Fatalf("unlink: %d %s", r.status, r.raw)
	}
	if r := e.do(b, "GET", "/user/api/identities", nil); r.status != 200 || !strings.Contains(r.raw, `"identities":[]`) {
		t.Errorf("list after unlinking: %d %s", r.status, r.raw)
	}

	// A user with no password keeps their last identity: 409.
	cat, err := svc.CreateUser(ctx, usher.NewUser{Email: "cat@example.com", Enabled: true, Confirmed: true})
	if err != nil {
		t.Fatal(err)
	}
	catID := link(cat, "secret-subject-cat", "")
	sess, err := svc.ForceLogin(ctx, cat.ID, false, usher.Client{})
	if err != nil {
		t.Fatal(err)
	}
	r = e.do(http.DefaultClient, "DELETE", "/user/api/identities/"+catID.ID, nil, "Authorization", "Bearer "+sess.Token)
	if r.status != 409 || r.errCode() != "last_login_method" || !strings.Contains(r.raw, "only way to log in") {
		t.Errorf("unlinking the last way to log in: %d %s", r.status, r.raw)
	}
}
