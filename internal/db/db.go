// Package db opens the node's database through bun: SQLite (modernc, pure Go, WAL,
// _txlock=immediate so read-then-write transactions never fail with SQLITE_BUSY) by default,
// PostgreSQL for firms that run several processes. It applies migrations and maps each
// dialect's errors onto errs kinds, so services never look at driver error codes.
package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/dialect/sqlitedialect"
	"github.com/uptrace/bun/driver/pgdriver"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/migrations"
)

// DB is the node's database handle.
type DB struct {
	*bun.DB
	Engine migrations.Dialect
	// writeMu queues SQLite's writers in Go: SQLite allows one writer at a time, and writers
	// waiting here are woken in order instead of sleeping and polling in SQLite's busy
	// handler (which under load wastes time and ends in SQLITE_BUSY errors).
	writeMu sync.Mutex
	// stmts holds the statements of Prepared by their text (a handful of constant queries).
	stmts sync.Map
	// txSlots bounds the PostgreSQL transactions open at once below the pool's size (nil on
	// SQLite, whose writeMu lets one at a time). A transaction may run a query outside
	// itself (a cache loading on a miss: the organisation's settings, a person); if every
	// pooled connection were held by such transactions, each would wait for a connection
	// only another one can free, for ever. Keeping a few connections out of transactions'
	// reach lets those queries always run. Seen with 64 clients posting: 20 transactions each
	// waiting for a 21st connection after the organisation cache expired.
	txSlots chan struct{}
}

// Options select and tune the database.
type Options struct {
	DSN     string // postgres://... or "" for SQLite
	Path    string // SQLite file (used when DSN is not PostgreSQL)
	MaxConn int    // 0: engine default
}

// Open connects, checks the connection and returns the handle; it does not migrate.
func Open(ctx context.Context, o Options) (*DB, error) {
	if strings.HasPrefix(o.DSN, "postgres://") || strings.HasPrefix(o.DSN, "postgresql://") {
		return openPostgres(ctx, o)
	}
	return openSQLite(ctx, o)
}

func openSQLite(ctx context.Context, o Options) (*DB, error) {
	if dir := filepath.Dir(o.Path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("db: create data directory %s: %w", dir, err)
		}
	}
	dsn := "file:" + o.Path + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)" +
		"&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_pragma=temp_store(MEMORY)&_txlock=immediate"
	sqldb, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("db: open sqlite %s: %w", o.Path, err)
	}
	n := o.MaxConn
	if n == 0 {
		n = 4 // WAL readers run in parallel; more connections only add contention on 2 cores
	}
	sqldb.SetMaxOpenConns(n)
	sqldb.SetMaxIdleConns(n)
	sqldb.SetConnMaxIdleTime(0)
	d := &DB{DB: bun.NewDB(sqldb, sqlitedialect.New()), Engine: migrations.SQLite}
	if err := d.PingContext(ctx); err != nil {
		sqldb.Close()
		return nil, fmt.Errorf("db: sqlite %s: %w", o.Path, err)
	}
	return d, nil
}

func openPostgres(ctx context.Context, o Options) (*DB, error) {
	u, err := url.Parse(o.DSN)
	if err != nil {
		return nil, fmt.Errorf("db: postgres DSN is not a URL: %w", err)
	}
	// pgdriver's default TLS skips verification (LIBRARIES.md section 7): insist on an explicit
	// sslmode so nobody believes a connection is verified when it is not.
	if u.Query().Get("sslmode") == "" {
		q := u.Query()
		host := u.Hostname()
		if host == "localhost" || strings.HasPrefix(host, "127.") || host == "::1" || host == "" {
			q.Set("sslmode", "disable")
		} else {
			return nil, fmt.Errorf("db: postgres DSN needs sslmode=verify-full (or sslmode=disable on a private network)")
		}
		u.RawQuery = q.Encode()
	}
	connector := pgdriver.NewConnector(pgdriver.WithDSN(u.String()))
	sqldb := sql.OpenDB(connector)
	n := o.MaxConn
	if n == 0 {
		n = 20
	}
	sqldb.SetMaxOpenConns(n)
	sqldb.SetMaxIdleConns(n)
	d := &DB{DB: bun.NewDB(sqldb, pgdialect.New()), Engine: migrations.Postgres,
		txSlots: make(chan struct{}, max(1, n-max(1, n/5)))}
	if err := d.PingContext(ctx); err != nil {
		sqldb.Close()
		return nil, fmt.Errorf("db: postgres %s: %w", u.Redacted(), err)
	}
	return d, nil
}

