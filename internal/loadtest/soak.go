package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/jhillyerd/enmime/v2"

	"github.com/usher-auth/usher/mfa"
)

// soak drives mixed traffic at several instances of `usher serve` (one
// database), alternating between them request by request, while it
// receives their e-mails on its own SMTP server; at the end it checks the
// run and prints one verdict line (bench/soak.sh).
func soak(args []string) error {
	fs := flag.NewFlagSet("soak", flag.ExitOnError)
	urls := fs.String("urls", "http://127.0.0.1:18280,http://127.0.0.1:18290", "the instances, comma-separated")
	metricsURLs := fs.String("metrics", "http://127.0.0.1:18281/metrics,http://127.0.0.1:18291/metrics", "their metrics_addr /metrics, in the same order")
	smtpAddr := fs.String("smtp", "127.0.0.1:18225", "address of the SMTP server to run")
	duration := fs.Duration("duration", 10*time.Minute, "how long")
	workers := fs.Int("workers", 8, "simulated users acting at once")
	fs.Parse(args)

	sink, err := startSink(*smtpAddr)
	if err != nil {
		return err
	}
	defer sink.srv.Close()
	d := &driver{urls: strings.Split(*urls, ","), sink: sink, client: &http.Client{Timeout: 30 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 64}}, statuses: map[string]int{}}
	mets := strings.Split(*metricsURLs, ",")
	for _, u := range d.urls {
		if err := waitHealthy(u); err != nil {
			return err
		}
	}
	fmt.Printf("soak: %d workers for %v against %s\n", *workers, *duration, *urls)
	start := time.Now()
	end := start.Add(*duration)
	var wg sync.WaitGroup
	for i := range *workers {
		wg.Go(func() { d.work(i, end) })
	}
	type sample struct{ rss, goroutines []float64 }
	read := func() sample {
		var s sample
		for _, m := range mets {
			v := scrape(m)
			s.rss = append(s.rss, v["process_resident_memory_bytes"]/(1<<20))
			s.goroutines = append(s.goroutines, v["go_goroutines"])
		}
		return s
	}
	// RSS moves with the collector's cycle (a sawtooth up to five times the
	// live heap under GOGC 400), so it is sampled every second and each
	// quarter's mean compared: that of the second quarter (after warm-up)
	// against that of the last. The peaks are printed too.
	peaks := make([][]float64, 4)
	means := make([][]float64, 4)
	var at25 sample
	for q := 1; q <= 4; q++ {
		qend := start.Add(*duration * time.Duration(q) / 4)
		var s sample
		peaks[q-1], means[q-1] = make([]float64, len(mets)), make([]float64, len(mets))
		n := 0
		for time.Now().Before(qend) {
			s = read()
			n++
			for i, r := range s.rss {
				peaks[q-1][i] = max(peaks[q-1][i], r)
				means[q-1][i] += r
			}
			time.Sleep(min(time.Second, time.Until(qend)))
		}
		for i := range means[q-1] {
			means[q-1][i] /= float64(max(n, 1))
		}
		s = read()
		fmt.Printf("soak: %d%% (%v): RSS MB %.0f (the quarter's mean %.0f, peak %.0f), goroutines %v; %s\n", 25*q, time.Since(start).Round(time.Second), s.rss, means[q-1], peaks[q-1], s.goroutines, d.progress())
		if q == 1 {
			at25 = s
		}
	}
	fmt.Printf("soak: waiting for the last actions to finish\n")
	wg.Wait()
	d.later.Wait()
	// Drain: the outboxes empty, then no more mail for a few seconds.
	drained := false
	for range 120 {
		depth := 0.0
		for _, m := range mets {
			depth += scrape(m)["usher_outbox_depth"]
		}
		if depth == 0 {
			drained = true
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	time.Sleep(3 * time.Second)
	idle := read()
	fmt.Printf("soak: after the load, idle: RSS MB %v, goroutines %v\n", idle.rss, idle.goroutines)

	// The checks.
	var fails []string
	d.mu.Lock()
	if d.status5xx > 0 {
		fails = append(fails, fmt.Sprintf("%d 5xx answers", d.status5xx))
	}
	if d.unexpected > 0 {
		fails = append(fails, fmt.Sprintf("%d unexpected answers", d.unexpected))
	}
	expected := d.expected
	d.mu.Unlock()
	got, dupIDs, total := sink.tally()
	missing, extra := 0, 0
	for k, n := range expected {
		if got[k] < n {
			missing += n - got[k]
		} else if got[k] > n {
			extra += got[k] - n
		}
	}
	for k, n := range got {
		if _, ok := expected[k]; !ok {
			extra += n
		}
	}
	if missing > 0 || extra > 0 || dupIDs > 0 {
		fails = append(fails, fmt.Sprintf("emails: %d missing, %d extra, %d duplicate Message-IDs", missing, extra, dupIDs))
	}
	if !drained {
		fails = append(fails, "the outbox did not drain within 60 s")
	}
	for i := range mets {
		if means[3][i] > means[1][i]*1.15+5 {
			fails = append(fails, fmt.Sprintf("instance %d RSS grew: mean %.0f MB in the second quarter, %.0f MB in the last", i+1, means[1][i], means[3][i]))
		}
		if idle.goroutines[i] > at25.goroutines[i]+5 {
			fails = append(fails, fmt.Sprintf("instance %d goroutines grew from %.0f (25%%, under load) to %.0f (idle at the end)", i+1, at25.goroutines[i], idle.goroutines[i]))
		}
	}
	verdict := "PASS"
	if len(fails) > 0 {
		verdict = "FAIL: " + strings.Join(fails, "; ")
	}
	fmt.Printf("soak: answers by status: %v\n", d.statusSummary())
	fmt.Printf("soak verdict: %s — %v, %s; 5xx %d; emails %d received (%d link emails expected, %d missing, %d extra, %d duplicate Message-IDs); outbox drained %v; RSS MB mean in the 2nd quarter %.0f, in the 4th %.0f (peaks %.0f, %.0f); goroutines at 25%% %v, idle at the end %v\n",
		verdict, *duration, d.progress(), d.status5xx, total, sum(expected), missing, extra, dupIDs, drained, means[1], means[3], peaks[1], peaks[3], at25.goroutines, idle.goroutines)
	if len(fails) > 0 {
		return errors.New("soak failed")
	}
	return nil
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

func waitHealthy(u string) error {
	for range 300 {
		if res, err := http.Get(u + "/healthz"); err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("%s did not become healthy", u)
}

// scrape reads the unlabelled samples of a Prometheus text page.
func scrape(u string) map[string]float64 {
	out := map[string]float64{}
	res, err := http.Get(u)
	if err != nil {
		return out
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 2 && !strings.HasPrefix(f[0], "#") && !strings.Contains(f[0], "{") {
			v, _ := strconv.ParseFloat(f[1], 64)
			out[f[0]] = v
		}
	}
	return out
}

// The SMTP sink.

type sink struct {
	srv *smtp.Server
	mu  sync.Mutex
	// by address: the tokens of the link e-mails received, by kind
	links  map[string][]string // "confirm-email ADDR" → tokens
	ids    map[string]int
	total  int
	notify chan struct{}
}

var linkRE = regexp.MustCompile(`/user/(confirm-email|reset-password)/([A-Za-z0-9_-]{20,})`)

func startSink(addr string) (*sink, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &sink{links: map[string][]string{}, ids: map[string]int{}, notify: make(chan struct{})}
	s.srv = smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &sinkSession{s: s}, nil }))
	s.srv.Domain = "localhost"
	s.srv.AllowInsecureAuth = true
	s.srv.ErrorLog = log.New(io.Discard, "", 0)
	go s.srv.Serve(ln)
	return s, nil
}

