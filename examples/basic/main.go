// Command basic is Flask-User's Basic App written with Usher: a home page
// anyone may see, and a members page only logged-in users may see. Usher's
// own pages under /user/ do the rest: register (with a username), confirm
// the e-mail address, log in with the username or the address, log out,
// forgot password.
//
//	go run ./examples/basic            # then open http://localhost:8080/
//
// With no -smtp-url, e-mails go to the development mailbox at
// http://localhost:8080/user/dev/mailbox.
package main

import (
	"context"
	"flag"
	"html/template"
	"log"
	"log/slog"
	"net/http"

	"github.com/usher-auth/usher"
	"github.com/usher-auth/usher/app"
	"github.com/usher-auth/usher/internal/examplekit"
	"github.com/usher-auth/usher/web"
)

func main() {
	f := examplekit.NewFlags("basic_app.db") // -addr, -db, -smtp-url
	flag.Parse()

	h, a, err := newServer(f.Config(), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer a.Close()
	log.Printf("Basic App on %s/", f.Config().BaseURL) // http://localhost:PORT for a loopback -addr
	if err := examplekit.Serve(f.Addr, h); err != nil {
		log.Fatal(err)
	}
}

// newServer opens Usher with cfg (Flask-User's Basic App settings on top)
// and returns the whole site: Usher under /user/, the home page and the
// members page. The caller closes the App.
func newServer(cfg app.Config, logger *slog.Logger) (http.Handler, *app.App, error) {
	cfg.AppName = "Basic App"
	cfg.EnableUsername = true // register with username and e-mail; log in with either
	a, err := app.Open(context.Background(), cfg, logger)
	if err != nil {
		return nil, nil, err
	}
	devMailbox := cfg.SMTPURL == ""

	mux := http.NewServeMux()
	mux.Handle("/user/", a.Web) // sign-up, confirmation, log-in, log-out, password reset, account
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		examplekit.Render(w, homePage, pageData{Title: "Home page", User: a.Web.CurrentUser(r), DevMailbox: devMailbox})
	})
	mux.Handle("GET /members", a.Web.LoginRequired(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		examplekit.Render(w, membersPage, pageData{Title: "Members page", User: web.UserFromContext(r.Context())})
	})))
	return mux, a, nil
}

type pageData struct {
	Title      string
	User       *usher.User // nil for visitors
	DevMailbox bool
}

// The pages have the frame of examplekit.Layout: Usher's stylesheet and its
// classes, a top bar with the account links, a card with the page. Like
// Usher's own pages they have no inline script or style, so a strict
// Content-Security-Policy holds. The top bar shows the username.
var layout = examplekit.Layout("Basic App", `
{{define "who"}}{{.Username}}{{end}}
{{define "links"}}<li><a href="/">Home page</a> (anyone)</li>
<li><a href="/members">Members page</a> (login required)</li>
{{end}}`)

var homePage = page(`{{define "content"}}
<p>This page can be accessed by anyone.</p>
{{if .User}}<p>You are logged in as {{.User.Username}}.</p>
{{else}}<p><a href="/user/register">Register</a> or <a href="/user/login">log in</a> to see the members page.</p>{{end}}
{{if .DevMailbox}}<p class="muted">No SMTP server is set: emails go to the <a href="/user/dev/mailbox">development mailbox</a>.</p>{{end}}
{{end}}`)

var membersPage = page(`{{define "content"}}
<p>This page can only be accessed by authenticated users.</p>
<p>You are logged in as <strong>{{.User.Username}}</strong>, email address <strong>{{.User.Email}}</strong>.</p>
<p><a href="/user/profile">Your account</a> · <a href="/user/change-password">Change password</a> · <a href="/user/change-username">Change username</a> · <a href="/user/logout">Log out</a></p>
{{end}}`)

// page returns the layout with src's "content".
func page(src string) *template.Template {
	return template.Must(template.Must(layout.Clone()).Parse(src))
}
