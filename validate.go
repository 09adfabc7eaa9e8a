package usher

import (
	"net/mail"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"
	"golang.org/x/text/secure/precis"
)

// validEmail reports whether s is a plain e-mail address (no display name)
// with a dotted domain, at most 254 bytes, and without characters that
// normalizeEmail refuses.
func validEmail(s string) bool {
	if len(s) > 254 || strings.ContainsAny(s, " <>\r\n") || textProblem(s) != "" {
		return false
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" {
		return false
	}
	at := strings.LastIndexByte(s, '@')
	domain := s[at+1:]
	return at > 0 && strings.Contains(domain, ".") && !strings.HasPrefix(domain, ".") && !strings.HasSuffix(domain, ".")
}

// normalizeEmail checks an address a user typed and returns the form to
// store, or a message ID: MsgRequired, MsgInvalidText,
// MsgHiddenCharacters, MsgLookalikeCharacters or MsgInvalidEmail.
//
// The stored form is the address trimmed, with fullwidth forms mapped and
// in NFC (see FoldEmail), the local part's case as typed, and the domain
// lower-cased through IDNA: an ASCII domain (including "xn--" labels) stays
// ASCII, a Unicode one stays Unicode.
func normalizeEmail(email string) (string, string) {
	email = strings.TrimSpace(email)
	if email == "" {
		return "", MsgRequired
	}
	if msg := textProblem(email); msg != "" {
		return "", msg
	}
	email = normalizeText(email)
	at := strings.LastIndexByte(email, '@')
	if at <= 0 {
		return "", MsgInvalidEmail
	}
	local, domain := email[:at], email[at+1:]
	if lookalike(local) {
		return "", MsgLookalikeCharacters
	}
	var err error
	if isASCII(domain) {
		_, err = idna.Lookup.ToASCII(domain)
		domain = lowerASCII(domain)
	} else {
		domain, err = idna.Lookup.ToUnicode(domain)
	}
	email = local + "@" + domain
	if err != nil || !validEmail(email) {
		return "", MsgInvalidEmail
	}
	return email, ""
}

// checkEmail returns the address normalized (see normalizeEmail), or a
// *ValidationError for a missing or malformed address.
func checkEmail(email string) (string, error) {
	email, msg := normalizeEmail(email)
	if msg != "" {
		return "", &ValidationError{Fields: map[string]string{"email": msg}}
	}
	return email, nil
}

// normalizeUsername checks a username a user typed and returns the form to
// store, or a message ID: MsgRequired, MsgInvalidText,
// MsgHiddenCharacters or MsgInvalidUsername. The stored form is the PRECIS
// UsernameCasePreserved one (RFC 8265: fullwidth forms mapped, NFC; case as
// typed) and must pass validUsername; FoldUsername compares them.
func normalizeUsername(name string) (string, string) {
	name = strings.TrimSpace(name)
	if name == "" {
		return "", MsgRequired
	}
	if msg := textProblem(name); msg != "" {
		return "", msg
	}
	name, err := precis.UsernameCasePreserved.String(name)
	if err != nil || !validUsername(name) {
		return "", MsgInvalidUsername
	}
	return name, ""
}

// validUsername applies Flask-User's username rule: at least 3 characters,
// each an ASCII letter, a digit, '-', '.' or '_'; and at most 64.
func validUsername(s string) bool {
	if len(s) < 3 || len(s) > 64 {
		return false
	}
	for _, c := range []byte(s) {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '.', c == '_':
		default:
			return false
		}
	}
	return true
}

// validRole reports whether name can be a role: 1 to 64 letters, digits,
// '-', '_', '.' or ':'.
func validRole(name string) bool {
	if name == "" || len(name) > 64 {
		return false
	}
	for _, r := range name {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && !strings.ContainsRune("-_.:", r) {
			return false
		}
	}
	return true
}

// checkProfile validates values against the declared fields into v and
// returns the cleaned profile (trimmed, only declared fields). With partial
// set (an update), absent required fields are not reported.
func (s *Service) checkProfile(values map[string]string, v *ValidationError, partial bool) map[string]string {
	out := map[string]string{}
	declared := map[string]bool{}
	for _, f := range s.cfg.ProfileFields {
		declared[f.Name] = true
		val, present := values[f.Name]
		val = strings.TrimSpace(val)
		if val == "" {
			if f.Required && (!partial || present) {
				v.add(f.Name, MsgRequired)
			}
			continue
		}
		if utf8.RuneCountInString(val) > f.MaxLength {
			v.add(f.Name, MsgTooLong)
			continue
		}
		if !validValue(f.Type, val) {
			v.add(f.Name, MsgInvalidFormat)
			continue
		}
		if re := s.patterns[f.Name]; re != nil && !re.MatchString(val) {
			v.add(f.Name, MsgInvalidFormat)
			continue
		}
		out[f.Name] = val
	}
	for name := range values {
		if !declared[name] {
			v.add(name, MsgUnknownField)
		}
	}
	return out
}

// validValue checks a profile value against its declared type.
func validValue(typ, val string) bool {
	switch typ {
	case "int":
		_, err := strconv.ParseInt(val, 10, 64)
		return err == nil
	case "bool":
		_, err := strconv.ParseBool(val)
		return err == nil
	case "email":
		return validEmail(val)
	case "url":
		u, err := url.Parse(val)
		return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
	}
	return !strings.ContainsFunc(val, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\t' })
}

// compilePatterns compiles the declared fields' patterns, anchored to the
// whole value. Config.Validate has already checked that they compile.
func compilePatterns(fields []ProfileField) map[string]*regexp.Regexp {
	m := map[string]*regexp.Regexp{}
	for _, f := range fields {
		if f.Pattern != "" {
			m[f.Name] = regexp.MustCompile(`^(?:` + f.Pattern + `)$`)
		}
	}
	return m
}
