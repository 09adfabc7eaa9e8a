// Package smtptest runs a real SMTP server (emersion/go-smtp) inside a test
// and parses what it receives (enmime), so that e-mail tests go through a
// real SMTP exchange.
package smtptest

import (
	"bytes"
	"io"
	"log"
	"net"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/jhillyerd/enmime/v2"
)

// Message is an e-mail the server received.
type Message struct {
	From    string
	To      []string
	Subject string
	Text    string
	HTML    string
	Raw     []byte
}

// Server is a test SMTP server on 127.0.0.1 that accepts everything.
type Server struct {
	Addr string // host:port

	srv  *smtp.Server
	mu   sync.Mutex
	msgs []Message
	tb   testing.TB
}

// Start starts a server on a free port, stopped when the test ends.
func Start(tb testing.TB) *Server {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	return StartOn(tb, ln)
}

// StartOn starts a server on the given listener.
func StartOn(tb testing.TB, ln net.Listener) *Server {
	s := &Server{Addr: ln.Addr().String(), tb: tb}
	s.srv = smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &session{s: s}, nil }))
	s.srv.Domain = "localhost"
	s.srv.AllowInsecureAuth = true
	s.srv.ErrorLog = log.New(io.Discard, "", 0)
	go s.srv.Serve(ln)
	tb.Cleanup(func() { s.srv.Close() })
	return s
}

// URL returns the smtp_url that reaches the server without TLS.
func (s *Server) URL() string { return "smtp+insecure://" + s.Addr }

// Messages returns what the server received so far.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// WaitFor waits up to 10 seconds for the n-th message to an address
// (counting from 1) whose subject contains subject, and returns it.
func (s *Server) WaitFor(to, subject string, n int) Message {
	s.tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		seen := 0
		for _, m := range s.Messages() {
			for _, rcpt := range m.To {
				if strings.EqualFold(rcpt, to) && strings.Contains(m.Subject, subject) {
					seen++
					if seen == n {
						return m
					}
				}
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.tb.Fatalf("no message %d to %s with %q in the subject; received: %d", n, to, subject, len(s.Messages()))
	return Message{}
}

var linkRE = regexp.MustCompile(`https?://[^\s<>"]+`)

// Link returns the first link in the message's text part that contains
// part.
func (m Message) Link(tb testing.TB, part string) string {
	tb.Helper()
	for _, l := range linkRE.FindAllString(m.Text, -1) {
		if strings.Contains(l, part) {
			return l
		}
	}
	tb.Fatalf("no link containing %q in:\n%s", part, m.Text)
	return ""
}

type session struct {
	s    *Server
	from string
	to   []string
}

func (ss *session) Reset()        { ss.from, ss.to = "", nil }
func (ss *session) Logout() error { return nil }
func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	ss.from = from
	return nil
}
func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.to = append(ss.to, to)
	return nil
}
func (ss *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	env, err := enmime.ReadEnvelope(bytes.NewReader(raw))
	if err != nil {
		return err
	}
	ss.s.mu.Lock()
	ss.s.msgs = append(ss.s.msgs, Message{From: ss.from, To: ss.to, Subject: env.GetHeader("Subject"), Text: env.Text, HTML: env.HTML, Raw: raw})
	ss.s.mu.Unlock()
	return nil
}
