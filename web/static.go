package web

import (
	"embed"
	"io/fs"
	"net"
	"net/http"
)

// The static routes: the embedded assets and the development mailbox.

// serveStatic serves the embedded assets under Prefix/static/.
func (h *staticHandler) serveStatic() http.HandlerFunc {
	sub, _ := fs.Sub(staticFiles, "static")
	fsrv := http.StripPrefix(h.prefix+"/static/", http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		fsrv.ServeHTTP(w, r)
	})
}

// localOnly serves only requests from this machine that no proxy relayed:
// the development mailbox shows other people's links.
func localOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		ip := net.ParseIP(host)
		if err != nil || ip == nil || !ip.IsLoopback() || r.Header.Get("X-Forwarded-For") != "" || r.Header.Get("Forwarded") != "" {
			http.NotFound(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// devMailbox serves Options.DevMailbox to requests from this machine
// only; nil when there is none, and then the route is left out.
func (h *staticHandler) devMailbox() http.HandlerFunc {
	if h.opts.DevMailbox == nil {
		return nil
	}
	return localOnly(h.opts.DevMailbox).ServeHTTP
}

//go:embed static
var staticFiles embed.FS
