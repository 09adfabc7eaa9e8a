package web_test

import (
	"encoding/json"
	"errors"
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

func TestTooDeep(t *testing.T) {
	for _, c := range []struct {
		body string
		want bool
	}{
		{`{"a":{"b":[1,2]}}`, false},
		{strings.Repeat("[", 16) + strings.Repeat("]", 16), false},
		{strings.Repeat("[", 17), true},
		{`{"a":"` + strings.Repeat("[", 100) + `"}`, false},   // brackets in a string
		{`{"a":"\"` + strings.Repeat("{", 100) + `"}`, false}, // after an escaped quote
		{`{"a":"\\"` + strings.Repeat(",{", 20), true},        // the string ended
		{strings.Repeat("[]", 1000), false},
	} {
		if got := web.TooDeep([]byte(c.body), 16); got != c.want {
			t.Errorf("TooDeep(%.40q) = %v, want %v", c.body, got, c.want)
		}
	}
}

// TestDeepJSONRefusedCheaply: a body nested 30,000 deep is refused as
// bad_request before the decoder sees it. The decoder's own error for it
// spells out the path to the depth where it stopped: 230 KB allocated a
// request (146 KB with the check), and a flood of them took the server's
// anonymous memory to 287 MB (66 MB with the check; docs/benchmarks.md).
// The error the decoder would give is a *json.SyntaxError; decode's must
// not wrap one.
func TestDeepJSONRefusedCheaply(t *testing.T) {
	e := newEnv(t, usher.Config{})
	// Under maxBody, so that the depth and not the size refuses it.
	body := strings.Repeat("[", 30_000) + strings.Repeat("]", 30_000)
	req := httptest.NewRequest("POST", "/user/api/login", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), `"bad_request"`) {
		t.Fatalf("status %d, body %s; want 400 bad_request", rec.Code, rec.Body)
	}
	req = httptest.NewRequest("POST", "/user/api/login", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	var v struct{ Email string }
	err := web.Decode(httptest.NewRecorder(), req, &v)
	var syntax *json.SyntaxError
	if err == nil || errors.As(err, &syntax) {
		t.Errorf("decode: %v; want a refusal before the decoder (no *json.SyntaxError)", err)
	}
}