type sinkSession struct {
	s  *sink
	to []string
}

func (ss *sinkSession) Reset()                               { ss.to = nil }
func (ss *sinkSession) Logout() error                        { return nil }
func (ss *sinkSession) Mail(string, *smtp.MailOptions) error { return nil }
func (ss *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.to = append(ss.to, strings.ToLower(to))
	return nil
}

func (ss *sinkSession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	env, err := enmime.ReadEnvelope(bytes.NewReader(raw))
	if err != nil {
		return err
	}
	s := ss.s
	s.mu.Lock()
	defer s.mu.Unlock()
	s.total++
	s.ids[env.GetHeader("Message-Id")]++
	if m := linkRE.FindStringSubmatch(env.Text); m != nil {
		for _, to := range ss.to {
			k := m[1] + " " + to
			s.links[k] = append(s.links[k], m[2])
		}
	}
	close(s.notify)
	s.notify = make(chan struct{})
	return nil
}

// wait returns the n-th (from 1) link token of kind sent to addr, waiting
// up to a minute for it.
func (s *sink) wait(kind, addr string, n int) (string, error) {
	deadline := time.After(time.Minute)
	for {
		s.mu.Lock()
		l, ch := s.links[kind+" "+strings.ToLower(addr)], s.notify
		s.mu.Unlock()
		if len(l) >= n {
			return l[n-1], nil
		}
		select {
		case <-ch:
		case <-deadline:
			return "", fmt.Errorf("no %s email #%d to %s within a minute", kind, n, addr)
		}
	}
}

