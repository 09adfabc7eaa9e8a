package federatedtest_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/usher-auth/usher/federated/federatedtest"
)

// The transport sends a mapped host to its local server, keeping path and
// query, and refuses any other host but loopback: no test reaches the
// internet.
func TestTransport(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.URL.RequestURI())
	}))
	defer srv.Close()
	c := federatedtest.Client(map[string]string{"accounts.google.com": srv.URL})
	resp, err := c.Get("https://accounts.google.com/.well-known/openid-configuration?x=1")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "/.well-known/openid-configuration?x=1" {
		t.Errorf("the server saw %q", body)
	}
	if _, err := c.Get("https://example.com/"); err == nil || !strings.Contains(err.Error(), "no local server") {
		t.Errorf("an unmapped host: %v, want refused", err)
	}
	if resp, err := c.Get(srv.URL + "/direct"); err != nil {
		t.Errorf("a loopback host: %v", err)
	} else {
		resp.Body.Close()
	}
}
