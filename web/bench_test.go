package web_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/usher-auth/usher"
	"github.com/usher-auth/usher/usertest"
	"github.com/usher-auth/usher/web"
)

// benchHandler returns a Handler over SQLite with one user logged in, the
// session token, and a Basic-auth guarded handler.
func benchHandler(b *testing.B, cfg usher.Config) (*web.Handler, string, http.Handler) {
	svc := usertest.NewService(b, cfg, usertest.NewSQLiteStore(b), nil)
	u := usertest.MustCreateUser(b, svc, "ann@example.com")
	sess, _, err := svc.LoginWithEmail(b.Context(), u.Email, usertest.Password, true, usher.Client{})
	if err != nil {
		b.Fatal(err)
	}
	h := web.New(svc, web.Options{Logger: usertest.Discard})
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	return h, sess.Token, h.AuthenticateUsers(ok)
}

// BenchmarkMe measures GET /user/api/me in-process (no network), with the
// session cache (the default) and without it (a query per request).
func BenchmarkMe(b *testing.B) {
	for _, bc := range []struct {
		name string
		ttl  int
	}{{"cached", 0}, {"uncached", -1}} {
		b.Run(bc.name, func(b *testing.B) {
			cfg := usher.Config{}
			if bc.ttl < 0 {
				cfg.SessionCacheTTL = -1
			}
			h, tok, _ := benchHandler(b, cfg)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					r := httptest.NewRequest("GET", "/user/api/me", nil)
					r.AddCookie(&http.Cookie{Name: "usher_session", Value: tok})
					w := httptest.NewRecorder()
					h.ServeHTTP(w, r)
					if w.Code != 200 {
						b.Fatalf("status %d", w.Code)
					}
				}
			})
		})
	}
}

// BenchmarkBasicAuth measures a request through AuthenticateUsers with the
// cache of successful checks (one hash, then none).
func BenchmarkBasicAuth(b *testing.B) {
	_, _, guarded := benchHandler(b, usher.Config{LoginRateLimit: -1})
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r := httptest.NewRequest("GET", "/api", nil)
			r.SetBasicAuth("ann@example.com", usertest.Password)
			w := httptest.NewRecorder()
			guarded.ServeHTTP(w, r)
			if w.Code != 200 {
				b.Fatalf("status %d", w.Code)
			}
		}
	})
}

// BenchmarkLoginPage measures GET /user/login in-process: language
// negotiation, the CSRF cookie and the template (English and German).
func BenchmarkLoginPage(b *testing.B) {
	h, _, _ := benchHandler(b, usher.Config{})
	for _, lang := range []string{"en", "de-DE,de;q=0.9"} {
		b.Run(lang[:2], func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					r := httptest.NewRequest("GET", "/user/login", nil)
					r.Header.Set("Accept-Language", lang)
					w := httptest.NewRecorder()
					h.ServeHTTP(w, r)
					if w.Code != 200 {
						b.Fatalf("status %d", w.Code)
					}
				}
			})
		})
	}
}
