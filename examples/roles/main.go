// Command roles is Flask-User's Roles Required App written with Usher:
// pages guarded by roles, with Flask-User's semantics.
//
//	/members  any logged-in user                  LoginRequired
//	/manager  "agent" and ("admin" or "manager")  RolesRequired("agent", usher.AnyOf("admin", "manager"))
//	/admin    "admin"                             RolesRequired("admin")
//
// At start it creates, if missing, an administrator with the roles admin
// and agent (-admin-email, -admin-password). The admin page lists the
// users and gives or takes roles.
//
//	go run ./examples/roles            # then open http://localhost:8080/
package main

import (
	"context"
	"errors"
	"flag"
	"html/template"
	"log"
	"log/slog"
	"net/http"
	"os"
	"strings"

	"github.com/usher-auth/usher"
	"github.com/usher-auth/usher/app"
	"github.com/usher-auth/usher/internal/examplekit"
	"github.com/usher-auth/usher/web"
)

// defaultAdminPassword is the administrator's password when none is given.
// It is printed in the log when the account is created: change it.
const defaultAdminPassword = "roles example admin, change me"

func main() {
	f := examplekit.NewFlags("roles_app.db") // -addr, -db, -smtp-url
	adminEmail := flag.String("admin-email", envOr("ADMIN_EMAIL", "admin@example.com"), "email address of the administrator created at start (env ADMIN_EMAIL)")
	adminPassword := flag.String("admin-password", envOr("ADMIN_PASSWORD", defaultAdminPassword), "the administrator's password, used only when the account is created (env ADMIN_PASSWORD)")
	flag.Parse()

	h, a, err := newServer(f.Config(), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer a.Close()
	created, err := ensureAdmin(context.Background(), a.Service, *adminEmail, *adminPassword)
	if err != nil {
		log.Fatalf("creating the administrator: %v", err)
	}
	if created && *adminPassword == defaultAdminPassword {
		log.Printf("created the administrator %s with the password %q: change it at /user/change-password", *adminEmail, defaultAdminPassword)
	} else if created {
		log.Printf("created the administrator %s", *adminEmail)
	}
	log.Printf("Roles Required App on %s/", f.Config().BaseURL) // http://localhost:PORT for a loopback -addr
	if err := examplekit.Serve(f.Addr, h); err != nil {
		log.Fatal(err)
	}
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// ensureAdmin creates the administrator — roles admin and agent, address
// confirmed — unless an account with that address exists. It reports
// whether it created one.
func ensureAdmin(ctx context.Context, svc *usher.Service, email, password string) (bool, error) {
	_, err := svc.FindUser(ctx, email)
	if err == nil {
		return false, nil
	}
	if !errors.Is(err, usher.ErrNotFound) {
		return false, err
	}
	_, err = svc.CreateUser(ctx, usher.NewUser{
		Email: email, Password: password, Roles: []string{"admin", "agent"},
		Enabled: true, Confirmed: true,
	})
	if errors.Is(err, usher.ErrUserExists) { // another instance was quicker
		return false, nil
	}
	return err == nil, err
}

// newServer opens Usher with cfg and returns the whole site: Usher under
// /user/ and the example's pages. The caller closes the App.
func newServer(cfg app.Config, logger *slog.Logger) (http.Handler, *app.App, error) {
	cfg.AppName = "Roles Required App"
	a, err := app.Open(context.Background(), cfg, logger)
	if err != nil {
		return nil, nil, err
	}
	u := a.Web
	mux := http.NewServeMux()
	mux.Handle("/user/", u)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		examplekit.Render(w, homePage, pageData{Title: "Home page", User: u.CurrentUser(r)})
	})
	mux.Handle("GET /members", u.LoginRequired(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		examplekit.Render(w, membersPage, pageData{Title: "Members page", User: web.UserFromContext(r.Context())})
	})))
	// Flask-User: @roles_required('agent', ['admin', 'manager']).
	mux.Handle("GET /manager", u.RolesRequired("agent", usher.AnyOf("admin", "manager"))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		examplekit.Render(w, managerPage, pageData{Title: "Manager page", User: web.UserFromContext(r.Context())})
	})))
	// Flask-User: @roles_required('admin').
	admin := u.RolesRequired("admin")
	mux.Handle("GET /admin", admin(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		users, _, err := a.Service.ListUsers(r.Context(), usher.UserQuery{Search: r.URL.Query().Get("q")})
		if err != nil {
			slog.Error("list users", "err", err)
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		examplekit.Render(w, adminPage, pageData{Title: "Admin page", User: web.UserFromContext(r.Context()), Users: users, Error: r.URL.Query().Get("error")})
	})))
	// The admin page's form posts here. Cross-origin POSTs are refused
	// (browsers send Sec-Fetch-Site or Origin), as on Usher's own routes.
	mux.Handle("POST /admin/roles", http.NewCrossOriginProtection().Handler(admin(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		target, err := a.Service.FindUser(ctx, r.PostFormValue("user"))
		role := strings.TrimSpace(r.PostFormValue("role"))
		if err == nil {
			if r.PostFormValue("action") == "remove" {
				err = a.Service.RemoveRole(ctx, target.ID, role)
			} else {
				err = a.Service.AddRole(ctx, target.ID, role)
			}
		}
		if err != nil {
			http.Redirect(w, r, "/admin?error="+errorText(err), http.StatusSeeOther)
			return
		}
		http.Redirect(w, r, "/admin", http.StatusSeeOther)
	}))))
	return mux, a, nil
}

