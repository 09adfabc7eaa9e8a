// Package i18n holds Usher's message catalogues: every text a user reads
// (pages, e-mails, JSON error messages, the usher.js dialogs) in each
// supported language, and the choice of a language for a request.
//
// A message is named by its ID. Most IDs are the English text itself, as
// written in the templates ({{T "Log in"}}); error codes such as
// "authentication_failed" are IDs whose English text is in en.json. Texts
// may hold fmt verbs (%s, %d, %[2]d); every translation of a message has
// the same verbs.
//
// A message about a count ("%d days") is a plural message: instead of a
// string, its value is an object with one text per CLDR plural category
// the language's rules give integers ({"one": "%d день", "few": "%d
// дня", "many": "%d дней", "other": "%d дня"}); Plural picks the form.
package i18n

import (
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
	"sync"

	"golang.org/x/text/language"
)

//go:embed catalogues/*.json
var embedded embed.FS

// Language describes a language with a catalogue.
type Language struct {
	Tag  string // BCP 47 tag: "en", "de", "fa", "zh"
	Name string // its own name for itself, for the language switcher
	RTL  bool   // written right to left
}

// builtin lists the embedded catalogues' languages, English first (the
// fallback), then by tag.
var builtin = []Language{
	{Tag: "en", Name: "English"},
	{Tag: "de", Name: "Deutsch"},
	{Tag: "es", Name: "Español"},
	{Tag: "fa", Name: "فارسی", RTL: true},
	{Tag: "fi", Name: "Suomi"},
	{Tag: "fr", Name: "Français"},
	{Tag: "it", Name: "Italiano"},
	{Tag: "nl", Name: "Nederlands"},
	{Tag: "ru", Name: "Русский"},
	{Tag: "sv", Name: "Svenska"},
	{Tag: "tr", Name: "Türkçe"},
	{Tag: "zh", Name: "中文"},
}

// Catalogue is a set of translated messages and the languages it serves.
// It is safe for concurrent use.
type Catalogue struct {
	langs   []Language
	msgs    map[string]map[string]message // tag → ID → message
	matcher language.Matcher
}

var (
	defaultOnce sync.Once
	defaultCat  *Catalogue
)

// Default returns the embedded catalogues for every built-in language.
func Default() *Catalogue {
	defaultOnce.Do(func() {
		c, err := Load(nil, nil)
		if err != nil {
			panic(err) // the embedded files are checked by the package's tests
		}
		defaultCat = c
	})
	return defaultCat
}

// Load returns the embedded catalogues restricted to the languages in only
// (nil = all; English is always kept, as the fallback), with the messages
// of over's <tag>.json files (if over is not nil) replacing the embedded
// ones message by message: an application can reword any text, or add a
// language of its own by giving its complete catalogue.
func Load(over fs.FS, only []string) (*Catalogue, error) {
	c := &Catalogue{msgs: map[string]map[string]message{}}
	for _, l := range builtin {
		if l.Tag != "en" && only != nil && !slices.Contains(only, l.Tag) {
			continue
		}
		m, err := readCatalogue(embedded, "catalogues/"+l.Tag+".json")
		if errors.Is(err, fs.ErrNotExist) {
			m = map[string]message{} // the package's tests require every file
		} else if err != nil {
			return nil, err
		}
		c.langs = append(c.langs, l)
		c.msgs[l.Tag] = m
	}
	for _, tag := range only {
		if _, ok := c.msgs[tag]; !ok && tag != "" {
			c.langs = append(c.langs, Language{Tag: tag, Name: tag})
			c.msgs[tag] = map[string]message{}
		}
	}
	if over != nil {
		for _, l := range c.langs {
			m, err := readCatalogue(over, l.Tag+".json")
			if errors.Is(err, fs.ErrNotExist) {
				continue
			} else if err != nil {
				return nil, fmt.Errorf("i18n: %w", err)
			}
			for id, msg := range m {
				if en, ok := c.msgs["en"][id]; ok {
					for _, text := range msg.texts() {
						if !SameVerbs(en.text, text) {
							return nil, fmt.Errorf("i18n: %s.json: %q: the placeholders of %q differ from the English text %q", l.Tag, id, text, en.text)
						}
					}
				}
				c.msgs[l.Tag][id] = msg
			}
		}
	}
	tags := make([]language.Tag, len(c.langs))
	for i, l := range c.langs {
		tags[i] = language.Make(l.Tag)
	}
	c.matcher = language.NewMatcher(tags)
	return c, nil
}

