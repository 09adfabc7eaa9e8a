package password

import (
	"crypto/pbkdf2"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"hash"
	"strconv"
	"strings"

	"golang.org/x/crypto/scrypt"
)

// werkzeugDigest is a hash written by Werkzeug's generate_password_hash,
// what Flask applications without passlib store:
// pbkdf2:sha256:600000$salt$hex, pbkdf2:sha512:…, or scrypt:N:r:p$salt$hex.
// The salt is used as its UTF-8 text, as Werkzeug does.
type werkzeugDigest struct {
	derive func(password string) []byte
	key    []byte
}

// decodeWerkzeug parses method$salt$hex. Only the methods with explicit
// parameters are read: every Werkzeug since 0.9 writes them.
func decodeWerkzeug(s string) (*werkzeugDigest, error) {
	method, rest, _ := strings.Cut(s, "$")
	salt, hexKey, ok := strings.Cut(rest, "$")
	if !ok || salt == "" || strings.Contains(hexKey, "$") {
		return nil, errors.New("werkzeug: want method$salt$hex")
	}
	key, err := hex.DecodeString(hexKey)
	if err != nil || len(key) < 16 {
		return nil, errors.New("werkzeug: the key is not hex of at least 16 bytes")
	}
	f := strings.Split(method, ":")
	d := &werkzeugDigest{key: key}
	switch {
	case f[0] == "pbkdf2" && len(f) == 3:
		var h func() hash.Hash
		switch f[1] {
		case "sha256":
			h = sha256.New
		case "sha512":
			h = sha512.New
		default:
			return nil, errors.New("werkzeug: pbkdf2 digest must be sha256 or sha512")
		}
		iter, err := strconv.Atoi(f[2])
		if err != nil || iter < 1 {
			return nil, errors.New("werkzeug: pbkdf2 iterations out of range")
		}
		if iter > MaxPBKDF2Iterations {
			return nil, tooCostly{"pbkdf2 iterations", uint64(iter), MaxPBKDF2Iterations}
		}
		d.derive = func(pw string) []byte {
			k, err := pbkdf2.Key(h, pw, []byte(salt), iter, len(key))
			if err != nil {
				return nil
			}
			return k
		}
	case f[0] == "scrypt" && len(f) == 4:
		var n [3]int
		for i, v := range f[1:] {
			if n[i], err = strconv.Atoi(v); err != nil || n[i] < 1 {
				return nil, errors.New("werkzeug: scrypt parameters must be N:r:p")
			}
		}
		N, r, p := n[0], n[1], n[2]
		if N < 2 || N&(N-1) != 0 || r > 1<<10 || p > 1<<10 {
			return nil, errors.New("werkzeug: scrypt parameters out of range")
		}
		if N > 1<<30 { // so that 128·N·r·p below cannot overflow
			return nil, tooCostly{"scrypt N", uint64(N), 1 << 30}
		}
		if m := uint64(128 * N * r * p); m > maxScryptMemoryBytes { // #nosec G115 -- each factor bounded above, N by Atoi
			return nil, tooCostly{"scrypt memory (bytes, 128·N·r·p)", m, maxScryptMemoryBytes}
		}
		d.derive = func(pw string) []byte {
			k, err := scrypt.Key([]byte(pw), []byte(salt), N, r, p, len(key))
			if err != nil {
				return nil
			}
			return k
		}
	default:
		return nil, errors.New("werkzeug: want pbkdf2:sha256:N, pbkdf2:sha512:N or scrypt:N:r:p")
	}
	return d, nil
}

// Match derives the key for password and compares it in constant time.
func (d *werkzeugDigest) Match(password string) bool {
	k := d.derive(password)
	return k != nil && subtle.ConstantTimeCompare(k, d.key) == 1
}
