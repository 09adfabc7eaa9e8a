package main

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/usher-auth/usher/federated"
)

const providersTOML = `
[[providers]]
name = "google"
kind = "google"
client_id = "123.apps.googleusercontent.com"
client_secret = "g-very-secret"
hosted_domain = "example.com"

[[providers]]
name = "corp"
kind = "saml"
label = "Corp SSO"
idp_metadata_url = "https://idp.example/metadata"
sp_key = "-----BEGIN PRIVATE KEY-----\nsp-very-secret\n-----END PRIVATE KEY-----"
allow_signup = false
`

// TestProvidersLoadedAndMasked: [[providers]] of the file are read into
// the configuration, and `usher config` prints them with every secret
// masked.
func TestProvidersLoadedAndMasked(t *testing.T) {
	file := filepath.Join(t.TempDir(), "usher.toml")
	os.WriteFile(file, []byte(providersTOML), 0o600)
	cf := &configFlags{path: file, pending: map[string]string{}}
	cfg, err := cf.load(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Providers) != 2 || cfg.Providers[0].ClientSecret != "g-very-secret" || cfg.Providers[1].Label != "Corp SSO" ||
		cfg.Providers[1].AllowSignup == nil || *cfg.Providers[1].AllowSignup {
		t.Fatalf("providers read: %+v", cfg.Providers)
	}
	code, out, errs := cli(t, map[string]string{"USHER_CONFIG": file}, "", "config")
	if code != 0 {
		t.Fatalf("config: exit %d: %s", code, errs)
	}
	for _, want := range []string{"[[providers]]", `name = "google"`, `client_id = "123.apps.googleusercontent.com"`,
		`client_secret = "********"`, `sp_key = "********"`, `idp_metadata_url = "https://idp.example/metadata"`} {
		if !strings.Contains(out, want) {
			t.Errorf("config output lacks %s:\n%s", want, out)
		}
	}
	if strings.Contains(out, "very-secret") {
		t.Errorf("config output shows a provider's secret:\n%s", out)
	}
}

// TestSecretProviderKeysMasked: every key of a [[providers]] entry that
// names a secret or a private key is in secretProviderKeys, so that a
// new one cannot be printed by `usher config` unmasked.
func TestSecretProviderKeysMasked(t *testing.T) {
	ty := reflect.TypeFor[federated.Config]()
	for i := range ty.NumField() {
		key := ty.Field(i).Tag.Get("toml")
		if (strings.Contains(key, "secret") || strings.HasSuffix(key, "_key") || strings.Contains(key, "password")) && !slices.Contains(secretProviderKeys, key) {
			t.Errorf("[[providers]] key %s looks secret but is not in secretProviderKeys", key)
		}
	}
}

// TestProvidersFromEnvironment: USHER_PROVIDERS (JSON) replaces the
// file's list; USHER_PROVIDER_<NAME>_<KEY> sets one field; bad values
// and unknown keys are errors that name the variable.
func TestProvidersFromEnvironment(t *testing.T) {
	file := filepath.Join(t.TempDir(), "usher.toml")
	os.WriteFile(file, []byte(providersTOML), 0o600)
	load := func(env map[string]string) ([]federated.Config, error) {
		cf := &configFlags{path: file, pending: map[string]string{}}
		cfg, err := cf.load(func(k string) string { return env[k] })
		return cfg.Providers, err
	}
	ps, err := load(map[string]string{
		"USHER_PROVIDER_GOOGLE_CLIENT_SECRET": "from-env",
		"USHER_PROVIDER_CORP_ALLOW_SIGNUP":    "true",
		"USHER_PROVIDER_GOOGLE_SCOPES":        "openid, email",
	})
	if err != nil {
		t.Fatal(err)
	}
	if ps[0].ClientSecret != "from-env" || !*ps[1].AllowSignup || !slices.Equal(ps[0].Scopes, []string{"openid", "email"}) {
		t.Errorf("per-field variables: %+v", ps)
	}
	ps, err = load(map[string]string{"USHER_PROVIDERS": `[{"name":"acme","kind":"oidc","issuer":"https://id.acme.example","client_id":"x","additional_scopes":["groups"],"trust_email_verified":true}]`})
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 1 || ps[0].Name != "acme" || ps[0].Issuer != "https://id.acme.example" || !ps[0].TrustEmailVerified || !slices.Equal(ps[0].AdditionalScopes, []string{"groups"}) {
		t.Errorf("USHER_PROVIDERS: %+v", ps)
	}
	for env, want := range map[string]string{
		`[{"name":"acme","kind":"oidc","client_secert":"x"}]`: "client_secert",
		`{"name":"acme"}`: "USHER_PROVIDERS",
	} {
		if _, err := load(map[string]string{"USHER_PROVIDERS": env}); err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "USHER_PROVIDERS") {
			t.Errorf("USHER_PROVIDERS=%s: %v; want an error naming %s", env, err, want)
		}
	}
	if _, err := load(map[string]string{"USHER_PROVIDER_CORP_ALLOW_SIGNUP": "maybe"}); err == nil || !strings.Contains(err.Error(), "USHER_PROVIDER_CORP_ALLOW_SIGNUP") {
		t.Errorf("a bad boolean: %v", err)
	}
}

// TestProviderTypoInFile: an unknown key inside a [[providers]] entry is
// refused like any unknown setting.
func TestProviderTypoInFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "usher.toml")
	os.WriteFile(file, []byte("[[providers]]\nname = \"g\"\nkind = \"google\"\nclient_secert = \"x\"\n"), 0o600)
	code, _, errs := cli(t, map[string]string{"USHER_CONFIG": file}, "", "config")
	if code == 0 || !strings.Contains(errs, "client_secert") {
		t.Errorf("typo in [[providers]]: exit %d, %q", code, errs)
	}
}
