package app

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// A Setting is one scalar setting of Config: a field tagged toml, in
// Config itself or in the usher.Config it embeds. Its tags declare it
// once:
//
//	toml     the key in files; the environment variable is USHER_ + the key
//	         in upper case, the flag -- + the key with dashes
//	help     what it does, shown by -h and in docs/configuration.md
//	default  the value the usher binary starts from, as written in a file
//	         ("" when absent)
//	secret   "true" or "url" (mask only the password) for `usher config`
//	invert   "true": the field says the opposite of its key (the field
//	         DisableRegistration is the key enable_registration), so that
//	         the field's zero value is the default
//	zero     "off": in files, the environment and flags 0 turns the
//	         setting off, which the field spells -1 (its 0 means "the
//	         default")
//
// Lists such as profile_fields are set in the TOML file only and are no
// Settings.
type Setting struct {
	Key     string // enable_registration
	Env     string // USHER_ENABLE_REGISTRATION
	Flag    string // enable-registration
	Help    string
	Default string
	Secret  string

	index   []int
	kind    reflect.Kind
	invert  bool
	zeroOff bool
}

// Settings lists Config's settings in declaration order.
func Settings() []Setting {
	return settingsOf(reflect.TypeFor[Config](), nil)
}

func settingsOf(t reflect.Type, index []int) []Setting {
	var out []Setting
	for i := range t.NumField() {
		f := t.Field(i)
		at := append(index[:len(index):len(index)], i)
		if f.Anonymous && f.Type.Kind() == reflect.Struct {
			out = append(out, settingsOf(f.Type, at)...)
			continue
		}
		key := f.Tag.Get("toml")
		if key == "" || key == "-" || f.Type.Kind() == reflect.Slice {
			continue
		}
		out = append(out, Setting{
			Key: key, Env: "USHER_" + strings.ToUpper(key), Flag: strings.ReplaceAll(key, "_", "-"),
			Help: f.Tag.Get("help"), Default: f.Tag.Get("default"), Secret: f.Tag.Get("secret"),
			index: at, kind: f.Type.Kind(), invert: f.Tag.Get("invert") == "true", zeroOff: f.Tag.Get("zero") == "off",
		})
	}
	return out
}

// IsBool reports whether the setting is true or false.
func (s Setting) IsBool() bool { return s.kind == reflect.Bool }

// Kind is the kind of the setting's field: Bool, Int, Int64 (a
// time.Duration) or String.
func (s Setting) Kind() reflect.Kind { return s.kind }

// Set parses text, as a file, the environment or a flag gives it, into
// the setting's field of c.
func (s Setting) Set(c *Config, text string) error {
	v := reflect.ValueOf(c).Elem().FieldByIndex(s.index)
	switch s.kind {
	case reflect.String:
		v.SetString(text)
	case reflect.Bool:
		b, err := strconv.ParseBool(text)
		if err != nil {
			return fmt.Errorf("%q is not true or false", text)
		}
		v.SetBool(b != s.invert)
	case reflect.Int:
		n, err := strconv.Atoi(text)
		if err != nil {
			return fmt.Errorf("%q is not a whole number", text)
		}
		v.SetInt(s.offValue(int64(n)))
	case reflect.Int64:
		d, err := time.ParseDuration(text)
		if err != nil {
			return fmt.Errorf("%q is not a duration (examples: 90s, 30m, 720h)", text)
		}
		v.SetInt(s.offValue(int64(d)))
	}
	return nil
}

// offValue turns the 0 of a zero:"off" setting into the field's -1.
func (s Setting) offValue(n int64) int64 {
	if s.zeroOff && n == 0 {
		return -1
	}
	return n
}

// Value returns the setting as a file would spell it: a string (durations
// as Go writes them, "1h0m0s"), a bool or an int. Secrets are not masked.
func (s Setting) Value(c Config) any {
	v := reflect.ValueOf(c).FieldByIndex(s.index)
	switch s.kind {
	case reflect.Bool:
		return v.Bool() != s.invert
	case reflect.Int:
		return int(v.Int()) // -1, not 0: the help of such settings names -1
	case reflect.Int64:
		d := time.Duration(v.Int())
		if s.zeroOff && d < 0 {
			d = 0
		}
		return d.String()
	}
	return v.Interface()
}

// Defaults returns the configuration used when nothing is set: every
// setting at its default tag.
func Defaults() Config {
	var c Config
	for _, s := range Settings() {
		if s.Default == "" {
			continue
		}
		if err := s.Set(&c, s.Default); err != nil {
			panic(fmt.Sprintf("app: default of %s: %v", s.Key, err))
		}
	}
	return c
}
