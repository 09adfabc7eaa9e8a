package usher

import (
	"crypto/subtle"
	"slices"
	"strings"
)

// String helpers shared by the flows.

// truncate cuts s to at most n bytes, dropping a rune cut in half.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}

// sortedUnique sorts names and drops repeats.
func sortedUnique(names []string) []string {
	m := map[string]bool{}
	var out []string
	for _, n := range names {
		if !m[n] {
			m[n] = true
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

// equalStrings compares two strings in constant time.
func equalStrings(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
