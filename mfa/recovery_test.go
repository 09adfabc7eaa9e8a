package mfa

import (
	"bytes"
	"crypto/sha256"
	"regexp"
	"strings"
	"testing"
)

func TestNewRecoveryCodes(t *testing.T) {
	format := regexp.MustCompile(`^[0-9a-hjkmnp-tv-z]{5}-[0-9a-hjkmnp-tv-z]{5}$`)
	seen := map[string]bool{}
	for range 50 {
		codes, err := NewRecoveryCodes(10)
		if err != nil {
			t.Fatal(err)
		}
		if len(codes) != 10 {
			t.Fatalf("got %d codes; want 10", len(codes))
		}
		for _, c := range codes {
			if !format.MatchString(c) {
				t.Errorf("code %q: want xxxxx-xxxxx from %s", c, recoveryAlphabet)
			}
			if seen[c] {
				t.Errorf("code %q repeated", c)
			}
			seen[c] = true
			if NormalizeRecoveryCode(c) != strings.ReplaceAll(c, "-", "") {
				t.Errorf("code %q is not in normal form", c)
			}
		}
	}
	for _, n := range []int{0, -3} {
		if codes, err := NewRecoveryCodes(n); err != nil || len(codes) != DefaultRecoveryCodes {
			t.Errorf("NewRecoveryCodes(%d) = %d codes, %v; want %d", n, len(codes), err, DefaultRecoveryCodes)
		}
	}
	if codes, _ := NewRecoveryCodes(3); len(codes) != 3 {
		t.Errorf("NewRecoveryCodes(3) = %d codes", len(codes))
	}
	if len(recoveryAlphabet) != 32 {
		t.Errorf("alphabet has %d symbols; want 32 (5 bits each, 50 bits a code)", len(recoveryAlphabet))
	}
}

func TestNormalizeRecoveryCode(t *testing.T) {
	tests := []struct{ in, want string }{
		{"abcde-fgh23", "abcdefgh23"},
		{"ABCDE-FGH23", "abcdefgh23"},
		{" abcde fgh23 ", "abcdefgh23"},
		{"abc-de-fg-h23\n", "abcdefgh23"},
		{"OIL00-11xyz", "0110011xyz"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := NormalizeRecoveryCode(tt.in); got != tt.want {
			t.Errorf("NormalizeRecoveryCode(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

func TestHashRecoveryCode(t *testing.T) {
	want := sha256.Sum256([]byte("abcdefgh23"))
	for _, in := range []string{"abcde-fgh23", "ABCDE FGH23", "abcdefgh23"} {
		if got := HashRecoveryCode(in); !bytes.Equal(got, want[:]) {
			t.Errorf("HashRecoveryCode(%q) = %x; want %x", in, got, want)
		}
	}
	if bytes.Equal(HashRecoveryCode("abcde-fgh23"), HashRecoveryCode("abcde-fgh24")) {
		t.Error("different codes hash alike")
	}

	codes, _ := NewRecoveryCodes(10)
	var hashes [][]byte
	for _, c := range codes {
		hashes = append(hashes, HashRecoveryCode(c))
	}
	if got := MatchRecoveryCode(strings.ToUpper(codes[4]), hashes); got != 4 {
		t.Errorf("MatchRecoveryCode(code 4) = %d", got)
	}
	if got := MatchRecoveryCode("zzzzz-zzzzz", hashes); got != -1 && codes[got] != "zzzzz-zzzzz" {
		t.Errorf("MatchRecoveryCode(unknown) = %d; want -1", got)
	}
	if got := MatchRecoveryCode(codes[0], nil); got != -1 {
		t.Errorf("MatchRecoveryCode with no hashes = %d; want -1", got)
	}
}
