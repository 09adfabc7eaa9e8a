package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net/url"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/usher-auth/usher/app"
)

// settings lists the scalar settings of app.Config (lists such as
// profile_fields are set in the TOML file only).
func settings() []app.Setting { return app.Settings() }

// shown returns the setting's value in cfg as `usher config` and -h show
// it, masked if secret.
func shown(s app.Setting, cfg app.Config) any {
	v := s.Value(cfg)
	switch s.Secret {
	case "true":
		if v != "" {
			return "********"
		}
	case "url":
		return maskURL(v.(string))
	}
	return v
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
	s       app.Setting
	pending map[string]string
	isBool  bool
	def     string // the default, shown by -h
}

func (f *flagValue) String() string { return f.def }
func (f *flagValue) Set(v string) error {
	var probe app.Config
	if err := f.s.Set(&probe, v); err != nil {
		return err
	}
	f.pending[f.s.Key] = v
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
	defaults := app.Defaults()
	for _, s := range settings() {
		def := fmt.Sprint(shown(s, defaults))
		if s.IsBool() && def == "false" {
			def = ""
		}
		fs.Var(&flagValue{s: s, pending: cf.pending, isBool: s.IsBool(), def: def}, s.Flag, s.Help+" ("+s.Env+")")
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
		if v := getenv(s.Env); v != "" {
			if err := s.Set(&cfg, v); err != nil {
				return cfg, fmt.Errorf("environment variable %s: %v", s.Env, err)
			}
		}
	}
	if err := providersFromEnv(&cfg, getenv); err != nil {
		return cfg, err
	}
	for _, s := range settings() {
		if v, ok := cf.pending[s.Key]; ok {
			if err := s.Set(&cfg, v); err != nil {
				return cfg, fmt.Errorf("flag --%s: %v", s.Flag, err)
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
	var raw map[string]toml.Primitive
	md, err := toml.Decode(string(b), &raw)
	if err == nil {
		err = decodeFile(md, raw, cfg)
	}
	if err != nil {
		return fmt.Errorf("configuration file %s: %w", path, err)
	}
	keys := slices.Sorted(maps.Keys(raw)) // what decodeFile left: unknown
	for _, k := range md.Undecoded() {
		if !slices.Contains(keys, k.String()) {
			keys = append(keys, k.String())
		}
	}
	if len(keys) > 0 {
		return fmt.Errorf("configuration file %s: unknown setting(s) %s", path, strings.Join(keys, ", "))
	}
	return nil
}

// decodeFile sets the settings and lists that raw, a decoded TOML file,
// holds, deleting their keys from raw: the keys it leaves are unknown.
func decodeFile(md toml.MetaData, raw map[string]toml.Primitive, cfg *app.Config) error {
	for key, list := range map[string]any{"profile_fields": &cfg.ProfileFields, "webhooks": &cfg.Webhooks, "providers": &cfg.Providers} {
		if p, ok := raw[key]; ok {
			if err := md.PrimitiveDecode(p, list); err != nil {
				return fmt.Errorf("%s: %w", key, err)
			}
			delete(raw, key)
		}
	}
	for _, s := range settings() {
		p, ok := raw[s.Key]
		if !ok {
			continue
		}
		var v any
		if err := md.PrimitiveDecode(p, &v); err != nil {
			return fmt.Errorf("%s: %w", s.Key, err)
		}
		text, err := settingText(s, v)
		if err == nil {
			err = s.Set(cfg, text)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", s.Key, err)
		}
		delete(raw, s.Key)
	}
	return nil
}

// settingText returns a TOML value as the text Setting.Set parses, or an
// error when its type does not fit the setting (a duration is text).
func settingText(s app.Setting, v any) (string, error) {
	switch v := v.(type) {
	case bool:
		if s.Kind() == reflect.Bool {
			return strconv.FormatBool(v), nil
		}
	case int64:
		if s.Kind() == reflect.Int {
			return strconv.FormatInt(v, 10), nil
		}
	case string:
		if s.Kind() == reflect.String || s.Kind() == reflect.Int64 {
			return v, nil
		}
	}
	want := map[reflect.Kind]string{reflect.Bool: "true or false", reflect.Int: "a whole number",
		reflect.Int64: `a duration in quotes such as "90s"`, reflect.String: "text in quotes"}
	return "", fmt.Errorf("%v is not %s", v, want[s.Kind()])
}

// printConfig writes the effective configuration as TOML, secrets masked:
// the values in use, so base_url is the origin the server derives when
// it is not set.
func printConfig(w io.Writer, cfg app.Config) {
	cfg.BaseURL = cfg.Service().BaseURL
	for _, s := range settings() {
		switch v := shown(s, cfg).(type) {
		case string:
			fmt.Fprintf(w, "%s = %q\n", s.Key, v)
		default:
			fmt.Fprintf(w, "%s = %v\n", s.Key, v)
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
	printProviders(w, cfg.Providers)
}
