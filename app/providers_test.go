package app_test

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/usher-auth/usher"
	"github.com/usher-auth/usher/app"
	"github.com/usher-auth/usher/federated"
	"github.com/usher-auth/usher/usertest"
)

func providersConfig(t *testing.T, ps ...federated.Config) app.Config {
	cfg := app.Defaults()
	cfg.Database = filepath.Join(t.TempDir(), "u.db")
	cfg.BaseURL = "http://localhost:8080"
	cfg.Providers = ps
	return cfg
}

// TestBadProviderRefusesToStart: a [[providers]] entry that cannot work
// stops the server with a message naming the provider and the problem.
func TestBadProviderRefusesToStart(t *testing.T) {
	for _, c := range []struct {
		p    federated.Config
		want string
	}{
		{federated.Config{Name: "Bad Name", Kind: "google"}, `"Bad Name"`},
		{federated.Config{Name: "acme", Kind: "myspace"}, `unknown kind "myspace"`},
	} {
		a, err := app.Open(context.Background(), providersConfig(t, c.p), usertest.Discard)
		if err == nil {
			a.Close()
			t.Errorf("%+v: started; want an error", c.p)
			continue
		}
		if !strings.Contains(err.Error(), "providers") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v; want an error naming providers and %s", c.p, err, c.want)
		}
	}
}

// TestConfiguredProviderWired: a [[providers]] entry becomes a provider
// of the Service, with its button on the log-in page.
func TestConfiguredProviderWired(t *testing.T) {
	cfg := providersConfig(t, federated.Config{Name: "google", Kind: "google", ClientID: "id.apps.googleusercontent.com", ClientSecret: "s"})
	a, err := app.Open(context.Background(), cfg, usertest.Discard)
	if err != nil && strings.Contains(err.Error(), "not written yet") {
		t.Skip("needs package federated's google provider")
	}
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if p := a.Service.Provider("google"); p == nil {
		t.Fatal("no provider google")
	}
	w := httptest.NewRecorder()
	a.Handler().ServeHTTP(w, httptest.NewRequest("GET", "http://localhost:8080/user/login", nil))
	if !strings.Contains(w.Body.String(), `href="/user/federated/google/start?remember=1"`) {
		t.Errorf("the log-in page has no Google button:\n%s", w.Body.String())
	}
}

// TestCustomProvidersWired: a program's own providers reach the Service
// (and so the pages' buttons).
func TestCustomProvidersWired(t *testing.T) {
	cfg := providersConfig(t)
	cfg.CustomProviders = []usher.FederatedProvider{&usertest.Provider{ID: "inhouse", KindName: "inhouse", Text: "In-house"}}
	a, err := app.Open(context.Background(), cfg, usertest.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if p := a.Service.Provider("inhouse"); p == nil || p.Label() != "In-house" {
		t.Fatalf("Service.Provider(inhouse) = %v", p)
	}
}
