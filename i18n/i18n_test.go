package i18n

import (
	"encoding/json"
	"flag"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "add the message IDs found in templates and code to catalogues/en.json")

// idPatterns find the message IDs used by the templates, the Go code of
// package web and usher.js. Each has one group: the ID as a quoted
// string's contents.
var idPatterns = map[string][]*regexp.Regexp{
	".html": {
		regexp.MustCompile(`\bT\s+"((?:[^"\\]|\\.)*)"`),
		regexp.MustCompile(`\bfield\s+[$.]\S*\s+"[^"]*"\s+"[^"]*"\s+"((?:[^"\\]|\\.)*)"`),
	},
	".txt": {regexp.MustCompile(`\bT\s+"((?:[^"\\]|\\.)*)"`)},
	".go": {
		regexp.MustCompile(`\btr\("((?:[^"\\]|\\.)*)"\)`),
		regexp.MustCompile(`\b(?:msg\(r|textIn\(d), "((?:[^"\\]|\\.)*)"`),
	},
	".js": {regexp.MustCompile(`\bt\("((?:[^"\\]|\\.)*)"`)},
}

// usedIDs returns every message ID the product's sources use, with the
// file that uses it first.
func usedIDs(t *testing.T) map[string]string {
	t.Helper()
	ids := map[string]string{}
	for _, dir := range []string{"../mail", "../web", "../admin"} {
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || strings.HasSuffix(p, "_test.go") {
				return err
			}
			pats := idPatterns[filepath.Ext(p)]
			if len(pats) == 0 {
				return nil
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			for _, re := range pats {
				for _, m := range re.FindAllStringSubmatch(string(b), -1) {
					id, err := strconv.Unquote(`"` + m[1] + `"`)
					if err != nil {
						t.Errorf("%s: cannot read %q: %v", p, m[1], err)
						continue
					}
					if _, ok := ids[id]; !ok {
						ids[id] = p
					}
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return ids
}

func readJSON(t *testing.T, tag string) map[string]message {
	t.Helper()
	b, err := os.ReadFile("catalogues/" + tag + ".json")
	if err != nil {
		t.Fatalf("%s: %v", tag, err)
	}
	m := map[string]message{}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s.json: %v", tag, err)
	}
	return m
}

// TestEnglishHasEveryID fails when a template, page handler or usher.js
// uses a message ID that en.json lacks. Run with -update to add them.
func TestEnglishHasEveryID(t *testing.T) {
	en := readJSON(t, "en")
	var missing []string
	for id, file := range usedIDs(t) {
		if _, ok := en[id]; !ok {
			missing = append(missing, id)
			if !*update {
				t.Errorf("en.json lacks %q (used in %s)", id, file)
			}
			en[id] = message{text: id}
		}
	}
	if *update && len(missing) > 0 {
		b, err := json.MarshalIndent(en, "", " ")
		if err != nil {
			t.Fatal(err)
		}
		// encoding/json escapes <, > and & by default; the catalogues
		// are text, not HTML.
		s := strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\u0026`, "&").Replace(string(b))
		if err := os.WriteFile("catalogues/en.json", []byte(s+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		slices.Sort(missing)
		t.Logf("added %d IDs to en.json: %q", len(missing), missing)
	}
}

// TestCataloguesComplete fails when a language misses a message, has one
// that English lacks, has placeholders that differ from the English, or
// gives a plural message other forms than its plural rules need.
func TestCataloguesComplete(t *testing.T) {
	en := readJSON(t, "en")
	for _, l := range builtin {
		t.Run(l.Tag, func(t *testing.T) {
			m := readJSON(t, l.Tag)
			var missing []string
			for id, msg := range en {
				tr, ok := m[id]
				if !ok || strings.TrimSpace(tr.text) == "" {
					missing = append(missing, id)
					continue
				}
				for _, text := range tr.texts() {
					if !SameVerbs(msg.text, text) {
						t.Errorf("%q: placeholders %v in %q, English has %v", id, Verbs(text), text, Verbs(msg.text))
					}
				}
				if msg.plural() || tr.plural() {
					checkForms(t, l.Tag, id, msg, tr)
				}
			}
			for id := range m {
				if _, ok := en[id]; !ok {
					t.Errorf("%q is not an English message (remove it)", id)
				}
			}
			if len(missing) > 0 {
				slices.Sort(missing)
				b, _ := json.MarshalIndent(missing, "", " ")
				t.Errorf("%s.json misses %d messages:\n%s", l.Tag, len(missing), b)
			}
		})
	}
}

func TestVerbs(t *testing.T) {
	for _, c := range []struct {
		a, b string
		same bool
	}{
		{"%s and %s", "%[2]s und %[1]s", true},
		{"%s", "%d", false},
		{"%[1]d or more", "mindestens %[1]d", true},
		{"100%% %s", "%s 100%%", true},
		{"%s", "", false},
		{"at most %[2]d", "höchstens %d", false},
	} {
		if got := SameVerbs(c.a, c.b); got != c.same {
			t.Errorf("SameVerbs(%q, %q) = %v", c.a, c.b, got)
		}
	}
}

func TestMatch(t *testing.T) {
	c := Default()
	for _, tc := range []struct {
		accept string
		chosen []string
		want   string
	}{
		{"", nil, "en"},
		{"de-CH, de;q=0.9, en;q=0.5", nil, "de"},
		{"fa-IR", nil, "fa"},
		{"zh-Hans-CN,zh;q=0.9", nil, "zh"},
		{"pt-BR", nil, "en"},
		{"de", []string{"xx", "fr"}, "fr"},
		{"garbage;;;", nil, "en"},
	} {
		if got := c.Match(tc.accept, tc.chosen...); got != tc.want {
			t.Errorf("Match(%q, %q) = %q, want %q", tc.accept, tc.chosen, got, tc.want)
		}
	}
	if c.Dir("fa") != "rtl" || c.Dir("de") != "ltr" {
		t.Error("fa is written right to left, de is not")
	}
}

func TestTextFallsBack(t *testing.T) {
	c := Default()
	if got := c.Text("de", "no such message"); got != "no such message" {
		t.Errorf("unknown ID: %q", got)
	}
	if got := c.Text("xx", "authentication_failed"); got != c.Text("en", "authentication_failed") {
		t.Errorf("unknown language: %q", got)
	}
}

func TestOverride(t *testing.T) {
	over := mapFS(map[string]string{"en.json": `{"Log in": "Sign in"}`, "de.json": `{"password_too_short": "Mindestens %[1]d Zeichen"}`})
	c, err := Load(over, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Text("en", "Log in"); got != "Sign in" {
		t.Errorf("override: %q", got)
	}
	bad := mapFS(map[string]string{"de.json": `{"password_too_short": "Mindestens %s Zeichen"}`})
	if _, err := Load(bad, nil); err == nil {
		t.Error("an override with other placeholders was accepted")
	}
	only, err := Load(nil, []string{"de"})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(only.Languages()); n != 2 {
		t.Errorf("Load(only de) has %d languages, want en and de", n)
	}
}

// checkForms fails unless tr, the translation of plural message en into
// language tag, is a plural message with exactly the forms tag's plural
// rules give integers, and "other".
func checkForms(t *testing.T, tag, id string, en, tr message) {
	t.Helper()
	if !en.plural() || !tr.plural() {
		t.Errorf("%q: a plural message in one language is a plain text in the other", id)
		return
	}
	want := []string{"other"}
	for n := range 1000 {
		want = append(want, pluralForm(tag, n))
	}
	slices.Sort(want)
	want = slices.Compact(want)
	got := slices.Sorted(maps.Keys(tr.forms))
	if !slices.Equal(got, want) {
		t.Errorf("%q has the forms %q; %s's plural rules need %q", id, got, tag, want)
	}
}
