package usher

import (
	"strings"
	"testing"

	"golang.org/x/net/idna"
)

// TestFoldEmail: one row per character class of look-alike and case-folded
// addresses. Addresses in a row with the same key are one account's.
func TestFoldEmail(t *testing.T) {
	tests := []struct {
		name string
		a, b string
		same bool
	}{
		{"mixed-case ASCII local part", "Kate@Example.COM", "kate@example.com", true},
		{"Kelvin sign is the letter K", "\u212Aate@example.com", "kate@example.com", true},
		{"NFD and NFC", "alice\u0301@example.com", "alic\u00e9@example.com", true},
		{"non-ASCII case is kept", "\u00c0lice@example.com", "\u00e0lice@example.com", false},
		{"Unicode lower-casing of the local part is not applied", "KATE\u0130@example.com", "katei\u0307@example.com", false},
		{"fullwidth letters are the ASCII ones", "\uff4b\uff41\uff54\uff45@example.com", "kate@example.com", true},
		{"fullwidth at sign and domain", "kate\uff20\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45\uff0ecom", "kate@example.com", true},
		{"IDN domain, Unicode and ASCII", "kate@B\u00fccher.example", "kate@xn--bcher-kva.example", true},
		{"IDN domain, upper-case A-label", "kate@XN--BCHER-KVA.EXAMPLE", "kate@b\u00fccher.example", true},
		{"IDN domain, decomposed", "kate@bu\u0308cher.example", "kate@xn--bcher-kva.example", true},
		{"Kelvin sign in the domain", "kate@\u212Aexample.com", "kate@kexample.com", true},
		{"right-to-left override", "kate\u202e@example.com", "kate@example.com", false},
		{"zero-width joiner", "ka\u200dte@example.com", "kate@example.com", false},
		{"zero-width space", "ka\u200bte@example.com", "kate@example.com", false},
		{"invalid UTF-8", "kate\xff@example.com", "kate@example.com", false},
		{"surrounding space", "  kate@example.com\t", "kate@example.com", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ka, kb := FoldEmail(tt.a), FoldEmail(tt.b)
			if (ka == kb) != tt.same {
				t.Errorf("FoldEmail(%+q) = %+q, FoldEmail(%+q) = %+q; same = %v, want %v", tt.a, ka, tt.b, kb, ka == kb, tt.same)
			}
			if FoldEmail(ka) != ka {
				t.Errorf("FoldEmail(%+q) = %+q: a key does not fold to itself", ka, FoldEmail(ka))
			}
		})
	}
}

// TestNormalizeEmail: what sign-up stores for an address, or the message
// that refuses it.
func TestNormalizeEmail(t *testing.T) {
	tests := []struct {
		name, in, want, msg string
	}{
		{"ASCII, case of the local part kept", " Kate@Example.COM ", "Kate@example.com", ""},
		{"Kelvin sign", "\u212Aate@example.com", "Kate@example.com", ""},
		{"NFD to NFC", "alice\u0301@example.com", "alic\u00e9@example.com", ""},
		{"fullwidth letters", "\uff2b\uff41\uff54\uff45@example.com", "Kate@example.com", ""},
		{"Unicode domain lower-cased", "kate@B\u00dcCHER.example", "kate@b\u00fccher.example", ""},
		{"A-label kept ASCII", "kate@XN--BCHER-KVA.example", "kate@xn--bcher-kva.example", ""},
		{"empty", "  ", "", MsgRequired},
		{"invalid UTF-8", "kate\xff@example.com", "", MsgInvalidText},
		{"replacement character (invalid UTF-8 through JSON)", "kate\ufffd@example.com", "", MsgInvalidText},
		{"private use", "kate\ue000@example.com", "", MsgInvalidText},
		{"unassigned", "kate\u0378@example.com", "", MsgInvalidText},
		{"right-to-left override", "\u202emoc.elpmaxe@etak", "", MsgHiddenCharacters},
		{"right-to-left isolate", "kate\u2067@example.com", "", MsgHiddenCharacters},
		{"left-to-right mark", "kate\u200e@example.com", "", MsgHiddenCharacters},
		{"zero-width joiner", "ka\u200dte@example.com", "", MsgHiddenCharacters},
		{"zero-width non-joiner in the domain", "kate@exa\u200cmple.com", "", MsgHiddenCharacters},
		{"soft hyphen", "ka\u00adte@example.com", "", MsgHiddenCharacters},
		{"variation selector", "kate\ufe0f@example.com", "", MsgHiddenCharacters},
		{"byte-order mark", "\ufeffkate@example.com", "", MsgHiddenCharacters},
		{"Hangul filler", "kate\u3164@example.com", "", MsgHiddenCharacters},
		{"control character", "kate\x07@example.com", "", MsgHiddenCharacters},
		{"ligature", "\ufb01sh@example.com", "", MsgLookalikeCharacters},
		{"mathematical letter", "\U0001d424ate@example.com", "", MsgLookalikeCharacters},
		{"circled letter", "\u24date@example.com", "", MsgLookalikeCharacters},
		{"no at sign", "kate.example.com", "", MsgInvalidEmail},
		{"domain IDNA refuses", "kate@-example.com", "", MsgInvalidEmail},
		{"undotted domain", "kate@localhost", "", MsgInvalidEmail},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, msg := normalizeEmail(tt.in)
			if got != tt.want || msg != tt.msg {
				t.Errorf("normalizeEmail(%+q) = %+q, %q; want %+q, %q", tt.in, got, msg, tt.want, tt.msg)
			}
			if msg == "" && FoldEmail(got) != FoldEmail(tt.in) {
				t.Errorf("FoldEmail of the stored form %+q = %+q, of the input %+q", got, FoldEmail(got), FoldEmail(tt.in))
			}
		})
	}
}

