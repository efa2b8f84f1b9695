package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/atrium-social/atrium/internal/app"
	"github.com/atrium-social/atrium/internal/clock"
	"github.com/atrium-social/atrium/internal/loadgen"
	"github.com/atrium-social/atrium/internal/orgs"
)

// dev runs the developer tools: `atrium dev seed` fills a database with a generated company,
// `atrium dev load` measures a running node with HTTP load on loopback (PERFORMANCE.md).
func dev(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	if len(args) == 0 || (args[0] != "seed" && args[0] != "load") {
		fmt.Fprint(stderr, `Usage: atrium dev <command> [flags]

Commands:
  seed   fill a fresh database with generated people, follows, posts and home feeds
  load   closed- or open-loop HTTP load against a node on this machine (loopback only)
`)
		if len(args) == 0 {
			return fmt.Errorf("dev: name a command")
		}
		return fmt.Errorf("dev: unknown command %q", args[0])
	}
	if args[0] == "seed" {
		return devSeed(ctx, args[1:], stdout, stderr, getenv)
	}
	return devLoad(ctx, args[1:], stdout, stderr, getenv)
}

func devSeed(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	var o loadgen.SeedOptions
	var tokensFile string
	cfg, _, err := loadConfig("dev seed", args, stderr, getenv, func(fs *flag.FlagSet) {
		fs.IntVar(&o.Users, "users", 10_000, "people to create (user00001, ...), password \""+loadgen.SeedPassword+"\"")
		fs.IntVar(&o.Posts, "posts", 1_000_000, "posts to create")
		fs.IntVar(&o.Follows, "follows", 300, "distinct people each person follows")
		fs.IntVar(&o.Groups, "groups", 200, "groups to create (half open, a third closed, the rest secret)")
		fs.IntVar(&o.GroupMemberships, "group-memberships", 20, "distinct groups each person is a member of")
		fs.IntVar(&o.GroupPostPercent, "group-posts", 15, "percentage of the posts made in one of their author's groups")
		fs.IntVar(&o.Days, "days", 365, "posts are spread over this many days before now")
		fs.Int64Var(&o.Seed, "seed", 1, "random seed: the same seed makes the same company")
		fs.IntVar(&o.Tokens, "tokens", 64, "personal access tokens (read write) to create for the first people")
		fs.StringVar(&tokensFile, "tokens-file", "", "where to write the tokens, one a line (default <data-dir>/seed-tokens.txt)")
		fs.BoolVar(&o.Force, "force", false, "seed even though the database already has posts")
		fs.IntVar(&o.BatchRows, "batch", 500, "rows per INSERT statement")
		fs.IntVar(&o.TxRows, "tx-rows", 50_000, "rows per transaction")
	})
	if err != nil {
		return err
	}
	if tokensFile == "" {
		tokensFile = filepath.Join(cfg.DataDir, "seed-tokens.txt")
	}
	// Only the database is needed: open and migrate it as a node would, without the rest.
	d, err := app.Open(ctx, cfg)
	if err != nil {
		return err
	}
	defer d.Close()
	if _, err := d.Migrate(ctx); err != nil {
		return err
	}
	org, err := orgs.New(d, clock.System{}).Get(ctx)
	if err != nil {
		return fmt.Errorf("read organisation: %w", err)
	}
	// The node's URL as app.Node.URL computes it: the one fixed at setup, else the configured
	// or derived one.
	switch {
	case org.URL != "":
		o.BaseURL = org.URL
	case cfg.URL != "":
		o.BaseURL = cfg.URL
	default:
		o.BaseURL = cfg.DefaultURL()
	}
	o.Argon2MemoryKiB = cfg.Argon2MemoryKiB
	o.Progress = stderr
	fmt.Fprintf(stderr, "seeding %s database at %s: %d users, %d posts, %d follows each, %d groups (%d each, %d%% of the posts), over %d days\n",
		d.Engine, o.BaseURL, o.Users, o.Posts, o.Follows, o.Groups, o.GroupMemberships, o.GroupPostPercent, o.Days)
	res, err := loadgen.Seed(ctx, d, o)
	if err != nil {
		return err
	}
	if len(res.Tokens) > 0 {
		if err := loadgen.WriteTokens(tokensFile, res.Tokens); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "seeded %d users, %d follows, %d posts, %d hashtags, %d home feed rows, %d groups (%d memberships, %d group posts) in %s\n",
		res.Users, res.Follows, res.Posts, res.Tags, res.FeedRows, res.Groups, res.Memberships, res.GroupPosts, res.Took.Round(time.Millisecond))
	for _, p := range res.Phases {
		rate := ""
		if p.Rows > 0 && p.Took > 0 {
			rate = fmt.Sprintf(" (%.0f rows/s)", float64(p.Rows)/p.Took.Seconds())
		}
		fmt.Fprintf(stdout, "  %-10s %10d rows %10s%s\n", p.Name, p.Rows, p.Took.Round(time.Millisecond), rate)
	}
	if len(res.Tokens) > 0 {
		fmt.Fprintf(stdout, "%d tokens (read write) for %s..%s written to %s\n", len(res.Tokens), res.Usernames[0],
			res.Usernames[len(res.Tokens)-1], tokensFile)
	}
	fmt.Fprintf(stdout, "every seeded person signs in with the password %q\n", loadgen.SeedPassword)
	return nil
}

