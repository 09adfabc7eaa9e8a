package i18n

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
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

// TestDocsAndProgramTextSayEmail fails when what an operator reads spells
// "e-mail": the README and docs/*.md (the issue's own quotation, `"e-mail"`,
// aside), the examples' READMEs, and the string literals of the
// repository's Go code outside tests (command output, configuration and
// metrics help, log lines, error texts). TestEnglishSaysEmail covers the
// pages, e-mails and catalogue; without this one the docs drifted back.
func TestDocsAndProgramTextSayEmail(t *testing.T) {
	quoted := regexp.MustCompile(`"e-mail"`)
	err := filepath.WalkDir("..", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); p != ".." && (strings.HasPrefix(name, ".") || name == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		switch {
		case strings.HasSuffix(p, ".md"):
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			for i, line := range strings.Split(string(b), "\n") {
				if eMail.MatchString(quoted.ReplaceAllString(line, "")) {
					t.Errorf("%s:%d: %s", p, i+1, strings.TrimSpace(line))
				}
			}
		case strings.HasSuffix(p, ".go") && !strings.HasSuffix(p, "_test.go"):
			fset := token.NewFileSet()
			f, err := parser.ParseFile(fset, p, nil, parser.SkipObjectResolution)
			if err != nil {
				return err
			}
			ast.Inspect(f, func(n ast.Node) bool {
				if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING && eMail.MatchString(lit.Value) {
					t.Errorf("%s: %s", fset.Position(lit.Pos()), lit.Value)
				}
				return true
			})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
