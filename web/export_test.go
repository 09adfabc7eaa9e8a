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

// MaxRequestBody is the bound on every request body.
const MaxRequestBody = maxRequestBody

// Routes returns every route's pattern.
func Routes() []string {
	var out []string
	for _, rt := range routes(&core{}) {
		out = append(out, rt.pattern)
	}
	return out
}

// TooDeep is tooDeep, for the tests.
var TooDeep = tooDeep

// Decode is decode, for the tests.
var Decode = decode
