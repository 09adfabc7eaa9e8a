package mail

import (
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"net/url"
	"path"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	texttemplate "text/template"
	"text/template/parse"

	"github.com/usher-auth/usher"
)

//go:embed templates/emails
var embedded embed.FS

// The base templates every kind extends.
const (
	baseSubject = "base_subject.txt"
	baseText    = "base_message.txt"
	baseHTML    = "base_message.html"
)

// required lists the variables without which a kind of message makes no
// sense; Render refuses the message when one is missing or empty.
var required = map[string][]string{
	usher.MailConfirmEmail:     {"link"},
	usher.MailResetPassword:    {"link"},
	usher.MailLoginLink:        {"link"},
	usher.MailInvitation:       {"link"},
	usher.MailMFAReset:         {"link"},
	usher.MailUsernameChanged:  {"username"},
	usher.MailEmailAdded:       {"new_email"},
	usher.MailPrimaryChanged:   {"new_email"},
	usher.MailIdentityLinked:   {"provider"},
	usher.MailIdentityUnlinked: {"provider"},
}

var (
	kindName     = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	templateName = regexp.MustCompile(`^[a-z][a-z0-9_]*_(subject\.txt|message\.txt|message\.html)$`)
)

// loadTemplates reads the embedded templates, then the overrides under
// emails/ in over.
func loadTemplates(over fs.FS) (map[string]string, error) {
	t := map[string]string{}
	read := func(fsys fs.FS, dir string, override bool) error {
		entries, err := fs.ReadDir(fsys, dir)
		if err != nil {
			return err
		}
		for _, e := range entries {
			name := e.Name()
			if !e.Type().IsRegular() && e.Type()&fs.ModeSymlink == 0 || !templateName.MatchString(name) {
				continue
			}
			b, err := fs.ReadFile(fsys, path.Join(dir, name))
			if err != nil {
				return err
			}
			if override && strings.HasPrefix(name, "base_") {
				if _, ok := t[name]; !ok {
					continue // only the three embedded base files exist
				}
			}
			t[name] = string(b)
		}
		return nil
	}
	if err := read(embedded, "templates/emails", false); err != nil {
		return nil, fmt.Errorf("mail: embedded templates: %w", err)
	}
	if over != nil {
		err := read(over, "emails", true)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: Templates: %v", ErrInvalidOptions, err)
		}
	}
	return t, nil
}

// checkTemplates renders every kind once with sample variables, so that a
// broken override fails New rather than the first e-mail of its kind.
func (m *Mailer) checkTemplates() error {
	sample := map[string]string{
		"link":           "https://app.example.com/user/confirm-email/token",
		"email":          "user@example.com",
		"username":       "user",
		"old_username":   "old-user",
		"expires_in":     "1 hour",
		"old_email":      "old@example.com",
		"new_email":      "new@example.com",
		"inviter":        "admin@example.com",
		"provider":       "Google",
		"identity_email": "user@gmail.example",
	}
	for _, kind := range m.kinds() {
		if _, _, _, err := m.Render(&usher.Message{Kind: kind, To: "user@example.com", Vars: sample}); err != nil {
			return fmt.Errorf("%w: templates: %v", ErrInvalidOptions, err)
		}
	}
	return nil
}

// kinds returns every kind that has its three templates, sorted.
func (m *Mailer) kinds() []string {
	var kinds []string
	for name := range m.templates {
		if kind, ok := strings.CutSuffix(name, "_subject.txt"); ok && kind != "base" && m.hasKind(kind) {
			kinds = append(kinds, kind)
		}
	}
	sort.Strings(kinds)
	return kinds
}

func (m *Mailer) hasKind(kind string) bool {
	if kind == "base" || !kindName.MatchString(kind) {
		return false
	}
	for _, suffix := range []string{"_subject.txt", "_message.txt", "_message.html"} {
		if _, ok := m.templates[kind+suffix]; !ok {
			return false
		}
	}
	return true
}

