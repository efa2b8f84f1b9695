// Package pgtest runs store tests against a real, throwaway PostgreSQL server.
//
// The first call to DSN in a test process runs initdb into a temporary
// directory and starts a private postgres server on 127.0.0.1 and a free
// port (trust authentication, user "atrium", fsync off). Every DSN call then
// creates a fresh, empty database for its test and drops it at t.Cleanup, so
// tests (including parallel ones) never see each other's data.
//
// The server lives as long as the test process: it is started with a
// parent-death signal, so when the test binary exits — normally, by panic,
// by timeout or by SIGKILL — a small watchdog shell stops postgres and removes
// the temporary directory. No TestMain or teardown call is needed.
//
// When the process runs as root (as CI does), initdb and postgres run as the
// unprivileged "nobody" user, because initdb refuses to run as root.
//
// Server binaries are looked up in PATH (initdb, postgres) and then in
// /usr/lib/postgresql/*/bin (highest version). When they are absent DSN skips
// the test with a message containing "postgres" and "not installed". psql is
// never needed: the package talks the PostgreSQL wire protocol itself for the
// few statements it issues.
//
//	// Available reports whether PostgreSQL server binaries were found, and if not, why (e.g. "initdb not installed").
//	func Available() (bool, string)
//	// DSN returns postgres://atrium@127.0.0.1:PORT/t_<hex>?sslmode=disable for a fresh database.
//	func DSN(t testing.TB) string
package pgtest
