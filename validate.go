package usher

import (
	"net/mail"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// validEmail reports whether s is a plain e-mail address (no display name)
// with a dotted domain, at most 254 bytes.
func validEmail(s string) bool {
	if len(s) > 254 || strings.ContainsAny(s, " <>\r\n") {
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

// checkEmail returns nil, or a *ValidationError for a missing or
// malformed address.
func checkEmail(email string) error {
	switch {
	case email == "":
		return &ValidationError{Fields: map[string]string{"email": MsgRequired}}
	case !validEmail(email):
		return &ValidationError{Fields: map[string]string{"email": MsgInvalidEmail}}
	}
	return nil
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
