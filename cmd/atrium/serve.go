package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/netip"
	"time"

	"github.com/atrium-social/atrium/internal/app"
)

func serve(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	start := time.Now()
	var pprofListen string
	cfg, _, err := loadConfig("serve", args, stderr, getenv, func(fs *flag.FlagSet) {
		fs.StringVar(&pprofListen, "pprof-listen", "", "serve Go's profiler (/debug/pprof/) on this loopback host:port, for performance work; empty: off")
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

// servePprof serves the profiler on its own listener and mux, never on the node's: profiles
// show request data and cost CPU, so they are opt-in and reachable from this machine only.
func servePprof(addr string, log *slog.Logger) (stop func(), err error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("--pprof-listen %q is not host:port", addr)
	}
	if ip, err := netip.ParseAddr(host); err != nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("--pprof-listen %q must be a loopback address such as 127.0.0.1:6060", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--pprof-listen: cannot listen on %s: %v", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Warn("pprof server stopped", "err", err)
		}
	}()
	log.Info("profiler listening", "addr", ln.Addr().String())
	return func() { _ = srv.Close() }, nil
}

// browserURL is where a person on this machine can reach the node before setup.
func browserURL(url string, addr net.Addr) string {
	if url != "" {
		return url
	}
	return "http://" + addr.String()
}
