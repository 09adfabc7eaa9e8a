// Package browsertest drives a real Chromium, headless, through the
// DevTools protocol (chromedp), for end-to-end tests of Usher's pages and
// of usher.js. Tests that use it skip when no Chromium is installed.
//
// Every helper takes the test and a context from New, fails the test on
// an error, and returns plain values, so that a test reads as the steps a
// person takes: Go to a page, Fill a form, Submit it, read its Text.
package browsertest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// Timeout bounds everything one browser does, from its start: generous,
// so that a slow machine (or the race detector) does not fail a test. No
// test asserts on timing.
var Timeout = 60 * time.Second

// Chromium returns the path of the browser to run: the first of chromium,
// chromium-browser and google-chrome found on PATH. Without one it skips
// the test.
func Chromium(t testing.TB) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("USHER_REQUIRE_BROWSER") != "" {
		// CI installs Chromium: a missing browser there is a failure,
		// not a reason to skip.
		t.Fatal("chromium not found on PATH, and USHER_REQUIRE_BROWSER is set")
	}
	t.Skip("chromium not found on PATH: browser tests skipped (apt-get install chromium)")
	return ""
}

// New starts a headless Chromium whose profile is userDataDir (a new
// temporary folder when ""), so that a test can stop the browser and
// start another with the same profile, as a person closing and reopening
// their browser. It returns the context of the browser's one tab, which
// ends after Timeout, and a func that closes the browser the way a person
// does (Browser.close, so that the profile, cookies included, is written
// to disk) and waits for it to exit. The func is also called when the test
// ends; calling it twice is harmless.
func New(t testing.TB, userDataDir string) (ctx context.Context, cancel func()) {
	t.Helper()
	path := Chromium(t)
	if userDataDir == "" {
		userDataDir = t.TempDir()
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true), // the new headless mode: the real browser, without a window
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(userDataDir),
		chromedp.WindowSize(1280, 900),
	}
	// Chromium from Debian has been seen to crash (SIGSEGV) at its first
	// navigation once in a few hundred starts on a loaded machine: the
	// browser is started and shown a blank page, and started again once if
	// that fails, before the test uses it.
	for attempt := 1; ; attempt++ {
		ctx, cancel, err := start(t, path, opts)
		if err == nil {
			return ctx, cancel
		}
		if attempt == 2 {
			t.Fatalf("starting %s: %v", path, err)
		}
		t.Logf("starting %s: %v; starting it again", path, err)
	}
}

// start starts Chromium with opts and opens about:blank in its tab.
func start(t testing.TB, path string, opts []chromedp.ExecAllocatorOption) (ctx context.Context, cancel func(), err error) {
	base, cancelBase := context.WithTimeout(context.Background(), Timeout)
	actx, cancelAlloc := chromedp.NewExecAllocator(base, opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	var once sync.Once
	cancel = func() {
		once.Do(func() {
			// Cancel closes the browser gracefully and waits for the
			// process to exit (bounded by ctx's deadline); the cancels
			// after it kill whatever is left.
			err := chromedp.Cancel(ctx)
			cancelCtx()
			cancelAlloc()
			cancelBase()
			if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
				t.Logf("closing chromium: %v", err)
			}
		})
	}
	// Start the browser, open its tab and a first page.
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		cancel()
		return nil, nil, err
	}
	t.Cleanup(cancel)
	return ctx, cancel, nil
}

// Go opens url in the tab, waits for the page to load, and returns the
// HTTP status of the document (after redirects).
func Go(t testing.TB, ctx context.Context, url string) int64 {
	t.Helper()
	res, err := chromedp.Run(ctx, chromedp.NavigateResponse(url))
	if err != nil {
		t.Fatalf("opening %s: %v", url, err)
	}
	if res == nil {
		return 0
	}
	return res.Status
}

// Fill types text into form fields, given as pairs of CSS selector and
// text, as a person types (key by key, after focusing the field).
func Fill(t testing.TB, ctx context.Context, selectorText ...string) {
	t.Helper()
	if len(selectorText)%2 != 0 {
		t.Fatal("Fill: want pairs of selector and text")
	}
	for i := 0; i < len(selectorText); i += 2 {
		sel, text := selectorText[i], selectorText[i+1]
		if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS(sel), text)); err != nil {
			t.Fatalf("typing into %s: %v", sel, err)
		}
	}
}

