package app_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/usher-auth/usher"
	"github.com/usher-auth/usher/app"
	"github.com/usher-auth/usher/sqlstore"
	"github.com/usher-auth/usher/usertest"
)

// scrape returns the metrics a.Metrics serves, as text and parsed.
func scrape(t *testing.T, a *app.App) (string, map[string]*dto.MetricFamily) {
	t.Helper()
	rec := httptest.NewRecorder()
	a.Metrics.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /metrics: %d %s", rec.Code, rec.Body)
	}
	text := rec.Body.String()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("parsing the metrics: %v\n%s", err, text)
	}
	return text, fams
}

// value returns the value of the series of family name with exactly
// these labels (name=value pairs), and whether there is one.
func value(fams map[string]*dto.MetricFamily, name string, labels ...string) (float64, bool) {
	f, ok := fams[name]
	if !ok {
		return 0, false
	}
	for _, m := range f.GetMetric() {
		if len(m.GetLabel())*2 != len(labels) {
			continue
		}
		match := true
		for i, l := range m.GetLabel() {
			if l.GetName() != labels[2*i] || l.GetValue() != labels[2*i+1] {
				match = false
			}
		}
		if !match {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		}
	}
	return 0, false
}

// TestMetrics: after a sign-up, an admin's new user, a failed and a
// successful log-in and some session checks, /metrics shows them by
// method and result, the e-mails sent, the outbox, the session cache and
// request times by route pattern — and no label holds an e-mail address
// or a user ID.
func TestMetrics(t *testing.T) {
	srv, _, a := server(t, filepath.Join(t.TempDir(), "u.db"), nil)
	c := browser()
	if code, body := postJSON(t, c, srv.URL+"/user/api/signup", map[string]any{"email": "ann@example.com", "password": usertest.Password}); code/100 != 2 {
		t.Fatalf("sign-up: %d %v", code, body)
	}
	bob, err := a.Service.CreateUser(usher.WithActor(context.Background(), usher.Actor{Kind: usher.ActorAdmin, ID: "admin-id", Name: "root@example.com"}),
		usher.NewUser{Email: "bob@example.com", Password: usertest.Password, Enabled: true, Confirmed: true})
	if err != nil {
		t.Fatal(err)
	}
	if code, _ := postJSON(t, c, srv.URL+"/user/api/login", map[string]any{"email": "bob@example.com", "password": "not the password"}); code != http.StatusUnauthorized {
		t.Fatalf("wrong password: %d", code)
	}
	if code, _ := postJSON(t, c, srv.URL+"/user/api/login", map[string]any{"email": "nobody@example.com", "password": "not the password"}); code != http.StatusUnauthorized {
		t.Fatalf("unknown account: %d", code)
	}
	if code, body := postJSON(t, c, srv.URL+"/user/api/login", map[string]any{"email": "bob@example.com", "password": usertest.Password}); code != http.StatusOK {
		t.Fatalf("log-in: %d %v", code, body)
	}
	for range 3 {
		res, err := c.Get(srv.URL + "/user/api/me")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET /user/api/me: %d", res.StatusCode)
		}
	}
	a.Service.DeliverMail(context.Background())

	text, fams := scrape(t, a)
	tests := []struct {
		name   string
		labels []string
		want   float64 // -1: at least 1
	}{
		{"usher_logins_total", []string{"method", "password", "result", "success"}, 1},
		{"usher_logins_total", []string{"method", "password", "result", "failure"}, 1},
		{"usher_logins_total", []string{"method", "password", "result", "unknown_account"}, 1},
		{"usher_signups_total", nil, 1},
		{"usher_lockouts_total", nil, 0},
		{"usher_mfa_results_total", []string{"result", "failure"}, 0},
		{"usher_admin_actions_total", []string{"action", "signup"}, 1},
		{"usher_emails_sent_total", nil, 1},
		{"usher_emails_failed_total", nil, 0},
		{"usher_outbox_depth", nil, 0},
		{"usher_session_cache_hits_total", nil, 2},
		{"usher_session_cache_misses_total", nil, 1},
		{"usher_http_request_duration_seconds", []string{"route", "POST /user/api/login"}, 3},
		{"usher_http_request_duration_seconds", []string{"route", "GET /user/api/me"}, 3},
	}
	for _, tt := range tests {
		got, ok := value(fams, tt.name, tt.labels...)
		if !ok || got != tt.want {
			t.Errorf("%s%v = %v (present %v); want %v", tt.name, tt.labels, got, ok, tt.want)
		}
	}
	// No label holds an address or an ID.
	for name, f := range fams {
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				v := l.GetValue()
				if strings.Contains(v, "@") || strings.Contains(v, "example") || strings.Contains(v, bob.ID) || strings.Contains(v, "admin-id") {
					t.Errorf("%s{%s=%q}: a label holds personal data", name, l.GetName(), v)
				}
			}
		}
	}
	promtool(t, text)
}

// promtool runs `promtool check metrics` over text when promtool is on
// PATH (Debian's prometheus package has it).
func promtool(t *testing.T, text string) {
	t.Helper()
	path, err := exec.LookPath("promtool")
	if err != nil {
		t.Log("promtool is not on PATH: skipping `promtool check metrics` (apt-get install prometheus provides it)")
		return
	}
	cmd := exec.Command(path, "check", "metrics")
	cmd.Stdin = strings.NewReader(text)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}

// TestHealthAndReadiness: /healthz answers while the process runs;
// /readyz only while the database answers and its schema is the latest.
func TestHealthAndReadiness(t *testing.T) {
	get := func(t *testing.T, u string) (int, string) {
		t.Helper()
		res, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	srv, _, a := server(t, filepath.Join(t.TempDir(), "u.db"), nil)
	for _, p := range []string{"/healthz", "/readyz"} {
		if code, body := get(t, srv.URL+p); code != http.StatusOK || body != "ok\n" {
			t.Errorf("GET %s: %d %q; want 200 ok", p, code, body)
		}
	}
	a.Store.Close()
	if code, body := get(t, srv.URL+"/readyz"); code != http.StatusServiceUnavailable || strings.Contains(body, "sql") {
		t.Errorf("GET /readyz with the database closed: %d %q; want 503 saying only not ready", code, body)
	}
	if code, _ := get(t, srv.URL+"/healthz"); code != http.StatusOK {
		t.Errorf("GET /healthz with the database closed: %d; want 200 (the process is up)", code)
	}

	t.Run("schema not migrated", func(t *testing.T) {
		st, err := sqlstore.OpenWithOptions(context.Background(), filepath.Join(t.TempDir(), "old.db"), sqlstore.Options{SkipMigrate: true})
		if err != nil {
			t.Fatal(err)
		}
		cfg := app.Defaults()
		cfg.BaseURL = "http://localhost:8080"
		a, err := app.New(cfg, st, usertest.Discard)
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		srv := httptest.NewServer(a.Handler())
		defer srv.Close()
		if code, _ := get(t, srv.URL+"/readyz"); code != http.StatusServiceUnavailable {
			t.Errorf("GET /readyz before migrating: %d; want 503", code)
		}
		if err := st.Migrate(context.Background()); err != nil {
			t.Fatal(err)
		}
		if code, _ := get(t, srv.URL+"/readyz"); code != http.StatusOK {
			t.Errorf("GET /readyz after migrating: %d; want 200", code)
		}
	})
}
