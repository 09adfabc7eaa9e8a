package sqlstore

import (
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/usher-auth/usher"
)

// Dialect names, as Store.Dialect returns them.
const (
	DialectSQLite   = "sqlite"
	DialectPostgres = "postgres"
)

// dialect holds what differs between SQLite and PostgreSQL: placeholders,
// the role separator, and how times travel. Queries are written once, with
// ? placeholders, and rewritten for PostgreSQL when the Store is opened.
type dialect struct {
	name string
	q    [numQueries]string
}

// roleSep separates role names in the aggregated roles column: the ASCII
// unit separator, which no sane role name contains.
const roleSep = "\x1f"

func newDialect(name string) *dialect {
	d := &dialect{name: name}
	for i, q := range queries {
		d.q[i] = d.rebind(q)
	}
	return d
}

// rebind rewrites a query written for SQLite for this dialect: ? becomes
// $1, $2, ..., {SEP} the role separator, {SKIP_LOCKED} PostgreSQL's
// FOR UPDATE SKIP LOCKED and {FOR_UPDATE} its FOR UPDATE (both nothing on
// SQLite, where one writer at a time makes row locks moot). Queries contain
// no ? inside string literals.
func (d *dialect) rebind(q string) string {
	if d.name == DialectSQLite {
		q = strings.ReplaceAll(q, "{SKIP_LOCKED}", "")
		q = strings.ReplaceAll(q, "{FOR_UPDATE}", "")
		return strings.ReplaceAll(q, "{SEP}", "char(31)")
	}
	q = strings.ReplaceAll(q, "{SKIP_LOCKED}", "FOR UPDATE SKIP LOCKED")
	q = strings.ReplaceAll(q, "{FOR_UPDATE}", "FOR UPDATE")
	q = strings.ReplaceAll(q, "{SEP}", "chr(31)")
	var b strings.Builder
	b.Grow(len(q) + 16)
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}

// time encodes t for a query parameter. The zero time is NULL. SQLite keeps
// INTEGER microseconds since the epoch (sortable, compact, index-friendly);
// PostgreSQL keeps timestamptz, which has microsecond precision too, so a
// time reads back the same from either database.
func (d *dialect) time(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	if d.name == DialectSQLite {
		return t.UnixMicro()
	}
	return t.UTC().Truncate(time.Microsecond)
}

// timeCol scans a time column written by dialect.time: NULL is the zero
// time, and every time comes back in UTC.
type timeCol struct{ t *time.Time }

func (c timeCol) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*c.t = time.Time{}
	case int64:
		*c.t = time.UnixMicro(v).UTC()
	case time.Time:
		*c.t = v.UTC()
	default:
		return fmt.Errorf("sqlstore: cannot scan %T into a time", src)
	}
	return nil
}

var _ interface{ Scan(any) error } = timeCol{}

// nullString is "" ↔ NULL, for optional text such as a username.
func nullString(s string) driver.Value {
	if s == "" {
		return nil
	}
	return s
}

// isUnique reports whether err is a unique or primary-key violation. It
// looks at the driver's error code, never at the message.
func isUnique(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		c := se.Code()
		return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "23505" // unique_violation
	}
	return false
}

// isForeignKey reports whether err is a foreign-key violation: the row
// refers to a user that does not exist.
func isForeignKey(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "23503" // foreign_key_violation
	}
	return false
}

// isBusy reports whether err is SQLite's SQLITE_BUSY (any extended code).
func isBusy(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_BUSY
}

// isUnavailable reports whether err means the database is away or cannot
// take writes just now, rather than that a query was wrong: a connection
// refused, cut or timed out, PostgreSQL shutting down or starting up
// (57P01-57P03), class 08 connection exceptions, too many connections, a
// full disk (PostgreSQL 53100, SQLITE_FULL), SQLite I/O errors and a busy
// lock held past the busy timeout.
func isUnavailable(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_BUSY, sqlite3.SQLITE_CANTOPEN:
			return true
		}
		return false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "57P01", "57P02", "57P03", "53300", "53100":
			return true
		}
		return strings.HasPrefix(pe.Code, "08")
	}
	var (
		ce *pgconn.ConnectError
		ne net.Error
	)
	return errors.As(err, &ce) || errors.As(err, &ne) || errors.Is(err, driver.ErrBadConn) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || pgconn.SafeToRetry(err) || pgconn.Timeout(err)
}

// userExists wraps a unique violation so that it matches usher.ErrUserExists
// and still shows the driver's detail.
func userExists(err error) error {
	return fmt.Errorf("%w (%v)", usher.ErrUserExists, err)
}
