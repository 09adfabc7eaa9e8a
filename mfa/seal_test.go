package mfa

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

func TestSealerRoundTrip(t *testing.T) {
	s, err := NewSealer(NewKey())
	if err != nil {
		t.Fatal(err)
	}
	for _, msg := range [][]byte{[]byte("12345678901234567890"), {}, bytes.Repeat([]byte{7}, 1000)} {
		sealed, err := s.Seal(msg)
		if err != nil {
			t.Fatal(err)
		}
		if want := 1 + 8 + 12 + len(msg) + 16; len(sealed) != want {
			t.Errorf("sealed %d bytes into %d; want %d", len(msg), len(sealed), want)
		}
		if len(msg) > 0 && bytes.Contains(sealed, msg) {
			t.Error("sealed value contains the plaintext")
		}
		got, err := s.Open(sealed)
		if err != nil || !bytes.Equal(got, msg) {
			t.Errorf("Open = %q, %v; want %q", got, err, msg)
		}
		if s.NeedsReseal(sealed) {
			t.Error("NeedsReseal on a value sealed with the current key")
		}
	}
	a, _ := s.Seal([]byte("x"))
	b, _ := s.Seal([]byte("x"))
	if bytes.Equal(a, b) {
		t.Error("two seals of the same plaintext are equal: the nonce is not random")
	}
}

func TestSealerFormat(t *testing.T) {
	key := bytes.Repeat([]byte{0x42}, 32)
	s, _ := NewSealer(key)
	sealed, _ := s.Seal([]byte("secret"))
	sum := sha256.Sum256(key) // the key ID is the first 8 bytes of SHA-256 of the key
	if sealed[0] != 1 || !bytes.Equal(sealed[1:9], sum[:8]) {
		t.Errorf("header %x; want version 1 and key ID %x", sealed[:9], sum[:8])
	}
}

func TestSealerRotation(t *testing.T) {
	oldKey, newKey := NewKey(), NewKey()
	old, _ := NewSealer(oldKey)
	sealedOld, _ := old.Seal([]byte("old secret"))

	s, err := NewSealer(newKey, oldKey)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Open(sealedOld)
	if err != nil || string(got) != "old secret" {
		t.Fatalf("Open(old) = %q, %v", got, err)
	}
	if !s.NeedsReseal(sealedOld) {
		t.Error("NeedsReseal(old) = false; want true")
	}
	resealed, _ := s.Seal(got)
	if s.NeedsReseal(resealed) {
		t.Error("NeedsReseal(resealed) = true")
	}
	if _, err := old.Open(resealed); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("old Sealer opening a new value: %v; want ErrUnknownKey", err)
	}
	if s.NeedsReseal([]byte{1, 2}) {
		t.Error("NeedsReseal on garbage")
	}
}

func TestSealerTampering(t *testing.T) {
	s, _ := NewSealer(NewKey())
	sealed, _ := s.Seal([]byte("12345678901234567890"))
	for i := range sealed {
		bad := bytes.Clone(sealed)
		bad[i] ^= 0x01
		if got, err := s.Open(bad); err == nil {
			t.Errorf("flipped byte %d: Open = %q, nil; want an error", i, got)
		}
	}
	for _, bad := range [][]byte{nil, sealed[:1], sealed[:9], sealed[:21], sealed[:len(sealed)-1], append(bytes.Clone(sealed), 0)} {
		if _, err := s.Open(bad); err == nil {
			t.Errorf("Open(%d bytes): want an error", len(bad))
		}
	}
}

func TestSealerWrongKey(t *testing.T) {
	a, _ := NewSealer(NewKey())
	b, _ := NewSealer(NewKey())
	sealed, _ := a.Seal([]byte("x"))
	if _, err := b.Open(sealed); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("Open with the wrong key: %v; want ErrUnknownKey", err)
	}
	// A forged header naming b's key still fails authentication.
	forged := bytes.Clone(sealed)
	id := b.ids[0]
	copy(forged[1:9], id[:])
	if _, err := b.Open(forged); !errors.Is(err, ErrCannotOpen) {
		t.Errorf("Open of a forged key ID: %v; want ErrCannotOpen", err)
	}
}

func TestNewSealerErrors(t *testing.T) {
	for _, keys := range [][][]byte{nil, {make([]byte, 16)}, {NewKey(), make([]byte, 31)}} {
		if _, err := NewSealer(keys...); err == nil {
			t.Errorf("NewSealer(%d keys): want an error", len(keys))
		}
	}
}

func TestParseKey(t *testing.T) {
	key := NewKey()
	key[0], key[1] = 0xfb, 0xff // makes the std and URL base64 alphabets differ
	forms := map[string]string{
		"hex":           hex.EncodeToString(key),
		"HEX":           strings.ToUpper(hex.EncodeToString(key)),
		"base64":        base64.StdEncoding.EncodeToString(key),
		"base64 raw":    base64.RawStdEncoding.EncodeToString(key),
		"base64url":     base64.URLEncoding.EncodeToString(key),
		"base64url raw": base64.RawURLEncoding.EncodeToString(key),
		"with newline":  base64.StdEncoding.EncodeToString(key) + "\n",
	}
	for name, s := range forms {
		got, err := ParseKey(s)
		if err != nil || !bytes.Equal(got, key) {
			t.Errorf("ParseKey(%s %q) = %x, %v; want %x", name, s, got, err, key)
		}
	}
	for _, s := range []string{"", "short", hex.EncodeToString(key[:31]), base64.StdEncoding.EncodeToString(append(key, 0)), "zz" + hex.EncodeToString(key)[2:]} {
		if _, err := ParseKey(s); err == nil {
			t.Errorf("ParseKey(%q): want an error", s)
		}
	}
	if a, b := NewKey(), NewKey(); len(a) != 32 || bytes.Equal(a, b) {
		t.Error("NewKey: want 32 random bytes")
	}
}
