package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/usher-auth/usher/app"
	"github.com/usher-auth/usher/federated"
)

// The federated providers' settings: the [[providers]] list of the file,
// which the environment replaces (USHER_PROVIDERS, a JSON array of the
// same entries) or completes field by field (USHER_PROVIDER_<NAME>_<KEY>,
// for a secret kept out of the file); see docs/configuration.md.

// secretProviderKeys are the keys of a [[providers]] entry that
// `usher config` masks.
var secretProviderKeys = []string{"client_secret", "sp_key"}

// providersFromEnv applies the environment to cfg.Providers.
func providersFromEnv(cfg *app.Config, getenv func(string) string) error {
	if v := getenv("USHER_PROVIDERS"); v != "" {
		ps, err := decodeProvidersJSON(v)
		if err != nil {
			return fmt.Errorf("environment variable USHER_PROVIDERS: %w", err)
		}
		cfg.Providers = ps
	}
	for i := range cfg.Providers {
		if err := providerFieldsFromEnv(&cfg.Providers[i], getenv); err != nil {
			return err
		}
	}
	return nil
}

// decodeProvidersJSON reads a JSON array of provider entries, with the
// keys of the file's [[providers]]; an unknown key is an error, as in the
// file.
func decodeProvidersJSON(v string) ([]federated.Config, error) {
	var list []map[string]any
	dec := json.NewDecoder(strings.NewReader(v))
	if err := dec.Decode(&list); err != nil {
		return nil, fmt.Errorf("want a JSON array of objects with the keys of [[providers]]: %w", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("want one JSON array")
	}
	// Through TOML, so that the keys are those of the file.
	var buf bytes.Buffer
	if err := toml.NewEncoder(&buf).Encode(map[string]any{"providers": list}); err != nil {
		return nil, err
	}
	var out struct {
		Providers []federated.Config `toml:"providers"`
	}
	md, err := toml.Decode(buf.String(), &out)
	if err != nil {
		return nil, err
	}
	if u := md.Undecoded(); len(u) > 0 {
		keys := make([]string, len(u))
		for i, k := range u {
			keys[i] = k.String()
		}
		return nil, fmt.Errorf("unknown key(s) %s", strings.Join(keys, ", "))
	}
	return out.Providers, nil
}

// providerEnvName is the environment variable of key of provider name:
// USHER_PROVIDER_ + name + _ + key, upper case, dashes as underscores.
func providerEnvName(name, key string) string {
	return "USHER_PROVIDER_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_")) + "_" + strings.ToUpper(key)
}

// providerFieldsFromEnv sets the fields of p that the environment names
// (USHER_PROVIDER_<NAME>_<KEY>): text as it is, true or false, lists
// comma-separated.
func providerFieldsFromEnv(p *federated.Config, getenv func(string) string) error {
	v := reflect.ValueOf(p).Elem()
	t := v.Type()
	for i := range t.NumField() {
		key := t.Field(i).Tag.Get("toml")
		if key == "" || key == "name" {
			continue
		}
		env := providerEnvName(p.Name, key)
		text := getenv(env)
		if text == "" {
			continue
		}
		f := v.Field(i)
		switch f.Kind() {
		case reflect.String:
			f.SetString(text)
		case reflect.Bool, reflect.Pointer:
			b, err := strconv.ParseBool(text)
			if err != nil {
				return fmt.Errorf("environment variable %s: %q is not true or false", env, text)
			}
			if f.Kind() == reflect.Bool {
				f.SetBool(b)
			} else {
				f.Set(reflect.ValueOf(&b))
			}
		case reflect.Slice:
			var list []string
			for _, s := range strings.Split(text, ",") {
				if s = strings.TrimSpace(s); s != "" {
					list = append(list, s)
				}
			}
			f.Set(reflect.ValueOf(list))
		}
	}
	return nil
}

// printProviders writes cfg's [[providers]] as TOML, secrets masked.
func printProviders(w io.Writer, ps []federated.Config) error {
	if len(ps) == 0 {
		return nil
	}
	masked := make([]map[string]any, len(ps))
	for i, p := range ps {
		var buf bytes.Buffer
		if err := toml.NewEncoder(&buf).Encode(p); err != nil { // #nosec G117 -- encoded to be printed with the secrets masked below
			return err
		}
		m := map[string]any{}
		if _, err := toml.Decode(buf.String(), &m); err != nil {
			return err
		}
		for k, v := range m {
			if s, ok := v.(string); ok && s == "" || isEmptyList(v) {
				delete(m, k) // unset: not shown
			} else if slices.Contains(secretProviderKeys, k) {
				m[k] = "********"
			}
		}
		masked[i] = m
	}
	fmt.Fprintln(w)
	return toml.NewEncoder(w).Encode(map[string]any{"providers": masked})
}

func isEmptyList(v any) bool {
	l, ok := v.([]any)
	return ok && len(l) == 0
}
