package i18n

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"

	"golang.org/x/text/feature/plural"
	"golang.org/x/text/language"
)

// message is one catalogue entry: a text, or for a plural message one
// text per CLDR plural category.
type message struct {
	text  string            // the text; for a plural message its "other" form
	forms map[string]string // plural category → text; nil for a plain text
}

// formNames are the CLDR plural categories, by golang.org/x/text's
// plural.Form.
var formNames = map[plural.Form]string{
	plural.Other: "other", plural.Zero: "zero", plural.One: "one",
	plural.Two: "two", plural.Few: "few", plural.Many: "many",
}

// UnmarshalJSON reads a string, or an object of plural forms that has at
// least "other".
func (m *message) UnmarshalJSON(b []byte) error {
	if err := json.Unmarshal(b, &m.text); err == nil {
		return nil
	}
	if err := json.Unmarshal(b, &m.forms); err != nil {
		return errors.New(`a message is a string or an object of plural forms such as {"one": "%d day", "other": "%d days"}`)
	}
	for name := range m.forms {
		if !slices.Contains(slices.Collect(maps.Values(formNames)), name) {
			return fmt.Errorf("%q is not a plural category (zero, one, two, few, many, other)", name)
		}
	}
	if m.text = m.forms["other"]; m.text == "" {
		return errors.New(`a plural message needs its "other" form`)
	}
	return nil
}

// MarshalJSON writes the message as it is read.
func (m message) MarshalJSON() ([]byte, error) {
	if m.forms != nil {
		return json.Marshal(m.forms)
	}
	return json.Marshal(m.text)
}

// plural reports whether m has plural forms.
func (m message) plural() bool { return m.forms != nil }

// texts returns every text of m: its forms, or its one text.
func (m message) texts() []string {
	if m.forms == nil {
		return []string{m.text}
	}
	return slices.Sorted(maps.Values(m.forms))
}

// form returns the text for count n in language tag: the form its plural
// rules give n, else "other". A plain text serves every count.
func (m message) form(tag string, n int) string {
	if s, ok := m.forms[pluralForm(tag, n)]; ok && s != "" {
		return s
	}
	return m.text
}

// pluralForm returns the CLDR plural category ("one", "few", "many",
// "other", ...) of the integer n in language tag.
func pluralForm(tag string, n int) string {
	if n < 0 {
		n = -n
	}
	return formNames[plural.Cardinal.MatchPlural(language.Make(tag), n%10_000_000, 0, 0, 0, 0)]
}
