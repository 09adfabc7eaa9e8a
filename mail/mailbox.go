package mail

import (
	"html/template"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"time"
)

// Received is a message kept by the development mailbox.
type Received struct {
	ID      int64  // 1 for the first message, 2 for the next, ...
	Kind    string // the template, one of the usher.Mail... kinds
	From    string
	To      string
	Subject string
	Text    string
	HTML    string
	Links   []string // the message's link variable, then the URLs of its text part
	At      time.Time
}

// Mailbox is the development mailbox: with no SMTP server configured, the
// Mailer keeps the last 200 messages here instead of sending them. It is
// an http.Handler showing them: an index, and one message with ?id=N.
// Messages hold live links (log-in, password reset), so the caller must
// expose it only to the developer; see LocalRequest.
type Mailbox struct {
	mu   sync.Mutex
	max  int
	last int64
	msgs []Received // oldest first
}

func newMailbox(max int) *Mailbox { return &Mailbox{max: max} }

func (b *Mailbox) add(r Received) Received {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.last++
	r.ID = b.last
	if len(b.msgs) >= b.max {
		b.msgs = slices.Delete(b.msgs, 0, len(b.msgs)-b.max+1)
	}
	b.msgs = append(b.msgs, r)
	return r
}

// Messages returns the kept messages, newest first.
func (b *Mailbox) Messages() []Received {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]Received, len(b.msgs))
	for i, r := range b.msgs {
		r.Links = slices.Clone(r.Links)
		out[len(b.msgs)-1-i] = r
	}
	return out
}

// Message returns the kept message with the given ID.
func (b *Mailbox) Message(id int64) (Received, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, r := range b.msgs {
		if r.ID == id {
			r.Links = slices.Clone(r.Links)
			return r, true
		}
	}
	return Received{}, false
}

// mailboxCSP allows no scripts, no remote content and no forms. A srcdoc
// frame inherits this policy, so an e-mail shown in it is held to it too;
// its inline styles are allowed.
const mailboxCSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; " +
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// ServeHTTP shows the index of messages, or one message with ?id=N: its
// headers, links, HTML part in a sandboxed frame (no scripts, no same
// origin) and text part. Everything is escaped.
func (b *Mailbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", mailboxCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer") // the links carry tokens
	h.Set("Cache-Control", "no-store")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	var page struct {
		Messages []Received
		Message  *Received
		Frame    string
	}
	status := http.StatusOK
	if s := r.URL.Query().Get("id"); s != "" {
		id, err := strconv.ParseInt(s, 10, 64)
		msg, ok := b.Message(id)
		if err != nil || !ok {
			status = http.StatusNotFound
		} else {
			page.Message = &msg
			// Links open in a new tab: the frame may not navigate itself
			// or its parent.
			page.Frame = `<base target="_blank">` + msg.HTML
		}
	} else {
		page.Messages = b.Messages()
	}
	h.Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if r.Method == http.MethodHead {
		return
	}
	_ = mailboxPage.Execute(w, page)
}

var mailboxPage = template.Must(template.New("mailbox").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{{with .Message}}{{.Subject}} - {{end}}Development mailbox</title>
<style>
body{font-family:system-ui,sans-serif;margin:0 auto;max-width:960px;padding:16px;color:#1f2937}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #e5e7eb;vertical-align:top}
.note{color:#6b7280;font-size:14px}
a{color:#2563eb}
td{overflow-wrap:break-word}
td.links a{word-break:break-all}
pre{white-space:pre-wrap;background:#f9fafb;border:1px solid #e5e7eb;padding:12px}
iframe{width:100%;height:560px;border:1px solid #e5e7eb}
dt{font-weight:600}
td,pre{overflow-wrap:anywhere}
@media (max-width:40rem){table.list tr:first-child{display:none}table.list tr{display:block;border-bottom:1px solid #e5e7eb;padding:6px 0}table.list td{display:block;border:0;padding:2px 8px}}
</style>
</head>
<body>
<h1>Development mailbox</h1>
<p class="note">No SMTP server is configured, so emails are kept here (the last 200, in memory) instead of being sent. Set the SMTP URL to send them.</p>
{{- with .Message}}
<p><a href="?">&larr; All messages</a></p>
<table>
<tr><th>Subject</th><td>{{.Subject}}</td></tr>
<tr><th>From</th><td>{{.From}}</td></tr>
<tr><th>To</th><td>{{.To}}</td></tr>
<tr><th>Kind</th><td>{{.Kind}}</td></tr>
<tr><th>Date</th><td>{{.At.Format "2006-01-02 15:04:05 MST"}}</td></tr>
<tr><th>Links</th><td class="links">{{range .Links}}<a href="{{.}}" target="_blank" rel="noopener noreferrer">{{.}}</a><br>{{else}}none{{end}}</td></tr>
</table>
<h2>HTML part</h2>
<iframe sandbox="allow-popups allow-popups-to-escape-sandbox" referrerpolicy="no-referrer" title="HTML part" srcdoc="{{$.Frame}}"></iframe>
<h2>Text part</h2>
<pre>{{.Text}}</pre>
{{- else}}
{{- if .Messages}}
<table class="list">
<tr><th>#</th><th>Date</th><th>To</th><th>Subject</th><th>Links</th></tr>
{{- range .Messages}}
<tr><td>{{.ID}}</td><td>{{.At.Format "15:04:05"}}</td><td>{{.To}}</td><td class="subject"><a href="?id={{.ID}}">{{.Subject}}</a></td><td class="links">{{range .Links}}<a href="{{.}}" target="_blank" rel="noopener noreferrer">{{.}}</a><br>{{end}}</td></tr>
{{- end}}
</table>
{{- else}}
<p>No messages yet.</p>
{{- end}}
{{- end}}
</body>
</html>
`))

// LocalRequest reports whether r comes straight from this machine: its
// connection's remote address is a loopback address and it carries no
// X-Forwarded-For, Forwarded or X-Real-IP header (a reverse proxy on the
// same machine would make every visitor look local).
func LocalRequest(r *http.Request) bool {
	for _, h := range []string{"X-Forwarded-For", "Forwarded", "X-Real-Ip"} {
		if len(r.Header.Values(h)) > 0 {
			return false
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	return ip.Unmap().IsLoopback()
}
