package mail

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/mail"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/usher-auth/usher"
)

// Options configures a Mailer. The zero value works: it renders the
// embedded templates for an app called "Usher" and keeps the messages in
// the development mailbox.
type Options struct {
	// SMTPURL says where mail goes:
	//
	//	smtp://user:pass@host:587      STARTTLS, required (port defaults to 587)
	//	smtps://user:pass@host:465     implicit TLS (port defaults to 465)
	//	smtp+insecure://host:25        no TLS at all (port defaults to 25): for
	//	                               tests and relays on the same machine
	//
	// User and password are optional (no AUTH without them) and must be
	// percent-encoded when they contain reserved characters. Over
	// smtp+insecure a password is only sent to localhost. "" means the
	// development mailbox: nothing leaves the process.
	SMTPURL string
	// From is the sender's address; required with SMTP. "" means
	// "no-reply@localhost" for the development mailbox. A display name
	// given here ("Acme <no-reply@acme.test>") is used when FromName is "".
	From string
	// FromName is the sender's display name; "" means AppName + " Accounts".
	FromName string
	// AppName is the app_name of every template; "" means "Usher".
	AppName string
	// BaseURL is the public origin of the app (https://app.example.com),
	// the templates' base_url. A relative link variable is made absolute
	// against it.
	BaseURL string
	// Templates overrides embedded templates file by file: a file
	// emails/<name> in it replaces the embedded emails/<name>, the others
	// stay. It may also add templates for kinds of its own (all three of
	// <kind>_subject.txt, <kind>_message.txt and <kind>_message.html).
	// nil means the embedded templates only.
	Templates fs.FS
	// Translate returns text (an English sentence from a template, which is
	// also its message ID) in the language locale; nil keeps the English.
	// Templates call it through their T function.
	Translate func(locale, text string) string
	// Plural returns plural message id (an English text with one verb for
	// the count, "%d days") for the count n in the language locale, in the
	// form the language's plural rules give n ("21 день", "5 дней"), its
	// verbs filled from n; "" or nil keeps the English. It says the
	// lifetime of an e-mailed link (expires_in) in the recipient's
	// language; i18n.Catalogue.Plural is one.
	Plural func(locale, id string, n int, args ...any) string
	// RTL reports whether the language locale is written right to left;
	// nil means none is. An e-mail in such a language gets dir="rtl",
	// and the variables in its sentences (addresses, names) are isolated
	// so that the text around them cannot reorder their parts.
	RTL func(locale string) bool
	// TLSConfig is used for STARTTLS and implicit TLS, e.g. with RootCAs
	// holding a test server's certificate. nil means the system's roots and
	// TLS 1.2 or later. ServerName defaults to the SMTP host. Certificate
	// checks are never turned off unless this config says so.
	TLSConfig *tls.Config
	// Timeout bounds one delivery (connect, TLS, AUTH, DATA) when the
	// context has no earlier deadline; 0 means 30 seconds.
	Timeout time.Duration
	// Logger receives delivery logs and, with the development mailbox, the
	// links of every message; nil means slog.Default().
	Logger *slog.Logger
}

// Mailer renders messages from templates and delivers them over SMTP or
// to the development mailbox. It implements usher.Mailer and is safe for
// concurrent use.
type Mailer struct {
	from      mail.Address
	appName   string
	baseURL   string
	translate func(locale, text string) string
	plural    func(locale, id string, n int, args ...any) string
	rtl       func(locale string) bool
	templates map[string]string // file name (no "emails/") -> source
	timeout   time.Duration
	log       *slog.Logger

	smtp    *smtpConfig // nil: development mailbox
	mailbox *Mailbox
}

var _ usher.Mailer = (*Mailer)(nil)

// Errors returned by New, Render and Send.
var (
	// ErrInvalidOptions is returned by New for options that cannot work.
	ErrInvalidOptions = errors.New("mail: invalid options")
	// ErrUnknownKind is returned for a message kind that has no templates.
	ErrUnknownKind = errors.New("mail: unknown kind of message")
	// ErrInvalidMessage is returned for a message that can never be sent
	// as it is: a bad recipient, a missing variable, a template that fails.
	// Retrying does not help.
	ErrInvalidMessage = errors.New("mail: invalid message")
)

const (
	defaultTimeout = 30 * time.Second
	mailboxSize    = 200
)