func devLoad(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	var o loadgen.LoadOptions
	var tokensFile string
	var seed int64
	cfg, _, err := loadConfig("dev load", args, stderr, getenv, func(fs *flag.FlagSet) {
		fs.StringVar(&o.Target, "target", "", "base URL of the node, loopback only (default http://<--listen>)")
		fs.StringVar(&tokensFile, "tokens-file", "", "bearer tokens, one a line (default <data-dir>/seed-tokens.txt)")
		fs.StringVar(&o.Scenario, "scenario", loadgen.ScenarioHome, "home (timeline reads, 20% paging), post (create posts) or mixed (90/10)")
		fs.IntVar(&o.Concurrency, "concurrency", 64, "clients, each sending its next request when the last is answered (with --rate: most requests in flight)")
		fs.Float64Var(&o.Rate, "rate", 0, "open loop: requests per second due at a fixed rate, latency counted from when each was due (0: closed loop)")
		fs.DurationVar(&o.Duration, "duration", 30*time.Second, "measured period; bounds every run")
		fs.DurationVar(&o.Warmup, "warmup", 5*time.Second, "unmeasured period before it")
		fs.IntVar(&o.Requests, "requests", 0, "stop after this many measured requests (0: --duration alone)")
		fs.DurationVar(&o.Timeout, "timeout", 10*time.Second, "per-request timeout")
		fs.Int64Var(&seed, "seed", 1, "random seed for tokens, paging and post texts")
	})
	if err != nil {
		return err
	}
	if o.Target == "" {
		o.Target = "http://" + cfg.Listen
	}
	if _, err := loadgen.CheckLoopback(o.Target); err != nil {
		return err
	}
	if tokensFile == "" {
		tokensFile = filepath.Join(cfg.DataDir, "seed-tokens.txt")
	}
	if o.Tokens, err = loadgen.ReadTokens(tokensFile); err != nil {
		return err
	}
	o.Seed = uint64(seed)
	o.Progress = stderr
	mode := fmt.Sprintf("%d clients", o.Concurrency)
	if o.Rate > 0 {
		mode = fmt.Sprintf("open loop at %.0f req/s, at most %d in flight", o.Rate, o.Concurrency)
	}
	fmt.Fprintf(stderr, "load %s against %s: %s, %d tokens, warm-up %s, measuring %s\n",
		o.Scenario, o.Target, mode, len(o.Tokens), o.Warmup, o.Duration)
	r, err := loadgen.Load(ctx, o)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, r.Summary())
	fmt.Fprintln(stdout, r.JSON())
	return nil
}
