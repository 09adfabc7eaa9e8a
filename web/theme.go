package web

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
)

// cssColor matches the colours the configuration may give: #rgb or
// #rrggbb, nothing that could close the CSS rule.
var cssColor = regexp.MustCompile(`^#(?:[0-9a-fA-F]{3}){1,2}$`)

// ValidColor reports whether c is a colour the pages accept in
// configuration: #rgb or #rrggbb.
func ValidColor(c string) bool { return cssColor.MatchString(c) }

// themeCSS serves Prefix/theme.css: the configured colours as CSS custom
// properties that usher.css uses (a file, since the pages' CSP allows no
// inline style).
func (h *staticHandler) themeCSS(w http.ResponseWriter, r *http.Request) {
	var b strings.Builder
	b.WriteString(":root{")
	if c := h.opts.AccentColor; cssColor.MatchString(c) {
		fmt.Fprintf(&b, "--usher-accent:%s;", c)
	}
	if c := h.opts.BackgroundColor; cssColor.MatchString(c) {
		fmt.Fprintf(&b, "--usher-page:%s;", c)
	}
	b.WriteString("}\n")
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Write([]byte(b.String()))
}
