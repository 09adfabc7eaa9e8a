package web_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/usher-auth/usher"
	"github.com/usher-auth/usher/web"
)

// countingBody is an endless request body that counts what is read of it.
type countingBody struct{ n int64 }

func (b *countingBody) Read(p []byte) (int, error) {
	if b.n >= 8<<20 {
		return 0, io.EOF
	}
	for i := range p {
		p[i] = 'a'
	}
	copy(p, "next=%2F&x=")
	b.n += int64(len(p))
	return len(p), nil
}

func (b *countingBody) Close() error { return nil }

// TestRequestBodiesBounded sends an 8 MiB body to every route, as a form
// and as JSON, and checks that no handler reads more than the bound: a
// flood of large requests cannot make the server hold megabytes each.
func TestRequestBodiesBounded(t *testing.T) {
	e := newEnv(t, usher.Config{})
	param := regexp.MustCompile(`\{[^}]*\}`)
	for _, pattern := range web.Routes() {
		method, path, ok := strings.Cut(pattern, " ")
		if !ok {
			method, path = "POST", pattern
		}
		if method == "GET" || method == "HEAD" {
			continue
		}
		path = "/user" + param.ReplaceAllString(strings.TrimSuffix(path, "{$}"), "x")
		for _, ct := range []string{"application/x-www-form-urlencoded", "application/json"} {
			body := &countingBody{}
			req := httptest.NewRequest(method, path, nil)
			req.Body = body
			req.ContentLength = -1
			req.Header.Set("Content-Type", ct)
			rec := httptest.NewRecorder()
			e.h.ServeHTTP(rec, req)
			if body.n > web.MaxRequestBody+64<<10 {
				t.Errorf("%s %s (%s): the handler read %d bytes of the body; the bound is %d", method, path, ct, body.n, web.MaxRequestBody)
			}
			if rec.Code >= 500 && rec.Code != http.StatusServiceUnavailable {
				t.Errorf("%s %s (%s): status %d", method, path, ct, rec.Code)
			}
		}
	}
}
