package sqlstore

import (
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/usher-auth/usher"
)

// TestWrapMarksUnavailable: errors that mean the database is away (or
// full) wrap usher.ErrUnavailable, so the web answers 503; a query's own
// errors do not. The fault tests in cmd/usher (faults_test.go) show the
// same against a real PostgreSQL restart and a real full disk.
func TestWrapMarksUnavailable(t *testing.T) {
	away := []error{
		&pgconn.PgError{Code: "57P01"}, // admin_shutdown
		&pgconn.PgError{Code: "57P03"}, // cannot_connect_now
		&pgconn.PgError{Code: "08006"}, // connection_failure
		&pgconn.PgError{Code: "53300"}, // too_many_connections
		&pgconn.PgError{Code: "53100"}, // disk_full
		&net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED},
		io.ErrUnexpectedEOF,
		fmt.Errorf("read: %w", io.EOF),
	}
	for _, err := range away {
		if w := wrap("op", err); !errors.Is(w, usher.ErrUnavailable) || !errors.Is(w, err) {
			t.Errorf("wrap(%v) = %v; want it to wrap usher.ErrUnavailable and the cause", err, w)
		}
	}
	for _, err := range []error{&pgconn.PgError{Code: "23505"}, &pgconn.PgError{Code: "42P01"}, sql.ErrNoRows, errors.New("sqlstore: odd")} {
		if w := wrap("op", err); errors.Is(w, usher.ErrUnavailable) {
			t.Errorf("wrap(%v) = %v; a query's own error is not unavailability", err, w)
		}
	}
}
