package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/atrium-social/atrium/internal/app"
)

func serve(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	start := time.Now()
	var pprofListen string
	cfg, _, err := loadConfig("serve", args, stderr, getenv, func(fs *flag.FlagSet) {
		fs.StringVar(&pprofListen, "pprof-listen", "", "serve Go's profiler (/debug/pprof/) on this loopback host:port, for performance work, in a binary built with -tags pprof; empty: off")
	})
	if err != nil {
		return err
	}
	log := newLogger(cfg, stderr)
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("--listen (ATRIUM_LISTEN): cannot listen on %s: %v", cfg.Listen, err)
	}
	if pprofListen != "" {
		stop, err := servePprof(pprofListen, log)
		if err != nil {
			ln.Close()
			return err
		}
		defer stop()
	}
	node, err := app.New(ctx, cfg, app.Options{Log: log})
	if err != nil {
		ln.Close()
		return err
	}
	defer node.Close()
	org, _ := node.Orgs.Get(ctx)
	url := node.URL(ctx)
	log.Info("atrium ready", "url", url, "listen", ln.Addr().String(), "database", node.DB.Engine,
		"setup_done", org.SetupDone, "startup_ms", time.Since(start).Milliseconds(), "version", version)
	if !org.SetupDone {
		fmt.Fprintf(stdout, "Atrium is running. Open %s/setup to set up your organisation.\n", browserURL(url, ln.Addr()))
	} else {
		fmt.Fprintf(stdout, "Atrium is running at %s (listening on %s).\n", url, ln.Addr())
	}
	go tuneMemory(ctx, getenv)
	return node.Serve(ctx, ln)
}

// browserURL is where a person on this machine can reach the node before setup.
func browserURL(url string, addr net.Addr) string {
	if url != "" {
		return url
	}
	return "http://" + addr.String()
}
