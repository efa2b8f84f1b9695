//go:build !pprof

package main

import (
	"errors"
	"log/slog"
)

// servePprof refuses: this binary was built without the profiler (see pprof.go).
func servePprof(string, *slog.Logger) (stop func(), err error) {
	return nil, errors.New("--pprof-listen: this binary has no profiler; build it with `go build -tags pprof ./cmd/atrium`")
}
