package usher_test

import (
	"go/ast"
	"go/token"
	"strconv"
	"strings"
	"testing"
)

// TestOnePlaceForEventsAndTokenKinds: every event name (an Event...
// constant) is declared in events.go and every token kind (a constant
// whose value a Token's Kind takes: Token... and token...) in tokens.go,
// so that a reader finds them all in one file each (docs/design.md, "One
// file per concern in the root package").
func TestOnePlaceForEventsAndTokenKinds(t *testing.T) {
	for name, f := range rootSources(t, 0) {
		for _, d := range f.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, id := range vs.Names {
					if i >= len(vs.Values) {
						continue
					}
					lit, ok := vs.Values[i].(*ast.BasicLit)
					if !ok || lit.Kind != token.STRING {
						continue // not a name: a duration, a length, …
					}
					if _, err := strconv.Unquote(lit.Value); err != nil {
						t.Fatal(err)
					}
					switch {
					case strings.HasPrefix(id.Name, "Event") && name != "events.go":
						t.Errorf("%s: event name %s is declared outside events.go", name, id.Name)
					case (strings.HasPrefix(id.Name, "Token") || strings.HasPrefix(id.Name, "token")) && name != "tokens.go":
						t.Errorf("%s: token kind %s is declared outside tokens.go", name, id.Name)
					}
				}
			}
		}
	}
}
