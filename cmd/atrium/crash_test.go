package main

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/atrium-social/atrium/federation/delivery"
	"github.com/atrium-social/atrium/federation/outbox"
	"github.com/atrium-social/atrium/federation/signature"
	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/app"
	"github.com/atrium-social/atrium/internal/config"
	"github.com/atrium-social/atrium/internal/db"
	"github.com/atrium-social/atrium/internal/follows"
	"github.com/atrium-social/atrium/internal/orgs"
)

// TestCrashMidFanOutDeliversEachOnce is the whole-node version of federation/delivery's
// TestCrashMidFanOutLosesNothing: the real `atrium serve` binary fans a public post out to
// 200 remote followers (each with a personal inbox on one receiver), is kill -9'd once the
// receiver has seen 60 deliveries, and is started again on the same data directory. Every
// inbox must then have the Create at least once on the wire and, deduplicated by activity id
// as receivers do, exactly once.
//
// The jobs a process held when it died stay leased (jobs.Options.Lease, 2 minutes, fixed in
// the binary) and no process claims them before the lease runs out. The test checks that the
// restarted node finishes everything else by itself, then moves those leases into the past in
// the database, standing in for the two minutes passing (as the package test does with an
// offset clock), and checks that they complete too.
func TestCrashMidFanOutDeliversEachOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("short: builds and runs the atrium binary")
	}
	const followers, killAt = 200, 60
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	// The node lives on 127.0.0.2 so that the receiver on 127.0.0.1 is another host: a
	// node never delivers to its own host, and the partner policy names hosts, not ports.
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Skipf("loopback alias 127.0.0.2 is not installed (cannot listen on it): %v", err)
	}
	nodeAddr := ln.Addr().String()
	ln.Close()
	nodeURL := "http://" + nodeAddr

	bin := buildAtrium(t)
	dir := t.TempDir()
	dataDir := filepath.Join(dir, "data")

	// The receiver: 200 personal inboxes, /inbox/0 ... /inbox/199, on one server. It verifies
	// each signature with alice's key, records the delivery, and answers after 10-20 ms, so a
	// fan-out takes long enough to be interrupted.
	var (
		mu      sync.Mutex
		got     []crashDelivery
		bad     []string
		seen    atomic.Int32
		killed  atomic.Bool
		child   atomic.Pointer[os.Process]
		pub     atomic.Pointer[rsa.PublicKey]
		killReq = make(chan struct{})
	)
	verifier := &signature.Verifier{Resolver: resolverFunc(func(_ context.Context, id string, _ bool) (*signature.PublicKey, error) {
		k := pub.Load()
		if k == nil {
			return nil, errors.New("no key yet")
		}
		return &signature.PublicKey{ID: id, Owner: strings.TrimSuffix(id, "#main-key"), Key: k}, nil
	})}
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return // the sender died mid-request
		}
		if r.Method != http.MethodPost || !strings.HasPrefix(r.URL.Path, "/inbox/") {
			http.NotFound(w, r)
			return
		}
		if _, err := verifier.Verify(r.Context(), r, body); err != nil {
			mu.Lock()
			bad = append(bad, r.URL.Path+": "+err.Error())
			mu.Unlock()
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var a struct {
			ID     string          `json:"id"`
			Type   string          `json:"type"`
			Object json.RawMessage `json:"object"`
		}
		_ = json.Unmarshal(body, &a)
		var obj struct {
			ID string `json:"id"`
		}
		_ = json.Unmarshal(a.Object, &obj)
		mu.Lock()
		got = append(got, crashDelivery{r.URL.Path, a.ID, a.Type, obj.ID}) // applied on receipt
		mu.Unlock()
		if seen.Add(1) >= killAt {
			if p := child.Load(); p != nil && killed.CompareAndSwap(false, true) {
				_ = p.Kill() // SIGKILL while this and other deliveries are in flight
				close(killReq)
			}
		}
		time.Sleep(time.Duration(10+rand.IntN(11)) * time.Millisecond)
		w.WriteHeader(http.StatusAccepted)
	}))
	defer recv.Close()
	recvHost := recv.Listener.Addr().String() // 127.0.0.1:port

	// The data directory, prepared in-process with the settings the child gets as flags.
	cfg := config.Default()
	cfg.DataDir = dataDir
	cfg.Listen = nodeAddr
	cfg.SetURLExplicit(nodeURL)
	cfg.AllowInsecureHTTP = true
	cfg.AllowPrivateNets = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	cfg.Argon2MemoryKiB = 1024 // hashes carry their parameters; the child verifies them as they are
	token, aliceKey := prepareCrashNode(ctx, t, cfg, recv.URL, recvHost, followers)
	pub.Store(aliceKey)

	args := []string{"serve", "--data-dir", dataDir, "--url", nodeURL, "--listen", nodeAddr,
		"--allow-private-networks", "127.0.0.0/8", "--allow-insecure-http", "--log-level", "info"}

	// The test reads the jobs table while the child runs (SQLite in WAL mode allows it).
	d, err := db.Open(ctx, db.Options{Path: cfg.SQLitePath()})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()

	// First run: post, and let the receiver kill the node at the 60th delivery.
	first := startChild(t, bin, args)
	child.Store(first.cmd.Process)
	first.waitHealthy(t, nodeURL+"/healthz", 20*time.Second)
	postURI := postPublic(ctx, t, nodeURL, token, "Crash drill: this reaches every partner exactly once.")
	select {
	case <-killReq:
	case <-first.done:
		if !killed.Load() { // both may be ready at once when the receiver killed it
			t.Fatalf("first node exited before the kill: %v\n%s", first.err, first.out.tail())
		}
	case <-time.After(30 * time.Second):
		first.cmd.Process.Kill()
		t.Fatalf("the receiver saw only %d deliveries in 30 s, not %d\n%s", seen.Load(), killAt, first.out.tail())
	}
	<-first.done
	if ws, ok := first.cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("first node did not die of SIGKILL: %v", first.err)
	}
	killedAt := time.Now().UTC()
	mu.Lock()
	reachedAtKill := distinctInboxes(got)
	rawAtKill := len(got)
	mu.Unlock()
	if reachedAtKill >= followers {
		t.Fatalf("all %d inboxes were reached before the kill; the test proves nothing", followers)
	}
	held := leasedJobs(ctx, t, d, killedAt)
	pending := countJobs(ctx, t, d, delivery.Kind)
	t.Logf("killed after %d requests (%d/%d inboxes reached); %d deliveries stored, %d jobs leased by the dead process",
		rawAtKill, reachedAtKill, followers, pending, len(held))

	// Second run on the same data directory.
	second := startChild(t, bin, args)
	child.Store(second.cmd.Process) // killed by startChild's cleanup if the test fails
	second.waitHealthy(t, nodeURL+"/healthz", 20*time.Second)

	// The restarted node finishes the fan-out on its own: on SQLite it frees the leases the
	// dead process held at start (app.Node.Start), so nothing waits for them to run out.
	deadline := time.Now().Add(30 * time.Second)
	var reached int
	for {
		mu.Lock()
		reached = distinctInboxes(got)
		mu.Unlock()
		if reached == followers && countJobs(ctx, t, d, delivery.Kind, outbox.JobKind) == 0 {
			break
		}
		if time.Now().After(deadline) || second.exited() {
			t.Fatalf("after the restart %d/%d inboxes were reached in 30 s; jobs left: %s\n%s",
				reached, followers, describeJobs(allJobs(ctx, t, d)), second.out.tail())
		}
		time.Sleep(20 * time.Millisecond)
	}

	// A clean stop.
	second.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-second.done:
		if second.err != nil {
			t.Errorf("second node exited with %v after SIGTERM\n%s", second.err, second.out.tail())
		}
	case <-time.After(15 * time.Second):
		t.Errorf("second node did not stop within 15 s of SIGTERM")
	}

	mu.Lock()
	defer mu.Unlock()
	if len(bad) > 0 {
		t.Errorf("%d deliveries failed signature verification, e.g. %s", len(bad), bad[0])
	}
	perInbox := map[string]int{}
	effects := map[[2]string]bool{} // (inbox, activity id): the receiver's dedupe
	ids := map[string]bool{}
	for _, g := range got {
		perInbox[g.inbox]++
		effects[[2]string{g.inbox, g.id}] = true
		ids[g.id] = true
		if g.kind != "Create" || g.object != postURI {
			t.Errorf("%s got a %s of %q, want a Create of %s", g.inbox, g.kind, g.object, postURI)
		}
	}
	dups := 0
	for i := range followers {
		inbox := "/inbox/" + strconv.Itoa(i)
		if perInbox[inbox] == 0 {
			t.Errorf("%s never got the Create", inbox)
		}
		if perInbox[inbox] > 1 {
			dups += perInbox[inbox] - 1
		}
	}
	if len(perInbox) != followers {
		t.Errorf("%d distinct inboxes were posted to, want %d", len(perInbox), followers)
	}
	if len(ids) != 1 {
		t.Errorf("deliveries carried %d activity ids, want one: %v", len(ids), sortedKeys(ids))
	}
	if len(effects) != followers {
		t.Errorf("%d distinct (inbox, activity id) pairs, want exactly %d", len(effects), followers)
	}
	if n := countDead(ctx, t, d); n != 0 {
		t.Errorf("%d dead jobs after the fan-out: %s", n, describeJobs(allJobs(ctx, t, d)))
	}
	t.Logf("%d requests for %d inboxes: %d duplicates on the wire (in flight at the kill), each applied once after dedupe by id",
		len(got), followers, dups)
}