// New checks o and returns a Mailer. It fails with ErrInvalidOptions for
// an SMTP URL with an unknown scheme or no host, SMTP without From, or a
// template override that does not parse. Errors never contain the SMTP
// password.
func New(o Options) (*Mailer, error) {
	m := &Mailer{
		appName:   o.AppName,
		baseURL:   strings.TrimRight(o.BaseURL, "/"),
		translate: o.Translate,
		plural:    o.Plural,
		rtl:       o.RTL,
		timeout:   o.Timeout,
		log:       o.Logger,
	}
	if m.appName == "" {
		m.appName = "Usher"
	}
	if strings.ContainsAny(m.appName, "\r\n") {
		return nil, fmt.Errorf("%w: AppName contains a line break", ErrInvalidOptions)
	}
	if m.timeout <= 0 {
		m.timeout = defaultTimeout
	}
	if m.log == nil {
		m.log = slog.Default()
	}
	if m.baseURL != "" {
		if err := checkBaseURL(m.baseURL); err != nil {
			return nil, err
		}
	}

	if o.SMTPURL != "" {
		c, err := parseSMTPURL(o.SMTPURL, o.TLSConfig)
		if err != nil {
			return nil, err
		}
		m.smtp = c
		if o.From == "" {
			return nil, fmt.Errorf("%w: From (the sender's address) is required to send mail over SMTP", ErrInvalidOptions)
		}
	} else {
		m.mailbox = newMailbox(mailboxSize)
		if o.From == "" {
			o.From = "no-reply@localhost"
		}
	}

	from, err := parseAddress(o.From)
	if err != nil {
		return nil, fmt.Errorf("%w: From: %v", ErrInvalidOptions, err)
	}
	m.from.Address = from.Address
	switch {
	case o.FromName != "":
		m.from.Name = o.FromName
	case from.Name != "":
		m.from.Name = from.Name
	default:
		m.from.Name = m.appName + " Accounts"
	}
	if strings.ContainsAny(m.from.Name, "\r\n") {
		return nil, fmt.Errorf("%w: FromName contains a line break", ErrInvalidOptions)
	}

	if m.templates, err = loadTemplates(o.Templates); err != nil {
		return nil, err
	}
	if err := m.checkTemplates(); err != nil {
		return nil, err
	}
	return m, nil
}

// Mailbox returns the development mailbox, or nil when mail goes over SMTP.
func (m *Mailer) Mailbox() *Mailbox { return m.mailbox }

// Send renders msg and delivers it: over SMTP, or into the development
// mailbox (logging its links) when no SMTP server is configured. An error
// means the message was not delivered; it wraps ErrUnknownKind or
// ErrInvalidMessage when retrying cannot help. Delivery gives up when ctx
// is done or after Options.Timeout. Errors never contain the SMTP
// password.
func (m *Mailer) Send(ctx context.Context, msg *usher.Message) error {
	if msg == nil {
		return fmt.Errorf("%w: nil message", ErrInvalidMessage)
	}
	to, err := parseAddress(msg.To)
	if err != nil {
		return fmt.Errorf("%w: recipient: %v", ErrInvalidMessage, err)
	}
	subject, text, html, err := m.Render(msg)
	if err != nil {
		return err
	}
	if m.smtp == nil {
		m.deliverToMailbox(msg, to.Address, subject, text, html)
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return m.smtp.redact(m.deliverSMTP(ctx, msg, to.Address, subject, text, html))
}

func (m *Mailer) deliverToMailbox(msg *usher.Message, to, subject, text, html string) {
	r := Received{
		Kind:    msg.Kind,
		From:    m.from.String(),
		To:      to,
		Subject: subject,
		Text:    text,
		HTML:    html,
		Links:   extractLinks(m.absLink(msg.Vars["link"]), text),
		At:      time.Now(),
	}
	r = m.mailbox.add(r)
	m.log.Info("mail: kept in the development mailbox (no SMTP configured)",
		"id", r.ID, "kind", r.Kind, "to", r.To, "subject", r.Subject)
	for _, l := range r.Links {
		m.log.Info("mail: link", "id", r.ID, "kind", r.Kind, "to", r.To, "url", l)
	}
}

func (m *Mailer) deliverSMTP(ctx context.Context, msg *usher.Message, to, subject, text, html string) error {
	gm := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	from := m.from
	gm.FromMailAddress(&from)
	gm.ToMailAddress(&mail.Address{Address: to})
	gm.Subject(subject)
	gm.SetDate()
	gm.SetGenHeader(gomail.Header("Auto-Submitted"), "auto-generated")
	domain := m.from.Address[strings.LastIndexByte(m.from.Address, '@')+1:]
	if msg.ID > 0 && !msg.CreatedAt.IsZero() {
		// The same outbox message keeps its Message-ID across retries, so
		// that a receiver can drop a duplicate after a lost reply.
		gm.SetMessageIDWithValue(fmt.Sprintf("usher.%d.%d@%s", msg.ID, msg.CreatedAt.UnixNano(), domain))
	} else {
		gm.SetMessageID()
	}
	gm.SetBodyString(gomail.TypeTextPlain, text)
	gm.AddAlternativeString(gomail.TypeTextHTML, html)

	// The connection is closed when ctx is done (see smtpConfig.client);
	// go-mail's own timeout, a little later, is only a backstop, so that
	// an expired ctx is what the error reports.
	timeout := m.timeout
	if d, ok := ctx.Deadline(); ok {
		left := time.Until(d)
		if left <= 0 {
			return context.DeadlineExceeded
		}
		if left+time.Second < timeout {
			timeout = left + time.Second
		}
	}
	client, stop, err := m.smtp.client(ctx, timeout)
	if err != nil {
		return err
	}
	defer stop()
	start := time.Now()
	if err := client.DialAndSendWithContext(ctx, gm); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("mail: send to %s: %w (%v)", m.smtp.addr(), ctx.Err(), err)
		}
		return fmt.Errorf("mail: send to %s: %w", m.smtp.addr(), err)
	}
	m.log.Debug("mail: sent", "id", msg.ID, "kind", msg.Kind, "server", m.smtp.addr(),
		"duration", time.Since(start))
	return nil
}

