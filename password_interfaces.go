package usher

// PasswordHasher hashes new passwords and verifies stored hashes. The
// password package provides the implementation (argon2id by default,
// bcrypt selectable, and the imported formats docs/design.md lists).
type PasswordHasher interface {
	// Hash returns an encoded hash of password in the current default
	// format.
	Hash(password string) (string, error)
	// Verify reports whether password matches encoded. rehash is true when
	// encoded is correct but not in the current default format or
	// parameters, so the caller should store Hash(password) instead. An
	// unknown or malformed format is a mismatch with a non-nil err.
	Verify(encoded, password string) (ok, rehash bool, err error)
	// CheckHash reports, cheaply and without a password, whether Verify
	// can read encoded: nil, or an error that names the formats it
	// knows. An imported hash is checked with it before it is stored.
	CheckHash(encoded string) error
	// Dummy spends the time of one Verify against a default hash. Log-in
	// calls it for unknown users so that timing does not tell whether an
	// account exists.
	Dummy(password string)
}

// PasswordPolicy decides whether a new password is acceptable. Check
// returns nil or a *PasswordError. inputs are the user's own words (e-mail,
// username) that a password must not merely repeat.
type PasswordPolicy interface {
	Check(password string, inputs ...string) error
}