// tally returns the link e-mails received by kind and address, the number
// of Message-IDs seen more than once, and the e-mails received in all.
func (s *sink) tally() (map[string]int, int, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	got := map[string]int{}
	for k, l := range s.links {
		got[k] = len(l)
	}
	dup := 0
	for _, n := range s.ids {
		if n > 1 {
			dup += n - 1
		}
	}
	return got, dup, s.total
}

// The simulated users.

type driver struct {
	urls   []string
	next   atomic.Uint64
	sink   *sink
	client *http.Client

	mu         sync.Mutex
	expected   map[string]int // link e-mails asked for, by kind and address
	statuses   map[string]int // "POST /api/login 200" → count
	status5xx  int
	unexpected int
	actions    [6]int // sign-ups, log-ins, session checks, resets, 2FA log-ins, log-outs
	later      sync.WaitGroup
}

func (d *driver) progress() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	a := d.actions
	return fmt.Sprintf("%d sign-ups confirmed, %d log-ins, %d session checks, %d resets, %d 2FA log-ins, %d log-outs", a[0], a[1], a[2], a[3], a[4], a[5])
}

func (d *driver) statusSummary() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	var keys []string
	for k, n := range d.statuses {
		keys = append(keys, fmt.Sprintf("%s: %d", k, n))
	}
	sort.Strings(keys)
	return strings.Join(keys, ", ")
}

func (d *driver) count(i int) {
	d.mu.Lock()
	d.actions[i]++
	d.mu.Unlock()
}

func (d *driver) expect(kind, addr string) {
	d.mu.Lock()
	if d.expected == nil {
		d.expected = map[string]int{}
	}
	d.expected[kind+" "+strings.ToLower(addr)]++
	d.mu.Unlock()
}

// call sends a JSON request to the next instance and decodes the answer
// into out (when not nil). A status not in want counts as unexpected.
func (d *driver) call(method, path, bearer string, body, out any, want ...int) (int, error) {
	base := d.urls[d.next.Add(1)%uint64(len(d.urls))]
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, base+"/user"+path, rd)
	req.Header.Set("Content-Type", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	res, err := d.client.Do(req)
	if err != nil {
		d.mu.Lock()
		d.unexpected++
		d.mu.Unlock()
		return 0, err
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	ok := false
	for _, w := range want {
		ok = ok || res.StatusCode == w
	}
	d.mu.Lock()
	d.statuses[fmt.Sprintf("%s %s %d", method, routeOf(path), res.StatusCode)]++
	if res.StatusCode >= 500 {
		d.status5xx++
	}
	if !ok {
		d.unexpected++
	}
	d.mu.Unlock()
	if !ok {
		if len(data) > 200 {
			data = data[:200]
		}
		return res.StatusCode, fmt.Errorf("%s %s: %d %s", method, path, res.StatusCode, bytes.TrimSpace(data))
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return res.StatusCode, err
		}
	}
	return res.StatusCode, nil
}

func routeOf(path string) string {
	if i := strings.LastIndex(path, "/api/mfa/methods/"); i >= 0 {
		return path[:i] + "/api/mfa/methods/{id}"
	}
	return path
}

type loginAnswer struct {
	Session struct {
		Token string `json:"token"`
	} `json:"session"`
	MFAToken string `json:"mfa_token"`
}

type account struct {
	email, password string
	totp            []byte // second factor, if enrolled
	lastStep        int64
	resets          int
}

const soakPassword = "soak test password 1"

// work is one simulated user's loop: it signs up (confirming over e-mail),
// then repeatedly logs in, checks its session, logs out, and now and then
// resets its password or, for every other worker, logs in with TOTP.
func (d *driver) work(id int, end time.Time) {
	tag := rand.Uint32()
	n := 0
	logf := func(err error) {
		if err != nil {
			fmt.Printf("soak: worker %d: %v\n", id, err)
			time.Sleep(200 * time.Millisecond)
		}
	}
	for time.Now().Before(end) {
		n++
		a := &account{email: fmt.Sprintf("soak-%d-%d-%d@example.com", tag, id, n), password: soakPassword}
		if err := d.signup(a); err != nil {
			logf(err)
			continue
		}
		if id%2 == 1 {
			logf(d.enrol(a))
		}
		for round := 0; round < 20 && time.Now().Before(end); round++ {
			logf(d.session(a))
			if round%5 == 4 {
				logf(d.reset(a))
			}
		}
	}
}