// buildAtrium builds this command into a temporary directory.
func buildAtrium(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("the go tool is not on PATH, so the atrium binary cannot be built: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "atrium")
	build := exec.Command(goTool, "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// prepareCrashNode sets the node up in-process and closes it: setup, alice with a write
// token, the receiver's host as partner, and n remote followers of alice, each with only a
// personal inbox on the receiver. It returns the token and alice's public key.
func prepareCrashNode(ctx context.Context, t *testing.T, cfg config.Config, recvURL, recvHost string, n int) (string, *rsa.PublicKey) {
	t.Helper()
	node, err := app.New(ctx, cfg, app.Options{Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer node.Close()
	if _, err := node.Accounts.RunSetup(ctx, accounts.Setup{OrgName: "Crash Co", URL: cfg.URL,
		Admin: accounts.NewUser{Username: "admin", Email: "admin@crash.example", Password: "crash test password"}}, "test"); err != nil {
		t.Fatal(err)
	}
	alice, err := node.Accounts.Create(ctx, accounts.CLIActor(), accounts.NewUser{Username: "alice", DisplayName: "Alice",
		Email: "alice@crash.example", Password: "alice's long password"})
	if err != nil {
		t.Fatal(err)
	}
	token, _, err := node.Accounts.CreateToken(ctx, accounts.CLIActor(), alice.ID, "crash test", "write")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := node.Partners.Add(ctx, orgs.CLIActor(), "127.0.0.1", "crash test receiver"); err != nil {
		t.Fatal(err)
	}
	pair, err := node.Keys.For(ctx, alice.ID) // made here rather than by the child's actor_key job
	if err != nil {
		t.Fatal(err)
	}
	// Followers go straight into the tables an accepted remote follow leaves behind (a row in
	// federated_follows and one in follows), so that no Accept is queued for them.
	now := time.Now().UTC()
	var fed []follows.Federated
	var edges []follows.Follow
	for i := range n {
		u, err := node.Accounts.UpsertRemote(ctx, accounts.RemoteProfile{Username: "f" + strconv.Itoa(i),
			DisplayName: "Follower " + strconv.Itoa(i), Remote: accounts.Remote{
				URI:    recvURL + "/users/f" + strconv.Itoa(i),
				Domain: recvHost,
				Inbox:  recvURL + "/inbox/" + strconv.Itoa(i), // no SharedInbox: one delivery per follower
			}})
		if err != nil {
			t.Fatal(err)
		}
		fed = append(fed, follows.Federated{FollowerID: u.ID, FolloweeID: alice.ID,
			ActivityURI: u.Remote.URI + "/follows/" + strconv.Itoa(i), State: follows.Accepted, CreatedAt: now})
		edges = append(edges, follows.Follow{FollowerID: u.ID, FolloweeID: alice.ID, CreatedAt: now})
	}
	if _, err := node.DB.NewInsert().Model(&fed).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := node.DB.NewInsert().Model(&edges).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	if got, err := node.Follows.RemoteFollowers(ctx, node.DB, alice.ID); err != nil || len(got) != n {
		t.Fatalf("alice has %d remote followers (%v), want %d", len(got), err, n)
	}
	return token, &pair.Private.PublicKey
}

// crashChild is one run of the binary.
type crashChild struct {
	cmd  *exec.Cmd
	out  *tailBuffer
	done chan struct{} // closed when the process has exited; err is then set
	err  error
}

func startChild(t *testing.T, bin string, args []string) *crashChild {
	t.Helper()
	cmd := exec.Command(bin, args...)
	for _, kv := range os.Environ() { // the flags, not the caller's ATRIUM_* settings
		if !strings.HasPrefix(kv, "ATRIUM_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	c := &crashChild{cmd: cmd, out: &tailBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = c.out, c.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { c.err = cmd.Wait(); close(c.done) }()
	t.Cleanup(func() {
		select {
		case <-c.done:
		default:
			cmd.Process.Kill()
			<-c.done
		}
	})
	return c
}

func (c *crashChild) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

func (c *crashChild) waitHealthy(t *testing.T, url string, limit time.Duration) {
	t.Helper()
	hc := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(limit)
	for {
		if resp, err := hc.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if c.exited() {
			t.Fatalf("atrium serve exited before it was healthy: %v\n%s", c.err, c.out.tail())
		}
		if time.Now().After(deadline) {
			t.Fatalf("atrium serve not healthy after %s\n%s", limit, c.out.tail())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// postPublic posts a public status through the Mastodon API and returns its URI.
func postPublic(ctx context.Context, t *testing.T, base, token, text string) string {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"status": text, "visibility": "public"})
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/v1/statuses", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var st struct {
		URI string `json:"uri"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal(b, &st) != nil || st.URI == "" {
		t.Fatalf("POST /api/v1/statuses: %s: %s", resp.Status, b)
	}
	return st.URI
}

// jobRow is what the test reads of the jobs table.
type jobRow struct {
	ID          string     `bun:"id"`
	Kind        string     `bun:"kind"`
	State       string     `bun:"state"`
	Attempts    int        `bun:"attempts"`
	LockedUntil *time.Time `bun:"locked_until"`
	LastError   string     `bun:"last_error"`
}

func allJobs(ctx context.Context, t *testing.T, d *db.DB) []jobRow {
	t.Helper()
	var rows []jobRow
	if err := d.NewSelect().TableExpr("jobs").Column("id", "kind", "state", "attempts", "locked_until", "last_error").
		OrderExpr("id").Scan(ctx, &rows); err != nil {
		t.Fatal(err)
	}
	return rows
}

// leasedJobs are the jobs whose lease outlives now: after a kill, those the dead process held.
func leasedJobs(ctx context.Context, t *testing.T, d *db.DB, now time.Time) []jobRow {
	var out []jobRow
	for _, j := range allJobs(ctx, t, d) {
		if j.LockedUntil != nil && j.LockedUntil.After(now) {
			out = append(out, j)
		}
	}
	return out
}

func countJobs(ctx context.Context, t *testing.T, d *db.DB, kinds ...string) int {
	t.Helper()
	n, err := d.NewSelect().TableExpr("jobs").Where("kind IN (?)", bun.In(kinds)).Count(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return int(n)
}

func countDead(ctx context.Context, t *testing.T, d *db.DB) int {
	t.Helper()
	n, err := d.NewSelect().TableExpr("jobs").Where("state = 'dead'").Count(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return int(n)
}

func describeJobs(js []jobRow) string {
	if len(js) == 0 {
		return "none"
	}
	kinds := map[string]int{}
	for _, j := range js {
		k := j.Kind + "/" + j.State
		if j.LockedUntil != nil {
			k += "/leased"
		}
		kinds[k]++
	}
	var parts []string
	for k, n := range kinds {
		parts = append(parts, fmt.Sprintf("%d %s", n, k))
	}
	sort.Strings(parts)
	s := strings.Join(parts, ", ")
	if e := js[0].LastError; e != "" {
		s += "; e.g. last error " + e
	}
	return s
}

// crashDelivery is one request the receiver accepted: inbox path, activity id and type, object id.
type crashDelivery struct{ inbox, id, kind, object string }

func distinctInboxes(got []crashDelivery) int {
	seen := map[string]bool{}
	for _, g := range got {
		seen[g.inbox] = true
	}
	return len(seen)
}

func sortedKeys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// resolverFunc adapts a function to signature.KeyResolver.
type resolverFunc func(ctx context.Context, keyID string, refresh bool) (*signature.PublicKey, error)

func (f resolverFunc) ResolveKey(ctx context.Context, keyID string, refresh bool) (*signature.PublicKey, error) {
	return f(ctx, keyID, refresh)
}

// tailBuffer keeps a child's output for failure messages.
type tailBuffer struct{ lockedBuffer }

func (b *tailBuffer) tail() string {
	s := b.String()
	if len(s) > 8000 {
		s = "...\n" + s[len(s)-8000:]
	}
	return s
}
