// Package transfer moves users in and out of Usher: it writes every user
// to a file (JSON Lines, or CSV with the columns of Anvil's Users table)
// and reads such files, or a Flask-User application's database, back into
// a Service. Exports are streamed, a page of users at a time; each
// imported row is created in one transaction, or not at all.
package transfer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/usher-auth/usher"
)

// The formats.
const (
	JSONL     = "jsonl"
	CSV       = "csv"
	FlaskUser = "flask-user"
)

// pageSize is how many users an export reads at a time.
const pageSize = 200

// ExportOptions say what Export writes.
type ExportOptions struct {
	Format string // JSONL (default) or CSV
	// IncludeSecrets adds the users' second factors to a JSONL export,
	// their secrets sealed as stored: only a server with the same
	// secret_key can use them. Without it, second factors are left out
	// and imported users set them up again.
	IncludeSecrets bool
}

// Export writes every user of svc to w, oldest sign-up first, and returns
// how many it wrote. It records a users_exported event before it writes
// anything: an export that cannot be audited does not happen. Users are
// read a page at a time in sign-up order, each page after the last user of
// the one before (keyset paging), so a user deleted or signing up meanwhile
// shifts no page: every other user is exported exactly once.
func Export(ctx context.Context, svc *usher.Service, w io.Writer, o ExportOptions) (int, error) {
	if o.Format == "" {
		o.Format = JSONL
	}
	var wr writer
	switch o.Format {
	case JSONL:
		wr = newJSONLWriter(w)
	case CSV:
		if o.IncludeSecrets {
			return 0, errors.New("transfer: second factors go only in a JSONL export")
		}
		wr = newCSVWriter(w, svc.Config().ProfileFields)
	default:
		return 0, fmt.Errorf("transfer: unknown export format %q; want jsonl or csv", o.Format)
	}
	detail := "format " + o.Format
	if o.IncludeSecrets {
		detail += ", with second-factor secrets"
	}
	if err := svc.RecordTransfer(ctx, usher.EventUsersExported, detail); err != nil {
		return 0, fmt.Errorf("transfer: recording the export in the audit trail: %w", err)
	}
	st := svc.Store()
	n := 0
	q := usher.UserQuery{Limit: pageSize}
	for {
		page, err := st.ListUsers(ctx, q)
		if err != nil {
			return n, err
		}
		if len(page) > 0 {
			q.After = q.Cursor(page[len(page)-1])
		}
		for _, u := range page {
			in := &usher.ImportedUser{User: *u}
			emails, err := st.ListUserEmails(ctx, u.ID)
			if err != nil {
				return n, err
			}
			for _, e := range emails {
				if !e.Primary {
					in.Emails = append(in.Emails, *e)
				}
			}
			ids, err := st.IdentitiesOfUser(ctx, u.ID)
			if err != nil {
				return n, err
			}
			for _, id := range ids {
				in.Identities = append(in.Identities, *id)
			}
			if o.IncludeSecrets {
				ms, err := st.ListMFAMethods(ctx, u.ID)
				if err != nil {
					return n, err
				}
				for _, m := range ms {
					in.MFA = append(in.MFA, *m)
				}
			}
			if err := wr.write(in); err != nil {
				return n, err
			}
			n++
		}
		if len(page) < pageSize {
			break
		}
	}
	return n, wr.flush()
}

// writer writes one format.
type writer interface {
	write(u *usher.ImportedUser) error
	flush() error
}

// ImportOptions say how Import reads and what it does.
type ImportOptions struct {
	Format string // JSONL (default), CSV or FlaskUser (use ImportFlaskUser)
	// DryRun checks every row, including against the database, and
	// changes nothing.
	DryRun bool
	// Refused, if set, is told about each row that was not imported.
	Refused func(Refusal)
	// Note, if set, is told things worth knowing that are no row's fault
	// (columns ignored, for instance).
	Note func(string)
}

// Refusal is a row that was not imported: where it is and why.
type Refusal struct {
	Line  int    // the row's line in the file, or for Flask-User its user id
	ByID  bool   // Line is a Flask-User user id
	Email string // the row's address, if it could be read
	Err   error
}

func (r Refusal) Error() string {
	s := fmt.Sprintf("line %d", r.Line)
	if r.ByID {
		s = fmt.Sprintf("user id %d", r.Line)
	}
	if r.Email != "" {
		s += " (" + r.Email + ")"
	}
	return s + ": " + r.Err.Error()
}

