package main

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/usher-auth/usher/internal/smtptest"
	_ "modernc.org/sqlite" // PRAGMA integrity_check after the disk-full fault
)

// The fault tests of docs/operations.md ("Faults"): each runs `usher
// serve` as a child process, puts it under load and breaks something
// beneath it. None of them asserts a speed; the deadlines below only
// tell an answer from a hang.

// faultDeadline is the client's deadline for one request: an answer that
// takes longer is a hang.
const faultDeadline = 10 * time.Second

// logBuffer collects a child process's log; it is shown when the test
// fails.
type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startServerLogged is startServer with the server's log kept in a buffer
// (shown, its last 8 KB, if the test fails).
func startServerLogged(t *testing.T, env []string) (*exec.Cmd, *logBuffer) {
	log := &logBuffer{}
	cmd := exec.Command(os.Args[0], "serve")
	// env comes last: its USHER_LOG_LEVEL wins.
	cmd.Env = append(append(os.Environ(), "USHER_TEST_RUN_MAIN=1", "USHER_LOG_LEVEL=warn"), env...)
	cmd.Stderr = log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			s := log.String()
			t.Logf("the server's log (last 8 KB):\n%s", s[max(0, len(s)-8<<10):])
		}
	})
	return cmd, log
}

// pgBinDir returns the directory of PostgreSQL's server binaries, or
// skips the test (fails it when USHER_REQUIRE_PGBIN=1, as .ci/run sets).
func pgBinDir(t *testing.T) string {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	for i := len(dirs) - 1; i >= 0; i-- {
		if _, err := os.Stat(filepath.Join(dirs[i], "postgres")); err == nil {
			return dirs[i]
		}
	}
	if p, err := exec.LookPath("postgres"); err == nil {
		return filepath.Dir(p)
	}
	if os.Getenv("USHER_REQUIRE_PGBIN") == "1" {
		t.Fatal("USHER_REQUIRE_PGBIN=1 but no PostgreSQL server binaries (initdb, postgres) under /usr/lib/postgresql/*/bin or on PATH")
	}
	t.Skip("no PostgreSQL server binaries (initdb, postgres) under /usr/lib/postgresql/*/bin or on PATH; set USHER_REQUIRE_PGBIN=1 to make this a failure")
	return ""
}

// ownPostgres is a PostgreSQL server of the test's own, on a free port,
// that the test may stop, kill and start again. The machine's shared
// server is never touched.
type ownPostgres struct {
	t    *testing.T
	bin  string
	dir  string
	port string
	cred *syscall.Credential // run as this user (postgres refuses root)
	cmd  *exec.Cmd
}

func startOwnPostgres(t *testing.T) *ownPostgres {
	p := &ownPostgres{t: t, bin: pgBinDir(t)}
	dir, err := os.MkdirTemp("", "usher-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	p.dir = filepath.Join(dir, "data")
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Skip("running as root and there is no postgres user to run PostgreSQL as")
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		p.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	_, port, _ := strings.Cut(freeAddr(t), ":")
	p.port = port
	initdb := p.command("initdb", "-D", p.dir, "-U", "postgres", "--auth=trust", "-N", "-E", "UTF8")
	if out, err := initdb.CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	p.start()
	t.Cleanup(func() {
		if p.cmd != nil {
			p.kill9()
		}
	})
	return p
}

func (p *ownPostgres) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(p.bin, name), args...)
	// Its own process group, so that kill9 reaches every backend.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: p.cred}
	cmd.Dir = filepath.Dir(p.dir)
	return cmd
}

// URL is the address Usher connects to.
func (p *ownPostgres) URL() string {
	return "postgres://postgres@127.0.0.1:" + p.port + "/postgres?sslmode=disable"
}