// readCatalogue reads one JSON object of ID → text or plural forms.
func readCatalogue(fsys fs.FS, name string) (map[string]message, error) {
	b, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, err
	}
	m := map[string]message{}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("i18n: %s: %v", path.Base(name), err)
	}
	return m, nil
}

// Languages returns the catalogue's languages, English first.
func (c *Catalogue) Languages() []Language { return slices.Clone(c.langs) }

// Supported reports whether tag names one of the catalogue's languages
// exactly.
func (c *Catalogue) Supported(tag string) bool {
	_, ok := c.msgs[tag]
	return ok && tag != ""
}

// Match picks the language for a request: the first of chosen (an explicit
// choice: a ?lang= parameter, a cookie, the user's setting) that the
// catalogue has, else the best match for the Accept-Language header, else
// English.
func (c *Catalogue) Match(acceptLanguage string, chosen ...string) string {
	for _, tag := range chosen {
		if c.Supported(tag) {
			return tag
		}
	}
	if acceptLanguage == "" {
		return "en"
	}
	_, i := language.MatchStrings(c.matcher, acceptLanguage)
	return c.langs[i].Tag
}

// RTL reports whether tag is written right to left.
func (c *Catalogue) RTL(tag string) bool {
	for _, l := range c.langs {
		if l.Tag == tag {
			return l.RTL
		}
	}
	return false
}

// Dir returns the HTML dir attribute for tag: "rtl" or "ltr".
func (c *Catalogue) Dir(tag string) string {
	if c.RTL(tag) {
		return "rtl"
	}
	return "ltr"
}

// Text returns message id in language tag: its translation, else its
// English text, else id itself.
// A plural message gives its "other" form.
func (c *Catalogue) Text(tag, id string) string {
	if m, ok := c.msgs[tag][id]; ok && m.text != "" {
		return m.text
	}
	if m, ok := c.msgs["en"][id]; ok && m.text != "" {
		return m.text
	}
	return id
}

// Sprintf returns message id in language tag with its verbs filled from
// args.
func (c *Catalogue) Sprintf(tag, id string, args ...any) string {
	s := c.Text(tag, id)
	if len(args) == 0 && !strings.Contains(s, "%") {
		return s
	}
	return fmt.Sprintf(s, args...)
}

// Plural returns plural message id in language tag in the form count n
// takes there by the language's CLDR plural rules (Russian: 1 and 21
// день, 2 дня, 5 дней), its verbs filled from n and then args: "%d
// days" is Plural(tag, "%d days", n). Like Text, it falls back to the
// English message (with English rules), else to id. It is also the hook
// package mail's Options.Plural takes.
func (c *Catalogue) Plural(tag, id string, n int, args ...any) string {
	m, ok := c.msgs[tag][id]
	if !ok || m.text == "" {
		tag = "en"
		m, ok = c.msgs[tag][id]
	}
	s := id
	if ok {
		s = m.form(tag, n)
	}
	return fmt.Sprintf(s, append([]any{n}, args...)...)
}

// Translate returns the translation of text into tag, or "" when the
// catalogue has none: the hook package mail's Options.Translate takes.
func (c *Catalogue) Translate(tag, text string) string {
	if m, ok := c.msgs[tag][text]; ok {
		return m.text
	}
	return ""
}

// Messages returns every message of language tag, English where it has no
// translation, a plural message as its "other" form: what the usher.js
// client downloads.
func (c *Catalogue) Messages(tag string) map[string]string {
	out := make(map[string]string, len(c.msgs["en"]))
	for id := range c.msgs["en"] {
		out[id] = c.Text(tag, id)
	}
	return out
}

// IDs returns the IDs of every English message, sorted.
func (c *Catalogue) IDs() []string {
	ids := make([]string, 0, len(c.msgs["en"]))
	for id := range c.msgs["en"] {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// Known reports whether id is a message of the catalogue.
func (c *Catalogue) Known(id string) bool {
	_, ok := c.msgs["en"][id]
	return ok
}
