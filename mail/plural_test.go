package mail

import (
	"fmt"
	"strings"
	"testing"

	"github.com/usher-auth/usher"
)

// TestLifetimeThroughPlural: expires_in ("21 days") goes through the
// Plural hook as message "%d days" with the count 21, in the message's
// language; without the hook it stays as usher wrote it.
func TestLifetimeThroughPlural(t *testing.T) {
	var calls []string
	m := mustNew(t, Options{Plural: func(locale, id string, n int, args ...any) string {
		calls = append(calls, fmt.Sprintf("%s %s %d", locale, id, n))
		return fmt.Sprintf("%d дней", n)
	}})
	calls = nil // New renders every kind once
	for _, d := range []string{"21 days", "1 hour", "15 minutes", "soon"} {
		vars := fullVars()
		vars["expires_in"] = d
		_, text, _, err := m.Render(&usher.Message{Kind: usher.MailConfirmEmail, To: "bob@example.test", Locale: "ru", Vars: vars})
		if err != nil {
			t.Fatal(err)
		}
		want := "This link expires in " + d
		if d != "soon" {
			want = "This link expires in " + strings.Fields(d)[0] + " дней"
		}
		if !strings.Contains(text, want) {
			t.Errorf("%q: the text does not say %q:\n%s", d, want, text)
		}
	}
	if want := []string{"ru %d days 21", "ru %d hours 1", "ru %d minutes 15"}; fmt.Sprint(calls) != fmt.Sprint(want) {
		t.Errorf("Plural calls %q; want %q", calls, want)
	}
	vars := fullVars()
	vars["expires_in"] = "2 days"
	_, text, _, _ := mustNew(t, Options{}).Render(&usher.Message{Kind: usher.MailConfirmEmail, To: "bob@example.test", Locale: "ru", Vars: vars})
	if !strings.Contains(text, "This link expires in 2 days") {
		t.Errorf("without Plural:\n%s", text)
	}
}