func (d *driver) signup(a *account) error {
	if _, err := d.call("POST", "/api/signup", "", map[string]any{"email": a.email, "password": a.password}, nil, 201); err != nil {
		return err
	}
	d.expect("confirm-email", a.email)
	tok, err := d.sink.wait("confirm-email", a.email, 1)
	if err != nil {
		return err
	}
	if _, err := d.call("POST", "/api/confirm-email", "", map[string]any{"token": tok, "bearer": true}, nil, 200); err != nil {
		return err
	}
	d.count(0)
	return nil
}

func (d *driver) login(a *account) (string, error) {
	body := map[string]any{"email": a.email, "password": a.password, "bearer": true}
	if a.totp != nil {
		// A TOTP code works once: wait for a time step not yet used.
		for mfa.TOTPStep(time.Now()) <= a.lastStep {
			time.Sleep(time.Until(time.Unix((a.lastStep+1)*mfa.TOTPPeriod, 0)))
		}
		now := time.Now()
		a.lastStep = mfa.TOTPStep(now)
		body["mfa"] = map[string]any{"type": "totp", "code": mfa.TOTPCode(a.totp, now)}
	}
	var ans loginAnswer
	if _, err := d.call("POST", "/api/login", "", body, &ans, 200); err != nil {
		return "", err
	}
	if a.totp != nil {
		d.count(4)
	} else {
		d.count(1)
	}
	return ans.Session.Token, nil
}

// session logs in, checks the session ten times and logs out.
func (d *driver) session(a *account) error {
	tok, err := d.login(a)
	if err != nil {
		return err
	}
	for range 10 {
		if _, err := d.call("GET", "/api/me", tok, nil, nil, 200); err != nil {
			return err
		}
		d.count(2)
	}
	if _, err := d.call("POST", "/api/logout", tok, nil, nil, 200); err != nil {
		return err
	}
	d.count(5)
	// A logged-out session no longer works, on either instance: at once
	// on the one that ended it, and on the other once its cache has read
	// the change (cache_sync_interval, 1 s); checked after 2 s.
	d.later.Add(1)
	time.AfterFunc(2*time.Second, func() {
		defer d.later.Done()
		if _, err := d.call("GET", "/api/me", tok, nil, nil, 401); err != nil {
			fmt.Printf("soak: after log-out: %v\n", err)
		}
	})
	return nil
}

func (d *driver) enrol(a *account) error {
	tok, err := d.login(a)
	if err != nil {
		return err
	}
	var sec struct {
		Secret    string `json:"secret"`
		MFAMethod string `json:"mfa_method"`
	}
	if _, err := d.call("POST", "/api/mfa/totp/secret", tok, nil, &sec, 200); err != nil {
		return err
	}
	secret, err := mfa.DecodeSecret(sec.Secret)
	if err != nil {
		return err
	}
	now := time.Now()
	if _, err := d.call("POST", "/api/mfa/methods", tok, map[string]any{"password": a.password, "mfa_method": sec.MFAMethod,
		"code": mfa.TOTPCode(secret, now), "name": "soak"}, nil, 201); err != nil {
		return err
	}
	a.totp, a.lastStep = secret, mfa.TOTPStep(now)
	_, err = d.call("POST", "/api/logout", tok, nil, nil, 200)
	d.count(5)
	return err
}

func (d *driver) reset(a *account) error {
	if _, err := d.call("POST", "/api/password-reset", "", map[string]any{"email": a.email}, nil, 200); err != nil {
		return err
	}
	d.expect("reset-password", a.email)
	a.resets++
	tok, err := d.sink.wait("reset-password", a.email, a.resets)
	if err != nil {
		return err
	}
	pw := fmt.Sprintf("%s %d", soakPassword, a.resets)
	if _, err := d.call("POST", "/api/password-reset/confirm", "", map[string]any{"token": tok, "new_password": pw, "bearer": true}, nil, 200); err != nil {
		return err
	}
	a.password = pw
	d.count(3)
	return nil
}
