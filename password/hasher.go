// Package password hashes and verifies passwords and decides whether a new
// password is acceptable. It implements usher.PasswordHasher (Hasher) and
// usher.PasswordPolicy (Policy).
package password

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/go-crypt/crypt/algorithm/pbkdf2"
	"github.com/go-crypt/crypt/algorithm/shacrypt"
	"github.com/usher-auth/usher/password/internal/argon2"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/text/unicode/norm"

	"github.com/usher-auth/usher"
)

// The algorithms a Hasher can write.
const (
	Argon2id = "argon2id"
	Bcrypt   = "bcrypt"
)

// The default argon2id parameters are one of the equivalent settings the
// OWASP Password Storage Cheat Sheet lists (m=9 MiB, t=4, p=1; it also lists
// m=19 MiB, t=2). This one was chosen by measurement: two hashes at once on
// a 2-core machine each take as long as one alone (9 MiB per hash stays in
// the CPU caches), whereas 19 MiB hashes slow each other by 11%, so the
// smaller setting gives more log-ins per second for the same cost to an
// attacker, and half the memory churn.
const (
	defaultMemory  = 9216 // KiB
	defaultTime    = 4
	defaultThreads = 1
	defaultCost    = 12 // bcrypt
	saltLen        = 16
	keyLen         = 32
)

// BcryptMaxBytes is the longest password bcrypt can hash: it ignores every
// byte after the 72nd.
const BcryptMaxBytes = 72

// ErrUnknownFormat means an encoded hash is malformed or in a format that
// Verify does not know.
var ErrUnknownFormat = errors.New("password: unknown or malformed hash")

// ErrTooCostly means an encoded hash asks for more work than Usher's
// ceilings allow (MaxBcryptCost and the others below): verifying it would
// hold a CPU for many seconds or exhaust memory, so one imported row could
// be a denial of service. It is a kind of ErrUnknownFormat: such a hash is
// refused at import and never verified at log-in.
var ErrTooCostly = fmt.Errorf("%w: its cost is above Usher's ceiling", ErrUnknownFormat)

// The ceilings on the cost of a hash that Usher imports, verifies or
// writes (docs/design.md, "Ceilings on imported hash costs"). Each allows
// at most a few seconds of one CPU and 1 GiB of memory per verification,
// and is well above what the libraries Usher imports from write by default.
const (
	MaxBcryptCost        = 15        // passlib and Flask-User: 12
	MaxArgon2Memory      = 1 << 20   // KiB (1 GiB); argon2-cffi: 64 MiB
	MaxArgon2Time        = 10        // passes; argon2-cffi: 3
	MaxArgon2Work        = 4 << 20   // KiB × passes (memory × passes ≤ 4 GiB)
	MaxSHACryptRounds    = 5_000_000 // passlib sha512_crypt: 656,000
	MaxPBKDF2Iterations  = 5_000_000 // Werkzeug 3: 1,000,000; passlib: 29,000
	maxScryptMemoryBytes = 1 << 30   // 128·N·r·p bytes (1 GiB)
)

// Hasher hashes new passwords with argon2id (or bcrypt) and verifies them and
// the hashes imported from Flask-User, Flask-Security and Anvil. Its zero
// value is ready to use. A Hasher must not be copied after first use and its
// fields must not change once it is in use; it is safe for concurrent use.
// Hash and Verify are deliberately slow and memory-hungry: callers limit how
// many run at once.
type Hasher struct {
	Algorithm  string // Argon2id (default) or Bcrypt
	BcryptCost int    // 0 means 12

	// argon2id parameters; the salt is 16 bytes and the key 32.
	Memory  uint32 // KiB; 0 means 9216
	Time    uint32 // passes; 0 means 4
	Threads uint8  // 0 means 1

	// FlaskSecuritySalt is SECURITY_PASSWORD_SALT of a Flask-Security
	// application whose users were imported. When set, a hash that is not in
	// the current format is also tried against Flask-Security's pre-hash,
	// base64(HMAC-SHA512(salt, password)). Until such a user has logged in
	// once (and been rehashed), a wrong password for them costs up to three
	// key derivations where Dummy costs one.
	FlaskSecuritySalt string

	dummyOnce sync.Once
	dummy     string
}

var _ usher.PasswordHasher = (*Hasher)(nil)

func (h *Hasher) algorithm() string {
	if h.Algorithm == "" {
		return Argon2id
	}
	return h.Algorithm
}

func (h *Hasher) params() argon2Params {
	p := argon2Params{m: h.Memory, t: h.Time, p: h.Threads, saltLen: saltLen, keyLen: keyLen}
	if p.m == 0 {
		p.m = defaultMemory
	}
	if p.t == 0 {
		p.t = defaultTime
	}
	if p.p == 0 {
		p.p = defaultThreads
	}
	return p
}

