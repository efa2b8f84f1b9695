// Command atrium runs an Atrium node and administers it.
//
//	atrium [serve]          start the node (the default)
//	atrium migrate up|status
//	atrium admin setup|create-user|token|set-role|deactivate|reactivate|invite|partner
//	atrium dev seed|load
//	atrium devnet
//	atrium version
//
// Every subcommand reads the same settings: flags, each with an ATRIUM_* environment twin.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/atrium-social/atrium/internal/config"
	"github.com/atrium-social/atrium/internal/errs"
)

// version is the release; builds from a checkout add the commit from the build info.
const version = "0.1.0-dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv))
}

// run dispatches a command line; it returns the process exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	cmd := "serve"
	if len(args) > 0 && args[0] != "" && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	var err error
	switch cmd {
	case "serve":
		err = serve(ctx, args, stdout, stderr, getenv)
	case "migrate":
		err = migrate(ctx, args, stdout, stderr, getenv)
	case "admin":
		err = admin(ctx, args, stdout, stderr, getenv)
	case "dev":
		err = dev(ctx, args, stdout, stderr, getenv)
	case "devnet":
		err = devnet(ctx, args, stdout, stderr, getenv)
	case "version":
		fmt.Fprintln(stdout, "atrium", versionString())
		return 0
	case "help", "-h", "--help":
		usage(stdout)
		return 0
	default:
		fmt.Fprintf(stderr, "atrium: unknown command %q\n\n", cmd)
		usage(stderr)
		return 2
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		// One clear line: the setting or input at fault and what is wrong.
		msg := err.Error()
		var e *errs.Error
		if errors.As(err, &e) && e.Kind != errs.Internal {
			msg = errs.Message(err)
		}
		fmt.Fprintln(stderr, "atrium:", msg)
		return 1
	}
	return 0
}

func usage(w io.Writer) {
	fmt.Fprint(w, `Atrium: a self-hosted enterprise social network that federates over ActivityPub.

Usage:
  atrium [serve] [flags]           start the node (default http://localhost:8080)
  atrium migrate up|status [flags] apply or list database migrations
  atrium admin <command> [flags]   setup, create-user, token, set-role, deactivate, reactivate, invite, partner
  atrium dev seed|load [flags]     generate a test company; load-test a node on loopback
  atrium devnet [flags]            three partner companies federating on this machine (127.0.0.11-13)
  atrium version                   print the version

Run 'atrium serve --help' for the settings every command reads.
`)
}

func versionString() string {
	v := version
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v += " (" + s.Value[:12] + ")"
			}
		}
		v += " " + bi.GoVersion
	}
	return v
}

// loadConfig parses the shared settings plus a command's own flags.
func loadConfig(name string, args []string, stderr io.Writer, getenv func(string) string, extra func(fs *flag.FlagSet)) (config.Config, *flag.FlagSet, error) {
	fs := flag.NewFlagSet("atrium "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	if extra != nil {
		extra(fs)
	}
	cfg, err := config.Load(fs, args, getenv)
	return cfg, fs, err
}

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	lvl, _ := config.ParseLevel(cfg.LogLevel)
	opts := &slog.HandlerOptions{Level: lvl}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
