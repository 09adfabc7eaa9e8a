package transfer

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/usher-auth/usher"
)

// maxLine is the longest JSONL line Import reads (one user).
const maxLine = 1 << 20

// Record is one user in a JSONL export, one JSON object a line. Times are
// RFC 3339; a time that has not happened is left out. PasswordHash is the
// hash as stored (argon2id, bcrypt, or a format imported earlier).
type Record struct {
	ID                    string            `json:"id,omitempty"`
	Email                 string            `json:"email"`
	EmailConfirmedAt      *time.Time        `json:"email_confirmed_at,omitempty"`
	Emails                []AddressRecord   `json:"emails,omitempty"` // secondary addresses
	Username              string            `json:"username,omitempty"`
	PasswordHash          string            `json:"password_hash,omitempty"`
	PasswordChangedAt     *time.Time        `json:"password_changed_at,omitempty"`
	Enabled               *bool             `json:"enabled,omitempty"` // absent means true
	SignedUpAt            *time.Time        `json:"signed_up_at,omitempty"`
	LastLoginAt           *time.Time        `json:"last_login_at,omitempty"`
	PasswordFailures      int               `json:"password_failures,omitempty"`
	LockedAt              *time.Time        `json:"locked_at,omitempty"`
	PasswordResetRequired bool              `json:"password_reset_required,omitempty"`
	Locale                string            `json:"locale,omitempty"`
	Roles                 []string          `json:"roles,omitempty"`
	Profile               map[string]string `json:"profile,omitempty"`
	Identities            []IdentityRecord  `json:"identities,omitempty"`
	// MFA is written only by an export with IncludeSecrets.
	MFA []MFARecord `json:"mfa,omitempty"`
}

// AddressRecord is a secondary e-mail address.
type AddressRecord struct {
	Email       string     `json:"email"`
	ConfirmedAt *time.Time `json:"confirmed_at,omitempty"`
}

// IdentityRecord is a federated identity: the provider's account, named
// by (issuer, subject).
type IdentityRecord struct {
	Provider   string     `json:"provider"`
	Issuer     string     `json:"issuer"`
	Subject    string     `json:"subject"`
	Email      string     `json:"email,omitempty"`
	LinkedAt   *time.Time `json:"linked_at,omitempty"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
}

// MFARecord is a second factor. SealedSecret is the secret sealed with
// the exporting server's secret_key (base64 in JSON): it opens only on a
// server with that key.
type MFARecord struct {
	Type         string     `json:"type"`
	Name         string     `json:"name,omitempty"`
	SealedSecret []byte     `json:"sealed_secret"`
	LastStep     int64      `json:"last_step,omitempty"`
	CreatedAt    *time.Time `json:"created_at,omitempty"`
	LastUsedAt   *time.Time `json:"last_used_at,omitempty"`
}

func tp(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

func tv(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}

// toRecord turns a user into its JSONL record.
func toRecord(in *usher.ImportedUser) *Record {
	u := &in.User
	enabled := u.Enabled
	r := &Record{
		ID: u.ID, Email: u.Email, EmailConfirmedAt: tp(u.EmailConfirmedAt), Username: u.Username,
		PasswordHash: u.PasswordHash, PasswordChangedAt: tp(u.PasswordChangedAt), Enabled: &enabled,
		SignedUpAt: tp(u.SignedUpAt), LastLoginAt: tp(u.LastLoginAt), PasswordFailures: u.PasswordFailures,
		LockedAt: tp(u.LockedAt), PasswordResetRequired: u.PasswordResetRequired, Locale: u.Locale,
		Roles: u.Roles, Profile: u.Profile,
	}
	if len(r.Profile) == 0 {
		r.Profile = nil
	}
	for _, e := range in.Emails {
		r.Emails = append(r.Emails, AddressRecord{Email: e.Email, ConfirmedAt: tp(e.ConfirmedAt)})
	}
	for _, id := range in.Identities {
		r.Identities = append(r.Identities, IdentityRecord{Provider: id.Provider, Issuer: id.Issuer, Subject: id.Subject,
			Email: id.Email, LinkedAt: tp(id.LinkedAt), LastUsedAt: tp(id.LastUsedAt)})
	}
	for _, m := range in.MFA {
		r.MFA = append(r.MFA, MFARecord{Type: m.Type, Name: m.Name, SealedSecret: m.Secret, LastStep: m.LastStep,
			CreatedAt: tp(m.CreatedAt), LastUsedAt: tp(m.LastUsedAt)})
	}
	return r
}

// user turns a record back into an account to import.
func (r *Record) user() *usher.ImportedUser {
	in := &usher.ImportedUser{User: usher.User{
		ID: r.ID, Email: r.Email, EmailConfirmedAt: tv(r.EmailConfirmedAt), Username: r.Username,
		PasswordHash: r.PasswordHash, PasswordChangedAt: tv(r.PasswordChangedAt), Enabled: r.Enabled == nil || *r.Enabled,
		SignedUpAt: tv(r.SignedUpAt), LastLoginAt: tv(r.LastLoginAt), PasswordFailures: r.PasswordFailures,
		LockedAt: tv(r.LockedAt), PasswordResetRequired: r.PasswordResetRequired, Locale: r.Locale,
		Roles: r.Roles, Profile: r.Profile,
	}}
	for _, e := range r.Emails {
		in.Emails = append(in.Emails, usher.UserEmail{Email: e.Email, ConfirmedAt: tv(e.ConfirmedAt)})
	}
	for _, id := range r.Identities {
		in.Identities = append(in.Identities, usher.Identity{Provider: id.Provider, Issuer: id.Issuer, Subject: id.Subject,
			Email: id.Email, LinkedAt: tv(id.LinkedAt), LastUsedAt: tv(id.LastUsedAt)})
	}
	for _, m := range r.MFA {
		in.MFA = append(in.MFA, usher.MFAMethod{Type: m.Type, Name: m.Name, Secret: m.SealedSecret, LastStep: m.LastStep,
			CreatedAt: tv(m.CreatedAt), LastUsedAt: tv(m.LastUsedAt)})
	}
	return in
}

type jsonlWriter struct {
	w   *bufio.Writer
	enc *json.Encoder
}

func newJSONLWriter(w io.Writer) *jsonlWriter {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	return &jsonlWriter{w: bw, enc: enc}
}

func (w *jsonlWriter) write(u *usher.ImportedUser) error { return w.enc.Encode(toRecord(u)) }
func (w *jsonlWriter) flush() error                      { return w.w.Flush() }

type jsonlReader struct {
	sc   *bufio.Scanner
	line int
}

func newJSONLReader(r io.Reader) *jsonlReader {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	return &jsonlReader{sc: sc}
}

func (r *jsonlReader) notes() []string { return nil }

func (r *jsonlReader) byID() bool { return false }

func (r *jsonlReader) next() (*usher.ImportedUser, int, error) {
	for r.sc.Scan() {
		r.line++
		b := bytes.TrimSpace(r.sc.Bytes())
		if len(b) == 0 {
			continue
		}
		var rec Record
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&rec); err != nil {
			return nil, r.line, &rowError{line: r.line, err: fmt.Errorf("not a user record: %v", err)}
		}
		if dec.More() {
			return nil, r.line, &rowError{line: r.line, email: rec.Email, err: errors.New("more than one JSON value on the line")}
		}
		return rec.user(), r.line, nil
	}
	if err := r.sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, r.line + 1, fmt.Errorf("line %d is longer than %d bytes", r.line+1, maxLine)
		}
		return nil, r.line, err
	}
	return nil, r.line, io.EOF
}