// Prepared returns query prepared once and kept for the life of the handle (database/sql
// prepares it again on each pooled connection that runs it). Use it with placeholders, not
// formatted values, for the few reads every page makes: SQLite compiles each new query text,
// and bun sends every query as new text, which on a feed page cost more than running the
// queries. query must be a constant, or the cache grows without bound.
func (d *DB) Prepared(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := d.stmts.Load(query); ok {
		return st.(*sql.Stmt), nil
	}
	st, err := d.DB.DB.PrepareContext(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("db: prepare: %w", err)
	}
	if prev, loaded := d.stmts.LoadOrStore(query, st); loaded {
		st.Close() // another request prepared it first
		return prev.(*sql.Stmt), nil
	}
	return st, nil
}

// Migrate applies pending migrations and returns their names.
func (d *DB) Migrate(ctx context.Context) ([]string, error) {
	return migrations.Up(ctx, d.DB, d.Engine)
}

// Tx runs fn in a transaction, committing when it returns nil. Callbacks registered with
// AfterCommit inside fn run once the outermost transaction has committed, and never if it
// rolled back: live updates and queue wake-ups must not announce what did not happen.
func (d *DB) Tx(ctx context.Context, fn func(ctx context.Context, tx bun.Tx) error) error {
	if _, nested := ctx.Value(afterCommitKey{}).(*[]func()); nested {
		return d.RunInTx(ctx, nil, fn)
	}
	var after []func()
	ctx = context.WithValue(ctx, afterCommitKey{}, &after)
	if d.Engine == migrations.SQLite {
		d.writeMu.Lock()
	}
	if d.txSlots != nil {
		select {
		case d.txSlots <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	err := d.RunInTx(ctx, nil, fn)
	if d.txSlots != nil {
		<-d.txSlots
	}
	if d.Engine == migrations.SQLite {
		d.writeMu.Unlock()
	}
	if err != nil {
		return err
	}
	for _, f := range after {
		f()
	}
	return nil
}

type afterCommitKey struct{}

// AfterCommit schedules f to run after the transaction that ctx belongs to commits. Outside
// a transaction started by Tx it runs f at once.
func AfterCommit(ctx context.Context, f func()) {
	if after, ok := ctx.Value(afterCommitKey{}).(*[]func()); ok {
		*after = append(*after, f)
		return
	}
	f()
}

// Err maps a driver error onto an errs kind: no rows becomes NotFound (with msg), a unique
// violation becomes Conflict (with msg); anything else is returned wrapped as it is.
func Err(err error, msg string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return errs.Wrap(errs.NotFound, err, "%s", msg)
	}
	if IsUnique(err) {
		return errs.Wrap(errs.Conflict, err, "%s", msg)
	}
	return err
}

// IsUnique reports whether err is a unique-constraint violation on either engine.
func IsUnique(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		c := se.Code()
		return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	var pe pgdriver.Error
	if errors.As(err, &pe) {
		return pe.Field('C') == "23505"
	}
	return false
}

// LikeEscape escapes the LIKE wildcards in s, for patterns written with ESCAPE '\'.
func LikeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// IsNotFound reports whether err means no row.
func IsNotFound(err error) bool { return errors.Is(err, sql.ErrNoRows) }
