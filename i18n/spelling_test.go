package i18n

import (
	"regexp"
	"strings"
	"testing"
	"text/template/parse"
)

// eMail matches the spelling English text must not use: it says "email".
var eMail = regexp.MustCompile(`(?i)\be-mail`)

// TestEnglishSaysEmail fails when user-facing English text (en.json, the
// message IDs the templates, page code and usher.js use, and the
// templates' own text) spells "e-mail".
func TestEnglishSaysEmail(t *testing.T) {
	for id, m := range readJSON(t, "en") {
		for _, text := range m.texts() {
			if eMail.MatchString(text) {
				t.Errorf("en.json: %q is %q", id, text)
			}
		}
	}
	for id, file := range usedIDs(t) {
		if eMail.MatchString(id) {
			t.Errorf("%s uses the message %q", file, id)
		}
	}
	walkTemplates(t, func(file string, n parse.Node) {
		if tn, ok := n.(*parse.TextNode); ok && eMail.Match(tn.Text) {
			t.Errorf("%s says %q", file, strings.TrimSpace(string(tn.Text)))
		}
	})
}
