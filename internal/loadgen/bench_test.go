package loadgen

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/app"
	"github.com/atrium-social/atrium/internal/config"
	"github.com/atrium-social/atrium/internal/posts"
)

// The benchmarks share one node on SQLite, seeded once per process through Seed. The
// default company is small enough to set up in seconds; the full P3 size is a matter of
// environment variables (seeding it takes minutes, so keep the directory and reuse it):
//
//	go test ./internal/loadgen -run '^$' -bench . -benchtime 10s
//	ATRIUM_BENCH_USERS=10000 ATRIUM_BENCH_POSTS=1000000 ATRIUM_BENCH_FOLLOWS=300 \
//	  ATRIUM_BENCH_GROUPS=200 ATRIUM_BENCH_GROUP_MEMBERSHIPS=20 \
//	  ATRIUM_BENCH_DATA_DIR=/tmp/atrium-p3 go test ./internal/loadgen -run '^$' -bench HomeFeed -cpuprofile cpu.out
//
// ATRIUM_BENCH_DATA_DIR names a data directory to use (seeded on first use and kept; a
// directory that already has posts is used as it is, with its seed-tokens.txt). Note that
// BenchmarkCreatePost adds posts to it.
var fx struct {
	once    sync.Once
	err     error
	dir     string
	tmp     bool
	node    *app.Node
	userIDs []string
	tokens  []string
	seeded  string
}

func TestMain(m *testing.M) {
	code := m.Run()
	if fx.node != nil {
		fx.node.Close()
	}
	if fx.tmp {
		os.RemoveAll(fx.dir)
	}
	os.Exit(code)
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func fixture(b *testing.B) {
	b.Helper()
	fx.once.Do(func() { fx.err = setUp() })
	if fx.err != nil {
		b.Fatal(fx.err)
	}
}

func setUp() error {
	ctx := context.Background()
	fx.dir = os.Getenv("ATRIUM_BENCH_DATA_DIR")
	if fx.dir == "" {
		dir, err := os.MkdirTemp("", "atrium-bench-")
		if err != nil {
			return err
		}
		fx.dir, fx.tmp = dir, true
	}
	cfg := config.Default()
	cfg.DataDir = fx.dir
	cfg.Argon2MemoryKiB = 8 * 1024
	cfg.LogLevel = "warn"
	n, err := app.New(ctx, cfg, app.Options{Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		return err
	}
	fx.node = n
	tokensFile := filepath.Join(fx.dir, "seed-tokens.txt")
	has, err := n.DB.NewSelect().Table("posts").Limit(1).Exists(ctx)
	if err != nil {
		return err
	}
	if !has {
		o := SeedOptions{Users: envInt("ATRIUM_BENCH_USERS", 2000), Posts: envInt("ATRIUM_BENCH_POSTS", 100_000),
			Follows: envInt("ATRIUM_BENCH_FOLLOWS", 100), Groups: envInt("ATRIUM_BENCH_GROUPS", 200),
			GroupMemberships: envInt("ATRIUM_BENCH_GROUP_MEMBERSHIPS", 20), GroupPostPercent: 15,
			Days: 365, Seed: 1, Tokens: 64, BaseURL: n.URL(ctx), Argon2MemoryKiB: 8 * 1024}
		if testing.Verbose() {
			o.Progress = os.Stderr
		}
		res, err := Seed(ctx, n.DB, o)
		if err != nil {
			return err
		}
		fx.seeded = fmt.Sprintf("seeded %d users, %d posts, %d follows each, %d feed rows in %s", o.Users, o.Posts, o.Follows,
			res.FeedRows, res.Took.Round(time.Millisecond))
		if err := WriteTokens(tokensFile, res.Tokens); err != nil {
			return err
		}
	}
	if fx.tokens, err = ReadTokens(tokensFile); err != nil {
		return err
	}
	return n.DB.NewSelect().Table("users").Column("id").Where("username_lower LIKE 'user%'").OrderExpr("id").Scan(ctx, &fx.userIDs)
}

// BenchmarkHomeFeed measures posts.Service.Home (first page of 20, the materialised feed)
// for random people, in parallel (P3 without HTTP).
func BenchmarkHomeFeed(b *testing.B) {
	fixture(b)
	if fx.seeded != "" {
		b.Log(fx.seeded)
		fx.seeded = "" // once, not for every b.N
	}
	svc := fx.node.Posts
	var seed atomic.Uint64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		rng := rand.New(rand.NewPCG(seed.Add(1), 1))
		ctx := context.Background()
		for pb.Next() {
			v := &posts.Viewer{ID: fx.userIDs[rng.IntN(len(fx.userIDs))], Local: true}
			ps, err := svc.Home(ctx, v, posts.Page{Limit: 20})
			if err != nil || len(ps) != 20 {
				b.Fatalf("home: %d posts, %v", len(ps), err)
			}
		}
	})
}

// BenchmarkHomeFeedHTTP measures GET /api/v1/timelines/home?limit=20 end to end over real
// HTTP on loopback, with 32 clients per CPU (64 on the 2-core machines of P3), and reports
// the latency percentiles next to ns/op.
func BenchmarkHomeFeedHTTP(b *testing.B) {
	fixture(b)
	srv := httptest.NewServer(fx.node.Handler())
	defer srv.Close()
	tr := &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	url := srv.URL + "/api/v1/timelines/home?limit=20"
	var (
		seed atomic.Uint64
		mu   sync.Mutex
		lat  []time.Duration
	)
	b.SetParallelism(32)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		rng := rand.New(rand.NewPCG(seed.Add(1), 2))
		mine := make([]time.Duration, 0, 1024)
		for pb.Next() {
			req, _ := http.NewRequest("GET", url, nil)
			req.Header.Set("Authorization", "Bearer "+fx.tokens[rng.IntN(len(fx.tokens))])
			start := time.Now()
			resp, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			mine = append(mine, time.Since(start))
			if resp.StatusCode != 200 {
				b.Fatalf("status %d", resp.StatusCode)
			}
		}
		mu.Lock()
		lat = append(lat, mine...)
		mu.Unlock()
	})
	b.StopTimer()
	reportLatency(b, lat)
}

// BenchmarkCreatePost measures posts.Service.Create of a company post by one of the first 64
// people, fan-out into their followers' feeds included (P4 without HTTP).
func BenchmarkCreatePost(b *testing.B) {
	fixture(b)
	ctx := context.Background()
	var authors []*accounts.User
	for _, id := range fx.userIDs[:min(64, len(fx.userIDs))] {
		u, err := fx.node.Accounts.Get(ctx, id)
		if err != nil {
			b.Fatal(err)
		}
		authors = append(authors, u)
	}
	var (
		seed atomic.Uint64
		mu   sync.Mutex
		lat  []time.Duration
	)
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		rng := rand.New(rand.NewPCG(seed.Add(1), 3))
		var mine []time.Duration
		for pb.Next() {
			start := time.Now()
			if _, err := fx.node.Posts.Create(ctx, authors[rng.IntN(len(authors))], posts.NewPost{Text: loadText(rng), Audience: posts.Company}); err != nil {
				b.Fatal(err)
			}
			mine = append(mine, time.Since(start))
		}
		mu.Lock()
		lat = append(lat, mine...)
		mu.Unlock()
	})
	b.StopTimer()
	reportLatency(b, lat)
}

func reportLatency(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	at := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
	}
	b.ReportMetric(at(.50), "p50-ms")
	b.ReportMetric(at(.99), "p99-ms")
	b.ReportMetric(float64(len(lat))/b.Elapsed().Seconds(), "req/s")
}
