package metrics_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/usher-auth/usher"
	"github.com/usher-auth/usher/metrics"
)

// TestOnEvent: each event is counted under fixed label values — a
// federated provider that is not configured is "other", an unknown
// log-in method "other" — whatever the event's detail holds.
func TestOnEvent(t *testing.T) {
	m := metrics.New(metrics.Options{Providers: []string{"google"}})
	user := usher.Actor{Kind: usher.ActorUser, ID: "u1"}
	admin := usher.Actor{Kind: usher.ActorAdmin, ID: "a1", Name: "root@example.com"}
	for _, e := range []usher.Event{
		{Type: usher.EventLogin, Detail: "password", Actor: user},
		{Type: usher.EventLogin, Detail: "password+mfa", Actor: user},
		{Type: usher.EventLogin, Detail: "mfa", Actor: user},
		{Type: usher.EventLogin, Detail: "a detail nobody knows", Actor: user},
		{Type: usher.EventLoginFailed, Detail: usher.FailWrongSecondFactor, Actor: user},
		{Type: usher.EventLoginFailed, Detail: usher.FailLocked, Actor: user},
		{Type: usher.EventLogin, Detail: "federated:google", Actor: user},
		{Type: usher.EventLoginFailed, Detail: "federated:google: email not verified", Actor: user},
		{Type: usher.EventLogin, Detail: "federated:ann@evil.example", Actor: user},
		{Type: usher.EventLockout, Actor: user},
		{Type: usher.EventSignup, Actor: user},
		{Type: usher.EventSignup, Detail: "created by admin", Actor: admin},
		{Type: usher.EventDisabled, Actor: admin},
		{Type: usher.EventRoleAdded, Detail: "editor", Actor: usher.Actor{Kind: usher.ActorCLI}},
	} {
		m.OnEvent(context.Background(), e)
	}
	text := scrape(t, m,
		`usher_logins_total{method="password",result="success"} 2`,
		`usher_logins_total{method="mfa",result="success"} 1`,
		`usher_logins_total{method="other",result="success"} 1`,
		`usher_logins_total{method="mfa",result="failure"} 1`,
		`usher_logins_total{method="any",result="locked"} 1`,
		`usher_logins_total{method="federated",result="success"} 2`,
		`usher_logins_total{method="federated",result="failure"} 1`,
		`usher_mfa_results_total{result="success"} 2`,
		`usher_mfa_results_total{result="failure"} 1`,
		`usher_federated_logins_total{provider="google",result="success"} 1`,
		`usher_federated_logins_total{provider="google",result="failure"} 1`,
		`usher_federated_logins_total{provider="other",result="success"} 1`,
		`usher_lockouts_total 1`,
		`usher_signups_total 1`,
		`usher_admin_actions_total{action="signup"} 1`,
		`usher_admin_actions_total{action="disabled"} 1`,
		`usher_admin_actions_total{action="role_added"} 1`,
	)
	if strings.Contains(text, "evil") || strings.Contains(text, "@") {
		t.Errorf("a label holds the event's detail:\n%s", text)
	}
	if n, err := testutil.GatherAndCount(m.Registry(), "usher_logins_total"); err != nil || n != 8 {
		t.Errorf("usher_logins_total has %d series, %v; want 8 (password failures from the start)", n, err)
	}
}

// TestInstrument: a request is timed under the pattern the ServeMux
// inside matched, never its path.
func TestInstrument(t *testing.T) {
	m := metrics.New(metrics.Options{})
	inner := http.NewServeMux()
	inner.HandleFunc("GET /user/api/sessions/{id}", func(http.ResponseWriter, *http.Request) {})
	outer := http.NewServeMux()
	outer.Handle("/user/", inner)
	h := m.Instrument(outer)
	for _, p := range []string{"/user/api/sessions/s1", "/user/api/sessions/s2", "/user/nothing/here", "/elsewhere"} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", p, nil))
	}
	text := scrape(t, m,
		`usher_http_request_duration_seconds_count{route="GET /user/api/sessions/{id}"} 2`,
		`usher_http_request_duration_seconds_count{route="none"} 2`,
	)
	if strings.Contains(text, "s1") || strings.Contains(text, "nothing") {
		t.Errorf("a path became a label:\n%s", text)
	}
}

// scrape returns what m serves, checking that it has each line of want.
func scrape(t *testing.T, m *metrics.Metrics, want ...string) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	text := rec.Body.String()
	for _, line := range want {
		if !strings.Contains(text, line+"\n") {
			t.Errorf("missing %s", line)
		}
	}
	return text
}

// fakeSource is a Source whose outbox cannot be read.
type fakeSource struct{}

func (fakeSource) Stats() usher.Stats { return usher.Stats{EmailsSent: 3, SessionCacheHits: 5} }
func (fakeSource) OutboxDepth(context.Context) (int, error) {
	return 0, errors.New("database is down")
}

// TestWatchDatabaseDown: while the outbox cannot be read, a scrape still
// answers 200 with every other metric, and no outbox depth.
func TestWatchDatabaseDown(t *testing.T) {
	m := metrics.New(metrics.Options{})
	m.Watch(fakeSource{})
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	text := rec.Body.String()
	if rec.Code != http.StatusOK || !strings.Contains(text, "usher_emails_sent_total 3\n") ||
		!strings.Contains(text, "usher_session_cache_hits_total 5\n") || strings.Contains(text, "usher_outbox_depth ") {
		t.Errorf("scrape with the database down: %d\n%s", rec.Code, text)
	}
}

// TestAccountLinks: usher_account_links_total counts how federated
// identities meet accounts, by provider and decision, from the events the
// Service records: an identity linked, a federated sign-up, a log-in
// refused for an address not vouched for, a sign-up with a taken address.
// Other refusals and password sign-ups are not counted.
func TestAccountLinks(t *testing.T) {
	m := metrics.New(metrics.Options{Providers: []string{"google"}})
	user := usher.Actor{Kind: usher.ActorUser, ID: "u1"}
	for _, e := range []usher.Event{
		{Type: usher.EventIdentityLinked, Detail: "google", Actor: user},
		{Type: usher.EventIdentityLinked, Detail: "ann@evil.example", Actor: user},
		{Type: usher.EventSignup, Detail: "federated:google", Actor: user},
		{Type: usher.EventSignup, Actor: user},
		{Type: usher.EventLoginFailed, Detail: "federated:google: " + usher.FailLinkRequired, Actor: user},
		{Type: usher.EventLoginFailed, Detail: "federated:google: " + usher.FailAddressTaken, Actor: user},
		{Type: usher.EventLoginFailed, Detail: "federated:google: no usable email address", Actor: user},
		{Type: usher.EventLoginFailed, Detail: usher.FailLinkRequired, Actor: user},
	} {
		m.OnEvent(context.Background(), e)
	}
	scrape(t, m,
		`usher_account_links_total{decision="link",provider="google"} 1`,
		`usher_account_links_total{decision="link",provider="other"} 1`,
		`usher_account_links_total{decision="create",provider="google"} 1`,
		`usher_account_links_total{decision="refused_unverified",provider="google"} 1`,
		`usher_account_links_total{decision="refused_conflict",provider="google"} 1`,
	)
	if n, err := testutil.GatherAndCount(m.Registry(), "usher_account_links_total"); err != nil || n != 5 {
		t.Errorf("usher_account_links_total has %d series, %v; want 5", n, err)
	}
}
