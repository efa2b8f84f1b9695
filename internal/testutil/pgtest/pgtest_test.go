package pgtest

import (
	"context"
	"errors"
	"net"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

var dsnRE = regexp.MustCompile(`^postgres://atrium@127\.0\.0\.1:[0-9]+/t_[0-9a-f]+\?sslmode=disable$`)

func TestAvailable(t *testing.T) {
	ok, why := Available()
	t.Logf("available=%v reason=%q binaries=%+v", ok, why, found)
	if !ok && !strings.Contains(why, "not installed") {
		t.Errorf("reason %q does not say \"not installed\"", why)
	}
	if ok && why != "" {
		t.Errorf("available but reason %q", why)
	}
}

func requireServer(t *testing.T) {
	t.Helper()
	if ok, why := Available(); !ok {
		t.Skip("postgres: " + why)
	}
}

// dbOf returns host:port and database name of a DSN.
func dbOf(t *testing.T, dsn string) (string, string) {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host, strings.TrimPrefix(u.Path, "/")
}

func TestDSN(t *testing.T) {
	requireServer(t)
	a, b := DSN(t), DSN(t)
	for _, d := range []string{a, b} {
		if !dsnRE.MatchString(d) {
			t.Errorf("DSN %q does not match %v", d, dsnRE)
		}
	}
	hostA, dbA := dbOf(t, a)
	hostB, dbB := dbOf(t, b)
	if dbA == dbB {
		t.Errorf("two DSN calls gave the same database %q", dbA)
	}
	if hostA != hostB {
		t.Errorf("one server expected, got %s and %s", hostA, hostB)
	}

	nc, err := net.DialTimeout("tcp", hostA, 5*time.Second)
	if err != nil {
		t.Fatalf("TCP connect to %s: %v", hostA, err)
	}
	nc.Close()

	// Both databases exist and accept a session; one is writable.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, db := range []string{dbA, dbB} {
		c, err := dial(ctx, hostA, superuser, db)
		if err != nil {
			t.Fatalf("connect to %s: %v", db, err)
		}
		if err := c.exec("CREATE TABLE t (id bigint PRIMARY KEY); INSERT INTO t VALUES (1); SELECT * FROM t"); err != nil {
			t.Errorf("exec in %s: %v", db, err)
		}
		c.close()
	}
}

func TestDatabaseDroppedAtCleanup(t *testing.T) {
	requireServer(t)
	var dsn string
	t.Run("use", func(t *testing.T) {
		dsn = DSN(t)
		// An open session must not block the drop.
		host, db := dbOf(t, dsn)
		c, err := dial(context.Background(), host, superuser, db)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.nc.Close() })
	})
	host, db := dbOf(t, dsn)
	_, err := dial(context.Background(), host, superuser, db)
	var pe *pgError
	if !errors.As(err, &pe) || pe.Code != "3D000" || !strings.Contains(pe.Message, "does not exist") {
		t.Fatalf("connecting to dropped database %s: got %v, want SQLSTATE 3D000 does not exist", db, err)
	}
}

func TestWireErrors(t *testing.T) {
	requireServer(t)
	dsn := DSN(t)
	_, db := dbOf(t, dsn)
	srv, err := getServer()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	err = srv.exec(ctx, "CREATE DATABASE "+quoteIdent(db))
	if err == nil {
		t.Fatal("creating a duplicate database succeeded")
	}
	want := `database "` + db + `" already exists`
	if !strings.Contains(err.Error(), want) {
		t.Errorf("duplicate CREATE DATABASE error %q does not contain the server message %q", err, want)
	}
	var pe *pgError
	if !errors.As(err, &pe) || pe.Code != "42P04" || pe.Severity != "ERROR" {
		t.Errorf("error %#v: want a *pgError with SQLSTATE 42P04, severity ERROR", err)
	}

	// The connection stays usable after an error.
	c, err := dial(ctx, srv.addr(), superuser, "postgres")
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	if err := c.exec("SELEC 1"); err == nil || !strings.Contains(err.Error(), "syntax error") {
		t.Errorf("SELEC 1: got %v, want a syntax error", err)
	}
	if err := c.exec("SELECT 1"); err != nil {
		t.Errorf("SELECT 1 after an error: %v", err)
	}

	// Connecting as an unknown role is a FATAL error at startup.
	_, err = dial(ctx, srv.addr(), "no_such_role", "postgres")
	if err == nil || !strings.Contains(err.Error(), "no_such_role") {
		t.Errorf("unknown role: got %v", err)
	}
}

func TestSortByVersionDesc(t *testing.T) {
	dirs := []string{"/usr/lib/postgresql/9.6/bin", "/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/x/bin", "/usr/lib/postgresql/16/bin", "/usr/pgsql-13/bin"}
	sortByVersionDesc(dirs)
	want := []string{"/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/15/bin", "/usr/pgsql-13/bin", "/usr/lib/postgresql/9.6/bin", "/usr/lib/postgresql/x/bin"}
	if strings.Join(dirs, " ") != strings.Join(want, " ") {
		t.Errorf("got %v, want %v", dirs, want)
	}
}

func TestSkipMessage(t *testing.T) {
	// The message DSN skips with when the binaries are absent.
	t.Setenv("PATH", t.TempDir())
	saved := binDirGlobs
	binDirGlobs = []string{t.TempDir() + "/*/bin"}
	defer func() { binDirGlobs = saved }()
	_, why := findBinaries()
	msg := skipMessage(why)
	if !strings.Contains(msg, "postgres") || !strings.Contains(msg, "not installed") {
		t.Errorf("skip message %q", msg)
	}
}
