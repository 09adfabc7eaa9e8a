package mail

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/usher-auth/usher"
)

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a logger.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func devMailer(t *testing.T, o Options) (*Mailer, *syncBuffer) {
	t.Helper()
	var logs syncBuffer
	o.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	m := mustNew(t, o)
	if m.Mailbox() == nil {
		t.Fatal("Mailbox() = nil without SMTP")
	}
	return m, &logs
}

func TestMailboxKeepsMessages(t *testing.T) {
	m, logs := devMailer(t, Options{AppName: "Acme", BaseURL: "https://acme.test"})
	ctx := context.Background()
	if err := m.Send(ctx, &usher.Message{Kind: usher.MailResetPassword, To: "bob@example.test",
		Vars: map[string]string{"link": "/user/reset-password/tok1", "expires_in": "1 hour"}}); err != nil {
		t.Fatal(err)
	}
	if err := m.Send(ctx, &usher.Message{Kind: usher.MailPasswordChanged, To: "Bob <bob@example.test>"}); err != nil {
		t.Fatal(err)
	}
	if err := m.Send(ctx, &usher.Message{Kind: "nope", To: "bob@example.test"}); err == nil {
		t.Error("Send of an unknown kind succeeded")
	}

	got := m.Mailbox().Messages()
	if len(got) != 2 {
		t.Fatalf("%d messages, want 2", len(got))
	}
	newest, oldest := got[0], got[1]
	if newest.ID != 2 || newest.Kind != usher.MailPasswordChanged || oldest.ID != 1 {
		t.Errorf("not newest first: %+v", got)
	}
	if oldest.To != "bob@example.test" || oldest.From != `"Acme Accounts" <no-reply@localhost>` ||
		oldest.Subject != "Acme - Reset your password" || oldest.At.IsZero() {
		t.Errorf("oldest = %+v", oldest)
	}
	if !strings.Contains(oldest.Text, "https://acme.test/user/reset-password/tok1") ||
		!strings.Contains(oldest.HTML, `href="https://acme.test/user/reset-password/tok1"`) {
		t.Errorf("message parts lack the link: %+v", oldest)
	}
	if want := []string{"https://acme.test/user/reset-password/tok1", "https://acme.test"}; !slices.Equal(oldest.Links, want) {
		t.Errorf("Links = %q, want %q", oldest.Links, want)
	}
	if want := []string{"https://acme.test"}; !slices.Equal(newest.Links, want) {
		t.Errorf("Links = %q, want %q", newest.Links, want)
	}
	if !strings.Contains(logs.String(), "url=https://acme.test/user/reset-password/tok1") {
		t.Errorf("the link was not logged:\n%s", logs)
	}

	// Callers get copies.
	got[1].Links[0] = "changed"
	if r, _ := m.Mailbox().Message(1); r.Links[0] == "changed" {
		t.Error("Messages shares its Links with the mailbox")
	}
}

func TestMailboxKeepsTheLast200(t *testing.T) {
	m, _ := devMailer(t, Options{})
	for i := range 205 {
		if err := m.Send(context.Background(), &usher.Message{Kind: usher.MailLoginLink, To: "bob@example.test",
			Vars: map[string]string{"link": "https://acme.test/l/" + strconv.Itoa(i)}}); err != nil {
			t.Fatal(err)
		}
	}
	got := m.Mailbox().Messages()
	if len(got) != 200 || got[0].ID != 205 || got[199].ID != 6 || got[0].Links[0] != "https://acme.test/l/204" {
		t.Errorf("%d messages, IDs %d..%d", len(got), got[0].ID, got[len(got)-1].ID)
	}
	if _, ok := m.Mailbox().Message(5); ok {
		t.Error("message 5 is still kept")
	}
}

func TestMailboxConcurrent(t *testing.T) {
	m, _ := devMailer(t, Options{})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 10 {
				_ = m.Send(context.Background(), &usher.Message{Kind: usher.MailRegistered, To: "bob@example.test"})
				m.Mailbox().Messages()
				rec := httptest.NewRecorder()
				m.Mailbox().ServeHTTP(rec, httptest.NewRequest("GET", "/?id=1", nil))
			}
		})
	}
	wg.Wait()
	if n := len(m.Mailbox().Messages()); n != 80 {
		t.Errorf("%d messages, want 80", n)
	}
}

func get(t *testing.T, h http.Handler, method, target string) (*http.Response, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, target, nil))
	res := rec.Result()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

