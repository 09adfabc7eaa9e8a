package i18n

import (
	"testing"
)

// TestPluralForms: counts take the form the language's CLDR rules give
// them, in full words (Russian 1, 21 день; 2 дня; 5, 11 дней).
func TestPluralForms(t *testing.T) {
	c := Default()
	tests := []struct {
		tag, id string
		n       int
		want    string
	}{
		{"en", "%d days", 1, "1 day"},
		{"en", "%d days", 2, "2 days"},
		{"en", "%d days", 0, "0 days"},
		{"en", "%d minutes", 1, "1 minute"},
		{"ru", "%d days", 1, "1 день"},
		{"ru", "%d days", 2, "2 дня"},
		{"ru", "%d days", 5, "5 дней"},
		{"ru", "%d days", 11, "11 дней"},
		{"ru", "%d days", 21, "21 день"},
		{"ru", "%d days", 22, "22 дня"},
		{"ru", "%d hours", 1, "1 час"},
		{"ru", "%d hours", 3, "3 часа"},
		{"ru", "%d hours", 48, "48 часов"},
		{"ru", "%d minutes", 1, "1 минута"},
		{"ru", "%d minutes", 2, "2 минуты"},
		{"ru", "%d minutes", 15, "15 минут"},
		{"fr", "%d days", 0, "0 jour"},
		{"fr", "%d days", 1, "1 jour"},
		{"fr", "%d days", 2, "2 jours"},
		{"de", "%d hours", 1, "1 Stunde"},
		{"de", "%d hours", 2, "2 Stunden"},
		{"fi", "%d days", 1, "1 päivä"},
		{"fi", "%d days", 7, "7 päivää"},
		{"zh", "%d days", 1, "1 天"},
		{"zh", "%d days", 2, "2 天"},
		{"xx", "%d days", 1, "1 day"},      // no such language: English
		{"de", "%d apples", 3, "3 apples"}, // no such message: the ID
	}
	for _, tt := range tests {
		if got := c.Plural(tt.tag, tt.id, tt.n); got != tt.want {
			t.Errorf("Plural(%q, %q, %d) = %q; want %q", tt.tag, tt.id, tt.n, got, tt.want)
		}
	}
}

// TestPluralOverride: an application's catalogue may reword a plural
// message form by form; its forms keep the English verbs, and a plain
// string stands for every form.
func TestPluralOverride(t *testing.T) {
	over := mapFS(map[string]string{
		"en.json": `{"%d days": {"one": "a day (%d)", "other": "%d whole days"}}`,
		"zh.json": `{"%d days": "%d 日"}`,
	})
	c, err := Load(over, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Plural("en", "%d days", 1); got != "a day (1)" {
		t.Errorf("override one: %q", got)
	}
	if got := c.Plural("en", "%d days", 3); got != "3 whole days" {
		t.Errorf("override other: %q", got)
	}
	if got := c.Plural("zh", "%d days", 3); got != "3 日" {
		t.Errorf("plain override: %q", got)
	}
	for _, bad := range []string{
		`{"%d days": {"one": "%s day", "other": "%d days"}}`,
		`{"%d days": {"one": "%d day"}}`,
		`{"%d days": {"one": "%d day", "other": "%d days", "lots": "%d"}}`,
		`{"%d days": 5}`,
	} {
		if _, err := Load(mapFS(map[string]string{"de.json": bad}), nil); err == nil {
			t.Errorf("override %s was accepted", bad)
		}
	}
}