// start runs the server and waits until it accepts connections.
func (p *ownPostgres) start() {
	p.cmd = p.command("postgres", "-D", p.dir, "-p", p.port, "-c", "listen_addresses=127.0.0.1",
		"-c", "unix_socket_directories=", "-c", "fsync=off", "-c", "max_connections=60")
	p.cmd.Stderr = io.Discard
	if testing.Verbose() {
		p.cmd.Stderr = os.Stderr
	}
	if err := p.cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	for range 600 {
		if exec.Command(filepath.Join(p.bin, "pg_isready"), "-q", "-U", "postgres", "-h", "127.0.0.1", "-p", p.port).Run() == nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.t.Fatal("PostgreSQL did not start")
}

// stopFast is pg_ctl stop -m fast: SIGINT to the postmaster, which ends
// every session and shuts down cleanly.
func (p *ownPostgres) stopFast() {
	p.cmd.Process.Signal(syscall.SIGINT)
	p.cmd.Wait()
	p.cmd = nil
}

// kill9 kills the postmaster and every backend at once, as a crash or an
// OOM kill would; the next start runs crash recovery.
func (p *ownPostgres) kill9() {
	syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	p.cmd.Wait()
	p.cmd = nil
}

// faultAnswer is one request's outcome under load.
type faultAnswer struct {
	op         string // me, login, signup
	email      string // the address signed up, for signup
	status     int
	code       string // the JSON error's code
	retryAfter string
	err        error // the client's: a refused connection or a deadline passed
	took       time.Duration
	at         time.Time
}

// faultLoad sends session checks, log-ins and sign-ups from workers until
// stopped, and keeps every answer.
type faultLoad struct {
	base, token string
	client      *http.Client
	mu          sync.Mutex
	answers     []faultAnswer
	stop        chan struct{}
	wg          sync.WaitGroup
	n           int
}

func newFaultLoad(addr, token string) *faultLoad {
	return &faultLoad{base: "http://" + addr, token: token, stop: make(chan struct{}),
		client: &http.Client{Timeout: faultDeadline}}
}

func (l *faultLoad) run(workers int, prefix string) {
	for w := range workers {
		l.wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-l.stop:
					return
				default:
				}
				switch (i + w) % 3 {
				case 0:
					l.do("me", "", "GET", "/user/api/me", "")
				case 1:
					l.do("login", "", "POST", "/user/api/login", `{"email":"base@example.com","password":"correct horse battery staple","bearer":true}`)
				case 2:
					l.mu.Lock()
					l.n++
					email := fmt.Sprintf("%s-%d@example.com", prefix, l.n)
					l.mu.Unlock()
					l.do("signup", email, "POST", "/user/api/signup", `{"email":"`+email+`","password":"correct horse battery staple"}`)
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
}

func (l *faultLoad) do(op, email, method, path, body string) {
	req, _ := http.NewRequest(method, l.base+path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if op == "me" {
		req.Header.Set("Authorization", "Bearer "+l.token)
	}
	a := faultAnswer{op: op, email: email, at: time.Now()}
	res, err := l.client.Do(req)
	a.took = time.Since(a.at)
	if err != nil {
		a.err = err
	} else {
		a.status, a.retryAfter = res.StatusCode, res.Header.Get("Retry-After")
		var e struct {
			Error struct{ Code string } `json:"error"`
		}
		json.NewDecoder(res.Body).Decode(&e)
		res.Body.Close()
		a.code = e.Error.Code
	}
	l.mu.Lock()
	l.answers = append(l.answers, a)
	l.mu.Unlock()
}

func (l *faultLoad) end() []faultAnswer {
	close(l.stop)
	l.wg.Wait()
	return l.answers
}

// since returns the answers to requests sent at or after t.
func (l *faultLoad) since(t time.Time) []faultAnswer {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []faultAnswer
	for _, a := range l.answers {
		if !a.at.Before(t) {
			out = append(out, a)
		}
	}
	return out
}

// waitFor waits up to limit for an answer sent at or after t that
// satisfies ok, and returns when it was sent.
func (l *faultLoad) waitFor(t time.Time, limit time.Duration, ok func(faultAnswer) bool) (time.Time, bool) {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		for _, a := range l.since(t) {
			if ok(a) {
				return a.at, true
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Time{}, false
}

func postJSON(t *testing.T, url, body string, want int) map[string]any {
	t.Helper()
	res, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	json.NewDecoder(res.Body).Decode(&out)
	if res.StatusCode != want {
		t.Fatalf("POST %s: %d %v; want %d", url, res.StatusCode, out, want)
	}
	return out
}

// TestPostgresRestartUnderLoad (docs/operations.md, "Faults"): with
// session checks, log-ins and sign-ups running, the test's own
// PostgreSQL is stopped (fast shutdown), started again, then killed with
// SIGKILL and started again. While it is down every answer is a success
// (a session check from the cache) or 503 service_unavailable with
// Retry-After, none is a 500 and none misses the client's deadline; after
// each start, sign-ups succeed again without restarting Usher; and every
// sign-up answered 201 gets its confirmation e-mail exactly once.
func TestPostgresRestartUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL and usher")
	}
	pg := startOwnPostgres(t)
	mail := smtptest.Start(t)
	addr := freeAddr(t)
	startServerLogged(t, []string{"USHER_DATABASE=" + pg.URL(), "USHER_ADDR=" + addr, "USHER_SMTP_URL=" + mail.URL(),
		"USHER_MAIL_FROM=accounts@example.com", "USHER_BASE_URL=http://" + addr,
		"USHER_LOGIN_RATE_LIMIT=-1", "USHER_SIGNUP_RATE_LIMIT=-1", "USHER_MAIL_RATE_LIMIT=-1",
		"USHER_ENABLE_LOGIN_WITHOUT_CONFIRM_EMAIL=true", "USHER_MAX_PASSWORD_FAILURES=-1"})
	waitHealthy(t, addr)
	base := "http://" + addr
	postJSON(t, base+"/user/api/signup", `{"email":"base@example.com","password":"correct horse battery staple"}`, 201)
	login := postJSON(t, base+"/user/api/login", `{"email":"base@example.com","password":"correct horse battery staple","bearer":true}`, 200)
	token, _ := login["session"].(map[string]any)["token"].(string)
	if token == "" {
		t.Fatalf("no bearer token in %v", login)
	}

	load := newFaultLoad(addr, token)
	load.run(4, "pg")
	signedUp := func(a faultAnswer) bool { return a.op == "signup" && a.status == 201 }
	for _, fault := range []struct {
		name string
		stop func()
	}{{"fast shutdown", pg.stopFast}, {"SIGKILL", pg.kill9}} {
		if _, ok := load.waitFor(time.Now(), 30*time.Second, signedUp); !ok {
			t.Fatalf("before the %s: no sign-up succeeded", fault.name)
		}
		down := time.Now()
		fault.stop()
		if _, ok := load.waitFor(down, 30*time.Second, func(a faultAnswer) bool { return a.status == 503 }); !ok {
			t.Fatalf("%s: no 503 while PostgreSQL was down", fault.name)
		}
		time.Sleep(2 * time.Second) // down for a while, under load
		pg.start()
		up := time.Now()
		back, ok := load.waitFor(up, 30*time.Second, signedUp)
		if !ok {
			t.Fatalf("%s: no sign-up succeeded within 30 s of PostgreSQL's return, without restarting usher", fault.name)
		}
		var n503 int
		for _, a := range load.since(down) {
			if a.at.Before(up) && a.status == 503 {
				n503++
			}
		}
		t.Logf("%s: %d answers 503 while down; sign-ups succeed again %v after PostgreSQL accepts connections",
			fault.name, n503, back.Sub(up).Round(10*time.Millisecond))
	}
	time.Sleep(time.Second)
	answers := load.end()

	count := map[string]int{}
	var slowest time.Duration
	for _, a := range answers {
		count[fmt.Sprintf("%s %d", a.op, a.status)]++
		slowest = max(slowest, a.took)
		switch {
		case a.err != nil:
			t.Errorf("%s %s: %v (after %v): no answer within the deadline", a.op, a.email, a.err, a.took)
		case a.status == 503:
			if a.code != "service_unavailable" || a.retryAfter == "" {
				t.Errorf("%s: 503 with code %q and Retry-After %q; want service_unavailable with Retry-After", a.op, a.code, a.retryAfter)
			}
		case a.status >= 300:
			t.Errorf("%s %s: status %d code %q; want a success or 503", a.op, a.email, a.status, a.code)
		}
	}
	t.Logf("answers: %v; slowest %v", count, slowest.Round(time.Millisecond))

	// Every sign-up answered 201 gets exactly one confirmation, after
	// the outbox's retries.
	var want []string
	for _, a := range answers {
		if signedUp(a) {
			want = append(want, a.email)
		}
	}
	for _, e := range want {
		mail.WaitFor(e, "onfirm", 1)
	}
	time.Sleep(2 * time.Second) // room for a duplicate to show
	got := map[string]int{}
	for _, m := range mail.Messages() {
		for _, to := range m.To {
			got[strings.ToLower(to)]++
		}
	}
	for _, e := range want {
		if got[e] != 1 {
			t.Errorf("%s: %d e-mails; want exactly 1", e, got[e])
		}
	}
	t.Logf("%d sign-ups answered 201, each confirmed by exactly one e-mail", len(want))
}

// TestSIGTERMDrainsInFlight (docs/operations.md, "Faults"): log-ins with
// the real password hash, one hash at a time so that they queue, are in
// flight when the server gets SIGTERM. Every one of them is answered 200;
// the listener closes at once (a new connection is refused while they
// drain); the process exits with status 0 within the grace period.
func TestSIGTERMDrainsInFlight(t *testing.T) {
	if testing.Short() {
		t.Skip("starts usher")
	}
	addr := freeAddr(t)
	cmd, log := startServerLogged(t, []string{"USHER_DATABASE=" + filepath.Join(t.TempDir(), "term.db"), "USHER_ADDR=" + addr,
		"USHER_BASE_URL=http://" + addr, "USHER_LOGIN_RATE_LIMIT=-1", "USHER_SIGNUP_RATE_LIMIT=-1",
		"USHER_ENABLE_CONFIRM_EMAIL=false", "USHER_MAX_CONCURRENT_HASHES=1", "USHER_SHUTDOWN_GRACE_PERIOD=30s", "USHER_LOG_LEVEL=info"})
	waitHealthy(t, addr)
	base := "http://" + addr
	postJSON(t, base+"/user/api/signup", `{"email":"term@example.com","password":"correct horse battery staple"}`, 201)

	const n = 16
	type answer struct {
		status int
		err    error
		at     time.Time
	}
	answers := make(chan answer, n)
	client := &http.Client{Timeout: time.Minute}
	for range n {
		go func() {
			res, err := client.Post(base+"/user/api/login", "application/json",
				strings.NewReader(`{"email":"term@example.com","password":"correct horse battery staple","bearer":true}`))
			a := answer{err: err, at: time.Now()}
			if err == nil {
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				a.status = res.StatusCode
			}
			answers <- a
		}()
	}
	// n hashes one at a time take about n × 30 ms: most are still queued
	// when the signal comes.
	time.Sleep(200 * time.Millisecond)
	sent := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	// The listener is closed at once: a new connection is refused while
	// the log-ins drain.
	refused := false
	for range 200 {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			refused = true
			break
		}
		c.Close()
		time.Sleep(10 * time.Millisecond)
	}
	if !refused {
		t.Error("the server still accepted connections 2 s after SIGTERM")
	}
	var after int
	for range n {
		a := <-answers
		if a.err != nil || a.status != 200 {
			t.Errorf("an in-flight log-in: status %d, err %v; want 200", a.status, a.err)
		}
		if a.at.After(sent) {
			after++
		}
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("usher serve exited with %v after SIGTERM; want status 0", err)
		}
	case <-time.After(40 * time.Second):
		t.Fatal("usher serve did not exit within the 30 s grace period")
	}
	if after == 0 {
		t.Log("every log-in was answered before the signal: nothing was in flight (a very fast machine?)")
	}
	t.Logf("%d of %d log-ins were answered after SIGTERM, all 200; exit status 0", after, n)
	if !strings.Contains(log.String(), "shutting down") {
		t.Errorf("no shutdown logged:\n%s", log.String())
	}
}

var csrfField = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// postLoginForm fetches the log-in page and posts its form as a browser
// would (its cookies, its CSRF token, the site's Origin), and returns the
// answer's status and page.
func postLoginForm(t *testing.T, base, email, password string) (int, string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: faultDeadline}
	res, err := c.Get(base + "/user/login")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	m := csrfField.FindSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF token on the log-in page:\n%s", page)
	}
	form := url.Values{"csrf_token": {html.UnescapeString(string(m[1]))}, "login": {email}, "password": {password}}
	req, _ := http.NewRequest("POST", base+"/user/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", base)
	res, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(body)
}