// errorText is what the admin page says about a failed role change.
func errorText(err error) string {
	switch {
	case errors.Is(err, usher.ErrNotFound):
		return "no-such-user"
	case errors.Is(err, usher.ErrValidation):
		return "invalid-role"
	}
	slog.Error("change role", "err", err)
	return "internal"
}

type pageData struct {
	Title string
	User  *usher.User   // nil for visitors
	Users []*usher.User // the admin page's list
	Error string
}

// The pages have the frame of examplekit.Layout: Usher's stylesheet, a top
// bar with the account links (showing the e-mail address), a card with the
// page and the links below.
var layout = examplekit.Layout("Roles Required App", `
{{define "links"}}<li><a href="/">Home page</a> (anyone)</li>
<li><a href="/members">Members page</a> (login required)</li>
<li><a href="/manager">Manager page</a> (roles agent, and admin or manager)</li>
<li><a href="/admin">Admin page</a> (role admin)</li>
{{end}}`)

var homePage = page(`{{define "content"}}
<p>This page can be accessed by anyone.</p>
{{if .User}}<p>You are logged in as {{.User.Email}}{{with .User.Roles}}, with the roles {{range $i, $r := .}}{{if $i}}, {{end}}{{$r}}{{end}}{{else}}, with no roles{{end}}.</p>{{end}}
{{end}}`)

var membersPage = page(`{{define "content"}}
<p>This page can only be accessed by authenticated users.</p>
<p>You are logged in as {{.User.Email}}.</p>
{{end}}`)

var managerPage = page(`{{define "content"}}
<p>This page requires the role <strong>agent</strong> and one of <strong>admin</strong> or <strong>manager</strong>.</p>
{{end}}`)

var adminPage = page(`{{define "content"}}
<p>This page requires the role <strong>admin</strong>.</p>
{{with .Error}}<div class="alert" role="alert"><p>{{if eq . "no-such-user"}}There is no such user.{{else if eq . "invalid-role"}}That is not a valid role name.{{else}}Something went wrong.{{end}}</p></div>{{end}}
<table class="list">
<thead><tr><th scope="col">User</th><th scope="col">Roles</th></tr></thead>
<tbody>
{{range .Users}}<tr><td>{{.Email}}</td><td>{{range $i, $r := .Roles}}{{if $i}}, {{end}}{{$r}}{{else}}<span class="muted">none</span>{{end}}</td></tr>
{{end}}</tbody>
</table>
<h2>Give or take a role</h2>
<form method="post" action="/admin/roles">
<div class="field"><label for="f-user">User (email address)</label><input id="f-user" name="user" type="email" required></div>
<div class="field"><label for="f-role">Role</label><input id="f-role" name="role" type="text" required></div>
<button type="submit" class="primary" name="action" value="add">Give role</button>
<button type="submit" name="action" value="remove">Take role</button>
</form>
{{end}}`)

// page returns the layout with src's "content".
func page(src string) *template.Template {
	return template.Must(template.Must(layout.Clone()).Parse(src))
}
