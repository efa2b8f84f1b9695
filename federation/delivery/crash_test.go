package delivery

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/atrium-social/atrium/federation/keys"
	"github.com/atrium-social/atrium/federation/signature"
	"github.com/atrium-social/atrium/internal/db"
	"github.com/atrium-social/atrium/internal/jobs"
)

// The helper-process protocol: the test binary re-executes itself with these variables set
// and -test.run selecting TestDeliveryChildProcess, which then runs the delivery workers.
const (
	envChildDB     = "ATRIUM_DELIVERY_CHILD_DB"
	envChildMode   = "ATRIUM_DELIVERY_CHILD_MODE"   // "run": Start and wait to be killed; "drain": Drain and exit
	envChildOffset = "ATRIUM_DELIVERY_CHILD_OFFSET" // clock offset, a time.Duration
)

// offsetClock is the real clock moved by d: the restarted process uses it to stand for a
// restart that happens after the killed process's leases ran out, without waiting for them.
type offsetClock struct{ d time.Duration }

func (c offsetClock) Now() time.Time { return time.Now().UTC().Add(c.d) }

// TestDeliveryChildProcess is not a test: it is the child process of
// TestCrashMidFanOutLosesNothing, and skips unless started as one.
func TestDeliveryChildProcess(t *testing.T) {
	path := os.Getenv(envChildDB)
	if path == "" {
		t.Skip("helper process: " + envChildDB + " is absent, so not started by TestCrashMidFanOutLosesNothing")
	}
	offset, err := time.ParseDuration(os.Getenv(envChildOffset))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	d, err := db.Open(ctx, db.Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	clk := offsetClock{offset}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	q := jobs.New(d, clk, log, jobs.Options{Workers: 16})
	hc := testClient()
	New(Deps{DB: d, Jobs: q, Keys: &keys.Store{DB: d, Clock: clk}, HTTP: hc, Clock: clk, Log: log, Concurrency: 16})
	switch os.Getenv(envChildMode) {
	case "run":
		q.Start(ctx)
		<-ctx.Done() // the parent kills us long before
		t.Fatal("not killed in time")
	case "drain":
		if err := q.Drain(ctx); err != nil {
			t.Fatal(err)
		}
	default:
		t.Fatal("unknown mode")
	}
}

// TestCrashMidFanOutLosesNothing fans one activity out to 200 inboxes from a child process,
// kill -9s it once the receivers have seen 30% of them, starts a new process on the same
// SQLite file, and checks that every inbox got the activity at least once and, deduplicated
// by activity id as receivers do, exactly once.
func TestCrashMidFanOutLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("short: starts child processes")
	}
	const inboxes, killAt = 200, 60
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "atrium.db")
	d, err := db.Open(ctx, db.Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := d.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	storeKey(t, d, signerID, key(t), now)

	var (
		mu       sync.Mutex
		requests = map[string]int{}             // inbox -> requests
		effects  = map[string]map[string]bool{} // inbox -> activity ids applied
		bad      []string
		seen     atomic.Int32
		child    atomic.Pointer[os.Process]
		killed   atomic.Bool
	)
	verifier := &signature.Verifier{Resolver: keyResolver{&key(t).PublicKey}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		name, _, _ := net.SplitHostPort(r.Host)
		inbox := name + r.URL.Path
		if _, err := verifier.Verify(r.Context(), r, body); err != nil {
			mu.Lock()
			bad = append(bad, inbox+": "+err.Error())
			mu.Unlock()
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var a struct {
			ID string `json:"id"`
		}
		_ = json.Unmarshal(body, &a)
		mu.Lock()
		requests[inbox]++
		if effects[inbox] == nil {
			effects[inbox] = map[string]bool{}
		}
		effects[inbox][a.ID] = true // the receiver's dedupe by activity id
		mu.Unlock()
		if seen.Add(1) >= killAt {
			if p := child.Load(); p != nil && killed.CompareAndSwap(false, true) {
				_ = p.Kill() // SIGKILL, while other deliveries are in flight
			}
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())

	var list []string
	for i := range inboxes {
		u := fmt.Sprintf("http://h%d.test:%s/inbox", i, port)
		list = append(list, u, u) // twice: a shared inbox named by two followers
	}
	svc := New(Deps{DB: d, Jobs: jobs.New(d, offsetClock{}, nil, jobs.Options{}), Keys: &keys.Store{DB: d, Clock: offsetClock{}},
		HTTP: testClient(), Clock: offsetClock{}})
	a := testActivity("https://our.example/activities/crash", "Create", "")
	if err := svc.Send(ctx, d, a, list); err != nil {
		t.Fatal(err)
	}

	start := func(mode string, offset time.Duration) (*exec.Cmd, *lockedBuffer) {
		cmd := exec.Command(os.Args[0], "-test.run=^TestDeliveryChildProcess$", "-test.count=1")
		cmd.Env = append(os.Environ(), envChildDB+"="+path, envChildMode+"="+mode, envChildOffset+"="+offset.String())
		out := &lockedBuffer{}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd, out
	}

	first, out1 := start("run", 0)
	child.Store(first.Process)
	err = first.Wait()
	ws, _ := first.ProcessState.Sys().(syscall.WaitStatus)
	if !killed.Load() || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("first child was not killed mid fan-out: %v\n%s", err, out1.String())
	}
	mu.Lock()
	before := len(requests)
	mu.Unlock()
	if before >= inboxes {
		t.Fatalf("all %d inboxes were reached before the kill; the test proves nothing", before)
	}
	t.Logf("killed after %d requests, %d/%d inboxes reached", seen.Load(), before, inboxes)

	// The restart comes "after" the dead process's leases (2 minutes) ran out.
	second, out2 := start("drain", 3*time.Minute)
	if err := second.Wait(); err != nil {
		t.Fatalf("second child: %v\n%s", err, out2.String())
	}

	mu.Lock()
	defer mu.Unlock()
	if len(bad) > 0 {
		t.Errorf("signature failures: %v", bad)
	}
	total, dups := 0, 0
	for i := range inboxes {
		inbox := "h" + strconv.Itoa(i) + ".test/inbox"
		n := requests[inbox]
		if n == 0 {
			t.Errorf("%s never got the activity", inbox)
		}
		if len(effects[inbox]) != 1 || !effects[inbox][a.URI] {
			t.Errorf("%s applied %v, want exactly %s", inbox, effects[inbox], a.URI)
		}
		total += n
		dups += n - 1
	}
	t.Logf("%d requests for %d inboxes: %d redelivered after the crash (at least once, deduplicated by id)", total, inboxes, dups)
	var left int64
	if left, err = d.NewSelect().TableExpr("jobs").Where("kind = ?", Kind).Count(ctx); err != nil || left != 0 {
		t.Errorf("jobs left: %d (%v)", left, err)
	}
}

// lockedBuffer collects a child's output.
type lockedBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b = append(l.b, p...)
	return len(p), nil
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return string(l.b)
}
