package jobs

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/atrium-social/atrium/internal/clock"
	"github.com/atrium-social/atrium/internal/db"
	"github.com/atrium-social/atrium/internal/testutil/dbtest"
)

// waitFor polls cond (real time) and fails the test after limit.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", limit, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestLeaseExpiryRecoversCrashedJob(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		c := clock.NewFake(t0)
		crashed := newQueue(d, c, Options{Lease: time.Minute})
		crashed.Handle("deliver", func(context.Context, *Job) error { return nil })
		if err := crashed.EnqueueNow(ctx, "deliver", payload{"1"}); err != nil {
			t.Fatal(err)
		}
		// The first process claims the job and dies before finishing it.
		claimed, err := crashed.claim(ctx, 10)
		if err != nil || len(claimed) != 1 {
			t.Fatalf("claim: %v, %d jobs", err, len(claimed))
		}
		other := newQueue(d, c, Options{Lease: time.Minute})
		rec := &recorder{fail: func(*Job) error { return errors.New("still failing") }}
		other.Handle("deliver", rec.handle)
		drain(t, other)
		if rec.count() != 0 {
			t.Fatal("a leased job ran elsewhere before its lease ran out")
		}
		if st, _ := other.Stats(ctx); st.Running != 1 {
			t.Fatalf("stats %+v, want 1 running", st)
		}
		c.Advance(time.Minute)
		drain(t, other)
		if rec.count() != 1 || rec.last().Attempts != 2 {
			t.Fatalf("%d runs after lease expiry (want 1 on attempt 2)", rec.count())
		}
		// The zombie finishing late must not overwrite the new owner's outcome.
		crashed.finish(ctx, crashed.handlerFor("deliver"), claimed[0], nil, 0)
		crashed.unreserve(claimed)
		rs := stored(t, d)
		if len(rs) != 1 || rs[0].Attempts != 2 || rs[0].LastError != "still failing" {
			t.Fatalf("late outcome of a lost lease was applied: %+v", rs)
		}
	})
}

func TestTwoQueuesRunEachJobExactlyOnce(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		const n = 500
		var mu sync.Mutex
		runs := map[string]int{}
		by := map[int]int{}
		queues := make([]*Queue, 2)
		for i := range queues {
			q := New(d, clock.System{}, nil, Options{Workers: 4, Poll: 20 * time.Millisecond})
			q.Handle("noop", func(_ context.Context, j *Job) error {
				mu.Lock()
				runs[j.ID]++
				by[i]++
				mu.Unlock()
				return nil
			})
			queues[i] = q
		}
		for i := range n {
			if err := queues[0].Enqueue(ctx, d, "noop", i); err != nil {
				t.Fatal(err)
			}
		}
		for _, q := range queues {
			q.Start(ctx)
		}
		waitFor(t, 20*time.Second, fmt.Sprintf("%d jobs", n), func() bool {
			mu.Lock()
			defer mu.Unlock()
			return len(runs) == n
		})
		for _, q := range queues {
			q.Close()
		}
		for id, c := range runs {
			if c != 1 {
				t.Errorf("job %s ran %d times", id, c)
			}
		}
		if rs := stored(t, d); len(rs) != 0 {
			t.Errorf("%d jobs left after all ran", len(rs))
		}
		t.Logf("jobs run per queue: %v", by)
	})
}

// gauge tracks the most handlers seen at once per key.
type gauge struct {
	mu       sync.Mutex
	now, max map[string]int
	done     int
}

func (g *gauge) enter(k string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.now[k]++
	g.max[k] = max(g.max[k], g.now[k])
}

func (g *gauge) leave(k string) { g.mu.Lock(); g.now[k]--; g.done++; g.mu.Unlock() }

func (g *gauge) finished() int { g.mu.Lock(); defer g.mu.Unlock(); return g.done }

