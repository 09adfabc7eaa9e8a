package web

import (
	"log/slog"
	"sync/atomic"

	"github.com/usher-auth/usher"
	"github.com/usher-auth/usher/i18n"
)

// core is what every handler of the Handler shares: the Service, the
// options, the catalogue and page templates, the logger, and the helpers
// over them — cookies, sessions, CSRF, languages, client addresses and
// the writing of errors and pages.
type core struct {
	svc    *usher.Service
	opts   Options
	prefix string // the Service's Config.Prefix: where every route lives
	log    *slog.Logger

	cat   *i18n.Catalogue
	pages *pages

	httpsBase bool        // the Service's BaseURL is https: every cookie is Secure
	warnedXFF atomic.Bool // the X-Forwarded-For warning was logged
}

// apiHandler serves the JSON API under Prefix/api/.
type apiHandler struct{ *core }

// pageHandler serves the server-rendered pages and their forms.
type pageHandler struct{ *core }

// verifyHandler serves forward auth: Prefix/api/verify, which a reverse
// proxy asks whether to let a request through.
type verifyHandler struct{ *core }

// staticHandler serves the embedded assets, the theme's CSS and the
// development mailbox.
type staticHandler struct{ *core }
