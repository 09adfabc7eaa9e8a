// Package metrics turns Usher's events and counters into Prometheus
// metrics, in a registry of its own (no global state): counters fed by
// the Service's events (usher.Deps.OnEvent), collectors that read the
// Service's counters and outbox when scraped, and a histogram of HTTP
// request durations by route pattern.
//
// No label ever holds an e-mail address, user ID, IP address or other
// value a visitor chooses: every label value comes from a fixed list (the
// route patterns of the server, the configured providers, the event
// types), so the number of series is bounded.
package metrics

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/usher-auth/usher"
)

// Options configure New.
type Options struct {
	// Providers are the names of the configured federated providers; a
	// federated event naming another provider is counted as "other".
	Providers []string
}

// Metrics holds Usher's metrics in a private registry.
type Metrics struct {
	reg       *prometheus.Registry
	providers []string

	logins    *prometheus.CounterVec
	signups   prometheus.Counter
	lockouts  prometheus.Counter
	mfa       *prometheus.CounterVec
	federated *prometheus.CounterVec
	links     *prometheus.CounterVec
	admin     *prometheus.CounterVec
	duration  *prometheus.HistogramVec
}

// New returns Metrics with every metric registered, Go's runtime and
// process metrics included.
func New(o Options) *Metrics {
	m := &Metrics{
		reg:       prometheus.NewRegistry(),
		providers: slices.Clone(o.Providers),
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "usher_logins_total",
			Help: "Log-ins by method (password, mfa, passkey, login_link, link, signup, federated, ...) and result (success, or why refused).",
		}, []string{"method", "result"}),
		signups: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "usher_signups_total",
			Help: "Accounts created by sign-up (not by admins).",
		}),
		lockouts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "usher_lockouts_total",
			Help: "Accounts locked after too many failed log-ins.",
		}),
		mfa: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "usher_mfa_results_total",
			Help: "Second factors checked at log-in, by result (success, failure).",
		}, []string{"result"}),
		federated: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "usher_federated_logins_total",
			Help: "Federated log-ins by provider (a configured name, or other) and result (success, failure).",
		}, []string{"provider", "result"}),
		links: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "usher_account_links_total",
			Help: "Federated identities matched to accounts, by provider (a configured name, or other) and decision: link (to an existing account), create (a new account), refused_unverified (the address is an account's but not vouched for: the user must log in and link), refused_conflict (a sign-up with an account's address).",
		}, []string{"provider", "decision"}),
		admin: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "usher_admin_actions_total",
			Help: "Changes made by admins, API keys, the command line or server code, by action (the audit event type).",
		}, []string{"action"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "usher_http_request_duration_seconds",
			Help:    "Time to answer HTTP requests, by route pattern (none: no route matched).",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route"}),
	}
	m.reg.MustRegister(m.logins, m.signups, m.lockouts, m.mfa, m.federated, m.links, m.admin, m.duration,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// Series that exist from the start, so that rates need no first event.
	for _, r := range []string{"success", "failure"} {
		m.mfa.WithLabelValues(r)
		m.logins.WithLabelValues("password", r)
	}
	return m
}

// Registry returns the registry, for programs that add their own metrics.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the metrics in Prometheus's text format (GET /metrics).
// A metric that cannot be read (the outbox's depth while the database is
// down) is left out; the others are still served.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// Instrument times each request next answers, labelled by the route
// pattern the request matched: the server's http.ServeMux sets
// Request.Pattern on the request it routes (an inner ServeMux, such as
// the web Handler's, overwrites the outer one's with its own pattern, on
// the same request), so a fixed list of patterns, never a path, becomes
// the label.
func (m *Metrics) Instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		next.ServeHTTP(w, r)
		route := r.Pattern
		if route == "" {
			route = "none"
		}
		m.duration.WithLabelValues(route).Observe(time.Since(start).Seconds())
	})
}

// Source is what the collectors read when scraped; *usher.Service is one.
type Source interface {
	Stats() usher.Stats
	OutboxDepth(ctx context.Context) (int, error)
}

// Watch registers the collectors that read src when scraped: e-mails sent
// and failed, session-cache hits and misses, and the outbox's depth.
func (m *Metrics) Watch(src Source) {
	m.reg.MustRegister(&sourceCollector{src: src})
}

var (
	descEmailsSent = prometheus.NewDesc("usher_emails_sent_total",
		"Emails delivered from the outbox.", nil, nil)
	descEmailsFailed = prometheus.NewDesc("usher_emails_failed_total",
		"Failed attempts to deliver an email (each retry counts).", nil, nil)
	descCacheHits = prometheus.NewDesc("usher_session_cache_hits_total",
		"Session checks answered from memory; the hit ratio is hits / (hits + misses).", nil, nil)
	descCacheMisses = prometheus.NewDesc("usher_session_cache_misses_total",
		"Session checks that read the database.", nil, nil)
	descOutbox = prometheus.NewDesc("usher_outbox_depth",
		"Outbox items (emails, webhooks, link requests) waiting to be sent.", nil, nil)
)

// sourceCollector reads a Source at each scrape.
type sourceCollector struct{ src Source }

func (c *sourceCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descEmailsSent, descEmailsFailed, descCacheHits, descCacheMisses, descOutbox} {
		ch <- d
	}
}

