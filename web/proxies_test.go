package web_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/usher-auth/usher"
	"github.com/usher-auth/usher/usertest"
	"github.com/usher-auth/usher/web"
)

// TestClientAddressOnlyFromTrustedProxies: the address in client_ip_header
// is believed only when the request came from a trusted proxy (by default
// loopback and private networks), and with trusted_proxies listed, a chain
// of them is skipped from the right, so that what a client writes into
// X-Forwarded-For itself never counts. The address is the one the log-in
// records on its session.
func TestClientAddressOnlyFromTrustedProxies(t *testing.T) {
	tests := []struct {
		name, proxies, remote, header, xff, want string
	}{
		{"loopback proxy", "", "127.0.0.1:5000", "X-Forwarded-For", "198.51.100.20", "198.51.100.20"},
		{"private proxy", "", "10.1.2.3:5000", "X-Forwarded-For", "198.51.100.20", "198.51.100.20"},
		{"IPv6 loopback proxy", "", "[::1]:5000", "X-Forwarded-For", "2001:db8::7", "2001:db8::7"},
		{"public peer is not a proxy", "", "203.0.113.9:5000", "X-Forwarded-For", "198.51.100.20", "203.0.113.9"},
		{"one proxy: the client's own entries do not count", "", "127.0.0.1:5000", "X-Forwarded-For", "1.1.1.1, 198.51.100.20", "198.51.100.20"},
		{"garbage in the header", "", "127.0.0.1:5000", "X-Forwarded-For", "not an address", "127.0.0.1"},
		{"X-Real-IP", "", "127.0.0.1:5000", "X-Real-IP", "198.51.100.20", "198.51.100.20"},
		{"listed public proxy", "203.0.113.0/24", "203.0.113.9:5000", "X-Forwarded-For", "198.51.100.20", "198.51.100.20"},
		{"listed: loopback no longer trusted", "203.0.113.0/24", "127.0.0.1:5000", "X-Forwarded-For", "198.51.100.20", "127.0.0.1"},
		{"chain of listed proxies", "203.0.113.0/24, 192.0.2.44", "203.0.113.9:5000", "X-Forwarded-For", "1.1.1.1, 198.51.100.20, 192.0.2.44, 203.0.113.5", "198.51.100.20"},
		{"chain: the client wrote a proxy's address", "203.0.113.0/24", "203.0.113.9:5000", "X-Forwarded-For", "203.0.113.77, 198.51.100.20", "198.51.100.20"},
		{"all entries are proxies", "203.0.113.0/24", "203.0.113.9:5000", "X-Forwarded-For", "203.0.113.1, 203.0.113.2", "203.0.113.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, svc := newProxiedHandler(t, "https://auth.example.com", web.Options{ClientIPHeader: tt.header, TrustedProxies: tt.proxies})
			u := usertest.MustCreateUser(t, svc, "ann@example.com")
			w := proxiedFrom(h, tt.remote, "POST", "/user/api/login", `{"email":"ann@example.com","password":"`+pw+`"}`, tt.header, tt.xff)
			if w.Code != 200 {
				t.Fatalf("login: %d %s", w.Code, w.Body)
			}
			list, err := svc.ListSessions(context.Background(), u.ID)
			if err != nil || len(list) != 1 {
				t.Fatalf("sessions: %v %v", list, err)
			}
			if list[0].IP != tt.want {
				t.Errorf("client address %q; want %q", list[0].IP, tt.want)
			}
		})
	}
}

// TestSpoofedAddressesShareTheBudget: a client on the Internet that writes
// a new X-Forwarded-For on every attempt, reaching Usher directly, does
// not get a new log-in budget each time.
func TestSpoofedAddressesShareTheBudget(t *testing.T) {
	svc := usertest.NewService(t, usher.Config{BaseURL: "https://auth.example.com", LoginRateLimit: 2}, usertest.NewSQLiteStore(t), usertest.NewClock())
	h := web.New(svc, web.Options{ClientIPHeader: "X-Forwarded-For", Logger: testLogger(t)})
	var codes []int
	for i := range 4 {
		w := proxiedFrom(h, "203.0.113.9:5000", "POST", "/user/api/login", `{"email":"nobody@example.com","password":"wrong password"}`,
			"X-Forwarded-For", "198.51.100."+string(rune('1'+i)))
		codes = append(codes, w.Code)
	}
	if codes[2] != 429 || codes[3] != 429 {
		t.Errorf("answers %v; want the third and fourth 429", codes)
	}
}