func TestPartitionAndKindLimits(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		q := New(d, clock.System{}, nil, Options{Workers: 8, PartitionLimit: 2, Poll: 20 * time.Millisecond})
		g := &gauge{now: map[string]int{}, max: map[string]int{}}
		slow := func(key func(*Job) string) Handler {
			return func(_ context.Context, j *Job) error {
				g.enter(key(j))
				time.Sleep(15 * time.Millisecond)
				g.leave(key(j))
				return nil
			}
		}
		q.Handle("deliver", slow(func(j *Job) string { return "host " + j.Partition }))
		q.Handle("index", slow(func(*Job) string { return "kind index" }), Concurrency(1))
		total := 0
		for i := range 12 {
			for _, host := range []string{"a.example", "b.example", ""} {
				if err := q.Enqueue(ctx, d, "deliver", i, Partition(host)); err != nil {
					t.Fatal(err)
				}
				total++
			}
			if err := q.Enqueue(ctx, d, "index", i); err != nil {
				t.Fatal(err)
			}
			total++
		}
		q.Start(ctx)
		defer q.Close()
		waitFor(t, 20*time.Second, "all jobs", func() bool { return g.finished() == total })
		g.mu.Lock()
		defer g.mu.Unlock()
		for _, k := range []string{"host a.example", "host b.example"} {
			if g.max[k] != 2 {
				t.Errorf("%s: at most %d at once, want the limit 2 reached and kept", k, g.max[k])
			}
		}
		if g.max["kind index"] != 1 {
			t.Errorf("index: %d at once, want Concurrency(1)", g.max["kind index"])
		}
		if g.max["host "] <= 2 {
			t.Errorf("jobs without a partition ran at most %d at once; they must not share a limit", g.max["host "])
		}
	})
}

func TestStats(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		c := clock.NewFake(t0)
		q := newQueue(d, c, Options{})
		q.Handle("deliver", func(context.Context, *Job) error { return Permanent(errors.New("400")) })
		q.Handle("mail", func(context.Context, *Job) error { return nil })
		must := func(err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
		}
		must(q.EnqueueNow(ctx, "deliver", 1, Partition("a.example")))
		must(q.EnqueueNow(ctx, "deliver", 2, Partition("a.example")))
		drain(t, q) // both dead
		must(q.EnqueueNow(ctx, "deliver", 3, Partition("b.example")))
		c.Advance(time.Second) // same-instant ULIDs do not sort by creation
		must(q.EnqueueNow(ctx, "mail", 4))
		claimed, err := q.claim(ctx, 1) // the oldest pending: deliver 3, now running
		must(err)
		defer q.unreserve(claimed)
		must(q.EnqueueNow(ctx, "mail", 5, Delay(time.Hour)))
		must(q.EnqueueNow(ctx, "unhandled", 6))
		st, err := q.Stats(ctx)
		must(err)
		want := Stats{
			Counts: Counts{Pending: 3, Running: 1, Dead: 2},
			ByKind: map[string]Counts{
				"deliver":   {Running: 1, Dead: 2},
				"mail":      {Pending: 2},
				"unhandled": {Pending: 1},
			},
			ByPartition: map[string]Counts{
				"a.example": {Dead: 2},
				"b.example": {Running: 1},
				"":          {Pending: 3},
			},
		}
		if fmt.Sprint(st) != fmt.Sprint(want) {
			t.Fatalf("stats\n got %+v\nwant %+v", st, want)
		}
	})
}

func TestWakeRunsJobWithoutWaitingForPoll(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		q := New(d, clock.System{}, nil, Options{Poll: time.Hour})
		rec := &recorder{}
		q.Handle("mail", rec.handle)
		q.Start(ctx)
		defer q.Close()
		time.Sleep(20 * time.Millisecond) // let the dispatcher go idle
		if err := q.EnqueueNow(ctx, "mail", 1); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 5*time.Second, "the woken worker", func() bool { return rec.count() == 1 })
	})
}

func TestCloseReleasesInterruptedJob(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		q := New(d, clock.System{}, nil, Options{})
		started := make(chan struct{})
		q.Handle("slow", func(ctx context.Context, _ *Job) error {
			close(started)
			<-ctx.Done()
			return ctx.Err()
		})
		q.Start(ctx)
		if err := q.EnqueueNow(ctx, "slow", 1); err != nil {
			t.Fatal(err)
		}
		<-started
		q.Close()
		rs := stored(t, d)
		if len(rs) != 1 || rs[0].State != StatePending || rs[0].Attempts != 0 || rs[0].LockedUntil != nil {
			t.Fatalf("interrupted job not released for the next start: %+v", rs)
		}
	})
}
