package password

import (
	"errors"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// FuzzVerify reads arbitrary text as a stored hash, in every format Verify
// knows (the seeds are the imported-hash vectors and Usher's own hashes,
// plus their damaged forms): CheckHash and Verify never panic, agree on
// what they can read, and an unreadable hash never matches. Verify runs
// only on hashes whose parameters are cheap, so that the fuzzer explores
// parsing rather than spending minutes in one key derivation.
func FuzzVerify(f *testing.F) {
	for _, v := range mustLoadVectors(f) {
		if v.mode != "hmac" {
			f.Add(v.hash, v.password)
			f.Add(v.hash[:len(v.hash)/2], v.password)
		}
	}
	own, err := fastArgon.Hash("correct horse")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(own, "correct horse")
	f.Add("$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5", "x")
	f.Add("$2b$04$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234", "x")
	f.Add("scrypt:16:1:1$salt$00112233445566778899aabbccddeeff", "x")
	f.Add("pbkdf2:sha256:1$salt$00112233445566778899aabbccddeeff", "x")
	f.Add("$6$rounds=1000$salt$hash", "x")
	f.Add("$pbkdf2-sha256$1$c2FsdA$a2V5", "x")
	f.Add("", "")
	h := &Hasher{FlaskSecuritySalt: testSalt}
	f.Fuzz(func(t *testing.T, encoded, password string) {
		checkErr := h.CheckHash(encoded)
		if checkErr != nil && !errors.Is(checkErr, ErrUnknownFormat) {
			t.Fatalf("CheckHash(%q) = %v, not ErrUnknownFormat", encoded, checkErr)
		}
		if !cheapToVerify(encoded) {
			return
		}
		ok, rehash, err := h.Verify(encoded, password)
		if (err == nil) != (checkErr == nil) {
			t.Fatalf("CheckHash(%q) = %v but Verify gives %v", encoded, checkErr, err)
		}
		if err != nil && (ok || rehash) {
			t.Fatalf("Verify(%q) matched a hash it cannot read: %v", encoded, err)
		}
	})
}

var digitRuns = regexp.MustCompile(`[0-9]+`)

// cheapToVerify reports whether the numbers in encoded, whichever of them
// are its cost parameters, multiply to at most 2^14 (bcrypt: a cost of at
// most 6), so that a key derivation takes milliseconds.
func cheapToVerify(encoded string) bool {
	if strings.HasPrefix(encoded, "$2") {
		c, err := strconv.Atoi(encoded[min(4, len(encoded)):min(6, len(encoded))])
		return err != nil || c <= 6
	}
	cost := 1
	for _, d := range digitRuns.FindAllString(encoded, -1) {
		n, err := strconv.Atoi(d)
		if err != nil || n > 1<<14 {
			return false
		}
		if n > 0 {
			cost *= n
		}
		if cost > 1<<14 {
			return false
		}
	}
	return true
}