func (r Refusal) Unwrap() error { return r.Err }

// Summary counts an import's rows.
type Summary struct {
	Created int // new accounts (in a dry run: that would be created)
	Skipped int // rows whose account already exists here (by ID or e-mail address)
	Refused int // rows not imported because something in them is wrong
	DryRun  bool
}

func (s Summary) String() string {
	verb := "created"
	if s.DryRun {
		verb = "would be created"
	}
	return fmt.Sprintf("%d %s, %d skipped (already here), %d refused", s.Created, verb, s.Skipped, s.Refused)
}

// rowError is a row that cannot be read; the reader goes on with the
// next one.
type rowError struct {
	line  int
	email string
	err   error
}

func (e *rowError) Error() string { return e.err.Error() }

// source yields the users of a file or database one at a time: io.EOF at
// the end, a *rowError for a bad row, any other error to stop.
type source interface {
	next() (u *usher.ImportedUser, line int, err error)
	notes() []string
	byID() bool // line is a user id, not a line
}

// Import reads users from r in o.Format and creates them in svc (see
// usher.Service.ImportUser: an account already here, by ID or e-mail
// address, is skipped, never overwritten). A row that cannot be read or
// is refused is reported to o.Refused and skipped; the others go on. At
// the end (not in a dry run) a users_imported event records the counts.
func Import(ctx context.Context, svc *usher.Service, r io.Reader, o ImportOptions) (Summary, error) {
	var src source
	switch o.Format {
	case "", JSONL:
		o.Format = JSONL
		src = newJSONLReader(r)
	case CSV:
		var err error
		if src, err = newCSVReader(r, svc.Config().ProfileFields); err != nil {
			return Summary{}, err
		}
	default:
		return Summary{}, fmt.Errorf("transfer: unknown import format %q; want jsonl or csv (Flask-User: ImportFlaskUser)", o.Format)
	}
	return run(ctx, svc, src, o)
}

// run imports every user src yields.
func run(ctx context.Context, svc *usher.Service, src source, o ImportOptions) (Summary, error) {
	sum := Summary{DryRun: o.DryRun}
	refuse := func(r Refusal) {
		sum.Refused++
		if o.Refused != nil {
			o.Refused(r)
		}
	}
	// A dry run rolls every row back, so it must remember the rows it
	// has seen to report a second row for the same account as skipped.
	seen := map[string]bool{}
	for {
		if err := ctx.Err(); err != nil {
			return sum, err
		}
		u, line, err := src.next()
		var re *rowError
		switch {
		case errors.Is(err, io.EOF):
			for _, n := range src.notes() {
				if o.Note != nil {
					o.Note(n)
				}
			}
			if !o.DryRun {
				detail := fmt.Sprintf("format %s: %s", o.Format, sum)
				if err := svc.RecordTransfer(ctx, usher.EventUsersImported, detail); err != nil {
					return sum, err
				}
			}
			return sum, nil
		case errors.As(err, &re):
			refuse(Refusal{Line: re.line, ByID: src.byID(), Email: re.email, Err: re.err})
			continue
		case err != nil:
			return sum, err
		}
		keys := []string{"email:" + usher.FoldEmail(strings.TrimSpace(u.User.Email))}
		if u.User.ID != "" {
			keys = append(keys, "id:"+u.User.ID)
		}
		if o.DryRun && (seen[keys[0]] || len(keys) > 1 && seen[keys[1]]) {
			sum.Skipped++
			continue
		}
		created, err := svc.ImportUser(ctx, u, o.DryRun)
		switch {
		case err != nil && isRowFault(err):
			refuse(Refusal{Line: line, ByID: src.byID(), Email: u.User.Email, Err: err})
		case err != nil:
			return sum, fmt.Errorf("line %d: %w", line, err)
		case created:
			sum.Created++
			if o.DryRun {
				for _, k := range keys {
					seen[k] = true
				}
			}
		default:
			sum.Skipped++
		}
	}
}

// isRowFault reports whether err is the row's fault (report it, go on)
// rather than the database's (stop).
func isRowFault(err error) bool {
	return errors.Is(err, usher.ErrValidation) || errors.Is(err, usher.ErrUserExists) ||
		errors.Is(err, usher.ErrImportMFA)
}
