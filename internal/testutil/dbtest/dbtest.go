// Package dbtest opens migrated databases for store and service tests on every supported
// engine: a temporary SQLite file always, and a throwaway PostgreSQL database when the
// server binaries are installed (CI installs them), so the same suite runs on both.
package dbtest

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/atrium-social/atrium/internal/db"
	"github.com/atrium-social/atrium/internal/testutil/pgtest"
)

// Engines are the engine names ForEach runs a test body on.
func Engines() []string { return []string{"sqlite", "postgres"} }

// Open returns a fresh, migrated database of the named engine, closed at cleanup. For
// "postgres" it skips the test (saying the server is not installed) when it is absent.
func Open(t testing.TB, engine string) *db.DB {
	t.Helper()
	ctx := context.Background()
	o := db.Options{Path: filepath.Join(t.TempDir(), "atrium.db")}
	if engine == "postgres" {
		o = db.Options{DSN: pgtest.DSN(t), MaxConn: 10}
	}
	d, err := db.Open(ctx, o)
	if err != nil {
		t.Fatalf("open %s: %v", engine, err)
	}
	t.Cleanup(func() { d.Close() })
	if _, err := d.Migrate(ctx); err != nil {
		t.Fatalf("migrate %s: %v", engine, err)
	}
	return d
}

// ForEach runs body as a subtest on every engine.
func ForEach(t *testing.T, body func(t *testing.T, d *db.DB)) {
	for _, e := range Engines() {
		t.Run(e, func(t *testing.T) { body(t, Open(t, e)) })
	}
}
