package mail

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"io"
	"log"
	"math/big"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/jhillyerd/enmime/v2"

	"github.com/usher-auth/usher"
)

// A real SMTP server (github.com/emersion/go-smtp) run by the tests.

type serverConfig struct {
	startTLS *tls.Config // advertise STARTTLS with this config
	implicit *tls.Config // TLS from the first byte (smtps)
	user     string      // require AUTH PLAIN with user and pass
	pass     string
}

type delivery struct {
	from     string
	to       []string
	data     []byte
	tls      bool
	authUser string
	authPass string
}

type testServer struct {
	host, port string
	cfg        serverConfig
	got        chan delivery

	mu       sync.Mutex
	attempts []authAttempt
}

type authAttempt struct{ user, pass string }

func (s *testServer) authAttempts() []authAttempt {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]authAttempt(nil), s.attempts...)
}

// url returns the SMTP URL for this server with the given scheme and
// user information ("" for none).
func (s *testServer) url(scheme, userinfo string) string {
	if userinfo != "" {
		userinfo += "@"
	}
	return scheme + "://" + userinfo + net.JoinHostPort(s.host, s.port)
}

func startServer(t *testing.T, cfg serverConfig) *testServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{cfg: cfg, got: make(chan delivery, 10)}
	ts.host, ts.port, _ = net.SplitHostPort(ln.Addr().String())
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &session{srv: ts, conn: c}, nil
	}))
	srv.Domain = "localhost"
	srv.ReadTimeout = 10 * time.Second
	srv.WriteTimeout = 10 * time.Second
	srv.MaxMessageBytes = 1 << 20
	srv.ErrorLog = log.New(io.Discard, "", 0)
	srv.TLSConfig = cfg.startTLS
	if cfg.implicit != nil {
		ln = tls.NewListener(ln, cfg.implicit)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ts
}

// next returns the next message the server accepted.
func (s *testServer) next(t *testing.T) delivery {
	t.Helper()
	select {
	case d := <-s.got:
		return d
	case <-time.After(10 * time.Second):
		t.Fatal("no message reached the SMTP server")
		return delivery{}
	}
}

func (s *testServer) none(t *testing.T) {
	t.Helper()
	select {
	case d := <-s.got:
		t.Fatalf("the SMTP server received a message it should not have: %s", d.data)
	default:
	}
}

type session struct {
	srv  *testServer
	conn *smtp.Conn
	user string
	pass string
	auth bool
	from string
	to   []string
}

func (s *session) AuthMechanisms() []string {
	if s.srv.cfg.user == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (s *session) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, user, pass string) error {
		s.srv.mu.Lock()
		s.srv.attempts = append(s.srv.attempts, authAttempt{user, pass})
		s.srv.mu.Unlock()
		if user != s.srv.cfg.user || pass != s.srv.cfg.pass {
			return smtp.ErrAuthFailed
		}
		s.user, s.pass, s.auth = user, pass, true
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.srv.cfg.user != "" && !s.auth {
		return smtp.ErrAuthRequired
	}
	s.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	_, isTLS := s.conn.TLSConnectionState()
	s.srv.got <- delivery{from: s.from, to: s.to, data: b, tls: isTLS, authUser: s.user, authPass: s.pass}
	return nil
}

func (s *session) Reset()        { s.from, s.to = "", nil }
func (s *session) Logout() error { return nil }

// selfSigned returns a server certificate for 127.0.0.1 and localhost,
// and a pool that trusts it.
func selfSigned(t *testing.T) (*tls.Config, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "usher test SMTP server"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}, pool
}

func mustNew(t *testing.T, o Options) *Mailer {
	t.Helper()
	m, err := New(o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return m
}

func parseMessage(t *testing.T, data []byte) *enmime.Envelope {
	t.Helper()
	env, err := enmime.ReadEnvelope(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("enmime: %v\n%s", err, data)
	}
	for _, e := range env.Errors {
		t.Errorf("enmime: %v", e)
	}
	return env
}

const testLink = "https://acme.test/user/confirm-email/tok-123?x=1&y=2"

func confirmMessage() *usher.Message {
	return &usher.Message{
		ID:        42,
		Kind:      usher.MailConfirmEmail,
		To:        "bob@example.test",
		CreatedAt: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC),
		Vars: map[string]string{
			"link":       testLink,
			"username":   "<script>alert(1)</script>",
			"expires_in": "48 hours",
		},
	}
}