// TestUsernames: usernames follow PRECIS UsernameCaseMapped (RFC 8265) for
// comparison and Flask-User's characters for what may be stored.
func TestUsernames(t *testing.T) {
	tests := []struct {
		name, in, want, msg, key string
	}{
		{"mixed case", "Kate_99", "Kate_99", "", "kate_99"},
		{"Kelvin sign", "\u212Aate", "Kate", "", "kate"},
		{"fullwidth letters", "\uff4b\uff41\uff54\uff45", "kate", "", "kate"},
		{"empty", " ", "", MsgRequired, ""},
		{"invalid UTF-8", "kate\xff", "", MsgInvalidText, ""},
		{"right-to-left override", "kate\u202e", "", MsgHiddenCharacters, ""},
		{"zero-width joiner", "ka\u200dte", "", MsgHiddenCharacters, ""},
		{"non-ASCII letter", "k\u00e4te", "", MsgInvalidUsername, ""},
		{"at sign", "kate@x", "", MsgInvalidUsername, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, msg := normalizeUsername(tt.in)
			if got != tt.want || msg != tt.msg {
				t.Errorf("normalizeUsername(%+q) = %+q, %q; want %+q, %q", tt.in, got, msg, tt.want, tt.msg)
			}
			if tt.key != "" {
				if k := FoldUsername(tt.in); k != tt.key {
					t.Errorf("FoldUsername(%+q) = %+q, want %+q", tt.in, k, tt.key)
				}
			}
		})
	}
	// Refused usernames still get a key, and not the one they look like.
	for _, s := range []string{"ka\u200dte", "kate\u202e", "kate\xff"} {
		if k := FoldUsername(s); k == FoldUsername("kate") {
			t.Errorf("FoldUsername(%+q) = %+q, the key of kate", s, k)
		}
	}
}

// TestFoldEmailASCIIShortcut: FoldEmail's shortcut for ASCII addresses
// gives what the full fold (NFC, IDNA) gives.
func TestFoldEmailASCIIShortcut(t *testing.T) {
	for _, d := range []string{"Example.COM", "ex_ample.com", "-x.example", "a--b.example", "example.com.", "ex..com", "123.example", "localhost", ""} {
		s := "Kate.O'Brien+tag@" + d
		at := strings.LastIndexByte(s, '@')
		domain := s[at+1:]
		if a, err := idna.Lookup.ToASCII(domain); err == nil {
			domain = a
		}
		full := lowerASCII(s[:at]) + "@" + lowerASCII(domain)
		if got := FoldEmail(s); got != full {
			t.Errorf("FoldEmail(%q) = %q; the full fold gives %q", s, got, full)
		}
	}
}
