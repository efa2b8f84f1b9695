//go:build !linux

package pgtest

import (
	"errors"
	"runtime"
)

// The server needs Linux's parent-death signal to never outlive the test
// process; elsewhere the tests skip as if PostgreSQL were absent.
func platformUnsupported() string {
	return "server not installed for pgtest on " + runtime.GOOS + " (pgtest runs PostgreSQL only on linux)"
}

func startServer(binaries) (*server, error) {
	return nil, errors.New(platformUnsupported())
}