// checkConfirmMessage checks a received confirm_email message, end to end.
func checkConfirmMessage(t *testing.T, d delivery) {
	t.Helper()
	if d.from != "no-reply@acme.test" {
		t.Errorf("MAIL FROM = %q, want no-reply@acme.test", d.from)
	}
	if len(d.to) != 1 || d.to[0] != "bob@example.test" {
		t.Errorf("RCPT TO = %q, want [bob@example.test]", d.to)
	}
	env := parseMessage(t, d.data)
	from, err := env.AddressList("From")
	if err != nil || len(from) != 1 || from[0].Name != "Acme Accounts" || from[0].Address != "no-reply@acme.test" {
		t.Errorf("From = %v (%v), want \"Acme Accounts\" <no-reply@acme.test>", from, err)
	}
	to, err := env.AddressList("To")
	if err != nil || len(to) != 1 || to[0].Address != "bob@example.test" {
		t.Errorf("To = %v (%v), want bob@example.test", to, err)
	}
	if got, want := env.GetHeader("Subject"), "Acme - Confirm your email address"; got != want {
		t.Errorf("Subject = %q, want %q", got, want)
	}
	if got := env.GetHeader("Auto-Submitted"); got != "auto-generated" {
		t.Errorf("Auto-Submitted = %q", got)
	}
	if got := env.GetHeader("Message-Id"); !strings.Contains(got, "usher.42.") || !strings.HasSuffix(got, "@acme.test>") {
		t.Errorf("Message-ID = %q", got)
	}
	if !strings.Contains(env.Text, testLink) {
		t.Errorf("text part lacks the link:\n%s", env.Text)
	}
	if !strings.Contains(env.Text, "Hello <script>alert(1)</script>,") {
		t.Errorf("text part lacks the (unescaped, plain-text) greeting:\n%s", env.Text)
	}
	escapedLink := strings.ReplaceAll(testLink, "&", "&amp;")
	if !strings.Contains(env.HTML, `href="`+escapedLink+`"`) || !strings.Contains(env.HTML, ">"+escapedLink+"<") {
		t.Errorf("HTML part lacks the link as href and as text:\n%s", env.HTML)
	}
	if strings.Contains(env.HTML, "<script") || !strings.Contains(env.HTML, "Hello &lt;script&gt;alert(1)&lt;/script&gt;,") {
		t.Errorf("HTML part does not escape the username:\n%s", env.HTML)
	}
	if strings.Contains(string(d.data), "User-Agent") || strings.Contains(string(d.data), "X-Mailer") {
		t.Errorf("message advertises its mailer:\n%s", d.data)
	}
}

func acmeOptions(smtpURL string) Options {
	return Options{SMTPURL: smtpURL, From: "no-reply@acme.test", AppName: "Acme", BaseURL: "https://acme.test"}
}

func TestSendPlain(t *testing.T) {
	srv := startServer(t, serverConfig{})
	m := mustNew(t, acmeOptions(srv.url("smtp+insecure", "")))
	if m.Mailbox() != nil {
		t.Error("Mailbox() != nil with SMTP")
	}
	if err := m.Send(context.Background(), confirmMessage()); err != nil {
		t.Fatal(err)
	}
	d := srv.next(t)
	if d.tls {
		t.Error("smtp+insecure used TLS")
	}
	checkConfirmMessage(t, d)
}

func TestSendStartTLS(t *testing.T) {
	serverTLS, roots := selfSigned(t)
	srv := startServer(t, serverConfig{startTLS: serverTLS})
	o := acmeOptions(srv.url("smtp", ""))
	o.TLSConfig = &tls.Config{RootCAs: roots}
	m := mustNew(t, o)
	if err := m.Send(context.Background(), confirmMessage()); err != nil {
		t.Fatal(err)
	}
	d := srv.next(t)
	if !d.tls {
		t.Error("message was not sent over TLS")
	}
	checkConfirmMessage(t, d)
}

func TestSendStartTLSUntrustedCertificate(t *testing.T) {
	serverTLS, _ := selfSigned(t)
	srv := startServer(t, serverConfig{startTLS: serverTLS})
	m := mustNew(t, acmeOptions(srv.url("smtp", ""))) // system roots only
	err := m.Send(context.Background(), confirmMessage())
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("Send with an untrusted certificate: err = %v, want a certificate error", err)
	}
	srv.none(t)
}

