package web

import (
	"fmt"
	"net/http"
	"strings"
)

// msg returns the text for a message ID in the request's language; an
// unknown ID is returned as it is.
func (h *Handler) msg(r *http.Request, id string) string {
	return h.cat.Text(h.lang(r), id)
}

// msgf is msg with the placeholders filled from args.
func (h *Handler) msgf(r *http.Request, id string, args ...any) string {
	m := h.msg(r, id)
	if !strings.Contains(m, "%") {
		return m
	}
	return fmt.Sprintf(m, args...)
}