// Render renders msg's subject (one line), text part and HTML part from
// the templates of msg.Kind, in the language msg.Locale. It fails with
// ErrUnknownKind when the kind has no templates, and with
// ErrInvalidMessage when a required variable is missing or a template
// fails. Variables are made single-line (line breaks and other control
// characters become spaces) before use, app_name and base_url come from
// Options, and email defaults to msg.To.
func (m *Mailer) Render(msg *usher.Message) (subject, text, html string, err error) {
	if msg == nil {
		return "", "", "", fmt.Errorf("%w: nil message", ErrInvalidMessage)
	}
	kind := msg.Kind
	if !m.hasKind(kind) {
		return "", "", "", fmt.Errorf("%w: %q", ErrUnknownKind, kind)
	}
	data := make(map[string]string, len(msg.Vars)+4)
	for k, v := range msg.Vars {
		data[k] = singleLine(v)
	}
	data["app_name"] = m.appName
	data["base_url"] = m.baseURL
	data["locale"] = singleLine(msg.Locale)
	data["dir"] = "ltr"
	if m.rtl != nil && m.rtl(msg.Locale) {
		data["dir"] = "rtl"
	}
	if data["email"] == "" {
		data["email"] = singleLine(msg.To)
	}
	data["link"] = m.absLink(data["link"])
	if l := data["link"]; l != "" && !httpURL(l) {
		return "", "", "", fmt.Errorf("%w: link must be an absolute http(s) URL, or a path when BaseURL is set", ErrInvalidMessage)
	}
	for _, v := range required[kind] {
		if strings.TrimSpace(data[v]) == "" {
			return "", "", "", fmt.Errorf("%w: a %s message needs the variable %q", ErrInvalidMessage, kind, v)
		}
	}

	funcs := map[string]any{"T": m.tFunc(msg.Locale, data["dir"] == "rtl")}
	if d := data["expires_in"]; d != "" {
		data["expires_in"] = m.localDuration(msg.Locale, d)
	}
	if subject, err = m.execText(baseSubject, kind+"_subject.txt", data, funcs); err != nil {
		return "", "", "", err
	}
	subject = strings.Join(strings.Fields(subject), " ")
	if text, err = m.execText(baseText, kind+"_message.txt", data, funcs); err != nil {
		return "", "", "", err
	}
	text = squeezeText(text)
	if html, err = m.execHTML(baseHTML, kind+"_message.html", data, funcs); err != nil {
		return "", "", "", err
	}
	return subject, text, strings.TrimSpace(html) + "\n", nil
}

// tFunc returns the templates' T: T "English text" args... translates the
// text (its own message ID) into locale and, given arguments, formats it
// with fmt.Sprintf. In a right-to-left language (rtl), each string
// argument is put between FIRST STRONG ISOLATE and POP DIRECTIONAL
// ISOLATE, the plain-text equivalent of <bdi> that works in both parts:
// an address or a name keeps its own direction and cannot be reordered
// with the sentence around it.
func (m *Mailer) tFunc(locale string, rtl bool) func(string, ...any) string {
	return func(text string, args ...any) string {
		if m.translate != nil {
			if s := m.translate(locale, text); s != "" {
				text = s
			}
		}
		if len(args) == 0 {
			return text
		}
		if rtl {
			args = slices.Clone(args)
			for i, a := range args {
				if s, ok := a.(string); ok && s != "" {
					args[i] = "\u2068" + s + "\u2069"
				}
			}
		}
		return fmt.Sprintf(text, args...)
	}
}

// execText runs a kind's text template over the base it extends. Parsing
// happens per message (the files are a few hundred bytes) so that T can
// carry the message's locale without shared mutable state.
func (m *Mailer) execText(base, kind string, data map[string]string, funcs map[string]any) (string, error) {
	t := texttemplate.New(base).Funcs(funcs).Option("missingkey=zero")
	if _, err := t.Parse(m.templates[base]); err != nil {
		return "", fmt.Errorf("%w: %v", ErrInvalidMessage, err)
	}
	kt, err := t.New(kind).Parse(m.templates[kind])
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrInvalidMessage, err)
	}
	entry := base
	if kt.Tree != nil && !parse.IsEmptyTree(kt.Tree.Root) {
		entry = kind // the kind's file stands alone, without its base
	}
	var b strings.Builder
	if err := t.ExecuteTemplate(&b, entry, data); err != nil {
		return "", fmt.Errorf("%w: %v", ErrInvalidMessage, err)
	}
	return b.String(), nil
}

