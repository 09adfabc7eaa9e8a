package password

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/usher-auth/usher"
)

// vector is one line of testdata/hashes.txt, made by passlib and
// Flask-Security (the script is at the top of that file).
type vector struct {
	name, mode, password, hash string
}

func mustLoadVectors(tb testing.TB) []vector {
	tb.Helper()
	f, err := os.Open("testdata/hashes.txt")
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var vs []vector
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) != 4 {
			tb.Fatalf("bad line %q", line)
		}
		v := vector{name: f[0], mode: f[1], hash: f[3]}
		if err := json.Unmarshal([]byte(f[2]), &v.password); err != nil {
			tb.Fatalf("bad password in %q: %v", line, err)
		}
		vs = append(vs, v)
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return vs
}

const testSalt = "usher-test-salt" // SECURITY_PASSWORD_SALT of the vectors

func TestVerifyImported(t *testing.T) {
	for _, v := range mustLoadVectors(t) {
		if v.mode == "hmac" {
			continue
		}
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			h := &Hasher{}
			if v.mode == "flask-security" {
				h.FlaskSecuritySalt = testSalt
			}
			// No vector has the current parameters (m=9216,t=4,p=1), so
			// every correct one asks for a rehash; TestHashDefault covers
			// the current format.
			wantRehash := true
			ok, rehash, err := h.Verify(v.hash, v.password)
			if !ok || rehash != wantRehash || err != nil {
				t.Errorf("Verify(%q, %q) = %v, %v, %v; want true, %v, nil", v.hash, v.password, ok, rehash, err, wantRehash)
			}
			ok, rehash, err = h.Verify(v.hash, "x"+v.password)
			if ok || rehash || err != nil {
				t.Errorf("Verify(%q, wrong) = %v, %v, %v; want false, false, nil", v.hash, ok, rehash, err)
			}
			// Without the right salt, the pre-hash does not match (and the
			// password as typed is tried too). Once per scheme: it is slow.
			if v.mode == "flask-security" && v.password == "Tr0ub4dor&3" {
				ok, _, err := (&Hasher{FlaskSecuritySalt: "other"}).Verify(v.hash, v.password)
				if ok || err != nil {
					t.Errorf("Verify with another salt = %v, %v; want false, nil", ok, err)
				}
			}
		})
	}
}

func TestVerifyBcryptLong(t *testing.T) {
	// passlib, like every bcrypt, reads only the first 72 bytes; so do we,
	// so that users with long passwords can still log in after an import.
	for _, v := range mustLoadVectors(t) {
		if v.name != "bcrypt-2b-long" {
			continue
		}
		for _, pw := range []string{v.password, v.password[:BcryptMaxBytes], v.password[:BcryptMaxBytes] + "other"} {
			if ok, _, err := new(Hasher).Verify(v.hash, pw); !ok || err != nil {
				t.Errorf("Verify(%q) = %v, %v; want true, nil", pw, ok, err)
			}
		}
		if ok, _, _ := new(Hasher).Verify(v.hash, v.password[:BcryptMaxBytes-1]); ok {
			t.Errorf("Verify(71 bytes) = true; want false")
		}
		return
	}
	t.Fatal("no bcrypt-2b-long vector")
}

func TestFlaskSecurityHMAC(t *testing.T) {
	n := 0
	for _, v := range mustLoadVectors(t) {
		if v.mode != "hmac" {
			continue
		}
		n++
		if got := flaskSecurityHMAC(testSalt, v.password); got != v.hash {
			t.Errorf("flaskSecurityHMAC(%q) = %q; want get_hmac's %q", v.password, got, v.hash)
		}
	}
	if n == 0 {
		t.Fatal("no get_hmac vectors")
	}
}

// fast hashers keep the tests quick; the defaults are tested above and in
// TestHashDefault.
var (
	fastArgon  = &Hasher{Memory: 64, Time: 1}
	fastBcrypt = &Hasher{Algorithm: Bcrypt, BcryptCost: 4}
)

