package web

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/usher-auth/usher"
	"github.com/usher-auth/usher/usertest"
)

// TestFederatedCookieAttributes: the binding cookie of an OpenID Connect
// sign-in is Lax and sent only to /user/federated/{name}; a SAML
// sign-in's is SameSite=None and Secure on an https site (the IdP posts
// cross-site), sent only to /user/saml/{name}, and Lax on plain-http
// localhost, where browsers refuse None without Secure.
func TestFederatedCookieAttributes(t *testing.T) {
	oidc, saml := &usertest.Provider{ID: "acme"}, &usertest.Provider{ID: "corp", KindName: usher.ProviderSAML}
	for _, c := range []struct {
		base     string
		p        usher.FederatedProvider
		path     string
		secure   bool
		sameSite http.SameSite
	}{
		{"https://site.example", oidc, "/user/federated/acme", true, http.SameSiteLaxMode},
		{"https://site.example", saml, "/user/saml/corp", true, http.SameSiteNoneMode},
		{"http://localhost:8080", oidc, "/user/federated/acme", false, http.SameSiteLaxMode},
		{"http://localhost:8080", saml, "/user/saml/corp", false, http.SameSiteLaxMode},
	} {
		svc := usertest.NewService(t, usher.Config{BaseURL: c.base}, usertest.NewSQLiteStore(t), nil)
		h := New(svc, Options{Logger: usertest.Discard})
		r := httptest.NewRequest("GET", "http://localhost:8080/user/federated/x/start", nil)
		ck := h.federatedCookie(r, c.p, "v", federatedMaxAge)
		if ck.Path != c.path || ck.Secure != c.secure || ck.SameSite != c.sameSite || !ck.HttpOnly || ck.MaxAge != 600 {
			t.Errorf("%s %s: %+v; want Path %s, Secure %v, SameSite %v, HttpOnly, Max-Age 600", c.base, c.p.Kind(), ck, c.path, c.secure, c.sameSite)
		}
	}
}
