package usher

import (
	"context"
	"strings"
)

// maxLocaleLen bounds a language tag (BCP 47 tags in use are far shorter;
// 35 is the longest tag RFC 5646 requires implementations to accept).
const maxLocaleLen = 35

// validLocale reports whether s can be a User.Locale: "" (not chosen), or
// a BCP 47-shaped tag of at most 35 bytes made of subtags of 1 to 8 ASCII
// letters and digits joined by '-' ("de", "fa", "zh-Hant-TW"). It does
// not check that the language exists; pages and e-mails fall back to the
// default language for one they have no translation of.
func validLocale(s string) bool {
	if len(s) > maxLocaleLen {
		return false
	}
	if s == "" {
		return true
	}
	for sub := range strings.SplitSeq(s, "-") {
		if sub == "" || len(sub) > 8 {
			return false
		}
		for _, c := range []byte(sub) {
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
				return false
			}
		}
	}
	return true
}

// SetLocale sets the user's language for pages and e-mails (User.Locale):
// a BCP 47 tag such as "de" or "pt-BR", or "" to clear the choice. It
// returns a *ValidationError (field "locale") for a malformed tag, or
// ErrNotFound. The change is an audit event (EventLocaleChanged), so the
// user's cached sessions, in this process and in others sharing the
// database, see the new value.
func (s *Service) SetLocale(ctx context.Context, userID, locale string) error {
	locale = strings.TrimSpace(locale)
	if !validLocale(locale) {
		return &ValidationError{Fields: map[string]string{"locale": MsgInvalidFormat}}
	}
	return s.inTx(ctx, func(ctx context.Context, tx Store) error {
		u, err := tx.UserByID(ctx, userID)
		if err != nil {
			return err
		}
		if u.Locale == locale {
			return nil
		}
		if err := tx.UpdateUser(ctx, userID, UserUpdate{Locale: &locale}); err != nil {
			return err
		}
		s.event(ctx, tx, userID, EventLocaleChanged, Client{}, u.Locale+" -> "+locale)
		return nil
	})
}