func TestHashDefault(t *testing.T) {
	h := &Hasher{}
	enc, err := h.Hash("correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	const prefix = "$argon2id$v=19$m=9216,t=4,p=1$"
	if !strings.HasPrefix(enc, prefix) {
		t.Fatalf("Hash = %q; want prefix %q", enc, prefix)
	}
	f := strings.Split(enc, "$")
	salt, err1 := base64.RawStdEncoding.DecodeString(f[4])
	key, err2 := base64.RawStdEncoding.DecodeString(f[5])
	if len(salt) != 16 || len(key) != 32 || err1 != nil || err2 != nil {
		t.Errorf("salt %d bytes, key %d bytes (%v, %v); want 16, 32", len(salt), len(key), err1, err2)
	}
	ok, rehash, err := h.Verify(enc, "correct horse battery staple")
	if !ok || rehash || err != nil {
		t.Errorf("Verify = %v, %v, %v; want true, false, nil", ok, rehash, err)
	}
	enc2, _ := h.Hash("correct horse battery staple")
	if enc2 == enc {
		t.Error("two hashes of one password are equal: salt not random")
	}
}

func TestRehash(t *testing.T) {
	tests := []struct {
		name       string
		from, to   *Hasher
		wantRehash bool
	}{
		{"same argon2id", fastArgon, &Hasher{Memory: 64, Time: 1}, false},
		{"argon2id memory", fastArgon, &Hasher{Memory: 128, Time: 1}, true},
		{"argon2id time", fastArgon, &Hasher{Memory: 64, Time: 2}, true},
		{"argon2id threads", fastArgon, &Hasher{Memory: 64, Time: 1, Threads: 2}, true},
		{"argon2id to bcrypt", fastArgon, &Hasher{Algorithm: Bcrypt, BcryptCost: 4}, true},
		{"same bcrypt", fastBcrypt, &Hasher{Algorithm: Bcrypt, BcryptCost: 4}, false},
		{"bcrypt cost", fastBcrypt, &Hasher{Algorithm: Bcrypt, BcryptCost: 5}, true},
		{"bcrypt to argon2id", fastBcrypt, fastArgon, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enc, err := tt.from.Hash("s3cret passw0rd")
			if err != nil {
				t.Fatal(err)
			}
			ok, rehash, err := tt.to.Verify(enc, "s3cret passw0rd")
			if !ok || rehash != tt.wantRehash || err != nil {
				t.Errorf("Verify(%q) = %v, %v, %v; want true, %v, nil", enc, ok, rehash, err, tt.wantRehash)
			}
			ok, rehash, err = tt.to.Verify(enc, "s3cret passw0rD")
			if ok || rehash || err != nil {
				t.Errorf("Verify(wrong) = %v, %v, %v; want false, false, nil", ok, rehash, err)
			}
		})
	}
}

func TestFlaskSecurityNotTriedOnCurrent(t *testing.T) {
	// A hash in the current format is ours, so the pre-hash is not tried:
	// wrong passwords cost one derivation, the same as Dummy.
	h := &Hasher{Memory: 64, Time: 1, FlaskSecuritySalt: testSalt}
	enc, _ := h.Hash(flaskSecurityHMAC(testSalt, "pw"))
	if ok, _, _ := h.Verify(enc, "pw"); ok {
		t.Error("pre-hash tried on a current hash")
	}
	old := &Hasher{Memory: 128, Time: 1}
	enc, _ = old.Hash(flaskSecurityHMAC(testSalt, "pw"))
	if ok, rehash, _ := h.Verify(enc, "pw"); !ok || !rehash {
		t.Errorf("pre-hash on an old hash: Verify = %v, %v; want true, true", ok, rehash)
	}
}