func (h *Hasher) cost() int {
	if h.BcryptCost == 0 {
		return defaultCost
	}
	return h.BcryptCost
}

// Validate reports whether the Hasher's settings are usable.
func (h *Hasher) Validate() error {
	switch h.algorithm() {
	case Argon2id:
		p := h.params()
		if p.m < 8*uint32(p.p) {
			return fmt.Errorf("password: argon2id memory must be at least 8 KiB per thread")
		}
		if err := p.checkCost(); err != nil {
			return fmt.Errorf("password: argon2id: %v", err)
		}
	case Bcrypt:
		if c := h.cost(); c < bcrypt.MinCost || c > MaxBcryptCost {
			return fmt.Errorf("password: bcrypt cost %d is outside %d..%d", c, bcrypt.MinCost, MaxBcryptCost)
		}
	default:
		return fmt.Errorf("password: unknown algorithm %q (want %q or %q)", h.Algorithm, Argon2id, Bcrypt)
	}
	return nil
}

// Hash returns an encoded hash of password in the current format: a PHC
// string ($argon2id$v=19$m=9216,t=4,p=1$salt$key) or a bcrypt hash ($2a$).
//
// bcrypt silently ignores bytes past the 72nd, so with Bcrypt a longer
// password is refused with a *usher.PasswordError (MsgPasswordTooLong, Max
// 72) rather than truncated or pre-hashed: a pre-hash would make the hash
// unreadable by the other bcrypt systems that are the reason to choose
// bcrypt. Set Policy.MaxLength to 72 alongside Bcrypt to catch it earlier.
func (h *Hasher) Hash(password string) (string, error) {
	if err := h.Validate(); err != nil {
		return "", err
	}
	if h.algorithm() == Bcrypt {
		if len(password) > BcryptMaxBytes {
			return "", &usher.PasswordError{Reason: usher.MsgPasswordTooLong, Max: BcryptMaxBytes}
		}
		b, err := bcrypt.GenerateFromPassword([]byte(password), h.cost())
		return string(b), err
	}
	p := h.params()
	salt := make([]byte, p.saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, p.t, p.m, p.p, p.keyLen)
	return p.encode(salt, key), nil
}

// Verify reports whether password matches encoded, which may be argon2id,
// bcrypt ($2a$, $2b$, $2y$), passlib's sha512_crypt ($6$), sha256_crypt
// ($5$), pbkdf2_sha256 or pbkdf2_sha512, or Werkzeug's pbkdf2:sha256,
// pbkdf2:sha512 or scrypt (Formats). rehash is true when it matches but
// is not in the current algorithm and parameters (or matched through the
// Flask-Security pre-hash), so the caller should store Hash(password). A
// malformed or unknown encoded gives ok false and an error wrapping
// ErrUnknownFormat. Keys are compared in constant time.
func (h *Hasher) Verify(encoded, password string) (ok, rehash bool, err error) {
	d, err := decode(encoded)
	if err != nil {
		return false, false, err
	}
	current := h.isCurrent(d)
	// Flask-Security's pre-hash is tried only on hashes we did not write
	// with the current settings: a wrong password against a current hash
	// then costs exactly one key derivation, as Dummy does, so timing does
	// not tell migrated accounts from unknown ones.
	if h.FlaskSecuritySalt != "" && !current {
		for _, pre := range flaskSecurityPrehashes(h.FlaskSecuritySalt, password) {
			if d.Match(pre) {
				return true, true, nil
			}
		}
	}
	if !d.Match(password) {
		return false, false, nil
	}
	return true, !current, nil
}

// Formats names the hash formats Verify reads, for messages.
const Formats = "argon2id ($argon2id$), bcrypt ($2a$, $2b$, $2y$), passlib's sha512_crypt ($6$), " +
	"sha256_crypt ($5$), pbkdf2_sha256 and pbkdf2_sha512, and Werkzeug's pbkdf2:sha256, pbkdf2:sha512 and scrypt"

// CheckHash reports whether Verify can read encoded, without a password
// and without deriving a key: nil, or an error wrapping ErrUnknownFormat
// that names the formats it knows. Importing a hash calls it, so that a
// hash no log-in could ever match is refused rather than stored.
func (h *Hasher) CheckHash(encoded string) error {
	_, err := decode(encoded)
	return err
}

