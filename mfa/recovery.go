package mfa

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"strings"
)

// DefaultRecoveryCodes is how many recovery codes a user gets at a time.
const DefaultRecoveryCodes = 10

// recoveryAlphabet is Crockford's base32 in lower case: no i, l, o or u, so
// nothing reads as another character (NormalizeRecoveryCode maps i and l to
// 1 and o to 0). 32 symbols, 5 bits each: a 10-character code holds 50 bits.
const recoveryAlphabet = "0123456789abcdefghjkmnpqrstvwxyz"

// NewRecoveryCodes returns n distinct random recovery codes ("xxxxx-xxxxx",
// 50 bits each); n < 1 means DefaultRecoveryCodes.
func NewRecoveryCodes(n int) ([]string, error) {
	if n < 1 {
		n = DefaultRecoveryCodes
	}
	codes := make([]string, 0, n)
	seen := make(map[string]bool, n)
	buf := make([]byte, 10)
	for len(codes) < n {
		if _, err := rand.Read(buf); err != nil {
			return nil, err
		}
		var b strings.Builder
		for i, c := range buf {
			if i == 5 {
				b.WriteByte('-')
			}
			b.WriteByte(recoveryAlphabet[c&31]) // 256 is a multiple of 32: uniform
		}
		code := b.String()
		if !seen[code] {
			seen[code] = true
			codes = append(codes, code)
		}
	}
	return codes, nil
}

// NormalizeRecoveryCode returns code as NewRecoveryCodes's alphabet writes
// it: lower case, without spaces or dashes, and with the look-alikes o, i
// and l read as 0, 1 and 1.
func NormalizeRecoveryCode(code string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\n', '\r', '-':
			return -1
		case 'o', 'O':
			return '0'
		case 'i', 'I', 'l', 'L':
			return '1'
		}
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}, code)
}

// HashRecoveryCode returns the SHA-256 of the normalized code, the form in
// which codes are stored. A fast hash is right here, unlike for passwords:
// the codes are 50-bit random values, not guessable human choices, so a
// stolen hash cannot be reversed by trying likely inputs, and a slow hash
// would only slow down log-in.
func HashRecoveryCode(code string) []byte {
	sum := sha256.Sum256([]byte(NormalizeRecoveryCode(code)))
	return sum[:]
}

// MatchRecoveryCode returns the index in hashes of the hash of code, or -1.
// It compares every hash in constant time.
func MatchRecoveryCode(code string, hashes [][]byte) int {
	h := HashRecoveryCode(code)
	found := -1
	for i, x := range hashes {
		if subtle.ConstantTimeCompare(h, x) == 1 && found < 0 {
			found = i
		}
	}
	return found
}