// mountSmallFS mounts a tmpfs of size bytes on a new directory, or skips
// the test saying why (mounting needs root or CAP_SYS_ADMIN).
func mountSmallFS(t *testing.T, size int) string {
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+strconv.Itoa(size)+",mode=0700"); err != nil {
		t.Skipf("cannot mount a %d-byte tmpfs here (%v): the disk-full fault needs root or CAP_SYS_ADMIN", size, err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmounting %s: %v", dir, err)
		}
	})
	return dir
}

// fillDisk writes to path until the file system is full.
func fillDisk(t *testing.T, path string) {
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 64<<10)
	for {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("filling the disk: %v; want ENOSPC", err)
			}
			break
		}
	}
	// Some bytes may have fit in the last chunk: fill them one block
	// at a time, then one byte at a time.
	for _, n := range []int{4096, 1} {
		for {
			if _, err := f.Write(chunk[:n]); err != nil {
				break
			}
		}
	}
}

// TestSQLiteDiskFull (docs/operations.md, "Faults"): the SQLite database
// lives on a small tmpfs, which is then filled. Writes fail with 503
// service_unavailable and the server logs why ("database or disk is
// full"); reads keep working (session checks read the database, the
// session cache being off); no 500. Once space returns, writes work again
// without a restart, every sign-up answered 201 is stored and none
// answered 503 is, and PRAGMA integrity_check says ok.
func TestSQLiteDiskFull(t *testing.T) {
	if testing.Short() {
		t.Skip("starts usher")
	}
	dir := mountSmallFS(t, 16<<20)
	db := filepath.Join(dir, "full.db")
	addr := freeAddr(t)
	cmd, log := startServerLogged(t, []string{"USHER_DATABASE=" + db, "USHER_ADDR=" + addr,
		"USHER_BASE_URL=http://" + addr, "USHER_LOGIN_RATE_LIMIT=-1", "USHER_SIGNUP_RATE_LIMIT=-1", "USHER_MAIL_RATE_LIMIT=-1",
		"USHER_ENABLE_CONFIRM_EMAIL=false", "USHER_SESSION_CACHE_TTL=0", "USHER_BASIC_AUTH_CACHE_TTL=0"})
	waitHealthy(t, addr)
	base := "http://" + addr
	postJSON(t, base+"/user/api/signup", `{"email":"disk@example.com","password":"correct horse battery staple"}`, 201)
	login := postJSON(t, base+"/user/api/login", `{"email":"disk@example.com","password":"correct horse battery staple","bearer":true}`, 200)
	token, _ := login["session"].(map[string]any)["token"].(string)

	load := newFaultLoad(addr, token)
	filler := filepath.Join(dir, "filler")
	fillDisk(t, filler)

	// Cheap writes (each records an ask in the outbox) until the WAL's
	// room is used up and one fails.
	var failed faultAnswer
	for i := 0; ; i++ {
		if i == 20000 {
			t.Fatal("20,000 writes on a full disk all succeeded")
		}
		load.do("reset", "", "POST", "/user/api/password-reset", fmt.Sprintf(`{"email":"nobody-%d@example.com"}`, i))
		if a := load.answers[len(load.answers)-1]; a.status != 200 {
			failed = a
			t.Logf("the first write refused came after %d accepted on the full disk", i)
			break
		}
	}
	signups := map[string]int{}
	for i := range 5 {
		email := fmt.Sprintf("full-%d@example.com", i)
		load.do("signup", email, "POST", "/user/api/signup", `{"email":"`+email+`","password":"correct horse battery staple"}`)
		signups[email] = load.answers[len(load.answers)-1].status
	}
	for range 5 {
		load.do("me", "", "GET", "/user/api/me", "")
	}
	load.do("login", "", "POST", "/user/api/login", `{"email":"disk@example.com","password":"correct horse battery staple","bearer":true}`)
	load.do("page", "", "GET", "/user/login", "")
	full := load.answers
	// The log-in form, as a browser sends it: the page says why, with 503.
	if status, body := postLoginForm(t, base, "disk@example.com", "correct horse battery staple"); status != 503 ||
		!strings.Contains(body, "briefly unavailable") {
		t.Errorf("the log-in form on the full disk: %d; want 503 and the page saying the service is briefly unavailable:\n%s", status, body)
	}
	for _, a := range append([]faultAnswer{failed}, full...) {
		switch {
		case a.err != nil:
			t.Errorf("%s: %v", a.op, a.err)
		case a.op == "me" || a.op == "page":
			if a.status != 200 {
				t.Errorf("a read (%s) on the full disk: %d %q; want 200", a.op, a.status, a.code)
			}
		case a.status == 503:
			if a.code != "service_unavailable" || a.retryAfter == "" {
				t.Errorf("%s: 503 with code %q, Retry-After %q", a.op, a.code, a.retryAfter)
			}
		case a.status >= 300:
			t.Errorf("%s %s on the full disk: %d %q; want success or 503", a.op, a.email, a.status, a.code)
		}
	}
	count := map[string]int{}
	for _, a := range full {
		count[fmt.Sprintf("%s %d", a.op, a.status)]++
	}
	t.Logf("answers on the full disk: %v", count)
	if failed.status != 503 {
		t.Errorf("the write refused on the full disk: %d %q; want 503 service_unavailable", failed.status, failed.code)
	}
	n503 := 0
	for _, s := range signups {
		if s == 503 {
			n503++
		}
	}
	if n503 == 0 {
		t.Errorf("no sign-up was refused with 503 on the full disk: %v", signups)
	}
	if l := log.String(); !strings.Contains(l, "database unavailable") || !strings.Contains(l, "full") {
		t.Errorf("no reason logged for the refused writes")
	} else {
		i := strings.Index(l, "database unavailable")
		t.Logf("logged: %s", strings.SplitN(l[max(0, strings.LastIndex(l[:i], "\n")+1):], "\n", 2)[0])
	}

	// Space returns: writes work again, without a restart.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	ok := false
	for i := range 100 {
		email := fmt.Sprintf("after-%d@example.com", i)
		load.do("signup", email, "POST", "/user/api/signup", `{"email":"`+email+`","password":"correct horse battery staple"}`)
		signups[email] = load.answers[len(load.answers)-1].status
		if signups[email] == 201 {
			ok = true
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !ok {
		t.Fatal("no sign-up succeeded after space returned")
	}
	t.Logf("sign-ups: %v", signups)
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()

	conn, err := sql.Open("sqlite", db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var check string
	if err := conn.QueryRow("PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Errorf("PRAGMA integrity_check = %q, %v; want ok", check, err)
	}
	for email, status := range signups {
		var n int
		if err := conn.QueryRow("SELECT count(*) FROM users WHERE email = ?", email).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if want := map[bool]int{true: 1, false: 0}[status == 201]; n != want {
			t.Errorf("%s: answered %d, %d rows; want %d", email, status, n, want)
		}
	}
}