func TestSendStartTLSRequired(t *testing.T) {
	// smtp:// must not fall back to clear text when the server (or a man
	// in the middle) does not offer STARTTLS.
	srv := startServer(t, serverConfig{})
	m := mustNew(t, acmeOptions(srv.url("smtp", "")))
	err := m.Send(context.Background(), confirmMessage())
	if err == nil || !strings.Contains(err.Error(), "STARTTLS") {
		t.Fatalf("Send to a server without STARTTLS: err = %v, want a STARTTLS error", err)
	}
	srv.none(t)
}

func TestSendAuthPlain(t *testing.T) {
	const user, pass = "bob@acme.test", "p@ss/w:rd?#%"
	serverTLS, roots := selfSigned(t)
	srv := startServer(t, serverConfig{startTLS: serverTLS, user: user, pass: pass})
	o := acmeOptions(srv.url("smtp", "bob%40acme.test:p%40ss%2Fw%3Ard%3F%23%25"))
	o.TLSConfig = &tls.Config{RootCAs: roots}
	m := mustNew(t, o)
	if err := m.Send(context.Background(), confirmMessage()); err != nil {
		t.Fatal(err)
	}
	d := srv.next(t)
	if d.authUser != user || d.authPass != pass {
		t.Errorf("server got credentials %q/%q, want %q/%q", d.authUser, d.authPass, user, pass)
	}
	if !d.tls {
		t.Error("credentials were sent without TLS")
	}
	checkConfirmMessage(t, d)
}

func TestSendImplicitTLS(t *testing.T) {
	const user, pass = "mailer", "correct horse battery staple"
	serverTLS, roots := selfSigned(t)
	srv := startServer(t, serverConfig{implicit: serverTLS, user: user, pass: pass})
	o := acmeOptions(srv.url("smtps", "mailer:correct%20horse%20battery%20staple"))
	o.TLSConfig = &tls.Config{RootCAs: roots}
	m := mustNew(t, o)
	if err := m.Send(context.Background(), confirmMessage()); err != nil {
		t.Fatal(err)
	}
	d := srv.next(t)
	if !d.tls {
		t.Error("smtps message was not sent over TLS")
	}
	if d.authUser != user || d.authPass != pass {
		t.Errorf("server got credentials %q/%q", d.authUser, d.authPass)
	}
	checkConfirmMessage(t, d)
}

// checkNoSecret fails when err's text holds the password in any form.
func checkNoSecret(t *testing.T, err error, user, pass string) {
	t.Helper()
	if err == nil {
		return
	}
	s := err.Error()
	for _, secret := range []string{
		pass,
		base64.StdEncoding.EncodeToString([]byte(pass)),
		base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + pass)),
	} {
		if strings.Contains(s, secret) {
			t.Errorf("error contains the password (%q): %s", secret, s)
		}
	}
}

func TestSendAuthFailed(t *testing.T) {
	const secret = "hunter2-very-secret"
	serverTLS, roots := selfSigned(t)
	srv := startServer(t, serverConfig{startTLS: serverTLS, user: "mailer", pass: "other"})
	o := acmeOptions(srv.url("smtp", "mailer:"+secret))
	o.TLSConfig = &tls.Config{RootCAs: roots}
	m := mustNew(t, o)
	err := m.Send(context.Background(), confirmMessage())
	if err == nil {
		t.Fatal("Send with wrong credentials succeeded")
	}
	checkNoSecret(t, err, "mailer", secret)
	if got := srv.authAttempts(); len(got) != 1 || got[0].pass != secret {
		t.Errorf("auth attempts = %q", got)
	}
	srv.none(t)
}

func TestSendUnreachable(t *testing.T) {
	const secret = "hunter2-very-secret"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there any more
	m := mustNew(t, acmeOptions("smtps://mailer:"+secret+"@"+addr))
	start := time.Now()
	err = m.Send(context.Background(), confirmMessage())
	if err == nil {
		t.Fatal("Send to a closed port succeeded")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Send took %v", d)
	}
	if !strings.Contains(err.Error(), addr) {
		t.Errorf("error does not name the server: %v", err)
	}
	checkNoSecret(t, err, "mailer", secret)
}

// stallingServer accepts connections and never says a word.
func stallingServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}

func TestSendTimeout(t *testing.T) {
	addr := stallingServer(t)
	for _, scheme := range []string{"smtp+insecure", "smtp", "smtps"} {
		t.Run(scheme, func(t *testing.T) {
			m := mustNew(t, acmeOptions(scheme+"://"+addr))
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			start := time.Now()
			err := m.Send(ctx, confirmMessage())
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("err = %v, want context.DeadlineExceeded", err)
			}
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("Send took %v with a 300ms deadline", d)
			}
		})
	}
}

