// Package sqlstore implements usher.Store over database/sql, for SQLite
// (modernc.org/sqlite, no cgo) and PostgreSQL (pgx).
//
// Open picks the database from the address: "postgres://..." or
// "postgresql://..." is PostgreSQL, anything else a SQLite file. The schema
// is created and upgraded by embedded migrations when the Store is opened.
//
// SQLite runs in WAL mode with two connection pools on the same file: one
// writer connection, which every write and every transaction goes through
// (BEGIN IMMEDIATE, so writers queue in Go instead of failing with "database
// is locked"), and a pool of read-only connections for lookups, which WAL
// lets run while a write is in progress. Other processes on the same file are
// waited for (busy_timeout).
//
// PostgreSQL uses one pool. Several instances may share one database: unique
// constraints, atomic updates and an advisory lock around migrations make
// that safe. The schema is the first one in search_path, so
// "postgres://host/db?search_path=usher" keeps Usher's tables apart.
package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/usher-auth/usher"
)

//go:embed migrations
var migrations embed.FS

// DefaultAddress is the SQLite file Open uses when the address is "".
const DefaultAddress = "usher.db"

// migrationTable is goose's version table. It is not goose's default name,
// so that Usher can share a database with an application that uses goose.
const migrationTable = "usher_migrations"

// Options tunes OpenWithOptions. The zero value is what Open uses.
type Options struct {
	// SkipMigrate opens the database without applying migrations; call
	// Migrate before using the Store. `usher migrate` uses it.
	SkipMigrate bool
	// RequireSchema opens only an existing database whose schema is at
	// the latest version, and changes nothing: no migrations are applied
	// and no SQLite file is created. A missing database, one without
	// Usher's tables, or one at an older version is an error wrapping
	// ErrSchemaNotCurrent. Commands that must not change the schema (the
	// usher binary's user commands) use it.
	RequireSchema bool
	// MaxConns caps the PostgreSQL pool (0 means 20) or the SQLite
	// read-only pool (0 means 2×GOMAXPROCS, at least 4). SQLite always has
	// exactly one writer connection.
	MaxConns int
	// BusyTimeout is how long SQLite waits for another process holding the
	// file's write lock (0 means 10s).
	BusyTimeout time.Duration
	// ConnectTimeout bounds each attempt to connect to PostgreSQL (0 means
	// 10s; an explicit connect_timeout in the address wins).
	ConnectTimeout time.Duration
}

// Store is a usher.Store over SQLite or PostgreSQL. It is safe for
// concurrent use. The Store that InTx hands to its function is the same type
// bound to one transaction.
type Store struct {
	*core
	tx *sql.Tx // non-nil inside InTx
}

var _ usher.Store = (*Store)(nil)

// core is what a Store and the Stores of its transactions share.
type core struct {
	d    *dialect
	w    *sql.DB // writes and transactions; for SQLite, one connection
	r    *sql.DB // reads; for PostgreSQL and in-memory SQLite, the same as w
	addr string  // for messages: the SQLite path or the PostgreSQL URL without password

	stmts     [numQueries]atomic.Pointer[sql.Stmt]
	closeOnce sync.Once
	closeErr  error
}

// Open opens the Store at address and applies pending migrations. address
// "" means DefaultAddress; "postgres://" and "postgresql://" URLs are
// PostgreSQL; anything else is a SQLite file: a path, or a path after
// "sqlite:" (or "sqlite://"), or a SQLite "file:" URI. ":memory:" is a
// private in-memory database (one connection; for tests).
//
// Errors say which database could not be opened and why, without the
// password: a malformed address, an unreachable server, a directory that
// does not exist or cannot be written.
func Open(ctx context.Context, address string) (*Store, error) {
	return OpenWithOptions(ctx, address, Options{})
}

// OpenWithOptions is Open with Options.
func OpenWithOptions(ctx context.Context, address string, o Options) (*Store, error) {
	if err := checkScheme(address); err != nil {
		return nil, err
	}
	var (
		s   *Store
		err error
	)
	if isPostgres(address) {
		s, err = openPostgres(ctx, address, o)
	} else {
		s, err = openSQLite(ctx, address, o)
	}
	if err != nil {
		return nil, err
	}
	switch {
	case o.RequireSchema:
		if err := s.checkSchema(ctx); err != nil {
			s.Close()
			return nil, err
		}
	case !o.SkipMigrate:
		if err := s.Migrate(ctx); err != nil {
			s.Close()
			return nil, err
		}
	}
	return s, nil
}

// ErrSchemaNotCurrent means the database does not exist, has no Usher
// tables, or has an older schema than this build: apply the migrations
// (Migrate, or Open without RequireSchema) first.
var ErrSchemaNotCurrent = errors.New("sqlstore: schema missing or out of date")