// Dummy spends the time of one Verify of a wrong password against a hash in
// the current format. Log-in calls it for unknown users so that timing does
// not tell whether an account exists. The hash is made on first use.
func (h *Hasher) Dummy(password string) {
	h.dummyOnce.Do(func() {
		h.dummy, _ = h.Hash("usher: dummy password, never matched")
	})
	_, _, _ = h.Verify(h.dummy, password)
}

func (h *Hasher) isCurrent(d digest) bool {
	switch d := d.(type) {
	case *argon2Digest:
		return h.algorithm() == Argon2id && d.argon2Params == h.params()
	case bcryptDigest:
		cost, err := bcrypt.Cost(d)
		return h.algorithm() == Bcrypt && err == nil && cost == h.cost()
	}
	return false
}

// flaskSecurityPrehashes returns what Flask-Security would have hashed for
// password: get_hmac, base64(HMAC-SHA512(salt, password)), of the
// NFKD-normalized password (Flask-Security 4 and later normalize in their
// forms) and, when normalization changes it, of the password as typed (as
// Flask-Security 3 did).
func flaskSecurityPrehashes(salt, password string) []string {
	n := norm.NFKD.String(password)
	out := []string{flaskSecurityHMAC(salt, n)}
	if n != password {
		out = append(out, flaskSecurityHMAC(salt, password))
	}
	return out
}

// flaskSecurityHMAC is Flask-Security's get_hmac.
func flaskSecurityHMAC(salt, password string) string {
	m := hmac.New(sha512.New, []byte(salt))
	m.Write([]byte(password))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// digest is a decoded hash: the argon2id and bcrypt types below, or a
// go-crypt/crypt algorithm.Digest. Match compares in constant time.
type digest interface{ Match(password string) bool }

// decode parses encoded into a digest that can match passwords. bcrypt and
// argon2id are read here (x/crypto has no parser for the PHC string); the
// passlib formats go to go-crypt/crypt.
func decode(encoded string) (d digest, err error) {
	switch {
	case strings.HasPrefix(encoded, "$argon2id$"):
		d, err = decodeArgon2id(encoded)
	case strings.HasPrefix(encoded, "$2a$"), strings.HasPrefix(encoded, "$2b$"), strings.HasPrefix(encoded, "$2y$"):
		// x/crypto/bcrypt reads all three: they differ only in bugs of
		// other implementations.
		d, err = decodeBcrypt(encoded)
	case strings.HasPrefix(encoded, "$5$"), strings.HasPrefix(encoded, "$6$"):
		if d, err = shacrypt.Decode(encoded); err == nil {
			err = checkRounds(d, "sha-crypt rounds", MaxSHACryptRounds)
		}
	case strings.HasPrefix(encoded, "$pbkdf2-sha256$"), strings.HasPrefix(encoded, "$pbkdf2-sha512$"):
		if d, err = pbkdf2.Decode(encoded); err == nil {
			err = checkRounds(d, "pbkdf2 iterations", MaxPBKDF2Iterations)
		}
	case strings.HasPrefix(encoded, "pbkdf2:"), strings.HasPrefix(encoded, "scrypt:"):
		d, err = decodeWerkzeug(encoded)
	default:
		err = errors.New("no known prefix")
	}
	var tc tooCostly
	if errors.As(err, &tc) {
		return nil, fmt.Errorf("%w (%v)", ErrTooCostly, err)
	}
	if err != nil {
		return nil, fmt.Errorf("%w (%v); the formats known are %s", ErrUnknownFormat, err, Formats)
	}
	return d, nil
}

// tooCostly is a parameter above its ceiling, found while decoding.
type tooCostly struct {
	what       string
	got, limit uint64
}

func (e tooCostly) Error() string {
	return fmt.Sprintf("%s %d is above the ceiling of %d", e.what, e.got, e.limit)
}

// checkRounds checks the rounds of a go-crypt digest, read from its
// canonical encoding ($6$rounds=N$…, $pbkdf2-sha256$N$…); a sha-crypt
// hash without rounds= has 5,000.
func checkRounds(d digest, what string, limit uint64) error {
	e, ok := d.(interface{ Encode() string })
	if !ok {
		return errors.New("cannot read the rounds")
	}
	f := strings.Split(e.Encode(), "$")
	if len(f) < 3 {
		return errors.New("cannot read the rounds")
	}
	v := f[2]
	if f[1] == "5" || f[1] == "6" {
		r, ok := strings.CutPrefix(v, "rounds=")
		if !ok {
			return nil // sha-crypt's default of 5,000 rounds
		}
		v = r
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return fmt.Errorf("cannot read the rounds: %v", err)
	}
	if n > limit {
		return tooCostly{what, n, limit}
	}
	return nil
}

// bcryptDigest is an encoded bcrypt hash.
type bcryptDigest []byte

// decodeBcrypt checks $2b$CC$ + 53 characters of bcrypt's base64 (22 of
// salt, 31 of key), so that a damaged hash is an error, not a mismatch.
func decodeBcrypt(s string) (bcryptDigest, error) {
	cost, err := bcrypt.Cost([]byte(s))
	if err != nil {
		return nil, err
	}
	if cost > MaxBcryptCost {
		return nil, tooCostly{"bcrypt cost", uint64(cost), MaxBcryptCost} // #nosec G115 -- bcrypt.Cost is 4..31
	}
	if len(s) != 60 || s[6] != '$' {
		return nil, errors.New("bcrypt: want 60 characters")
	}
	for _, c := range []byte(s[7:]) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '/') {
			return nil, errors.New("bcrypt: invalid character")
		}
	}
	return bcryptDigest(s), nil
}