func TestSendOptionsTimeout(t *testing.T) {
	addr := stallingServer(t)
	o := acmeOptions("smtp+insecure://" + addr)
	o.Timeout = 300 * time.Millisecond
	m := mustNew(t, o)
	start := time.Now()
	if err := m.Send(context.Background(), confirmMessage()); err == nil {
		t.Fatal("Send to a silent server succeeded")
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Send took %v with a 300ms timeout", d)
	}
}

func TestSendCancel(t *testing.T) {
	addr := stallingServer(t)
	m := mustNew(t, acmeOptions("smtp+insecure://"+addr))
	ctx, cancel := context.WithCancel(context.Background()) // no deadline
	time.AfterFunc(200*time.Millisecond, cancel)
	start := time.Now()
	err := m.Send(ctx, confirmMessage())
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Send took %v after its context was cancelled", d)
	}
}

func TestSendHeaderInjection(t *testing.T) {
	srv := startServer(t, serverConfig{})
	o := acmeOptions(srv.url("smtp+insecure", ""))
	// A subject that shows a variable, as an override might.
	o.Templates = fstest.MapFS{
		"emails/confirm_email_subject.txt": {Data: []byte(`{{define "subject"}}Welcome {{.username}}{{end}}`)},
	}
	m := mustNew(t, o)

	for _, to := range []string{
		"bob@example.test\r\nBcc: evil@evil.test",
		"bob@example.test\nBcc: evil@evil.test",
		"bob@example.test, evil@evil.test",
		"",
	} {
		msg := confirmMessage()
		msg.To = to
		if err := m.Send(context.Background(), msg); !errors.Is(err, ErrInvalidMessage) {
			t.Errorf("Send to %q: err = %v, want ErrInvalidMessage", to, err)
		}
	}
	srv.none(t)

	msg := confirmMessage()
	msg.Vars["username"] = "bob\r\nBcc: evil@evil.test\r\nX-Injected: yes\r\n\r\nfake body"
	if err := m.Send(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	d := srv.next(t)
	if len(d.to) != 1 || d.to[0] != "bob@example.test" {
		t.Errorf("RCPT TO = %q, want only bob@example.test", d.to)
	}
	env := parseMessage(t, d.data)
	if got := env.GetHeader("Subject"); got != "Acme - Welcome bob Bcc: evil@evil.test X-Injected: yes fake body" {
		t.Errorf("Subject = %q", got)
	}
	for _, h := range []string{"Bcc", "X-Injected"} {
		if v := env.GetHeaderValues(h); len(v) > 0 {
			t.Errorf("injected header %s: %q", h, v)
		}
	}
	if strings.Contains(env.Text, "\nBcc:") {
		t.Errorf("a variable broke a line of the text part:\n%s", env.Text)
	}
}

func TestSendIsConcurrent(t *testing.T) {
	srv := startServer(t, serverConfig{})
	m := mustNew(t, acmeOptions(srv.url("smtp+insecure", "")))
	var wg sync.WaitGroup
	errs := make(chan error, 5)
	for i := range 5 {
		wg.Go(func() {
			msg := confirmMessage()
			msg.To = "user" + strconv.Itoa(i) + "@example.test"
			errs <- m.Send(context.Background(), msg)
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	seen := map[string]bool{}
	for range 5 {
		d := srv.next(t)
		seen[d.to[0]] = true
	}
	if len(seen) != 5 {
		t.Errorf("recipients = %v", seen)
	}
}

func TestSendUnicode(t *testing.T) {
	srv := startServer(t, serverConfig{})
	o := acmeOptions(srv.url("smtp+insecure", ""))
	o.AppName = "Café ☕"
	m := mustNew(t, o)
	msg := confirmMessage()
	msg.Vars["username"] = "Zoë"
	if err := m.Send(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	env := parseMessage(t, srv.next(t).data)
	if got, want := env.GetHeader("Subject"), "Café ☕ - Confirm your email address"; got != want {
		t.Errorf("Subject = %q, want %q", got, want)
	}
	if from, err := env.AddressList("From"); err != nil || len(from) != 1 || from[0].Name != "Café ☕ Accounts" {
		t.Errorf("From = %v (%v)", from, err)
	}
	if !strings.Contains(env.Text, "Hello Zoë,") || !strings.Contains(env.HTML, "Hello Zoë,") {
		t.Errorf("parts lose non-ASCII text:\n%s\n%s", env.Text, env.HTML)
	}
}