// checkSchema returns an error wrapping ErrSchemaNotCurrent unless the
// database is at the latest schema version. It changes nothing.
func (s *Store) checkSchema(ctx context.Context) error {
	q := `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?`
	if s.d.name == DialectPostgres {
		q = `SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = $1`
	}
	var n int
	if err := s.r.QueryRowContext(ctx, q, migrationTable).Scan(&n); err != nil {
		return fmt.Errorf("sqlstore: reading the schema of %s: %w", s.addr, err)
	}
	if n == 0 {
		return fmt.Errorf("%w: database %s has no Usher tables", ErrSchemaNotCurrent, s.addr)
	}
	current, latest, err := s.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	if current < latest {
		return fmt.Errorf("%w: database %s is at schema version %d; this build needs version %d", ErrSchemaNotCurrent, s.addr, current, latest)
	}
	return nil
}

// schemeRE matches the scheme of an address written as a URL.
var schemeRE = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9+.-]*)://`)

// checkScheme refuses an address with a scheme no Store serves
// ("mysql://..."), which would otherwise be taken for a SQLite path. The
// message shows the address without its password.
func checkScheme(address string) error {
	m := schemeRE.FindStringSubmatch(address)
	if m == nil {
		return nil
	}
	switch strings.ToLower(m[1]) {
	case "postgres", "postgresql", "sqlite", "file":
		return nil
	}
	shown := m[1] + "://..."
	if u, err := url.Parse(address); err == nil {
		shown = u.Redacted()
	}
	return fmt.Errorf("sqlstore: database address %s: unsupported scheme %q; want a SQLite file (a path, sqlite:PATH or a file: URI) or a postgres:// address",
		shown, m[1])
}

func isPostgres(address string) bool {
	a := strings.ToLower(address)
	return strings.HasPrefix(a, "postgres://") || strings.HasPrefix(a, "postgresql://")
}

func newStore(d string, w, r *sql.DB, addr string) *Store {
	return &Store{core: &core{d: newDialect(d), w: w, r: r, addr: addr}}
}

// openPostgres opens one pool and checks that the server answers.
func openPostgres(ctx context.Context, address string, o Options) (*Store, error) {
	u, err := url.Parse(address)
	if err != nil {
		// The address may hold a password, and the parser's message quotes
		// the part it choked on: say what is wrong without quoting.
		why := "not a valid URL"
		var (
			ee url.EscapeError
			he url.InvalidHostError
		)
		switch {
		case errors.As(err, &ee):
			why = "a bad %-escape"
		case errors.As(err, &he):
			why = "a bad host"
		}
		return nil, fmt.Errorf("sqlstore: invalid PostgreSQL address: %s (special characters such as @ : / %% in "+
			"the user name or password must be percent-encoded)", why)
	}
	shown := u.Redacted()
	cfg, err := pgx.ParseConfig(address)
	if err != nil {
		var pe *pgconn.ParseConfigError
		if errors.As(err, &pe) && errors.Unwrap(pe) != nil {
			err = errors.Unwrap(pe)
		}
		return nil, fmt.Errorf("sqlstore: invalid PostgreSQL address %s: %v", shown, err)
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = o.ConnectTimeout
		if cfg.ConnectTimeout == 0 {
			cfg.ConnectTimeout = 10 * time.Second
		}
	}
	db := stdlib.OpenDB(*cfg)
	n := o.MaxConns
	if n <= 0 {
		n = 20
	}
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlstore: cannot connect to PostgreSQL at %s (database %q, user %q): %v",
			net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port))), cfg.Database, cfg.User, connectCause(err))
	}
	return newStore(DialectPostgres, db, db, shown), nil
}

// connectCause returns the heart of a connection error: the network error
// or the server's refusal, without pgx's framing.
func connectCause(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe
	}
	var oe *net.OpError
	if errors.As(err, &oe) {
		return oe
	}
	return err
}

// sqlitePath turns a SQLite address into a file path, or returns a "file:"
// URI unchanged.
func sqlitePath(address string) string {
	switch {
	case address == "":
		return DefaultAddress
	case strings.HasPrefix(address, "sqlite://"):
		return strings.TrimPrefix(address, "sqlite://")
	case strings.HasPrefix(address, "sqlite:"):
		return strings.TrimPrefix(address, "sqlite:")
	}
	return address
}

// sqliteDSN builds a modernc DSN for path with the given query parameters.
// A plain path becomes a "file:" URI with the characters that URIs treat
// specially escaped.
func sqliteDSN(path string, params url.Values) string {
	q := params.Encode()
	if strings.HasPrefix(path, "file:") {
		if strings.Contains(path, "?") {
			return path + "&" + q
		}
		return path + "?" + q
	}
	esc := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(filepath.ToSlash(path))
	return "file:" + esc + "?" + q
}