var schemePattern = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9+.-]{0,20}$`)

// smtpConfig is a parsed SMTP URL.
type smtpConfig struct {
	host        string
	port        int
	username    string
	password    string
	implicitTLS bool // smtps
	startTLS    bool // smtp
	tls         *tls.Config
}

func parseSMTPURL(raw string, tlsConfig *tls.Config) (*smtpConfig, error) {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return nil, fmt.Errorf("%w: SMTPURL must look like smtp://user:pass@host:587, smtps://user:pass@host:465 or smtp+insecure://host:25", ErrInvalidOptions)
	}
	c := &smtpConfig{}
	switch strings.ToLower(scheme) {
	case "smtp":
		c.startTLS, c.port = true, 587
	case "smtps":
		c.implicitTLS, c.port = true, 465
	case "smtp+insecure":
		c.port = 25
	default:
		if !schemePattern.MatchString(scheme) {
			return nil, fmt.Errorf("%w: SMTPURL must start with smtp://, smtps:// or smtp+insecure://", ErrInvalidOptions)
		}
		// A well-formed scheme is safe to show: it comes before any password.
		return nil, fmt.Errorf("%w: SMTPURL scheme %q is not smtp, smtps or smtp+insecure", ErrInvalidOptions, scheme)
	}
	// Parse by hand rather than with net/url, whose errors quote the whole
	// URL, password included. The password may contain '@'; the host may not.
	if i := strings.IndexAny(rest, "?#"); i >= 0 {
		return nil, fmt.Errorf("%w: SMTPURL takes no query or fragment (percent-encode '?' and '#' in the password)", ErrInvalidOptions)
	}
	hostport := rest
	if at := strings.LastIndexByte(rest, '@'); at >= 0 {
		userinfo := rest[:at]
		hostport = rest[at+1:]
		user, pass, _ := strings.Cut(userinfo, ":")
		var err error
		if c.username, err = unescape(user); err != nil {
			return nil, fmt.Errorf("%w: SMTPURL user name is not properly percent-encoded", ErrInvalidOptions)
		}
		if c.password, err = unescape(pass); err != nil {
			return nil, fmt.Errorf("%w: SMTPURL password is not properly percent-encoded", ErrInvalidOptions)
		}
		if c.username == "" {
			return nil, fmt.Errorf("%w: SMTPURL has a password but no user name", ErrInvalidOptions)
		}
	}
	hostport = strings.TrimSuffix(hostport, "/")
	if strings.Contains(hostport, "/") {
		return nil, fmt.Errorf("%w: SMTPURL takes no path (percent-encode '/' in the password)", ErrInvalidOptions)
	}
	host := hostport
	if h, p, err := net.SplitHostPort(hostport); err == nil {
		host = h
		port, err := strconv.Atoi(p)
		if err != nil || port < 1 || port > 65535 {
			return nil, fmt.Errorf("%w: SMTPURL port is not a number from 1 to 65535", ErrInvalidOptions)
		}
		c.port = port
	} else {
		host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	}
	if host == "" || strings.ContainsAny(host, " \t\r\n[]@") {
		return nil, fmt.Errorf("%w: SMTPURL has no valid host", ErrInvalidOptions)
	}
	c.host = host
	if !c.startTLS && !c.implicitTLS && c.password != "" && !isLocalhost(host) {
		return nil, fmt.Errorf("%w: smtp+insecure would send the password in clear text; use smtp:// or smtps://, or a relay on localhost", ErrInvalidOptions)
	}

	if tlsConfig != nil {
		c.tls = tlsConfig.Clone()
	} else {
		c.tls = &tls.Config{}
	}
	if c.tls.ServerName == "" {
		c.tls.ServerName = host
	}
	if c.tls.MinVersion == 0 {
		c.tls.MinVersion = tls.VersionTLS12
	}
	return c, nil
}

// unescape decodes %XX escapes ('+' stays '+'). Its error never quotes s.
func unescape(s string) (string, error) {
	u, err := url.PathUnescape(s)
	if err != nil {
		return "", errors.New("bad percent-encoding")
	}
	return u, nil
}

// isLocalhost matches the hosts to which go-mail's PLAIN and LOGIN
// mechanisms send a password without TLS.
func isLocalhost(host string) bool {
	return host == "localhost" || host == "127.0.0.1" || host == "::1"
}

func (c *smtpConfig) addr() string {
	return net.JoinHostPort(c.host, strconv.Itoa(c.port))
}

// client returns a go-mail client for one delivery. Its connection is
// closed as soon as ctx is done, whatever stage the exchange is at; stop
// releases that watch.
func (c *smtpConfig) client(ctx context.Context, timeout time.Duration) (*gomail.Client, func(), error) {
	var stops []func() bool
	stop := func() {
		for _, s := range stops {
			s()
		}
	}
	dial := func(dctx context.Context, network, address string) (net.Conn, error) {
		var d net.Dialer
		conn, err := d.DialContext(dctx, network, address)
		if err != nil {
			return nil, err
		}
		stops = append(stops, context.AfterFunc(ctx, func() { conn.Close() }))
		if !c.implicitTLS {
			return conn, nil
		}
		// Implicit TLS is done here rather than by go-mail so that the
		// handshake also obeys ctx. A *tls.Conn is what go-mail checks to
		// know that the connection is encrypted.
		tc := tls.Client(conn, c.tls)
		if err := tc.HandshakeContext(dctx); err != nil {
			conn.Close()
			return nil, err
		}
		return tc, nil
	}
	opts := []gomail.Option{
		gomail.WithPort(c.port),
		gomail.WithTimeout(timeout),
		gomail.WithTLSConfig(c.tls),
		gomail.WithDialContextFunc(dial),
	}
	switch {
	case c.startTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	default: // implicit TLS is already in place, or no TLS at all
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	}
	if c.username != "" {
		// PLAIN and LOGIN work everywhere over TLS; other mechanisms are
		// chosen only when the server offers neither.
		opts = append(opts,
			gomail.WithOpportunisticSMTPAuth(gomail.SMTPAuthPlain, gomail.SMTPAuthLogin),
			gomail.WithUsername(c.username),
			gomail.WithPassword(c.password))
	}
	client, err := gomail.NewClient(c.host, opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("mail: SMTP client: %w", err)
	}
	return client, stop, nil
}

// redact removes the password, in any form the SMTP exchange could have
// carried it, from err's text. Errors are logged and stored in the
// outbox, where a password must not end up.
func (c *smtpConfig) redact(err error) error {
	if err == nil || c.password == "" {
		return err
	}
	s := err.Error()
	secrets := []string{
		c.password,
		url.QueryEscape(c.password),
		escapeAll(c.password),
		base64.StdEncoding.EncodeToString([]byte(c.password)),                                // AUTH LOGIN
		base64.StdEncoding.EncodeToString([]byte("\x00" + c.username + "\x00" + c.password)), // AUTH PLAIN
	}
	redacted := s
	for _, p := range secrets {
		redacted = strings.ReplaceAll(redacted, p, "[redacted]")
	}
	if redacted == s {
		return err
	}
	return &redactedError{msg: redacted, temporary: ctxErr(err)}
}

// redactedError replaces an error whose text held a secret. It unwraps
// only to a context error, never to the original error.
type redactedError struct {
	msg       string
	temporary error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.temporary }

func ctxErr(err error) error {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return context.DeadlineExceeded
	case errors.Is(err, context.Canceled):
		return context.Canceled
	}
	return nil
}

func escapeAll(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		fmt.Fprintf(&b, "%%%02X", s[i])
	}
	return b.String()
}

// parseAddress accepts one address, with or without a display name, and
// refuses anything that could smuggle a header (line breaks).
func parseAddress(s string) (*mail.Address, error) {
	if strings.ContainsAny(s, "\r\n") {
		return nil, errors.New("address contains a line break")
	}
	a, err := mail.ParseAddress(s)
	if err != nil {
		return nil, fmt.Errorf("%q is not an email address", s)
	}
	if strings.ContainsAny(a.Address, "\r\n\x00 ") || !strings.Contains(a.Address, "@") {
		return nil, fmt.Errorf("%q is not an email address", s)
	}
	return a, nil
}