// Click clicks the first visible element that matches sel, and does not
// wait for anything the click causes.
func Click(t testing.TB, ctx context.Context, sel string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(sel))); err != nil {
		t.Fatalf("clicking %s: %v", sel, err)
	}
}

// Submit clicks sel (a submit button or a link) and waits for the page the
// click loads; it returns the HTTP status of that page's document (after
// redirects).
func Submit(t testing.TB, ctx context.Context, sel string) int64 {
	t.Helper()
	res, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("clicking %s and waiting for the next page: %v", sel, err)
	}
	if res == nil {
		return 0
	}
	return res.Status
}

// Text returns the visible text of the first element that matches sel,
// waiting for one to appear.
func Text(t testing.TB, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("reading the text of %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

// WaitVisible waits until an element that matches sel is visible.
func WaitVisible(t testing.TB, ctx context.Context, sel string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(sel))); err != nil {
		t.Fatalf("waiting for %s to be visible: %v", sel, err)
	}
}

// Eval evaluates a JavaScript expression in the page, awaiting it if it is
// a Promise, and returns its value decoded as T (use chromedp.Void to
// ignore it).
func Eval[T any](t testing.TB, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}

// WaitJS waits until the JavaScript expression is true in the page. It
// keeps trying while the page navigates, until the tab's context ends.
func WaitJS(t testing.TB, ctx context.Context, expr string) {
	t.Helper()
	var last error
	for {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("!!("+expr+")"))
		if err == nil && ok {
			return
		}
		if err != nil {
			last = err
		}
		select {
		case <-ctx.Done():
			t.Fatalf("waiting for %s: %v (last error: %v)", expr, ctx.Err(), last)
		case <-time.After(25 * time.Millisecond):
		}
	}
}

// Location returns the address of the page in the tab.
func Location(t testing.TB, ctx context.Context) string {
	t.Helper()
	u, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatalf("reading the address: %v", err)
	}
	return u
}

// Cookies returns the names and cookies the browser holds for url.
func Cookies(t testing.TB, ctx context.Context, url string) map[string]*network.Cookie {
	t.Helper()
	res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{url}})
	if err != nil {
		t.Fatalf("reading the cookies of %s: %v", url, err)
	}
	out := map[string]*network.Cookie{}
	for _, c := range res.Cookies {
		out[c.Name] = c
	}
	return out
}

// ScreenshotsEnv names the environment variable that, when set to a
// folder, makes Screenshot write its images there.
const ScreenshotsEnv = "USHER_SCREENSHOTS_DIR"

// Screenshot takes a PNG of the whole page, beyond the window's height.
// It always takes it (which exercises the rendering); it writes it to
// <$USHER_SCREENSHOTS_DIR>/<name>.png only when that variable is set.
//
// It waits for the page to be still first (fonts loaded, animations
// ended). It does not use chromedp.FullScreenshot: that one's capture beyond the
// viewport (Page.captureScreenshot with captureBeyondViewport) draws a
// right-to-left page shifted sideways in Chromium 156 — on the Persian
// log-in page, a blank band at the left and the header's brand cut off,
// where the viewport itself is drawn right. Instead, the viewport is made
// as tall as the page for the capture, as a person with a tall screen
// would see it.
func Screenshot(t testing.TB, ctx context.Context, name string) []byte {
	t.Helper()
	// Let fonts load and finite animations (a dialog fading in) end, so
	// that the image shows what a person sees once the page is still.
	Eval[chromedp.Void](t, ctx, `Promise.all([document.fonts.ready].concat(document.getAnimations()
		.filter(a => a.effect && a.effect.getComputedTiming().endTime !== Infinity)
		.map(a => a.finished.catch(() => 0)))).then(() => 0)`)
	size := Eval[struct{ W, H, Full int64 }](t, ctx,
		`({W: innerWidth, H: innerHeight, Full: Math.ceil(Math.max(document.documentElement.scrollHeight, document.body ? document.body.scrollHeight : 0))})`)
	if size.Full > size.H {
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(size.W, size.Full)); err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		defer func() {
			if _, err := chromedp.Call(ctx, emulation.ClearDeviceMetricsOverride, cdp.Empty{}); err != nil {
				t.Errorf("screenshot %s: restoring the window: %v", name, err)
			}
		}()
	}
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if len(png) < 8 || string(png[1:4]) != "PNG" {
		t.Fatalf("screenshot %s is not a PNG (%d bytes)", name, len(png))
	}
	if dir := os.Getenv(ScreenshotsEnv); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return png
}

