package usher_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestDomainImports: the root package is the domain; adapters to the
// outside (go-webauthn, HTTP delivery, SQL drivers) live in subpackages
// behind its interfaces. It imports only the standard library and
// golang.org/x packages.
func TestDomainImports(t *testing.T) {
	for name, f := range rootSources(t, parser.ImportsOnly) {
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			first, _, _ := strings.Cut(path, "/")
			if strings.Contains(first, ".") && !strings.HasPrefix(path, "golang.org/x/") {
				t.Errorf("%s imports %s", name, path)
			}
		}
	}
}

// rootSources parses the root package's non-test files with mode, by file
// name.
func rootSources(t *testing.T, mode parser.Mode) map[string]*ast.File {
	t.Helper()
	names, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	files := map[string]*ast.File{}
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, mode)
		if err != nil {
			t.Fatal(err)
		}
		files[name] = f
	}
	return files
}
