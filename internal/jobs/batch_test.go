package jobs

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/atrium-social/atrium/internal/clock"
	"github.com/atrium-social/atrium/internal/db"
	"github.com/atrium-social/atrium/internal/testutil/dbtest"
)

func TestBatchHandlerOutcomesAreEachJobsOwn(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		c := clock.NewFake(t0)
		q := newQueue(d, c, Options{Workers: 16})
		var sizes []int
		q.HandleBatch("apply", func(_ context.Context, js []*Job) []error {
			sizes = append(sizes, len(js))
			out := make([]error, len(js))
			for i, j := range js {
				var n int
				if err := j.Decode(&n); err != nil {
					t.Fatal(err)
				}
				switch {
				case n == 9:
					out[i] = Permanent(errors.New("refused"))
				case n%2 == 1:
					out[i] = errors.New("try again")
				}
			}
			return out
		}, 4)
		for i := range 10 {
			if err := q.Enqueue(ctx, d, "apply", i); err != nil {
				t.Fatal(err)
			}
		}
		drain(t, q)
		total := 0
		for _, n := range sizes {
			if n > 4 {
				t.Errorf("a batch of %d jobs, want at most 4", n)
			}
			total += n
		}
		if total != 10 || len(sizes) != 3 {
			t.Fatalf("batches %v, want 10 jobs in 3 calls", sizes)
		}
		rs := stored(t, d)
		if len(rs) != 5 {
			t.Fatalf("%d jobs left, want the 5 odd ones", len(rs))
		}
		for _, r := range rs {
			var n int
			(&Job{Payload: []byte(r.Payload)}).Decode(&n)
			switch {
			case n == 9 && (r.State != StateDead || r.LastError != "permanent: refused"):
				t.Errorf("job 9: %+v, want dead", r)
			case n != 9 && (r.State != StatePending || r.LastError != "try again" || r.Attempts != 1 || !r.RunAt.After(t0)):
				t.Errorf("job %d: %+v, want a retry", n, r)
			}
		}
		if st, _ := q.Stats(ctx); st.Running != 0 {
			t.Fatalf("stats %+v: a slot leaked", st)
		}
	})
}

func TestBatchHandlerPanicOrShortAnswerRetriesAll(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		c := clock.NewFake(t0)
		q := newQueue(d, c, Options{})
		calls := 0
		q.HandleBatch("apply", func(_ context.Context, js []*Job) []error {
			calls++
			if calls == 1 {
				panic("boom")
			}
			return nil // no outcome at all
		}, 8)
		for i := range 3 {
			if err := q.Enqueue(ctx, d, "apply", i); err != nil {
				t.Fatal(err)
			}
		}
		drain(t, q)
		c.Advance(time.Hour)
		drain(t, q)
		rs := stored(t, d)
		if calls != 2 || len(rs) != 3 {
			t.Fatalf("%d calls, %d jobs left; want 2 calls and every job kept", calls, len(rs))
		}
		for _, r := range rs {
			if r.Attempts != 2 || r.State != StatePending || r.LastError == "" {
				t.Errorf("%+v: want two failed attempts", r)
			}
		}
	})
}

func TestBatchConcurrencyBoundsCalls(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		q := New(d, clock.System{}, nil, Options{Workers: 32, Poll: 20 * time.Millisecond})
		var mu sync.Mutex
		now, most, done, biggest := 0, 0, 0, 0
		q.HandleBatch("apply", func(_ context.Context, js []*Job) []error {
			mu.Lock()
			now++
			most, biggest = max(most, now), max(biggest, len(js))
			mu.Unlock()
			time.Sleep(10 * time.Millisecond)
			mu.Lock()
			now--
			done += len(js)
			mu.Unlock()
			return make([]error, len(js))
		}, 5, Concurrency(2))
		const total = 60
		for i := range total {
			if err := q.Enqueue(ctx, d, "apply", i); err != nil {
				t.Fatal(err)
			}
		}
		q.Start(ctx)
		defer q.Close()
		waitFor(t, 20*time.Second, "all jobs", func() bool { mu.Lock(); defer mu.Unlock(); return done == total })
		// A batch's rows are deleted after its handler returns: wait for that too.
		waitFor(t, 20*time.Second, "all rows deleted", func() bool { return len(stored(t, d)) == 0 })
		mu.Lock()
		defer mu.Unlock()
		if most != 2 || biggest != 5 {
			t.Fatalf("at most %d calls at once with up to %d jobs; want 2 calls of up to 5", most, biggest)
		}
	})
}