// TestForwardedHeadersFromUntrustedPeer: with trust_forwarded_headers,
// X-Forwarded-Proto still counts only from a trusted proxy.
func TestForwardedHeadersFromUntrustedPeer(t *testing.T) {
	for _, remote := range []string{"127.0.0.1:5000", "203.0.113.9:5000"} {
		h, svc := newProxiedHandler(t, "http://127.0.0.1:8080", web.Options{TrustForwardedHeaders: true})
		usertest.MustCreateUser(t, svc, "ann@example.com")
		w := proxiedFrom(h, remote, "POST", "/user/api/login", `{"email":"ann@example.com","password":"`+pw+`"}`, "X-Forwarded-Proto", "https")
		want := remote == "127.0.0.1:5000"
		if c := cookie(w.Header(), "usher_session"); c == nil || c.Secure != want {
			t.Errorf("from %s: cookie %+v; want Secure=%v", remote, c, want)
		}
	}
}

// TestUntrustedProxyWarning: client_ip_header arriving from a peer that is
// not a trusted proxy is logged once, with the peer, so that an operator
// whose proxy has a public address learns to list it.
func TestUntrustedProxyWarning(t *testing.T) {
	var buf usertest.LogBuffer
	h, _ := newProxiedHandler(t, "https://auth.example.com", web.Options{
		ClientIPHeader: "X-Forwarded-For",
		Logger:         slog.New(slog.NewTextHandler(&buf, nil)),
	})
	for range 3 {
		proxiedFrom(h, "127.0.0.1:5000", "GET", "/user/login", "", "X-Forwarded-For", "198.51.100.20")
	}
	if strings.Contains(buf.String(), "trusted_proxies") {
		t.Errorf("warning for a trusted proxy:\n%s", buf.String())
	}
	for range 3 {
		proxiedFrom(h, "203.0.113.9:5000", "GET", "/user/login", "", "X-Forwarded-For", "198.51.100.20")
	}
	if n := strings.Count(buf.String(), "list it in trusted_proxies"); n != 1 || !strings.Contains(buf.String(), "203.0.113.9") {
		t.Errorf("%d warnings; want 1 naming the peer:\n%s", n, buf.String())
	}
}

func TestParseTrustedProxies(t *testing.T) {
	list, err := web.ParseTrustedProxies(" 10.0.0.0/8, 192.0.2.7 2001:db8::/32,::ffff:198.51.100.1,")
	if err != nil || len(list) != 4 {
		t.Fatalf("%v %v", list, err)
	}
	if got := list[3].String(); got != "198.51.100.1/32" {
		t.Errorf("mapped IPv4 address: %s", got)
	}
	for _, bad := range []string{"proxy.example.com", "10.0.0.0/33", "fe80::1%eth0", "10.0.0.1:80"} {
		if _, err := web.ParseTrustedProxies(bad); err == nil || !strings.Contains(err.Error(), "trusted_proxies") {
			t.Errorf("%q: %v; want an error naming trusted_proxies", bad, err)
		}
	}
}

// TestVerifyHandsOnAppCookiesOnly: forward auth's 200 carries the
// request's cookies without Usher's tokens as Cookie, each other cookie as
// sent, so that a proxy copying it onto the request it passes on
// (Traefik's authResponseHeaders) never hands the app a session token;
// with only Usher's cookies there is no Cookie at all.
func TestVerifyHandsOnAppCookiesOnly(t *testing.T) {
	h, svc := newProxiedHandler(t, "https://app.example.com", web.Options{})
	u := usertest.MustCreateUser(t, svc, "ann@example.com")
	sess, _, err := svc.LoginWithEmail(context.Background(), u.Email, pw, true, usher.Client{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ cookie, want string }{
		{"app=1; usher_session=" + sess.Token + "; cart=a b c; usher_session_remember=x; usher_session_lang=fr", "app=1; cart=a b c; usher_session_lang=fr"},
		{"usher_session=" + sess.Token + ";usher_session_mfa_device=d; usher_session_federated=f; usher_session_mfa_pending=p", ""},
		{"usher_session=" + sess.Token + "; usher_sessionx=keep; theme=\"dark\"", "usher_sessionx=keep; theme=\"dark\""},
	} {
		w := proxied(h, "GET", "/user/api/verify", "", "Cookie", tc.cookie)
		if w.Code != 200 {
			t.Fatalf("verify: %d", w.Code)
		}
		if got := w.Header().Values("Cookie"); tc.want == "" && len(got) != 0 || tc.want != "" && (len(got) != 1 || got[0] != tc.want) {
			t.Errorf("Cookie: %q; want %q", got, tc.want)
		}
		if strings.Contains(strings.Join(w.Header().Values("Cookie"), ";"), sess.Token) {
			t.Error("the session token is in the answer")
		}
	}
}