func TestVerifyMalformed(t *testing.T) {
	tests := []string{
		"",
		"password",
		"$",
		"$argon2id$",
		"$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ",
		"$argon2id$v=16$m=64,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5",
		"$argon2id$m=64,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5",
		"$argon2id$v=19$t=1,m=64,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5",
		"$argon2id$v=19$m=64,t=1$c2FsdHNhbHQ$a2V5a2V5a2V5",
		"$argon2id$v=19$m=64,t=0,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5",
		"$argon2id$v=19$m=64,t=1,p=0$c2FsdHNhbHQ$a2V5a2V5a2V5",
		"$argon2id$v=19$m=64,t=1,p=256$c2FsdHNhbHQ$a2V5a2V5a2V5",
		"$argon2id$v=19$m=7,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5",
		"$argon2id$v=19$m=99999999999,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5",
		"$argon2id$v=19$m=4194304,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5",
		"$argon2id$v=19$m=-1,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5",
		"$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$",
		"$argon2id$v=19$m=64,t=1,p=1$$a2V5a2V5a2V5",
		"$argon2id$v=19$m=64,t=1,p=1$!!!$a2V5a2V5a2V5",
		"$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5",
		"$2a$",
		"$2b$12$short",
		"$2b$12$phnBF1uJzRwOwGwDPTV/wuFDua7y.YJtDYJqMWd9D410ZDr/PyWu",
		"$2b$12$phnBF1uJzRwOwGwDPTV/wuFDua7y.YJtDYJqMWd9D410ZDr/PyWui=",
		"$2b$12$phnBF1uJzRwOwGwDPTV/wuFDua7y.YJtDYJqMWd9D410ZDr/PyW!i",
		"$2b$99$phnBF1uJzRwOwGwDPTV/wuFDua7y.YJtDYJqMWd9D410ZDr/PyWui",
		"$2x$12$phnBF1uJzRwOwGwDPTV/wuFDua7y.YJtDYJqMWd9D410ZDr/PyWui",
		"$6$",
		"$6$rounds=abc$salt$key",
		"$6$salt$",
		"$5$rounds=5000$",
		"$pbkdf2-sha256$",
		"$pbkdf2-sha256$abc$szbGWEvp3bsXAqCUMgbAGA$PaaDXnoR2JiWnN9EBNDXS1dNBh75/LVKUlKI8L87kRI",
		"$pbkdf2-sha256$29000$szbGWEvp3bsXAqCUMgbAGA$",
		"$pbkdf2-sha512$25000$!!$ahtd",
		"$1$saltsalt$hash",
		"{SSHA}abcdef",
	}
	for _, enc := range tests {
		h := &Hasher{FlaskSecuritySalt: testSalt}
		ok, rehash, err := h.Verify(enc, "password")
		if ok || rehash || !errors.Is(err, ErrUnknownFormat) {
			t.Errorf("Verify(%q) = %v, %v, %v; want false, false, ErrUnknownFormat", enc, ok, rehash, err)
		}
	}
}

func TestHashBcrypt(t *testing.T) {
	enc, err := fastBcrypt.Hash("correct horse battery staple")
	if err != nil || !strings.HasPrefix(enc, "$2a$04$") {
		t.Fatalf("Hash = %q, %v; want $2a$04$...", enc, err)
	}
	// Bcrypt would ignore bytes after the 72nd, so it refuses them.
	_, err = fastBcrypt.Hash(strings.Repeat("a", 73))
	var pe *usher.PasswordError
	if !errors.As(err, &pe) || pe.Reason != usher.MsgPasswordTooLong || pe.Max != 72 || !errors.Is(err, usher.ErrPasswordNotAcceptable) {
		t.Errorf("Hash(73 bytes) err = %v; want PasswordError too long, max 72", err)
	}
	if _, err := fastBcrypt.Hash(strings.Repeat("a", 72)); err != nil {
		t.Errorf("Hash(72 bytes) err = %v", err)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		h      *Hasher
		wantOK bool
	}{
		{&Hasher{}, true},
		{&Hasher{Algorithm: Argon2id}, true},
		{&Hasher{Algorithm: Bcrypt}, true},
		{&Hasher{Algorithm: "md5"}, false},
		{&Hasher{Algorithm: Bcrypt, BcryptCost: 3}, false},
		{&Hasher{Algorithm: Bcrypt, BcryptCost: 32}, false},
		{&Hasher{Memory: 7}, false},
		{&Hasher{Memory: 8, Threads: 2}, false},
	}
	for _, tt := range tests {
		err := tt.h.Validate()
		if (err == nil) != tt.wantOK {
			t.Errorf("%+v.Validate() = %v; want ok %v", tt.h, err, tt.wantOK)
		}
		if _, err2 := tt.h.Hash("x"); (err2 == nil) != tt.wantOK && tt.h.Algorithm != Bcrypt {
			t.Errorf("%+v.Hash err = %v; want ok %v", tt.h, err2, tt.wantOK)
		}
	}
}

func TestDummy(t *testing.T) {
	h := &Hasher{Memory: 64, Time: 1}
	var wg sync.WaitGroup
	for range 4 { // the first use may be concurrent
		wg.Go(func() { h.Dummy("anything") })
	}
	wg.Wait()
	if !strings.HasPrefix(h.dummy, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Errorf("dummy hash %q is not in the current format", h.dummy)
	}
	b := &Hasher{Algorithm: Bcrypt, BcryptCost: 4}
	b.Dummy(strings.Repeat("long", 100))
	if !strings.HasPrefix(b.dummy, "$2a$04$") {
		t.Errorf("dummy hash %q is not in the current format", b.dummy)
	}
}

