package usher

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"
	"golang.org/x/text/secure/precis"
	"golang.org/x/text/unicode/norm"
	"golang.org/x/text/width"
)

// Message IDs for identifiers (e-mail addresses, usernames) refused for
// the characters in them rather than for their shape.
const (
	// MsgInvalidText: bytes that are not UTF-8 (or the replacement
	// character they became on the way), private-use, unassigned or
	// non-characters.
	MsgInvalidText = "text_invalid"
	// MsgHiddenCharacters: control characters and invisible ones — bidi
	// overrides such as U+202E, zero-width joiners and spaces, soft
	// hyphens, variation selectors and other default-ignorable characters.
	MsgHiddenCharacters = "text_hidden_characters"
	// MsgLookalikeCharacters: compatibility characters that stand for
	// ordinary letters (ligatures, mathematical or circled letters,
	// superscripts).
	MsgLookalikeCharacters = "text_lookalike_characters"
)

// FoldEmail returns the key by which e-mail addresses are compared: two
// addresses are the same account's exactly when their keys are equal.
// Stores keep it in a uniquely indexed column, and it is the form to key
// anything else on an address (throttle counters, for instance).
//
// The address is trimmed, fullwidth forms become the ordinary ones, and it
// is put in Unicode NFC, so that the Kelvin sign U+212A is the letter K and
// a decomposed "é" the composed one. The local part (before the last "@")
// is then lower-cased for ASCII letters only: mailboxes are case-sensitive
// in principle, and folding beyond ASCII would merge addresses that differ
// (Unicode lower-casing is what mapped U+212A to "k"). The domain goes
// through IDNA (UTS #46 lookup) to its lower-case ASCII form, so
// "Bücher.example" and "xn--bcher-kva.example" are one domain.
//
// FoldEmail never fails: an address that sign-up would refuse still gets a
// key (invalid UTF-8 and NUL as U+FFFD, a domain IDNA refuses lower-cased
// as ASCII), which no valid address has, and which a database can hold.
func FoldEmail(email string) string {
	email = strings.TrimSpace(email)
	if isASCII(email) && !strings.ContainsRune(email, 0) {
		// The common case, without the cost of NFC and IDNA: ASCII is
		// NFC, and IDNA maps an ASCII label that is not an A-label to its
		// lower case or refuses it (then lower-cased below too).
		if k := lowerASCII(email); !strings.Contains(k, "xn--") {
			return k
		}
	}
	s := normalizeText(email)
	at := strings.LastIndexByte(s, '@')
	if at < 0 {
		return lowerASCII(s)
	}
	local, domain := s[:at], s[at+1:]
	if d, err := idna.Lookup.ToASCII(domain); err == nil {
		domain = d
	}
	return lowerASCII(local) + "@" + lowerASCII(domain)
}

// FoldUsername returns the key by which usernames are compared: the PRECIS
// UsernameCaseMapped profile (RFC 8265) — fullwidth forms mapped, lower-cased,
// NFC. Like FoldEmail it never fails: a username the profile refuses (and
// sign-up refuses) is trimmed, made valid UTF-8, NFC and lower-cased.
func FoldUsername(name string) string {
	name = strings.TrimSpace(name)
	if k, err := precis.UsernameCaseMapped.String(name); err == nil {
		return k
	}
	return strings.ToLower(normalizeText(name))
}

// normalizeText trims s, replaces invalid UTF-8 and NUL (which no
// PostgreSQL text can hold) by U+FFFD, maps fullwidth and halfwidth forms to
// their ordinary ones and puts s in NFC.
func normalizeText(s string) string {
	s = strings.ToValidUTF8(strings.TrimSpace(s), string(utf8.RuneError))
	s = strings.ReplaceAll(s, "\x00", string(utf8.RuneError))
	return norm.NFC.String(width.Fold.String(s))
}

// lowerASCII lower-cases the ASCII letters of s and leaves every other
// character alone.
func lowerASCII(s string) string {
	return strings.Map(func(r rune) rune {
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}, s)
}

// textProblem returns "" or the message ID that refuses s for the
// characters in it: MsgInvalidText or MsgHiddenCharacters.
func textProblem(s string) string {
	if !utf8.ValidString(s) {
		return MsgInvalidText
	}
	for _, r := range s {
		switch {
		case hiddenRune(r):
			return MsgHiddenCharacters
		case invalidRune(r):
			return MsgInvalidText
		}
	}
	return ""
}

// hiddenRune reports whether r is a control character or one that is not
// shown but changes how text around it looks or compares: format
// characters (Cf: bidi embeddings, overrides and isolates, zero-width
// joiners and spaces, soft hyphen, the byte-order mark, tags), line and
// paragraph separators, variation selectors and the other
// default-ignorable code points.
func hiddenRune(r rune) bool {
	return unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp, unicode.Bidi_Control,
		unicode.Variation_Selector, unicode.Other_Default_Ignorable_Code_Point)
}

// invalidRune reports whether r is no character to type: the replacement
// character (invalid UTF-8 decoded on the way, by encoding/json for
// instance), a private-use or unassigned code point, or a non-character.
func invalidRune(r rune) bool {
	return r == utf8.RuneError || unicode.In(r, unicode.Co, unicode.Cn, unicode.Noncharacter_Code_Point)
}

// lookalike reports whether s (in NFC) holds a compatibility character:
// one whose NFKC form differs, such as "ﬁ", "𝐤", "ⓚ" or "²".
func lookalike(s string) bool {
	return !norm.NFKC.IsNormalString(s)
}

// isASCII reports whether s is all ASCII.
func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
