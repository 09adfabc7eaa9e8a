package usher

import (
	"testing"
	"unicode/utf8"
)

// foldSeeds are identifiers that have tripped folding elsewhere: case
// beyond ASCII, compatibility characters, IDNA, invalid UTF-8, NUL.
var foldSeeds = []string{
	"Ann@Example.COM", " ann@example.com ", "K\u212aelvin@example.com", "e\u0301@b\u00fccher.example",
	"ann@xn--bcher-kva.example", "\uff41\uff4e\uff4e@\uff45\uff58.com", "a@b@c", "@", "", "\xff\xfe@x",
	"a\x00b@example.com", "\u202eann@example.com", "ǅemal", "ß@straße.de", "ann@xn--", "ΣΊΣΥΦΟΣ",
}

// FuzzFoldEmail checks FoldEmail on any text: valid UTF-8 out, and
// folding a key again gives the same key.
func FuzzFoldEmail(f *testing.F) {
	for _, s := range foldSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k := FoldEmail(s)
		if !utf8.ValidString(k) {
			t.Fatalf("FoldEmail(%q) = %q, not UTF-8", s, k)
		}
		if k2 := FoldEmail(k); k2 != k {
			t.Fatalf("FoldEmail(%q) = %q, but FoldEmail(%q) = %q", s, k, k, k2)
		}
	})
}

// FuzzFoldUsername checks FoldUsername as FuzzFoldEmail checks FoldEmail,
// and that checking a username's text never panics.
func FuzzFoldUsername(f *testing.F) {
	for _, s := range foldSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_ = textProblem(s)
		k := FoldUsername(s)
		if !utf8.ValidString(k) {
			t.Fatalf("FoldUsername(%q) = %q, not UTF-8", s, k)
		}
		if k2 := FoldUsername(k); k2 != k {
			t.Fatalf("FoldUsername(%q) = %q, but FoldUsername(%q) = %q", s, k, k, k2)
		}
	})
}