func TestMailboxHandler(t *testing.T) {
	m, _ := devMailer(t, Options{AppName: `Evil <script>alert("app")</script>`})
	box := m.Mailbox()

	res, body := get(t, box, "GET", "/dev/mail")
	if res.StatusCode != 200 || !strings.Contains(body, "No messages yet.") {
		t.Errorf("empty index: %d\n%s", res.StatusCode, body)
	}

	if err := m.Send(context.Background(), &usher.Message{Kind: usher.MailConfirmEmail, To: "bob@example.test",
		Vars: map[string]string{
			"link":     `https://acme.test/c/tok?a=1&b="><script>alert(2)</script>`,
			"username": `<img src=x onerror=alert(3)>`,
		}}); err != nil {
		t.Fatal(err)
	}

	checkSafe := func(t *testing.T, res *http.Response, body string) {
		t.Helper()
		csp := res.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "script-src") {
			t.Errorf("CSP = %q", csp)
		}
		for h, want := range map[string]string{
			"X-Content-Type-Options": "nosniff",
			"Referrer-Policy":        "no-referrer",
			"Cache-Control":          "no-store",
			"Content-Type":           "text/html; charset=utf-8",
		} {
			if got := res.Header.Get(h); got != want {
				t.Errorf("%s = %q, want %q", h, got, want)
			}
		}
		for _, bad := range []string{"<script", "<img", "alert(\"app\")"} {
			if strings.Contains(body, bad) {
				t.Errorf("page contains %q unescaped:\n%s", bad, body)
			}
		}
	}

	res, body = get(t, box, "GET", "/dev/mail")
	checkSafe(t, res, body)
	if !strings.Contains(body, `<a href="?id=1">Evil &lt;script&gt;alert(&#34;app&#34;)&lt;/script&gt; - Confirm your email address</a>`) {
		t.Errorf("index lacks the escaped subject:\n%s", body)
	}

	res, body = get(t, box, "GET", "/dev/mail?id=1")
	checkSafe(t, res, body)
	if res.StatusCode != 200 {
		t.Fatalf("status %d", res.StatusCode)
	}
	if !strings.Contains(body, `<iframe sandbox="allow-popups allow-popups-to-escape-sandbox"`) ||
		!strings.Contains(body, `srcdoc="&lt;base target=&#34;_blank&#34;&gt;&lt;!DOCTYPE html&gt;`) {
		t.Errorf("HTML part is not in an escaped, sandboxed srcdoc:\n%s", body)
	}
	if strings.Contains(body, "allow-scripts") || strings.Contains(body, "allow-same-origin") {
		t.Error("frame sandbox lets scripts run")
	}
	if !strings.Contains(body, "<pre>Hello &lt;img src=x onerror=alert(3)&gt;,") {
		t.Errorf("text part missing or unescaped:\n%s", body)
	}
	if !strings.Contains(body, `href="https://acme.test/c/tok?a=1&amp;b=%22%3e%3cscript%3ealert%282%29%3c/script%3e"`) {
		t.Errorf("link missing or unescaped:\n%s", body)
	}

	for _, target := range []string{"/dev/mail?id=2", "/dev/mail?id=x", "/dev/mail?id=-1"} {
		if res, _ := get(t, box, "GET", target); res.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: status %d, want 404", target, res.StatusCode)
		}
	}
	if res, _ := get(t, box, "POST", "/dev/mail"); res.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: status %d, want 405", res.StatusCode)
	}
	if res, body := get(t, box, "HEAD", "/dev/mail?id=1"); res.StatusCode != 200 || body != "" {
		t.Errorf("HEAD: status %d, body %q", res.StatusCode, body)
	}
}

func TestLocalRequest(t *testing.T) {
	tests := []struct {
		remote string
		header string
		want   bool
	}{
		{"127.0.0.1:5000", "", true},
		{"127.10.0.1:5000", "", true},
		{"[::1]:5000", "", true},
		{"[::ffff:127.0.0.1]:5000", "", true},
		{"127.0.0.1:5000", "X-Forwarded-For", false},
		{"127.0.0.1:5000", "Forwarded", false},
		{"127.0.0.1:5000", "X-Real-Ip", false},
		{"192.0.2.1:5000", "", false},
		{"[2001:db8::1]:5000", "", false},
		{"0.0.0.0:5000", "", false},
		{"localhost:5000", "", false},
		{"", "", false},
		{"garbage", "", false},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tt.remote
		if tt.header != "" {
			r.Header.Set(tt.header, "")
		}
		if got := LocalRequest(r); got != tt.want {
			t.Errorf("LocalRequest(%q, header %q) = %v, want %v", tt.remote, tt.header, got, tt.want)
		}
	}
}
