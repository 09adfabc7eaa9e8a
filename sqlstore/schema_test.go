package sqlstore

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRequireSchema: RequireSchema opens only a database at the latest
// schema version and changes nothing, on SQLite and PostgreSQL.
func TestRequireSchema(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "usher.db")
		if _, err := OpenWithOptions(ctx, path, Options{RequireSchema: true}); !errors.Is(err, ErrSchemaNotCurrent) {
			t.Fatalf("missing file: %v; want ErrSchemaNotCurrent", err)
		}
		if _, err := os.Stat(path); err == nil {
			t.Fatal("RequireSchema created the file")
		}
		checkRequireSchema(t, path)
	})
	t.Run("postgres", func(t *testing.T) {
		checkRequireSchema(t, newPostgresSchema(t))
	})
}

// checkRequireSchema checks RequireSchema on address, an empty database.
func checkRequireSchema(t *testing.T, address string) {
	t.Helper()
	empty, err := OpenWithOptions(ctx, address, Options{SkipMigrate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer empty.Close()
	if _, err := OpenWithOptions(ctx, address, Options{RequireSchema: true}); !errors.Is(err, ErrSchemaNotCurrent) {
		t.Fatalf("empty database: %v; want ErrSchemaNotCurrent", err)
	}
	q := `SELECT count(*) FROM sqlite_master WHERE type = 'table'`
	if empty.d.name == DialectPostgres {
		q = `SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()`
	}
	var n int
	if err := empty.r.QueryRowContext(ctx, q).Scan(&n); err != nil || n != 0 {
		t.Errorf("tables after RequireSchema on an empty database: %d, %v; want none", n, err)
	}
	if err := empty.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	s, err := OpenWithOptions(ctx, address, Options{RequireSchema: true})
	if err != nil {
		t.Fatalf("current schema: %v", err)
	}
	s.Close()
	if _, err := empty.w.ExecContext(ctx, "DELETE FROM "+migrationTable+" WHERE version_id = (SELECT MAX(version_id) FROM "+migrationTable+")"); err != nil {
		t.Fatal(err)
	}
	_, err = OpenWithOptions(ctx, address, Options{RequireSchema: true})
	if !errors.Is(err, ErrSchemaNotCurrent) || !strings.Contains(err.Error(), "schema version") {
		t.Fatalf("old schema: %v; want ErrSchemaNotCurrent naming the version", err)
	}
}

func TestUnsupportedScheme(t *testing.T) {
	for _, addr := range []string{"mysql://root:hunter2@db.example/usher", "MariaDB://x/y", "sqlserver://a"} {
		_, err := Open(ctx, addr)
		if err == nil || !strings.Contains(err.Error(), "unsupported scheme") || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("Open(%q) = %v; want an unsupported-scheme error without the password", addr, err)
		}
	}
}
