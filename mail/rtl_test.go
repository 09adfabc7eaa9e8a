package mail

import (
	"strings"
	"testing"

	"github.com/usher-auth/usher"
)

// TestRightToLeftMessage: an e-mail in a right-to-left language says so
// (dir="rtl"), and the addresses and names in its sentences are isolated
// from the text around them, in both parts; a left-to-right one is as
// before.
func TestRightToLeftMessage(t *testing.T) {
	m := mustNew(t, Options{AppName: "Acme", RTL: func(locale string) bool { return locale == "fa" }})
	msg := &usher.Message{Kind: usher.MailEmailAdded, To: "bob@example.test", Locale: "fa", Vars: fullVars()}
	_, text, html, err := m.Render(msg)
	if err != nil {
		t.Fatal(err)
	}
	const isolated = "\u2068new@example.test\u2069"
	if !strings.Contains(text, isolated) {
		t.Errorf("fa text part: the address is not isolated:\n%q", text)
	}
	if !strings.Contains(html, isolated) {
		t.Errorf("fa HTML part: the address is not isolated:\n%s", html)
	}
	if !strings.Contains(html, `<html lang="fa" dir="rtl">`) || !strings.Contains(html, `<table role="presentation" dir="rtl"`) {
		t.Errorf("fa HTML part is not marked right to left:\n%s", html)
	}

	msg.Locale = "en"
	_, text, html, err = m.Render(msg)
	if err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(text+html, "\u2068\u2069") {
		t.Errorf("en message has isolates:\n%q\n%s", text, html)
	}
	if !strings.Contains(html, `<html lang="en" dir="ltr">`) {
		t.Errorf("en HTML part:\n%s", html)
	}
}

// TestRightToLeftIdentityMessages: the e-mails about a linked or unlinked
// identity isolate the provider's name and the address in Persian too.
func TestRightToLeftIdentityMessages(t *testing.T) {
	m := mustNew(t, Options{AppName: "Acme", RTL: func(locale string) bool { return locale == "fa" }})
	for _, kind := range []string{usher.MailIdentityLinked, usher.MailIdentityUnlinked} {
		_, text, html, err := m.Render(&usher.Message{Kind: kind, To: "bob@example.test", Locale: "fa", Vars: fullVars()})
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"\u2068Google\u2069", "\u2068bob@gmail.test\u2069"} {
			if !strings.Contains(text, want) || !strings.Contains(html, want) {
				t.Errorf("%s in fa: %q is not isolated:\n%q\n%s", kind, want, text, html)
			}
		}
		if !strings.Contains(html, `<html lang="fa" dir="rtl">`) {
			t.Errorf("%s in fa is not marked right to left", kind)
		}
	}
}
