package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// superuser is the bootstrap superuser created by initdb (trust auth, no password).
const superuser = "atrium"

// binDirGlobs are searched, in order, when initdb is not in PATH.
var binDirGlobs = []string{
	"/usr/lib/postgresql/*/bin", // Debian, Ubuntu
	"/usr/pgsql-*/bin",          // PGDG RPMs
}

type binaries struct {
	initdb, postgres string
}

var (
	findOnce sync.Once
	found    binaries
	missing  string // non-empty: why the binaries are unavailable
)

// Available reports whether PostgreSQL server binaries were found, and if not, why (e.g. "initdb not installed").
func Available() (bool, string) {
	findOnce.Do(func() { found, missing = findBinaries() })
	if missing != "" {
		return false, missing
	}
	if reason := platformUnsupported(); reason != "" {
		return false, reason
	}
	return true, ""
}

func findBinaries() (binaries, string) {
	// PATH first; prefer the postgres that sits next to initdb so versions match.
	if initdb, err := exec.LookPath("initdb"); err == nil {
		if real, err := filepath.EvalSymlinks(initdb); err == nil {
			if pg := filepath.Join(filepath.Dir(real), "postgres"); isExecutable(pg) {
				return binaries{initdb: initdb, postgres: pg}, ""
			}
		}
		if pg, err := exec.LookPath("postgres"); err == nil {
			return binaries{initdb: initdb, postgres: pg}, ""
		}
	}
	for _, pattern := range binDirGlobs {
		dirs, _ := filepath.Glob(pattern)
		sortByVersionDesc(dirs)
		for _, d := range dirs {
			initdb, pg := filepath.Join(d, "initdb"), filepath.Join(d, "postgres")
			if isExecutable(initdb) && isExecutable(pg) {
				return binaries{initdb: initdb, postgres: pg}, ""
			}
		}
	}
	if _, err := exec.LookPath("initdb"); err == nil {
		return binaries{}, "postgres server binary not installed (initdb found but no postgres next to it or in PATH)"
	}
	return binaries{}, "initdb not installed (looked in PATH and " + strings.Join(binDirGlobs, ", ") + ")"
}

// sortByVersionDesc orders paths like /usr/lib/postgresql/15/bin by their
// numeric version component, highest first.
func sortByVersionDesc(dirs []string) {
	version := func(p string) float64 {
		base := filepath.Base(filepath.Dir(p)) // "15" or "pgsql-15"
		base = base[strings.LastIndexByte(base, '-')+1:]
		v, err := strconv.ParseFloat(base, 64)
		if err != nil {
			return -1
		}
		return v
	}
	sort.SliceStable(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
}

var (
	serverOnce sync.Once
	shared     *server
	serverErr  error
)

// getServer starts the shared server on first use. A failed start is
// remembered: every later caller gets the same error.
func getServer() (*server, error) {
	serverOnce.Do(func() {
		shared, serverErr = startServer(found)
	})
	if serverErr != nil {
		return nil, serverErr
	}
	if err := shared.exited(); err != nil {
		return nil, err
	}
	return shared, nil
}

// DSN starts (once per test process) a throwaway PostgreSQL server and creates a fresh, empty database
// for this test, dropped at t.Cleanup. It calls t.Skip("postgres: initdb not installed ...") when the binaries are absent
// -- the skip message contains the words "postgres" and "not installed". Returns a DSN of the form
// postgres://USER@127.0.0.1:PORT/DBNAME?sslmode=disable
func DSN(t testing.TB) string {
	t.Helper()
	if ok, why := Available(); !ok {
		t.Skip(skipMessage(why))
	}
	srv, err := getServer()
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	name := "t_" + randomHex(8)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := srv.exec(ctx, "CREATE DATABASE "+quoteIdent(name)); err != nil {
		t.Fatalf("pgtest: create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := srv.dropDatabase(ctx, name); err != nil {
			t.Logf("pgtest: drop database %s: %v", name, err)
		}
	})
	return fmt.Sprintf("postgres://%s@127.0.0.1:%d/%s?sslmode=disable", superuser, srv.port, name)
}

func skipMessage(why string) string {
	return "postgres: " + why + "; install the PostgreSQL server (Debian: apt-get install postgresql) to run this test"
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return hex.EncodeToString(b)
}

func quoteIdent(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}