// Match compares with x/crypto/bcrypt, which uses only the first 72 bytes
// of password, as every bcrypt does: a long password set in Flask-User or
// Anvil still verifies.
func (d bcryptDigest) Match(password string) bool {
	return bcrypt.CompareHashAndPassword(d, []byte(password)) == nil
}

// argon2Params are the parameters of an argon2id hash.
type argon2Params struct {
	m               uint32
	t               uint32
	p               uint8
	saltLen, keyLen uint32
}

func (p argon2Params) encode(salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.m, p.t, p.p,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// argon2Digest is a decoded argon2id PHC string.
type argon2Digest struct {
	argon2Params
	salt, key []byte
}

// checkCost returns a tooCostly error if the parameters are above
// MaxArgon2Memory, MaxArgon2Time or MaxArgon2Work.
func (p argon2Params) checkCost() error {
	switch {
	case p.m > MaxArgon2Memory:
		return tooCostly{"argon2id memory (KiB)", uint64(p.m), MaxArgon2Memory}
	case p.t > MaxArgon2Time:
		return tooCostly{"argon2id passes", uint64(p.t), MaxArgon2Time}
	case uint64(p.m)*uint64(p.t) > MaxArgon2Work:
		return tooCostly{"argon2id memory × passes (KiB)", uint64(p.m) * uint64(p.t), MaxArgon2Work}
	}
	return nil
}

// decodeArgon2id parses $argon2id$v=19$m=M,t=T,p=P$salt$key, the format of
// argon2-cffi, passlib and the reference implementation.
func decodeArgon2id(s string) (*argon2Digest, error) {
	f := strings.Split(s, "$")
	if len(f) != 6 || f[2] != "v="+strconv.Itoa(argon2.Version) {
		return nil, errors.New("argon2id: want $argon2id$v=19$m=M,t=T,p=P$salt$key")
	}
	var d argon2Digest
	opts := strings.Split(f[3], ",")
	if len(opts) != 3 {
		return nil, errors.New("argon2id: want parameters m, t and p")
	}
	for i, name := range []string{"m=", "t=", "p="} {
		v, ok := strings.CutPrefix(opts[i], name)
		if !ok {
			return nil, fmt.Errorf("argon2id: want parameter %s", name)
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("argon2id: parameter %s: %v", name, err)
		}
		switch i {
		case 0:
			d.m = uint32(n)
		case 1:
			d.t = uint32(n)
		case 2:
			if n > 255 {
				return nil, errors.New("argon2id: more than 255 threads")
			}
			d.p = uint8(n)
		}
	}
	if d.t < 1 || d.p < 1 || d.m < 8*uint32(d.p) {
		return nil, errors.New("argon2id: parameters out of range")
	}
	if err := d.checkCost(); err != nil {
		return nil, err
	}
	var err error
	if d.salt, err = base64.RawStdEncoding.DecodeString(f[4]); err != nil {
		return nil, fmt.Errorf("argon2id: salt: %v", err)
	}
	if d.key, err = base64.RawStdEncoding.DecodeString(f[5]); err != nil {
		return nil, fmt.Errorf("argon2id: key: %v", err)
	}
	// An empty key would match every password.
	if len(d.salt) < 8 || len(d.key) < 4 {
		return nil, errors.New("argon2id: salt or key too short")
	}
	d.saltLen, d.keyLen = uint32(len(d.salt)), uint32(len(d.key)) // #nosec G115 -- decoded from a stored hash, far below 4 GiB
	return &d, nil
}

// Match derives the key for password and compares it in constant time.
func (d *argon2Digest) Match(password string) bool {
	k := argon2.IDKey([]byte(password), d.salt, d.t, d.m, d.p, d.keyLen)
	return subtle.ConstantTimeCompare(k, d.key) == 1
}
