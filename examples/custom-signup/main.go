// Command custom-signup is Anvil's "custom sign-up flow" tutorial written
// with Usher:
//
//   - the sign-up form asks for a name (a declared profile field);
//   - a Go hook refuses a sign-up without one: "Must supply a name";
//   - the passwords typed must match (Usher's sign-up page asks twice);
//   - the confirmation and password reset e-mails are the app's own
//     (templates/emails, embedded in the program);
//   - opening the confirmation link logs the user in.
//
// Run it from the repository's root:
//
//	go run ./examples/custom-signup    # then open http://localhost:8080/
package main

import (
	"context"
	"embed"
	"errors"
	"flag"
	"io/fs"
	"log"
	"log/slog"
	"net/http"
	"os"
	"strings"

	"github.com/usher-auth/usher"
	"github.com/usher-auth/usher/app"
	"github.com/usher-auth/usher/internal/examplekit"
)

// templates holds the e-mail overrides: emails/<kind>_subject.txt,
// _message.txt and _message.html for confirm_email and reset_password.
//
//go:embed templates
var templates embed.FS

func main() {
	if err := run(); err != nil {
		log.Fatal(err)
	}
}

func run() error {
	f := examplekit.NewFlags("custom_signup.db") // -addr, -db, -smtp-url
	dir := flag.String("templates", "", "folder of template overrides to use instead of the embedded ones (e.g. examples/custom-signup/templates, to edit them)")
	flag.Parse()

	cfg := f.Config()
	cfg.TemplatesDir = *dir
	if cfg.TemplatesDir == "" {
		// Usher reads overrides from a folder: write the embedded ones to
		// a temporary one, so that the program runs from any directory.
		tmp, err := os.MkdirTemp("", "custom-signup-templates-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		if err := writeTemplates(tmp); err != nil {
			return err
		}
		cfg.TemplatesDir = tmp
	}
	h, a, err := newServer(cfg, nil)
	if err != nil {
		return err
	}
	defer a.Close()
	log.Printf("Custom Sign-up on %s/", cfg.BaseURL) // http://localhost:PORT for a loopback -addr
	return examplekit.Serve(f.Addr, h)
}

// writeTemplates writes the embedded templates into dir (which must not
// hold them already), for app.Config.TemplatesDir.
func writeTemplates(dir string) error {
	sub, err := fs.Sub(templates, "templates")
	if err != nil {
		return err
	}
	return os.CopyFS(dir, sub)
}

// newServer opens Usher with cfg and the sign-up rules of the example, and
// returns the whole site: Usher under /user/ and the home page.
// cfg.TemplatesDir must hold the e-mail templates (see writeTemplates).
// The caller closes the App.
func newServer(cfg app.Config, logger *slog.Logger) (http.Handler, *app.App, error) {
	if cfg.TemplatesDir == "" {
		return nil, nil, errors.New("TemplatesDir is not set: write the email templates with writeTemplates")
	}
	cfg.AppName = "Custom Sign-up"
	// Anvil's Users table gets a "name" column; Usher gets a declared
	// profile field, which its sign-up page shows and its JSON API takes
	// ({"profile": {"name": "..."}}).
	cfg.ProfileFields = []usher.ProfileField{{Name: "name", Label: "Name", MaxLength: 100}}
	cfg.ValidateSignup = validateSignup
	a, err := app.Open(context.Background(), cfg, logger)
	if err != nil {
		return nil, nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/user/", a.Web)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		examplekit.Render(w, homePage, pageData{User: a.Web.CurrentUser(r), DevMailbox: cfg.SMTPURL == ""})
	})
	return mux, a, nil
}

// validateSignup is Anvil's _do_signup check, run on every self-service
// sign-up (the page and POST /user/api/signup) before anything is stored.
// Its message is shown under the field; the built-in checks (address,
// password policy) are reported with it.
func validateSignup(ctx context.Context, in *usher.Signup) error {
	name := strings.TrimSpace(in.Profile["name"])
	if name == "" {
		return &usher.ValidationError{Fields: map[string]string{"name": "Must supply a name"}}
	}
	in.Profile["name"] = name // the hook may normalise what is stored
	return nil
}

type pageData struct {
	User       *usher.User // nil for visitors
	DevMailbox bool
}

// homePage is Anvil's Form1: a status line and the log-in and sign-up
// buttons. No inline script or style: Usher's stylesheet, which
// examplekit.Document links, does the look.
var homePage = examplekit.Document(`{{define "title"}}Custom Sign-up{{end}}
{{define "body"}}<header class="top"><a class="brand" href="/"><span>Custom Sign-up</span></a></header>
<main id="main"><div class="card narrow">
<h1>Welcome</h1>
{{with .User -}}
<p id="login-status">You are logged in as {{.Email}}.</p>
<p>Hello, {{index .Profile "name"}}!</p>
<p><a class="button" href="/user/logout">Log out</a></p>
{{- else -}}
<p id="login-status">You are not logged in.</p>
<p><a class="button" href="/user/login">Log in</a> <a class="button" href="/user/register">Sign up</a></p>
{{- end}}
<ul class="links">
<li><a href="/user/forgot-password">Forgot your password?</a></li>
<li><a href="/user/resend-confirm-email">Resend the confirmation email</a></li>
{{if .DevMailbox}}<li><a href="/user/dev/mailbox">Development mailbox</a> (no SMTP server is set)</li>{{end}}
</ul>
</div></main>
{{end}}`)
