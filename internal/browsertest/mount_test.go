package browsertest_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/usher-auth/usher"
	"github.com/usher-auth/usher/app"
	bt "github.com/usher-auth/usher/internal/browsertest"
	"github.com/usher-auth/usher/internal/smtptest"
	"github.com/usher-auth/usher/usertest"
)

// startMountedServer is startServer with Usher mounted at /auth
// (path_prefix): the application's page /app loads /auth/static/usher.js,
// and /copy loads a copy of it from /assets/usher.js, which names the
// prefix with data-prefix.
func startMountedServer(t *testing.T) *server {
	t.Helper()
	mail := smtptest.Start(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := app.Defaults()
	cfg.Database = filepath.Join(t.TempDir(), "usher.db")
	cfg.SMTPURL, cfg.MailFrom = mail.URL(), "accounts@example.com"
	cfg.BaseURL = "http://" + ln.Addr().String()
	cfg.Prefix = "/auth"
	cfg.EnableLoginLink = true
	a, err := app.Open(context.Background(), cfg, usertest.Discard)
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	site := a.Handler()
	page := func(script string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Header().Set("Content-Security-Policy", appCSP)
			w.Write([]byte(strings.Replace(appPage, `<script src="/user/static/usher.js"></script>`, script, 1)))
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /app", page(`<script src="/auth/static/usher.js"></script>`))
	mux.HandleFunc("GET /copy", page(`<script src="/assets/usher.js" data-prefix="/auth"></script>`))
	mux.HandleFunc("GET /assets/usher.js", func(w http.ResponseWriter, r *http.Request) {
		r2 := r.Clone(r.Context())
		r2.URL.Path = "/auth/static/usher.js"
		site.ServeHTTP(w, r2)
	})
	mux.Handle("/", site)
	srv := httptest.NewUnstartedServer(mux)
	srv.Listener = ln
	srv.Start()
	t.Cleanup(func() { srv.Close(); a.Close() })
	return &server{URL: srv.URL, App: a, Mail: mail}
}

// TestUsherJSUnderPrefix drives usher.js against Usher mounted at /auth:
// it finds the prefix from its own address (or data-prefix), signs up,
// and takes e-mailed links handed to the application's page in the
// fragment's path form (#.../confirm-email/TOKEN, whose paths the server
// names), for confirmation, password reset and log-in.
func TestUsherJSUnderPrefix(t *testing.T) {
	s := startMountedServer(t)
	ctx, _ := bt.New(t, "")
	con := bt.Watch(t, ctx)
	const email = "carol@example.com"

	bt.Go(t, ctx, s.URL+"/app")
	if got := bt.Eval[string](t, ctx, `usher.prefix`); got != "/auth" {
		t.Fatalf("usher.prefix %q; want /auth", got)
	}
	if got := currentUser(t, ctx); got != "" {
		t.Fatalf("getUser() before logging in: %q; want null", got)
	}

	// Sign up in the dialog; the e-mailed link is under /auth.
	startJS(t, ctx, `return await usher.signupWithForm();`)
	d := dialog(t, ctx, "signup")
	bt.Fill(t, ctx, "#usher-email", email, "#usher-password", pw, "#usher-retype_password", pw)
	bt.Click(t, ctx, d+" button[type=submit].usher-primary")
	d = dialog(t, ctx, "signup-done")
	bt.Click(t, ctx, d+" .usher-primary")
	jsResult(t, ctx, nil)
	con.Check(t, ctx, "sign-up dialog")
	link := s.Mail.WaitFor(email, "onfirm", 1).Link(t, usher.PathConfirmEmail+"/")
	if want := s.URL + "/auth" + usher.PathConfirmEmail + "/"; !strings.HasPrefix(link, want) {
		t.Fatalf("confirmation link %s; want it under %s", link, want)
	}
	token := link[strings.LastIndexByte(link, '/')+1:]

	// The link's path in the application page's fragment.
	bt.Go(t, ctx, "about:blank")
	bt.Go(t, ctx, s.URL+"/app#usher"+usher.PathConfirmEmail+"/"+token)
	d = dialog(t, ctx, "confirmed")
	bt.Click(t, ctx, d+" .usher-primary")
	bt.WaitJS(t, ctx, `location.hash === '' && !document.querySelector('dialog.usher-dialog')`)
	if got := currentUser(t, ctx); got != email {
		t.Fatalf("getUser() after confirming: %q; want %s", got, email)
	}
	// The account dialog's link leads to the account page under /auth.
	startJS(t, ctx, `return await usher.configureAccountWithForm();`)
	dialog(t, ctx, "account")
	if href := bt.Eval[string](t, ctx, `document.querySelector('.usher-profile-link').getAttribute('href')`); href != "/auth/profile" {
		t.Errorf("the account dialog links to %q; want /auth/profile", href)
	}
	bt.Eval[bool](t, ctx, `document.querySelector('dialog.usher-dialog').close() || true`)
	bt.Go(t, ctx, s.URL+"/app")
	startJS(t, ctx, `return await usher.logout();`)
	jsResult(t, ctx, nil)
	con.Check(t, ctx, "confirmation link")

	// A password-reset link, taken the same way.
	ctxB := context.Background()
	if err := s.App.Service.SendPasswordResetEmail(ctxB, email, usher.Client{IP: "127.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	link = s.Mail.WaitFor(email, "eset", 1).Link(t, "/auth"+usher.PathResetPassword+"/")
	bt.Go(t, ctx, "about:blank")
	bt.Go(t, ctx, s.URL+"/app#usher"+link[len(s.URL+"/auth"):])
	d = dialog(t, ctx, "reset-password")
	bt.Fill(t, ctx, "#usher-new_password", newPW, "#usher-retype_password", newPW)
	bt.Click(t, ctx, d+" button[type=submit].usher-primary")
	d = dialog(t, ctx, "password-reset-done")
	bt.Click(t, ctx, d+" .usher-primary")
	bt.WaitJS(t, ctx, `location.hash === '' && !document.querySelector('dialog.usher-dialog')`)
	startJS(t, ctx, `return await usher.logout();`)
	jsResult(t, ctx, nil)
	con.Check(t, ctx, "reset link")

	// A login link, from the page that loads a copy of usher.js told
	// the prefix by data-prefix.
	if err := s.App.Service.SendLoginLink(ctxB, email, usher.Client{IP: "127.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	link = s.Mail.WaitFor(email, "sign-in link", 1).Link(t, "/auth"+usher.PathLoginLink+"/")
	bt.Go(t, ctx, "about:blank")
	bt.Go(t, ctx, s.URL+"/copy#usher"+link[len(s.URL+"/auth"):])
	bt.WaitJS(t, ctx, `location.hash === ''`)
	if got := bt.Eval[string](t, ctx, `usher.prefix`); got != "/auth" {
		t.Fatalf("usher.prefix of the copy %q; want /auth", got)
	}
	if got := currentUser(t, ctx); got != email {
		t.Fatalf("getUser() after the login link: %q; want %s", got, email)
	}

	// Log in in the dialog, from the copy.
	startJS(t, ctx, `return await usher.logout();`)
	jsResult(t, ctx, nil)
	startJS(t, ctx, `const u = await usher.loginWithForm(); return u && u.email;`)
	d = dialog(t, ctx, "login")
	bt.Fill(t, ctx, "#usher-email", email, "#usher-password", newPW)
	bt.Click(t, ctx, d+" button[type=submit].usher-primary")
	var loggedIn string
	jsResult(t, ctx, &loggedIn)
	if loggedIn != email {
		t.Fatalf("loginWithForm() resolved with %q; want %s", loggedIn, email)
	}
	con.Check(t, ctx, "login link and log-in dialog")
}
