// Package migrations holds the schema of an Atrium node as ordered SQL files, one set per
// database engine (sqlite/ and postgres/ with identical file names), and the small runner that
// applies them. Plain SQL per dialect keeps each engine's DDL explicit (types, indexes) where a
// dialect-neutral builder would hide differences; a test checks that both sets stay in step.
// Shipped files are never edited: a change is a new file.
package migrations

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/uptrace/bun"
)

//go:embed sqlite/*.sql postgres/*.sql
var files embed.FS

// Migration is one schema step.
type Migration struct {
	Name      string // file name without .sql, e.g. 0001_init
	SQL       string
	AppliedAt *time.Time
}

// Dialect names an engine's set of files.
type Dialect string

// The supported engines.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// List returns the migrations for a dialect in order.
func List(d Dialect) ([]Migration, error) {
	entries, err := fs.ReadDir(files, string(d))
	if err != nil {
		return nil, fmt.Errorf("migrations: unknown dialect %q: %w", d, err)
	}
	var out []Migration
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		b, err := files.ReadFile(path.Join(string(d), e.Name()))
		if err != nil {
			return nil, err
		}
		out = append(out, Migration{Name: strings.TrimSuffix(e.Name(), ".sql"), SQL: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

const createTable = `CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)`

// Status lists every migration with the time it was applied, nil for pending ones.
func Status(ctx context.Context, db bun.IDB, d Dialect) ([]Migration, error) {
	all, err := List(d)
	if err != nil {
		return nil, err
	}
	if _, err := db.ExecContext(ctx, createTable); err != nil {
		return nil, fmt.Errorf("migrations: create schema_migrations: %w", err)
	}
	rows, err := db.QueryContext(ctx, `SELECT name, applied_at FROM schema_migrations`)
	if err != nil {
		return nil, fmt.Errorf("migrations: read applied: %w", err)
	}
	defer rows.Close()
	applied := map[string]time.Time{}
	for rows.Next() {
		var name, at string
		if err := rows.Scan(&name, &at); err != nil {
			return nil, err
		}
		t, _ := time.Parse(time.RFC3339Nano, at)
		applied[name] = t
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range all {
		if t, ok := applied[all[i].Name]; ok {
			all[i].AppliedAt = &t
		}
	}
	return all, nil
}

// Up applies every pending migration, each in its own transaction, and returns the names
// applied. On PostgreSQL an advisory lock keeps two starting processes from racing; on SQLite
// the immediate transaction does the same.
func Up(ctx context.Context, db *bun.DB, d Dialect) ([]string, error) {
	if d == Postgres {
		conn, err := db.Conn(ctx)
		if err != nil {
			return nil, err
		}
		defer conn.Close()
		if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(727274)`); err != nil {
			return nil, fmt.Errorf("migrations: lock: %w", err)
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(727274)`)
	}
	st, err := Status(ctx, db, d)
	if err != nil {
		return nil, err
	}
	var done []string
	for _, m := range st {
		if m.AppliedAt != nil {
			continue
		}
		err := db.RunInTx(ctx, &sql.TxOptions{}, func(ctx context.Context, tx bun.Tx) error {
			// Re-check inside the transaction: another process may have applied it meanwhile.
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE name = ?`, m.Name).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			for _, stmt := range splitStatements(m.SQL) {
				if _, err := tx.ExecContext(ctx, stmt); err != nil {
					return fmt.Errorf("%w\nstatement: %s", err, firstLine(stmt))
				}
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)`,
				m.Name, time.Now().UTC().Format(time.RFC3339Nano))
			return err
		})
		if err != nil {
			return done, fmt.Errorf("migrations: apply %s: %w", m.Name, err)
		}
		done = append(done, m.Name)
	}
	return done, nil
}

// splitStatements cuts a file at semicolons that end a line. Our files hold no procedural
// code, so this simple rule is enough and keeps each driver to one statement per Exec.
func splitStatements(s string) []string {
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(s, "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "--") || trimmed == "" {
			continue
		}
		cur.WriteString(line)
		cur.WriteString("\n")
		if strings.HasSuffix(trimmed, ";") {
			out = append(out, strings.TrimSpace(cur.String()))
			cur.Reset()
		}
	}
	if strings.TrimSpace(cur.String()) != "" {
		out = append(out, strings.TrimSpace(cur.String()))
	}
	return out
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