// execHTML is execText with html/template, which escapes every variable
// for where it appears (text, attribute, URL).
func (m *Mailer) execHTML(base, kind string, data map[string]string, funcs map[string]any) (string, error) {
	t := htmltemplate.New(base).Funcs(funcs).Option("missingkey=zero")
	if _, err := t.Parse(m.templates[base]); err != nil {
		return "", fmt.Errorf("%w: %v", ErrInvalidMessage, err)
	}
	kt, err := t.New(kind).Parse(m.templates[kind])
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrInvalidMessage, err)
	}
	entry := base
	if kt.Tree != nil && !parse.IsEmptyTree(kt.Tree.Root) {
		entry = kind
	}
	var b strings.Builder
	if err := t.ExecuteTemplate(&b, entry, data); err != nil {
		return "", fmt.Errorf("%w: %v", ErrInvalidMessage, err)
	}
	return b.String(), nil
}

// singleLine replaces line breaks and other control characters with
// spaces: no variable can start a new header line, or fake a new
// paragraph in the text part.
func singleLine(s string) string {
	if !strings.ContainsFunc(s, isControl) {
		return s
	}
	return strings.Map(func(r rune) rune {
		if isControl(r) {
			return ' '
		}
		return r
	}, s)
}

func isControl(r rune) bool {
	return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\u2028' || r == '\u2029'
}

var blankLines = regexp.MustCompile(`\n{3,}`)

// squeezeText trims trailing spaces from lines, keeps at most one blank
// line in a row and ends the text with a single newline.
func squeezeText(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " \t")
	}
	s = blankLines.ReplaceAllString(strings.Join(lines, "\n"), "\n\n")
	return strings.TrimSpace(s) + "\n"
}

// absLink makes a link that is a path ("/user/confirm-email/...")
// absolute against BaseURL.
func (m *Mailer) absLink(link string) string {
	if m.baseURL == "" || !strings.HasPrefix(link, "/") || strings.HasPrefix(link, "//") {
		return link
	}
	return m.baseURL + link
}

// httpURL reports whether s is an absolute http or https URL.
func httpURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" && !strings.ContainsAny(s, " \t\r\n")
}

func checkBaseURL(s string) error {
	if !httpURL(s) {
		return fmt.Errorf("%w: BaseURL must be an absolute http(s) URL such as https://app.example.com", ErrInvalidOptions)
	}
	return nil
}

var linkPattern = regexp.MustCompile(`https?://[^\s<>"'` + "`" + `]+`)

// extractLinks returns link (when set) and the http(s) URLs of text, in
// order, without duplicates.
func extractLinks(link, text string) []string {
	var links []string
	seen := map[string]bool{}
	add := func(l string) {
		l = strings.TrimRight(l, ".,;:!?)]}")
		if l != "" && !seen[l] {
			seen[l] = true
			links = append(links, l)
		}
	}
	if link != "" {
		add(link)
	}
	for _, l := range linkPattern.FindAllString(text, -1) {
		add(l)
	}
	return links
}

// durationText matches the lifetimes usher writes into expires_in: "1
// hour", "15 minutes", "2 days".
var durationText = regexp.MustCompile(`^(\d+) (minute|hour|day)s?$`)

// durationIDs are the plural messages for durationText's units.
var durationIDs = map[string]string{"minute": tr("%d minutes"), "hour": tr("%d hours"), "day": tr("%d days")}

// localDuration says a lifetime such as "2 days" in the language locale,
// in the plural form its rules give the count; other text, or no Plural
// hook, leaves d as it is.
func (m *Mailer) localDuration(locale, d string) string {
	match := durationText.FindStringSubmatch(d)
	if match == nil || m.plural == nil {
		return d
	}
	n, err := strconv.Atoi(match[1])
	if err != nil {
		return d
	}
	if s := m.plural(locale, durationIDs[match[2]], n); s != "" {
		return s
	}
	return d
}

// tr marks a message ID given in Go code, for the catalogue test that
// collects every ID in use; it returns id.
func tr(id string) string { return id }