// Console collects what the tab reports as going wrong: uncaught
// exceptions, console.error calls, and browser log entries of level error
// (Content-Security-Policy violations, failed requests).
type Console struct {
	mu       sync.Mutex
	problems []Problem
}

// Problem is one report of the tab's console.
type Problem struct {
	Kind string // "exception", "console.error" or "log:<source>"
	Text string
	URL  string
}

// Fatal reports whether the problem fails a test: a JavaScript exception,
// a console.error call, or a Content-Security-Policy violation. Other
// errors of the browser log, such as the 401 of a request for the
// current user made while logged out, are expected in some flows.
func (p Problem) Fatal() bool {
	return p.Kind == "exception" || p.Kind == "console.error" || p.CSP()
}

// CSP reports whether the problem is a Content-Security-Policy violation.
func (p Problem) CSP() bool { return strings.Contains(p.Text, "Content Security Policy") }

func (p Problem) String() string {
	if p.URL != "" {
		return fmt.Sprintf("%s: %s (%s)", p.Kind, p.Text, p.URL)
	}
	return p.Kind + ": " + p.Text
}

// Watch starts collecting the console problems of the tab of ctx.
func Watch(t testing.TB, ctx context.Context) *Console {
	t.Helper()
	c := &Console{}
	err := chromedp.Listen(ctx, func(ev any) {
		// This runs in the tab's event loop: record and return.
		var p Problem
		switch ev := ev.(type) {
		case *runtime.EventExceptionThrown:
			d := ev.ExceptionDetails
			p = Problem{Kind: "exception", Text: d.Text, URL: d.URL}
			if d.Exception != nil && d.Exception.Description != "" {
				p.Text += " " + d.Exception.Description
			}
		case *runtime.EventConsoleAPICalled:
			if ev.Type != runtime.ConsoleAPICalledTypeError {
				return
			}
			var parts []string
			for _, a := range ev.Args {
				switch {
				case a.Description != "":
					parts = append(parts, a.Description)
				case len(a.Value) > 0:
					parts = append(parts, string(a.Value))
				}
			}
			p = Problem{Kind: "console.error", Text: strings.Join(parts, " ")}
		case *log.EventEntryAdded:
			e := ev.Entry
			if e == nil || (e.Level != log.EntryLevelError && !strings.Contains(e.Text, "Content Security Policy")) {
				return
			}
			p = Problem{Kind: "log:" + string(e.Source), Text: e.Text, URL: e.URL}
		default:
			return
		}
		c.mu.Lock()
		c.problems = append(c.problems, p)
		c.mu.Unlock()
	})
	if err != nil {
		t.Fatalf("listening to the console: %v", err)
	}
	return c
}

// Take returns the problems reported since the last Take, and forgets
// them.
func (c *Console) Take() []Problem {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.problems
	c.problems = nil
	return p
}

// Check fails the test for each fatal problem reported since the last
// call (see Problem.Fatal), naming where (a page, a step), and logs the
// others. Events arrive asynchronously: it first lets the tab's event loop
// run briefly, so that reports about the page just shown are in.
func (c *Console) Check(t testing.TB, ctx context.Context, where string) {
	t.Helper()
	// A round trip to the tab: events sent before its answer are
	// handled (Listen's funcs run in order in the tab's loop) by then.
	chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void]("0"))
	for _, p := range c.Take() {
		if strings.HasSuffix(p.URL, "/favicon.ico") {
			continue // the browser asks for one by itself; Usher serves none
		}
		if p.Fatal() {
			t.Errorf("%s: %s", where, p)
		} else {
			t.Logf("%s: (not fatal) %s", where, p)
		}
	}
}
