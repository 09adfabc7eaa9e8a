// Command library is the README's example: Usher mounted into a plain
// net/http program, guarding one route for logged-in users and one for
// admins.
package main

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"time"

	"github.com/usher-auth/usher/app"
	"github.com/usher-auth/usher/web"
)

func main() {
	cfg := app.Defaults()                 // SQLite ./usher.db, dev mailbox
	cfg.BaseURL = "http://localhost:8080" // the public origin put in emailed links
	u, err := app.Open(context.Background(), cfg, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer u.Close()
	hello := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "Hello, %s\n", web.UserFromContext(r.Context()).Email)
	})
	mux := http.NewServeMux()
	mux.Handle("/user/", u.Web) // the pages (/user/login, …) and the JSON API (/user/api/…); cfg.Prefix moves them
	mux.Handle("GET /hello", u.Web.LoginRequired(hello))
	mux.Handle("GET /admin", u.Web.RolesRequired("admin")(hello))
	srv := &http.Server{Addr: "127.0.0.1:8080", Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.ListenAndServe())
}
