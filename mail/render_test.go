package mail

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/usher-auth/usher"
)

var allKinds = []string{
	usher.MailConfirmEmail,
	usher.MailRegistered,
	usher.MailResetPassword,
	usher.MailPasswordChanged,
	usher.MailUsernameChanged,
	usher.MailLoginLink,
	usher.MailInvitation,
	usher.MailMFAReset,
	usher.MailEmailAdded,
	usher.MailPrimaryChanged,
	usher.MailIdentityLinked,
	usher.MailIdentityUnlinked,
}

func fullVars() map[string]string {
	return map[string]string{
		"link":           "https://acme.test/user/x/tok?a=1&b=2",
		"email":          "bob@example.test",
		"username":       "bob",
		"old_username":   "bobby",
		"expires_in":     "1 hour",
		"old_email":      "old@example.test",
		"new_email":      "new@example.test",
		"inviter":        "Alice",
		"provider":       "Google",
		"identity_email": "bob@gmail.test",
	}
}

func TestRenderAllKinds(t *testing.T) {
	m := mustNew(t, Options{AppName: "Acme"})
	for _, kind := range allKinds {
		t.Run(kind, func(t *testing.T) {
			subject, text, html, err := m.Render(&usher.Message{Kind: kind, To: "bob@example.test", Vars: fullVars()})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(subject, "Acme - ") || len(subject) < len("Acme - ")+5 || strings.ContainsAny(subject, "\r\n") {
				t.Errorf("subject = %q", subject)
			}
			if !strings.HasPrefix(text, "Hello bob,\n\n") || !strings.Contains(text, "The Acme team") {
				t.Errorf("text part lacks greeting or signature:\n%s", text)
			}
			if !strings.Contains(text, "https://acme.test/user/x/tok?a=1&b=2") {
				t.Errorf("text part lacks the link:\n%s", text)
			}
			if strings.Contains(text+html, "<no value>") || strings.Contains(text+html, "%!") {
				t.Errorf("a variable is missing or misformatted:\n%s\n%s", text, html)
			}
			if strings.Contains(text, "\n\n\n") || strings.HasSuffix(text, "\n\n") {
				t.Errorf("text part has runs of blank lines:\n%q", text)
			}
			if !strings.HasPrefix(html, "<!DOCTYPE html>") || !strings.Contains(html, `href="https://acme.test/user/x/tok?a=1&amp;b=2"`) {
				t.Errorf("HTML part lacks doctype or button link:\n%s", html)
			}
			if strings.Contains(html, "<img") || strings.Contains(html, "<script") || strings.Contains(html, "<link") {
				t.Errorf("HTML part loads something:\n%s", html)
			}
			if strings.Contains(html, ">Open link<") {
				t.Errorf("kind does not label its button:\n%s", html)
			}
		})
	}
}

