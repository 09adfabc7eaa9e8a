// Package federatedtest helps test federated sign-in without the
// internet: an http.RoundTripper that sends the real providers' hosts
// (accounts.google.com, login.microsoftonline.com, graph.facebook.com...)
// to local test servers, so tests keep the production URLs and issuer
// strings; a real OpenID Provider in process (zitadel/oidc's op); hostile
// OpenID Connect providers (Google-, Microsoft- or generically shaped)
// whose ID tokens each test sets; and a fake Facebook whose Graph API
// refuses calls without a correct appsecret_proof.
//
// Other packages' tests import it; nothing else should.
package federatedtest

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// Transport sends each request for a host in Hosts to the local server
// named there, keeping the path and query, through Base (nil:
// http.DefaultTransport). Requests to a loopback host go as they are;
// any other host is an error, so a test never reaches the internet.
type Transport struct {
	// Hosts maps a host, as in URLs ("accounts.google.com"), to a local
	// server's base URL ("http://127.0.0.1:41234").
	Hosts map[string]string
	Base  http.RoundTripper
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(r *http.Request) (*http.Response, error) {
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	if to, ok := t.Hosts[r.URL.Host]; ok {
		u, err := url.Parse(to)
		if err != nil {
			return nil, err
		}
		r = r.Clone(r.Context())
		r.URL.Scheme, r.URL.Host, r.Host = u.Scheme, u.Host, u.Host
		return base.RoundTrip(r)
	}
	host := r.URL.Hostname()
	if ip := net.ParseIP(host); host == "localhost" || (ip != nil && ip.IsLoopback()) {
		return base.RoundTrip(r)
	}
	if r.Body != nil {
		r.Body.Close()
	}
	return nil, fmt.Errorf("federatedtest: no local server for host %q", r.URL.Host)
}

// Merge joins host maps.
func Merge(maps ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range maps {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// Client is an http.Client for the server side of a sign-in (discovery,
// keys, tokens, user info): it goes to the local servers of hosts.
func Client(hosts map[string]string) *http.Client {
	return &http.Client{Transport: &Transport{Hosts: hosts}}
}

// Browser is an http.Client standing in for the user's browser: a cookie
// jar, the local servers of hosts, and redirects not followed (Follow and
// OP.Login follow them, stopping at the relying party's callback).
func Browser(hosts map[string]string) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{
		Transport:     &Transport{Hosts: hosts},
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Follow requests start with browser and follows redirects until one
// goes to an address beginning with callback; it returns that request,
// ready to hand to FederatedProvider.Finish. A page that is not a
// redirect before then fails the test.
func Follow(t testing.TB, browser *http.Client, start, callback string) *http.Request {
	t.Helper()
	resp := get(t, browser, start)
	return followTo(t, browser, resp, callback)
}

// followTo follows resp's redirects to callback.
func followTo(t testing.TB, browser *http.Client, resp *http.Response, callback string) *http.Request {
	t.Helper()
	for range 20 {
		loc, ok := redirect(t, resp)
		if !ok {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 2000))
			t.Fatalf("federatedtest: %s %s answered %d, not a redirect to %s: %s", resp.Request.Method, resp.Request.URL, resp.StatusCode, callback, body)
		}
		if strings.HasPrefix(loc, callback) {
			return httptest.NewRequest(http.MethodGet, loc, nil)
		}
		resp = get(t, browser, loc)
	}
	t.Fatalf("federatedtest: too many redirects before %s", callback)
	return nil
}

// redirect is resp's Location, resolved against its request, and whether
// resp is a redirect. It closes resp's body when it is.
func redirect(t testing.TB, resp *http.Response) (string, bool) {
	t.Helper()
	if resp.StatusCode < 300 || resp.StatusCode > 399 {
		return "", false
	}
	resp.Body.Close()
	u, err := resp.Location()
	if err != nil {
		t.Fatalf("federatedtest: redirect without a Location: %v", err)
	}
	return u.String(), true
}

func get(t testing.TB, c *http.Client, u string) *http.Response {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatalf("federatedtest: GET %s: %v", u, err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}
