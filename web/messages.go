package web

import "net/http"

// msg returns the text for a message ID in the request's language; an
// unknown ID is returned as it is.
func (h *core) msg(r *http.Request, id string) string {
	return h.cat.Text(h.lang(r), id)
}

// textIn returns the text for a message ID in the language of page d.
func (h *pageHandler) textIn(d *pageData, id string) string {
	return h.cat.Text(d.Lang, id)
}