func (c *sourceCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.src.Stats()
	ch <- prometheus.MustNewConstMetric(descEmailsSent, prometheus.CounterValue, float64(st.EmailsSent))
	ch <- prometheus.MustNewConstMetric(descEmailsFailed, prometheus.CounterValue, float64(st.EmailsFailed))
	ch <- prometheus.MustNewConstMetric(descCacheHits, prometheus.CounterValue, float64(st.SessionCacheHits))
	ch <- prometheus.MustNewConstMetric(descCacheMisses, prometheus.CounterValue, float64(st.SessionCacheMisses))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if n, err := c.src.OutboxDepth(ctx); err == nil {
		ch <- prometheus.MustNewConstMetric(descOutbox, prometheus.GaugeValue, float64(n))
	} else {
		// No value rather than a wrong one; the scrape still succeeds.
		ch <- prometheus.NewInvalidMetric(descOutbox, err)
	}
}

// OnEvent counts one event of the audit log; pass it as (or call it
// from) usher.Deps.OnEvent.
func (m *Metrics) OnEvent(_ context.Context, e usher.Event) {
	m.countLink(e)
	if provider, ok := m.federatedProvider(e.Detail); ok && (e.Type == usher.EventLogin || e.Type == usher.EventLoginFailed) {
		result := "success"
		if e.Type == usher.EventLoginFailed {
			result = "failure"
		}
		m.federated.WithLabelValues(provider, result).Inc()
		m.logins.WithLabelValues("federated", result).Inc()
		return
	}
	switch e.Type {
	case usher.EventLogin:
		method, withMFA := strings.CutSuffix(e.Detail, "+mfa")
		m.logins.WithLabelValues(loginMethod(method), "success").Inc()
		if withMFA || method == "mfa" || method == "mfa enrolment" {
			m.mfa.WithLabelValues("success").Inc()
		}
	case usher.EventLoginFailed:
		method, result := failure(e.Detail)
		m.logins.WithLabelValues(method, result).Inc()
		if e.Detail == usher.FailWrongSecondFactor {
			m.mfa.WithLabelValues("failure").Inc()
		}
	case usher.EventLockout:
		m.lockouts.Inc()
	case usher.EventSignup:
		if e.Actor.Kind == usher.ActorUser {
			m.signups.Inc()
		}
	}
	switch e.Actor.Kind {
	case usher.ActorAdmin, usher.ActorAPIKey, usher.ActorCLI, usher.ActorSystem:
		m.admin.WithLabelValues(e.Type).Inc()
	}
}

// countLink counts the events that decide how a federated identity meets
// an account (usher_account_links_total): identity_linked (detail: the
// provider), a federated signup (detail "federated:<provider>"), and the
// federated log-ins refused as FailLinkRequired or FailAddressTaken.
func (m *Metrics) countLink(e usher.Event) {
	decision := ""
	provider, fed := m.federatedProvider(e.Detail)
	switch {
	case e.Type == usher.EventIdentityLinked:
		provider, _ = m.federatedProvider("federated:" + e.Detail)
		decision = "link"
	case e.Type == usher.EventSignup && fed:
		decision = "create"
	case e.Type == usher.EventLoginFailed && fed && strings.HasSuffix(e.Detail, ": "+usher.FailLinkRequired):
		decision = "refused_unverified"
	case e.Type == usher.EventLoginFailed && fed && strings.HasSuffix(e.Detail, ": "+usher.FailAddressTaken):
		decision = "refused_conflict"
	default:
		return
	}
	m.links.WithLabelValues(provider, decision).Inc()
}

// federatedProvider reads the provider of a federated log-in's detail,
// "federated:<provider>" or "federated:<provider>: <why>": a configured
// name, else "other".
func (m *Metrics) federatedProvider(detail string) (string, bool) {
	rest, ok := strings.CutPrefix(detail, "federated:")
	if !ok {
		return "", false
	}
	name := rest
	if i := strings.IndexAny(rest, ": +"); i >= 0 {
		name = rest[:i]
	}
	if slices.Contains(m.providers, name) {
		return name, true
	}
	return "other", true
}

// loginMethods are the details of the login event (usher's loginRules),
// as label values.
var loginMethods = map[string]string{
	"password": "password", "mfa": "mfa", "mfa enrolment": "mfa_enrolment", "passkey": "passkey",
	"login link": "login_link", "link": "link", "signup": "signup", "password change": "password_change",
}

// loginMethod is the method label of a login event's detail; an unknown
// detail is "other".
func loginMethod(detail string) string {
	if m, ok := loginMethods[detail]; ok {
		return m
	}
	return "other"
}

// failures are the method and result labels of a login_failed event's
// detail (usher's Fail... constants).
var failures = map[string][2]string{
	usher.FailWrongPassword: {"password", "failure"}, usher.FailWrongSecondFactor: {"mfa", "failure"},
	usher.FailLocked: {"any", "locked"}, usher.FailUnknownAccount: {"password", "unknown_account"},
	usher.FailPasskey: {"passkey", "failure"}, usher.FailUnknownPasskey: {"passkey", "unknown_account"},
	usher.FailReauthentication: {"reauthentication", "failure"},
}

// failure is the method and result labels of a login_failed event's
// detail; an unknown detail is "other", "failure".
func failure(detail string) (method, result string) {
	if l, ok := failures[detail]; ok {
		return l[0], l[1]
	}
	return "other", "failure"
}