func TestRenderVariables(t *testing.T) {
	m := mustNew(t, Options{AppName: "Acme", BaseURL: "https://acme.test/"})
	tests := []struct {
		kind      string
		vars      map[string]string
		wantText  []string
		wantNot   []string
		wantError error
	}{
		{kind: usher.MailConfirmEmail, vars: map[string]string{"link": "/user/confirm-email/t"},
			wantText: []string{"Hello,", "Please confirm that bob@example.test is", "https://acme.test/user/confirm-email/t"},
			wantNot:  []string{"expires"}},
		{kind: usher.MailConfirmEmail, vars: map[string]string{"link": "/c", "email": "other@example.test", "expires_in": "2 days"},
			wantText: []string{"confirm that other@example.test", "This link expires in 2 days"}},
		{kind: usher.MailConfirmEmail, vars: map[string]string{}, wantError: ErrInvalidMessage},
		{kind: usher.MailConfirmEmail, vars: map[string]string{"link": "  "}, wantError: ErrInvalidMessage},
		{kind: usher.MailResetPassword, vars: nil, wantError: ErrInvalidMessage},
		{kind: usher.MailLoginLink, vars: nil, wantError: ErrInvalidMessage},
		{kind: usher.MailInvitation, vars: nil, wantError: ErrInvalidMessage},
		{kind: usher.MailMFAReset, vars: nil, wantError: ErrInvalidMessage},
		{kind: usher.MailUsernameChanged, vars: nil, wantError: ErrInvalidMessage},
		{kind: usher.MailEmailAdded, vars: nil, wantError: ErrInvalidMessage},
		{kind: usher.MailPrimaryChanged, vars: nil, wantError: ErrInvalidMessage},
		{kind: usher.MailIdentityLinked, vars: nil, wantError: ErrInvalidMessage},
		{kind: usher.MailIdentityUnlinked, vars: map[string]string{"identity_email": "bob@gmail.test"}, wantError: ErrInvalidMessage},
		{kind: usher.MailIdentityLinked, vars: map[string]string{"provider": "Google", "identity_email": "bob@gmail.test"},
			wantText: []string{"A Google account was linked to your Acme account and can now be used to log in.",
				"Its email address is bob@gmail.test.", "If you did not make this change"}},
		{kind: usher.MailIdentityUnlinked, vars: map[string]string{"provider": "Acme SSO"},
			wantText: []string{"A Acme SSO account was unlinked from your Acme account and can no longer be used to log in."},
			wantNot:  []string{"Its email address"}},
		{kind: usher.MailRegistered, vars: nil, wantText: []string{"Thank you for registering with Acme"}, wantNot: []string{"http://", "https://acme.test/"}},
		{kind: usher.MailPasswordChanged, vars: nil, wantText: []string{"password of your Acme account (bob@example.test) was just changed", "If you did not make this change"}},
		{kind: usher.MailUsernameChanged, vars: map[string]string{"username": "robert"},
			wantText: []string{"Hello robert,", "is now robert."}},
		{kind: usher.MailUsernameChanged, vars: map[string]string{"username": "robert", "old_username": "bob"},
			wantText: []string{"changed from bob to robert."}},
		{kind: usher.MailInvitation, vars: map[string]string{"link": "https://acme.test/i", "inviter": "Alice"},
			wantText: []string{"Alice has invited you to join Acme."}},
		{kind: usher.MailInvitation, vars: map[string]string{"link": "https://acme.test/i"},
			wantText: []string{"You have been invited to join Acme."}},
		{kind: usher.MailEmailAdded, vars: map[string]string{"new_email": "new@example.test"},
			wantText: []string{"The email address new@example.test was added to your Acme account."}},
		{kind: usher.MailPrimaryChanged, vars: map[string]string{"new_email": "new@example.test", "old_email": "old@example.test"},
			wantText: []string{"changed from old@example.test to new@example.test."}},
		{kind: usher.MailPrimaryChanged, vars: map[string]string{"new_email": "new@example.test"},
			wantText: []string{"is now new@example.test."}},
		// Vars cannot change the app's name.
		{kind: usher.MailRegistered, vars: map[string]string{"app_name": "Evil"},
			wantText: []string{"registering with Acme"}, wantNot: []string{"Evil"}},
		// Only a path is made absolute, not another site's URL.
		{kind: usher.MailConfirmEmail, vars: map[string]string{"link": "//evil.test/x"}, wantError: ErrInvalidMessage},
		{kind: usher.MailConfirmEmail, vars: map[string]string{"link": "javascript:alert(1)"}, wantError: ErrInvalidMessage},
		{kind: usher.MailRegistered, vars: map[string]string{"link": "data:text/html,x"}, wantError: ErrInvalidMessage},
		{kind: usher.MailConfirmEmail, vars: map[string]string{"link": "relative/path"}, wantError: ErrInvalidMessage},
		{kind: "no_such_kind", wantError: ErrUnknownKind},
		{kind: "", wantError: ErrUnknownKind},
		{kind: "base", wantError: ErrUnknownKind},
		{kind: "../templates/emails/confirm_email", wantError: ErrUnknownKind},
	}
	for i, tt := range tests {
		t.Run(fmt.Sprintf("%d_%s", i, tt.kind), func(t *testing.T) {
			_, text, _, err := m.Render(&usher.Message{Kind: tt.kind, To: "bob@example.test", Vars: tt.vars})
			if tt.wantError != nil {
				if !errors.Is(err, tt.wantError) {
					t.Fatalf("err = %v, want %v", err, tt.wantError)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.wantText {
				if !strings.Contains(text, w) {
					t.Errorf("text part lacks %q:\n%s", w, text)
				}
			}
			for _, w := range tt.wantNot {
				if strings.Contains(text, w) {
					t.Errorf("text part has %q:\n%s", w, text)
				}
			}
		})
	}
}

func TestRenderEscapesHTML(t *testing.T) {
	m := mustNew(t, Options{AppName: `Acme "<b>`})
	_, _, html, err := m.Render(&usher.Message{
		Kind: usher.MailConfirmEmail,
		To:   "bob@example.test",
		Vars: map[string]string{
			"username": `<script>alert("x")</script>`,
			"email":    `"><img src=x onerror=alert(1)>@example.test`,
			"link":     `https://acme.test/x?q="><script>alert(1)</script>`,
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"<script", "<img", "<b>"} {
		if strings.Contains(html, bad) {
			t.Errorf("HTML part contains %q:\n%s", bad, html)
		}
	}
	for _, want := range []string{"Hello &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;,", "Acme &#34;&lt;b&gt;", `href="https://acme.test/x?q=%22%3e%3cscript%3ealert%281%29%3c/script%3e"`} {
		if !strings.Contains(html, want) {
			t.Errorf("HTML part lacks %q:\n%s", want, html)
		}
	}
}

func TestRenderSubjectSingleLine(t *testing.T) {
	m := mustNew(t, Options{AppName: "Acme", Templates: fstest.MapFS{
		"emails/registered_subject.txt": {Data: []byte("{{define \"subject\"}}\n  Hi\t{{.username}}\r\n{{.new_email}}\n{{end}}\n")},
	}})
	subject, _, _, err := m.Render(&usher.Message{Kind: usher.MailRegistered, To: "bob@example.test", Vars: map[string]string{
		"username":  "bob\r\nBcc: x@evil.test",
		"new_email": "a\u2028b\x00c",
	}})
	if err != nil {
		t.Fatal(err)
	}
	if want := "Acme - Hi bob Bcc: x@evil.test a b c"; subject != want {
		t.Errorf("subject = %q, want %q", subject, want)
	}
}

func TestTemplateOverrides(t *testing.T) {
	msg := &usher.Message{Kind: usher.MailConfirmEmail, To: "bob@example.test", Vars: fullVars()}
	def := mustNew(t, Options{AppName: "Acme"})
	defSubject, defText, defHTML, err := def.Render(msg)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("one file", func(t *testing.T) {
		m := mustNew(t, Options{AppName: "Acme", Templates: fstest.MapFS{
			"emails/confirm_email_subject.txt": {Data: []byte(`{{define "subject"}}Please confirm, {{.username}}{{end}}`)},
			"confirm_email_message.txt":        {Data: []byte(`not under emails/: ignored`)},
			"emails/README.md":                 {Data: []byte(`not a template: ignored`)},
		}})
		subject, text, html, err := m.Render(msg)
		if err != nil {
			t.Fatal(err)
		}
		if subject != "Acme - Please confirm, bob" {
			t.Errorf("subject = %q", subject)
		}
		if text != defText || html != defHTML {
			t.Error("overriding the subject changed the text or HTML part")
		}
		// Other kinds keep their subject.
		if s, _, _, _ := m.Render(&usher.Message{Kind: usher.MailRegistered, To: "bob@example.test"}); s != "Acme - Your account is ready" {
			t.Errorf("registered subject = %q", s)
		}
	})

	t.Run("base", func(t *testing.T) {
		m := mustNew(t, Options{AppName: "Acme", Templates: fstest.MapFS{
			"emails/base_message.txt": {Data: []byte(`Dear customer,
{{block "message" .}}{{end}}
{{.link}}
Sincerely, the {{.app_name}} team`)},
		}})
		subject, text, html, err := m.Render(msg)
		if err != nil {
			t.Fatal(err)
		}
		want := "Dear customer,\n\nPlease confirm that bob@example.test is your email address by opening the link below.\n\n" +
			"https://acme.test/user/x/tok?a=1&b=2\nSincerely, the Acme team\n"
		if text != want {
			t.Errorf("text =\n%s\nwant\n%s", text, want)
		}
		if subject != defSubject || html != defHTML {
			t.Error("overriding the text base changed the subject or HTML part")
		}
	})

	t.Run("block in kind", func(t *testing.T) {
		m := mustNew(t, Options{AppName: "Acme", Templates: fstest.MapFS{
			"emails/confirm_email_message.html": {Data: []byte(`{{define "message"}}<p>Custom {{.username}}</p>{{end}}{{define "signature"}}Cheers{{end}}`)},
		}})
		_, _, html, err := m.Render(msg)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(html, "<p>Custom bob</p>") || !strings.Contains(html, ">Cheers</p>") || !strings.Contains(html, ">Open link</a>") {
			t.Errorf("HTML =\n%s", html)
		}
	})

	t.Run("standalone kind file", func(t *testing.T) {
		m := mustNew(t, Options{AppName: "Acme", Templates: fstest.MapFS{
			"emails/confirm_email_message.txt": {Data: []byte("Confirm: {{.link}}\n")},
		}})
		_, text, _, err := m.Render(msg)
		if err != nil {
			t.Fatal(err)
		}
		if text != "Confirm: https://acme.test/user/x/tok?a=1&b=2\n" {
			t.Errorf("text = %q", text)
		}
	})

	t.Run("new kind", func(t *testing.T) {
		m := mustNew(t, Options{AppName: "Acme", Templates: fstest.MapFS{
			"emails/weekly_digest_subject.txt":  {Data: []byte(`{{define "subject"}}Your week{{end}}`)},
			"emails/weekly_digest_message.txt":  {Data: []byte(`{{define "message"}}Things happened.{{end}}`)},
			"emails/weekly_digest_message.html": {Data: []byte(`{{define "message"}}<p>Things happened.</p>{{end}}`)},
			"emails/half_kind_subject.txt":      {Data: []byte(`{{define "subject"}}Half{{end}}`)},
		}})
		subject, text, _, err := m.Render(&usher.Message{Kind: "weekly_digest", To: "bob@example.test"})
		if err != nil {
			t.Fatal(err)
		}
		if subject != "Acme - Your week" || !strings.Contains(text, "Things happened.") {
			t.Errorf("subject %q, text:\n%s", subject, text)
		}
		if _, _, _, err := m.Render(&usher.Message{Kind: "half_kind", To: "bob@example.test"}); !errors.Is(err, ErrUnknownKind) {
			t.Errorf("kind with one file: err = %v, want ErrUnknownKind", err)
		}
	})

	t.Run("broken", func(t *testing.T) {
		for name, src := range map[string]string{
			"emails/confirm_email_message.html": `{{define "message"}}{{.link}`,
			"emails/base_subject.txt":           `{{template "nope" .}}`,
			"emails/registered_message.txt":     `{{define "message"}}{{Unknown}}{{end}}`,
		} {
			_, err := New(Options{Templates: fstest.MapFS{name: {Data: []byte(src)}}})
			if !errors.Is(err, ErrInvalidOptions) {
				t.Errorf("override %s: err = %v, want ErrInvalidOptions", name, err)
			}
		}
	})
}

func TestTranslate(t *testing.T) {
	fr := map[string]string{
		"Hello %s,":                  "Bonjour %s,",
		"Confirm your email address": "Confirmez votre adresse e-mail",
		"Confirm email address":      "Confirmer l'adresse",
	}
	var locales []string
	m := mustNew(t, Options{AppName: "Acme", Translate: func(locale, text string) string {
		locales = append(locales, locale)
		if locale == "fr" {
			return fr[text] // "" keeps the English
		}
		return ""
	}})
	msg := &usher.Message{Kind: usher.MailConfirmEmail, To: "bob@example.test", Locale: "fr", Vars: fullVars()}
	subject, text, html, err := m.Render(msg)
	if err != nil {
		t.Fatal(err)
	}
	if subject != "Acme - Confirmez votre adresse e-mail" {
		t.Errorf("subject = %q", subject)
	}
	if !strings.HasPrefix(text, "Bonjour bob,") || !strings.Contains(text, "Please confirm that") {
		t.Errorf("text:\n%s", text)
	}
	if !strings.Contains(html, `<html lang="fr" dir="ltr">`) || !strings.Contains(html, "Confirmer l&#39;adresse</a>") {
		t.Errorf("HTML:\n%s", html)
	}
	msg.Locale = "de"
	subject, _, _, _ = m.Render(msg)
	if subject != "Acme - Confirm your email address" {
		t.Errorf("de subject = %q", subject)
	}
	if len(locales) == 0 || locales[len(locales)-1] != "de" {
		t.Errorf("Translate saw locales %q", locales)
	}
}

func TestNewValidation(t *testing.T) {
	const secret = "hunter2-very-secret"
	tests := []struct {
		name string
		o    Options
	}{
		{"scheme", Options{SMTPURL: "http://u:" + secret + "@h:25", From: "a@b.test"}},
		{"no scheme", Options{SMTPURL: "u:" + secret + "@h:25", From: "a@b.test"}},
		{"no host", Options{SMTPURL: "smtp://u:" + secret + "@", From: "a@b.test"}},
		{"no host 2", Options{SMTPURL: "smtp://u:" + secret + "@:587", From: "a@b.test"}},
		{"bad port", Options{SMTPURL: "smtp://u:" + secret + "@h:99999", From: "a@b.test"}},
		{"port not a number", Options{SMTPURL: "smtp://u:" + secret + "@h:x" + secret, From: "a@b.test"}},
		{"malformed scheme", Options{SMTPURL: "u:" + secret + "://h", From: "a@b.test"}},
		{"query", Options{SMTPURL: "smtp://u:" + secret + "@h:587?x=1", From: "a@b.test"}},
		{"path", Options{SMTPURL: "smtp://u:" + secret + "@h:587/x", From: "a@b.test"}},
		{"bad escape", Options{SMTPURL: "smtp://u:" + secret + "%zz@h:587", From: "a@b.test"}},
		{"password without user", Options{SMTPURL: "smtp://:" + secret + "@h:587", From: "a@b.test"}},
		{"clear-text password", Options{SMTPURL: "smtp+insecure://u:" + secret + "@mail.example.test:25", From: "a@b.test"}},
		{"no From", Options{SMTPURL: "smtp://u:" + secret + "@h:587"}},
		{"bad From", Options{SMTPURL: "smtp://u:" + secret + "@h:587", From: "not an address"}},
		{"From with CRLF", Options{From: "a@b.test\r\nBcc: c@d.test"}},
		{"FromName with CRLF", Options{From: "a@b.test", FromName: "A\r\nBcc: c@d.test"}},
		{"AppName with CRLF", Options{AppName: "A\nB"}},
		{"BaseURL", Options{BaseURL: "acme.test"}},
		{"BaseURL scheme", Options{BaseURL: "javascript:alert(1)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.o)
			if !errors.Is(err, ErrInvalidOptions) {
				t.Fatalf("err = %v, want ErrInvalidOptions", err)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error contains the password: %v", err)
			}
		})
	}

	good := []Options{
		{},
		{SMTPURL: "smtp://mail.example.test", From: "a@b.test"},
		{SMTPURL: "SMTPS://u:p@mail.example.test", From: "Acme <a@b.test>"},
		{SMTPURL: "smtp+insecure://localhost", From: "a@b.test"},
		{SMTPURL: "smtp+insecure://u:p@127.0.0.1:2525", From: "a@b.test"},
		{SMTPURL: "smtp://u:p@[::1]:587/", From: "a@b.test"},
	}
	for _, o := range good {
		if _, err := New(o); err != nil {
			t.Errorf("New(%+v): %v", o, err)
		}
	}
}

func TestParseSMTPURL(t *testing.T) {
	tests := []struct {
		url                  string
		host                 string
		port                 int
		user, pass           string
		implicitTLS, startTL bool
	}{
		{"smtp://h", "h", 587, "", "", false, true},
		{"smtps://h", "h", 465, "", "", true, false},
		{"smtp+insecure://h", "h", 25, "", "", false, false},
		{"smtp://u:p@h:2525", "h", 2525, "u", "p", false, true},
		{"smtp://me%40x.test:a@b@h", "h", 587, "me@x.test", "a@b", false, true},
		{"smtp://u:a+b%2F%3F@h", "h", 587, "u", "a+b/?", false, true},
		{"smtp://[::1]:25", "::1", 25, "", "", false, true},
	}
	for _, tt := range tests {
		c, err := parseSMTPURL(tt.url, nil)
		if err != nil {
			t.Errorf("%s: %v", tt.url, err)
			continue
		}
		if c.host != tt.host || c.port != tt.port || c.username != tt.user || c.password != tt.pass ||
			c.implicitTLS != tt.implicitTLS || c.startTLS != tt.startTL {
			t.Errorf("%s: got %+v", tt.url, *c)
		}
		if c.tls.ServerName != tt.host || c.tls.InsecureSkipVerify || c.tls.MinVersion == 0 {
			t.Errorf("%s: TLS config %+v", tt.url, c.tls)
		}
	}
}

func TestRedact(t *testing.T) {
	c := &smtpConfig{username: "u", password: "s3cret/pw"}
	err := c.redact(fmt.Errorf("AUTH failed for s3cret/pw (%s, %s)", "s3cret%2Fpw", "AHUAczNjcmV0L3B3"))
	if err == nil || strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), "AHUAczNjcmV0L3B3") {
		t.Errorf("redact = %v", err)
	}
	plain := errors.New("connection refused")
	if got := c.redact(plain); got != plain {
		t.Errorf("redact changed an error without secrets: %v", got)
	}
}