func BenchmarkHashArgon2id(b *testing.B) {
	h := &Hasher{}
	for b.Loop() {
		if _, err := h.Hash("correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyArgon2id(b *testing.B) {
	h := &Hasher{}
	enc, _ := h.Hash("correct horse battery staple")
	for b.Loop() {
		if ok, _, _ := h.Verify(enc, "correct horse battery staple"); !ok {
			b.Fatal("no match")
		}
	}
}

func BenchmarkVerifyBcrypt(b *testing.B) {
	h := &Hasher{Algorithm: Bcrypt} // cost 12
	enc, _ := h.Hash("correct horse battery staple")
	for b.Loop() {
		if ok, _, _ := h.Verify(enc, "correct horse battery staple"); !ok {
			b.Fatal("no match")
		}
	}
}

// TestCostCeilings: a hash that asks for more work than the ceilings allow
// (docs/design.md, "Ceilings on imported hash costs") is refused by
// CheckHash (import) and by Verify (log-in) with ErrTooCostly, before any
// key is derived; a hash at the ceiling is accepted. Only CheckHash and
// Verify of refused hashes run: nothing here derives a costly key.
func TestCostCeilings(t *testing.T) {
	byName := map[string]string{}
	for _, v := range mustLoadVectors(t) {
		byName[v.name] = v.hash
	}
	set := func(name, pattern, repl string) string {
		t.Helper()
		h, ok := byName[name]
		if !ok {
			t.Fatalf("no vector %s", name)
		}
		out := regexp.MustCompile(pattern).ReplaceAllString(h, repl)
		if out == h && !strings.Contains(h, repl) {
			t.Fatalf("vector %s: %q does not match %s", name, h, pattern)
		}
		return out
	}
	bcryptCost := func(c string) string { return set("bcrypt-2b", `^\$2b\$\d\d\$`, "$$2b$$"+c+"$$") }
	sha := func(r string) string { return set("sha512_crypt", `rounds=\d+`, "rounds="+r) }
	pbkdf := func(n string) string {
		return set("pbkdf2_sha256", `^\$pbkdf2-sha256\$\d+\$`, "$$pbkdf2-sha256$$"+n+"$$")
	}
	argon := func(m, tt string) string {
		return set("argon2-passlib", `m=\d+,t=\d+,p=\d+`, "m="+m+",t="+tt+",p=1")
	}
	werkzeug := func(n string) string {
		return strings.Replace(werkzeugVectors[0].hash, strings.SplitN(werkzeugVectors[0].hash, "$", 2)[0], "pbkdf2:sha256:"+n, 1)
	}
	atCeiling := []string{
		bcryptCost("15"), sha("5000000"), pbkdf("5000000"), werkzeug("5000000"),
		argon("1048576", "4"), argon("65536", "10"),
		"scrypt:1048576:8:1$salt$00ff00ff00ff00ff00ff00ff00ff00ff",
	}
	for _, s := range atCeiling {
		if err := new(Hasher).CheckHash(s); err != nil {
			t.Errorf("CheckHash(%q) = %v; want nil (at the ceiling)", s, err)
		}
	}
	above := []string{
		bcryptCost("16"), bcryptCost("31"),
		sha("5000001"), sha("999999999"),
		pbkdf("5000001"), pbkdf("2000000000"), werkzeug("5000001"), werkzeug("2000000000"),
		argon("1048577", "1"), argon("65536", "11"), argon("4294967295", "4294967295"),
		argon("1048576", "5"), // memory × passes above 4 GiB
		"scrypt:1048576:8:2$salt$00ff00ff00ff00ff00ff00ff00ff00ff",
		"scrypt:4611686018427387904:8:1$salt$00ff00ff00ff00ff00ff00ff00ff00ff", // 128·N would overflow
	}
	for _, s := range above {
		err := new(Hasher).CheckHash(s)
		if !errors.Is(err, ErrTooCostly) || !errors.Is(err, ErrUnknownFormat) || !strings.Contains(err.Error(), "ceiling") {
			t.Errorf("CheckHash(%q) = %v; want ErrTooCostly naming the ceiling", s, err)
		}
		if ok, rehash, err := new(Hasher).Verify(s, "correct horse battery staple"); ok || rehash || !errors.Is(err, ErrTooCostly) {
			t.Errorf("Verify(%q) = %v, %v, %v; want false, false, ErrTooCostly", s, ok, rehash, err)
		}
	}
	// The Hasher never writes what it would refuse to verify.
	for _, h := range []*Hasher{{Algorithm: Bcrypt, BcryptCost: 16}, {Memory: MaxArgon2Memory + 1}, {Time: 11}, {Memory: MaxArgon2Memory, Time: 5}} {
		if err := h.Validate(); err == nil {
			t.Errorf("%+v.Validate() = nil; want the ceiling refused", h)
		}
	}
}
