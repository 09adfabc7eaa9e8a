package web

import "strings"

// AdminRoutes returns the patterns of the admin API's routes, for the
// tests that must cover each of them.
func AdminRoutes() []string {
	var out []string
	for _, rt := range routes(&core{}) {
		if _, path, _ := strings.Cut(rt.pattern, " "); strings.HasPrefix(path, "/api/admin/") {
			out = append(out, rt.pattern)
		}
	}
	return out
}
