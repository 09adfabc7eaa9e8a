package main

import (
	"encoding"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"reflect"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/usher-auth/usher/app"
)

// setting is one scalar field of app.Config with its three names.
type setting struct {
	key    string // TOML key: enable_registration
	env    string // USHER_ENABLE_REGISTRATION
	flag   string // --enable-registration
	help   string
	secret string // "", "true" or "url" (mask only the password)
	index  int
}

// settings lists the scalar fields of app.Config (lists such as
// profile_fields are set in the TOML file only).
func settings() []setting {
	t := reflect.TypeFor[app.Config]()
	var out []setting
	for i := range t.NumField() {
		f := t.Field(i)
		key := f.Tag.Get("toml")
		if key == "" || f.Type.Kind() == reflect.Slice {
			continue
		}
		out = append(out, setting{
			key: key, env: "USHER_" + strings.ToUpper(key), flag: strings.ReplaceAll(key, "_", "-"),
			help: f.Tag.Get("help"), secret: f.Tag.Get("secret"), index: i,
		})
	}
	return out
}

// setValue parses text into the field of cfg that s names.
func (s setting) setValue(cfg *app.Config, text string) error {
	v := reflect.ValueOf(cfg).Elem().Field(s.index)
	if u, ok := v.Addr().Interface().(encoding.TextUnmarshaler); ok {
		return u.UnmarshalText([]byte(text))
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(text)
	case reflect.Bool:
		b, err := strconv.ParseBool(text)
		if err != nil {
			return fmt.Errorf("%q is not true or false", text)
		}
		v.SetBool(b)
	case reflect.Int:
		n, err := strconv.Atoi(text)
		if err != nil {
			return fmt.Errorf("%q is not a whole number", text)
		}
		v.SetInt(int64(n))
	}
	return nil
}

// value returns the field as text, masked if secret.
func (s setting) value(cfg app.Config) any {
	v := reflect.ValueOf(cfg).Field(s.index)
	switch s.secret {
	case "true":
		if v.String() != "" {
			return "********"
		}
	case "url":
		return maskURL(v.String())
	}
	if m, ok := v.Interface().(encoding.TextMarshaler); ok {
		b, _ := m.MarshalText()
		return string(b)
	}
	return v.Interface()
}

// maskURL hides the password in a database address.
func maskURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// flagValue adapts a setting to flag.Value, writing into a pending map so
// that flags are applied after the file and the environment.
type flagValue struct {
	s       setting
	pending map[string]string
	isBool  bool
	def     string // the default, shown by -h
}

func (f *flagValue) String() string { return f.def }
func (f *flagValue) Set(v string) error {
	var probe app.Config
	if err := f.s.setValue(&probe, v); err != nil {
		return err
	}
	f.pending[f.s.key] = v
	return nil
}
func (f *flagValue) IsBoolFlag() bool { return f.isBool }

// configFlags adds --config and one flag per setting to fs; load reads the
// configuration once fs has parsed its arguments.
type configFlags struct {
	path    string
	pending map[string]string
}

func addConfigFlags(fs *flag.FlagSet) *configFlags {
	cf := &configFlags{pending: map[string]string{}}
	fs.StringVar(&cf.path, "config", "", "TOML configuration file (default: $USHER_CONFIG, else ./usher.toml if it exists)")
	t := reflect.TypeFor[app.Config]()
	defaults := app.Defaults()
	for _, s := range settings() {
		isBool := t.Field(s.index).Type.Kind() == reflect.Bool
		def := fmt.Sprint(s.value(defaults))
		if isBool && def == "false" {
			def = ""
		}
		fs.Var(&flagValue{s: s, pending: cf.pending, isBool: isBool, def: def}, s.flag, s.help+" ("+s.env+")")
	}
	return cf
}

// load returns the effective configuration: defaults, then the TOML file,
// then USHER_* environment variables, then flags.
func (cf *configFlags) load(getenv func(string) string) (app.Config, error) {
	cfg := app.Defaults()
	path, explicit := cf.path, cf.path != ""
	if path == "" {
		path, explicit = getenv("USHER_CONFIG"), getenv("USHER_CONFIG") != ""
	}
	if path == "" {
		path = "usher.toml"
	}
	if err := readFile(&cfg, path, explicit); err != nil {
		return cfg, err
	}
	for _, s := range settings() {
		if v := getenv(s.env); v != "" {
			if err := s.setValue(&cfg, v); err != nil {
				return cfg, fmt.Errorf("environment variable %s: %v", s.env, err)
			}
		}
	}
	for _, s := range settings() {
		if v, ok := cf.pending[s.key]; ok {
			if err := s.setValue(&cfg, v); err != nil {
				return cfg, fmt.Errorf("flag --%s: %v", s.flag, err)
			}
		}
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = cfg.ListenOrigin() // the binary listens on Addr
	}
	return cfg, cfg.Validate()
}

// readFile decodes a TOML file over cfg. A missing default file is fine; a
// missing file the user named is not; unknown keys are errors (a typo
// must not silently leave a security setting at its default).
func readFile(cfg *app.Config, path string, explicit bool) error {
	b, err := os.ReadFile(path) // #nosec G304 -- the configuration file the operator named
	if errors.Is(err, os.ErrNotExist) && !explicit {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading configuration: %w", err)
	}
	md, err := toml.Decode(string(b), cfg)
	if err != nil {
		return fmt.Errorf("configuration file %s: %w", path, err)
	}
	if un := md.Undecoded(); len(un) > 0 {
		keys := make([]string, len(un))
		for i, k := range un {
			keys[i] = k.String()
		}
		return fmt.Errorf("configuration file %s: unknown setting(s) %s", path, strings.Join(keys, ", "))
	}
	return nil
}

// printConfig writes the effective configuration as TOML, secrets masked:
// the values in use, so base_url is the origin the server derives when
// it is not set.
func printConfig(w io.Writer, cfg app.Config) {
	cfg.BaseURL = cfg.Service().BaseURL
	for _, s := range settings() {
		v := s.value(cfg)
		switch v := v.(type) {
		case string:
			fmt.Fprintf(w, "%s = %q\n", s.key, v)
		default:
			fmt.Fprintf(w, "%s = %v\n", s.key, v)
		}
	}
	if len(cfg.ProfileFields) > 0 {
		fmt.Fprintln(w)
		toml.NewEncoder(w).Encode(map[string]any{"profile_fields": cfg.ProfileFields})
	}
	if len(cfg.Webhooks) > 0 {
		masked := make([]map[string]any, len(cfg.Webhooks))
		for i, h := range cfg.Webhooks {
			masked[i] = map[string]any{"url": h.URL, "secret": "********", "events": h.Events}
		}
		fmt.Fprintln(w)
		toml.NewEncoder(w).Encode(map[string]any{"webhooks": masked})
	}
}