// openSQLite opens the writer and the reader pool on one file.
func openSQLite(ctx context.Context, address string, o Options) (*Store, error) {
	path := sqlitePath(address)
	memory := path == ":memory:"
	if !memory && !strings.HasPrefix(path, "file:") {
		if _, err := os.Stat(path); o.RequireSchema && errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: SQLite database %q does not exist", ErrSchemaNotCurrent, path)
		}
		if err := checkSQLitePath(path); err != nil {
			return nil, err
		}
	}
	busy := o.BusyTimeout
	if busy <= 0 {
		busy = 10 * time.Second
	}
	// pragma gives a connection's settings, with a page cache of cacheKiB.
	pragma := func(cacheKiB int, extra ...string) url.Values {
		v := url.Values{}
		v.Add("_pragma", "busy_timeout("+strconv.FormatInt(busy.Milliseconds(), 10)+")")
		v.Add("_pragma", "foreign_keys(1)")
		v.Add("_pragma", "synchronous(NORMAL)")
		v.Add("_pragma", "temp_store(MEMORY)")
		// Reads through a memory map instead of a pread per page miss:
		// the session check is a random probe into tables of 100,000s of
		// rows (measured: the memory map alone makes SessionUser about
		// 2× faster). The map
		// is as large as the library allows (SQLITE_MAX_MMAP_SIZE, just
		// under 2 GiB): a million users and their sessions take about
		// 1 GB, and every page past the map costs a pread and a place in
		// each connection's page cache. It is address space, not memory:
		// the kernel keeps what it can of the file and drops the rest.
		v.Add("_pragma", "mmap_size(2147418112)")
		v.Add("_pragma", "cache_size(-"+strconv.Itoa(cacheKiB)+")")
		for _, e := range extra {
			v.Add("_pragma", e)
		}
		return v
	}
	fail := func(err error) error {
		return fmt.Errorf("sqlstore: cannot open SQLite database %q: %w", path, err)
	}

	if memory {
		// A private in-memory database lives and dies with its one
		// connection, so reads and writes share it.
		v := pragma(16384)
		v.Set("_txlock", "immediate")
		db, err := sql.Open("sqlite", ":memory:?"+v.Encode())
		if err != nil {
			return nil, fail(err)
		}
		db.SetMaxOpenConns(1)
		db.SetMaxIdleConns(1)
		db.SetConnMaxLifetime(0)
		db.SetConnMaxIdleTime(0)
		if err := db.PingContext(ctx); err != nil {
			db.Close()
			return nil, fail(err)
		}
		return newStore(DialectSQLite, db, db, path), nil
	}

	// The writer: one connection, so writes queue in database/sql rather
	// than in SQLite's lock, and BEGIN IMMEDIATE so that a transaction takes
	// the write lock up front and never fails to upgrade a read lock.
	// The writer's page cache holds a transaction's dirty pages (a
	// second's last-seen times touch thousands of pages): 16 MiB.
	wv := pragma(16384, "journal_mode(WAL)", "journal_size_limit(67108864)")
	wv.Set("_txlock", "immediate")
	w, err := sql.Open("sqlite", sqliteDSN(path, wv))
	if err != nil {
		return nil, fail(err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	if err := pingSQLite(ctx, w, busy); err != nil {
		w.Close()
		return nil, fail(err)
	}

	// The readers: query_only, so a bug cannot write around the writer.
	// Their page caches are SQLite's default 2 MiB: reads come through
	// the memory map, which the page cache does not hold, and what it
	// does hold (pages still in the WAL) SQLite drops at the next read
	// after any write anyway. At a million users 16 MiB each filled up
	// with such pages: 80 MB more memory for the same rate
	// (docs/benchmarks.md, "A million users").
	r, err := sql.Open("sqlite", sqliteDSN(path, pragma(2048, "query_only(1)")))
	if err != nil {
		w.Close()
		return nil, fail(err)
	}
	n := o.MaxConns
	if n <= 0 {
		n = max(4, 2*runtime.GOMAXPROCS(0))
	}
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	r.SetConnMaxLifetime(0)
	r.SetConnMaxIdleTime(0)
	if err := pingSQLite(ctx, r, busy); err != nil {
		w.Close()
		r.Close()
		return nil, fail(err)
	}
	return newStore(DialectSQLite, w, r, path), nil
}

// pingSQLite opens db's first connection. On a new file, another process
// switching it to WAL at the same moment can make the connection's pragmas
// fail with SQLITE_BUSY at once, without the busy handler: that is retried
// for up to busy.
func pingSQLite(ctx context.Context, db *sql.DB, busy time.Duration) error {
	deadline := time.Now().Add(busy)
	for {
		err := db.PingContext(ctx)
		if err == nil || !isBusy(err) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// checkSQLitePath explains the usual reasons a SQLite file cannot be
// opened, which SQLite itself reports only as "unable to open database
// file".
func checkSQLitePath(path string) error {
	dir := filepath.Dir(path)
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("sqlstore: cannot open SQLite database %q: directory %q does not exist", path, dir)
	case err != nil:
		return fmt.Errorf("sqlstore: cannot open SQLite database %q: %w", path, err)
	case !fi.IsDir():
		return fmt.Errorf("sqlstore: cannot open SQLite database %q: %q is not a directory", path, dir)
	}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return fmt.Errorf("sqlstore: cannot open SQLite database %q: it is a directory", path)
	}
	// SQLite needs to write the file and, in WAL mode, create the -wal and
	// -shm files beside it.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600) // #nosec G304 -- the database file the operator configured
	if err != nil {
		return fmt.Errorf("sqlstore: cannot open SQLite database %q for writing: %w", path, errors.Unwrap(err))
	}
	f.Close()
	probe, err := os.CreateTemp(dir, ".usher-probe-*")
	if err != nil {
		return fmt.Errorf("sqlstore: cannot open SQLite database %q: directory %q is not writable: %w", path, dir, errors.Unwrap(err))
	}
	probe.Close()
	os.Remove(probe.Name())
	return nil
}

// Dialect returns "sqlite" or "postgres".
func (s *Store) Dialect() string { return s.d.name }

// Close closes the Store's connections. Inside InTx it does nothing.
//
// It deliberately does not run PRAGMA optimize (nor does anything run
// ANALYZE): modernc's SQLite is built with STAT4, and with statistics present
// SQLite re-prepares a statement whenever a bound value changes, which made
// SessionUser three times slower. The schema's indexes need no statistics.
func (s *Store) Close() error {
	if s.tx != nil {
		return nil
	}
	s.closeOnce.Do(func() {
		for i := range s.stmts {
			if st := s.stmts[i].Load(); st != nil {
				st.Close()
			}
		}
		var errs []error
		if s.r != s.w {
			errs = append(errs, s.r.Close())
		}
		errs = append(errs, s.w.Close())
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}

// Migrate applies pending migrations; it does nothing if there are none, so
// it is safe to call on every start. On PostgreSQL it holds an advisory lock
// (one per schema) so that instances starting together migrate once.
func (s *Store) Migrate(ctx context.Context) error {
	if s.tx != nil {
		return errors.New("sqlstore: Migrate inside a transaction")
	}
	p, err := s.provider(ctx)
	if err != nil {
		return err
	}
	for attempt := 0; ; attempt++ {
		_, err = p.Up(ctx)
		if err == nil {
			return nil
		}
		// SQLite has no lock around migrations; its statements are
		// IF NOT EXISTS instead. If another process got there first,
		// there is nothing left to do.
		if pending, perr := p.HasPending(ctx); perr == nil && !pending {
			return nil
		}
		if attempt == 2 || ctx.Err() != nil {
			return fmt.Errorf("sqlstore: migrating %s: %w", s.addr, err)
		}
	}
}

// SchemaVersion returns the version of the schema in the database and the
// latest version this build knows.
func (s *Store) SchemaVersion(ctx context.Context) (current, latest int64, err error) {
	p, err := s.provider(ctx)
	if err != nil {
		return 0, 0, err
	}
	current, latest, err = p.GetVersions(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("sqlstore: reading schema version of %s: %w", s.addr, err)
	}
	return current, latest, nil
}

// provider returns a goose provider for this database and its migrations.
func (s *Store) provider(ctx context.Context) (*goose.Provider, error) {
	sub, err := fs.Sub(migrations, "migrations/"+s.d.name)
	if err != nil {
		return nil, err
	}
	opts := []goose.ProviderOption{
		goose.WithTableName(migrationTable),
		goose.WithDisableGlobalRegistry(true),
		goose.WithGoMigrations(s.refoldMigration()),
	}
	dialect := goose.DialectSQLite3
	if s.d.name == DialectPostgres {
		dialect = goose.DialectPostgres
		// One advisory lock per schema: instances of one installation
		// exclude each other; installations in other schemas don't wait.
		var schema sql.NullString
		if err := s.w.QueryRowContext(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
			return nil, fmt.Errorf("sqlstore: migrating %s: %w", s.addr, err)
		}
		if !schema.Valid {
			return nil, fmt.Errorf("sqlstore: migrating %s: no schema selected (check search_path)", s.addr)
		}
		h := fnv.New64a()
		h.Write([]byte("usher migrations " + schema.String))
		locker, err := lock.NewPostgresSessionLocker(
			lock.WithLockID(int64(h.Sum64()>>1)),
			lock.WithLockTimeout(1, 600), // wait up to 10 minutes for another instance
		)
		if err != nil {
			return nil, err
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider(dialect, s.w, sub, opts...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: migrations: %w", err)
	}
	return p, nil
}
