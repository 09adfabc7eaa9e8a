package web

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestRoutesDocumented checks the route table against docs/api.md: every
// route of the JSON API is documented there as `METHOD /user/api/...`
// (perhaps followed by its body), and every route documented there is in
// the table, so that the table and the reference stay one list.
func TestRoutesDocumented(t *testing.T) {
	doc, err := os.ReadFile("../docs/api.md")
	if err != nil {
		t.Fatal(err)
	}
	var table []string
	for _, rt := range routes(&core{}) {
		method, path, ok := strings.Cut(rt.pattern, " ")
		if !ok || !strings.HasPrefix(path, "/api/") {
			continue
		}
		table = append(table, method+" /user"+path)
	}
	for _, r := range table {
		if !strings.Contains(string(doc), "`"+r+"`") && !strings.Contains(string(doc), "`"+r+" ") {
			t.Errorf("route %q is not in docs/api.md", r)
		}
	}
	for _, m := range regexp.MustCompile("`((?:GET|POST|PUT|PATCH|DELETE) /user/api/[^`?\\s]*)").FindAllStringSubmatch(string(doc), -1) {
		if !slices.Contains(table, m[1]) {
			t.Errorf("docs/api.md documents %q, which web/routes.go does not serve", m[1])
		}
	}
}
