package jobs

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/atrium-social/atrium/internal/clock"
	"github.com/atrium-social/atrium/internal/db"
	"github.com/atrium-social/atrium/internal/testutil/dbtest"
)

var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// fixedBackoff makes retry times predictable: 1m, 2m, 4m ... capped at 1h.
var fixedBackoff = ExponentialBackoff(time.Minute, time.Hour)

func newQueue(d *db.DB, c clock.Clock, o Options) *Queue {
	if o.Backoff == nil {
		o.Backoff = fixedBackoff
	}
	return New(d, c, nil, o)
}

// recorder is a handler that counts its calls and fails while fail says so.
type recorder struct {
	mu    sync.Mutex
	calls []Job
	fail  func(j *Job) error
}

func (r *recorder) handle(_ context.Context, j *Job) error {
	r.mu.Lock()
	r.calls = append(r.calls, *j)
	fail := r.fail
	r.mu.Unlock()
	if fail != nil {
		return fail(j)
	}
	return nil
}

func (r *recorder) count() int { r.mu.Lock(); defer r.mu.Unlock(); return len(r.calls) }

func (r *recorder) last() Job { r.mu.Lock(); defer r.mu.Unlock(); return r.calls[len(r.calls)-1] }

func stored(t *testing.T, d *db.DB) []row {
	t.Helper()
	var rs []row
	if err := d.NewSelect().Model(&rs).Order("id").Scan(context.Background()); err != nil {
		t.Fatal(err)
	}
	return rs
}

func drain(t *testing.T, q *Queue) {
	t.Helper()
	if err := q.Drain(context.Background()); err != nil {
		t.Fatalf("drain: %v", err)
	}
}

type payload struct {
	PostID string `json:"post_id"`
}

func TestEnqueueInRolledBackTxLeavesNothing(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		c := clock.NewFake(t0)
		q := newQueue(d, c, Options{})
		rec := &recorder{}
		q.Handle("preview", rec.handle)
		boom := errors.New("boom")
		err := d.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
			if err := q.Enqueue(ctx, tx, "preview", payload{"p1"}); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("tx: %v", err)
		}
		drain(t, q)
		if n := len(stored(t, d)); n != 0 || rec.count() != 0 {
			t.Fatalf("rolled back enqueue left %d rows, %d runs", n, rec.count())
		}
	})
}

func TestEnqueueInCommittedTxRunsOnce(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		c := clock.NewFake(t0)
		q := newQueue(d, c, Options{})
		rec := &recorder{}
		q.Handle("preview", rec.handle)
		err := d.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
			return q.Enqueue(ctx, tx, "preview", payload{"p1"}, Partition("example.com"))
		})
		if err != nil {
			t.Fatal(err)
		}
		drain(t, q)
		drain(t, q)
		if rec.count() != 1 {
			t.Fatalf("ran %d times, want 1", rec.count())
		}
		j := rec.last()
		var p payload
		if err := j.Decode(&p); err != nil || p.PostID != "p1" {
			t.Fatalf("payload %+v, %v", p, err)
		}
		if j.Kind != "preview" || j.Attempts != 1 || j.Partition != "example.com" || !j.RunAt.Equal(t0) {
			t.Fatalf("job %+v", j)
		}
		if n := len(stored(t, d)); n != 0 {
			t.Fatalf("a successful job must be deleted, %d rows left", n)
		}
	})
}

func TestFutureJobWaitsForItsTime(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		c := clock.NewFake(t0)
		q := newQueue(d, c, Options{})
		rec := &recorder{}
		q.Handle("mail", rec.handle)
		if err := q.EnqueueNow(ctx, "mail", 1, Delay(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := q.EnqueueNow(ctx, "mail", 2, RunAt(t0.Add(2*time.Hour))); err != nil {
			t.Fatal(err)
		}
		for i, step := range []time.Duration{0, time.Hour - time.Second, time.Second, time.Hour} {
			c.Advance(step)
			drain(t, q)
			if want := []int{0, 0, 1, 2}[i]; rec.count() != want {
				t.Fatalf("after step %d: %d runs, want %d", i, rec.count(), want)
			}
		}
	})
}

func TestDedupe(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		c := clock.NewFake(t0)
		q := newQueue(d, c, Options{})
		rec := &recorder{}
		q.Handle("deliver", rec.handle)
		key := Dedupe("act1 https://b.example/inbox")
		// Both in one transaction: on PostgreSQL the no-op must not abort it.
		err := d.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
			for range 2 {
				if err := q.Enqueue(ctx, tx, "deliver", payload{"1"}, key); err != nil {
					return err
				}
			}
			return q.Enqueue(ctx, tx, "deliver", payload{"2"}, Dedupe("act1 https://c.example/inbox"))
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := q.EnqueueNow(ctx, "deliver", payload{"3"}, key); err != nil {
			t.Fatal(err)
		}
		if n := len(stored(t, d)); n != 2 {
			t.Fatalf("%d rows, want 2", n)
		}
		drain(t, q)
		if rec.count() != 2 {
			t.Fatalf("%d runs, want 2", rec.count())
		}
		// Done jobs are deleted, so the key is free again.
		if err := q.EnqueueNow(ctx, "deliver", payload{"4"}, key); err != nil {
			t.Fatal(err)
		}
		if n := len(stored(t, d)); n != 1 {
			t.Fatalf("%d rows after re-enqueue, want 1", n)
		}
	})
}

func TestErrorRetriesWithBackoff(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		c := clock.NewFake(t0)
		q := newQueue(d, c, Options{})
		rec := &recorder{fail: func(j *Job) error {
			if j.Attempts < 3 {
				return errors.New("connection refused")
			}
			return nil
		}}
		q.Handle("deliver", rec.handle)
		if err := q.EnqueueNow(ctx, "deliver", payload{"1"}); err != nil {
			t.Fatal(err)
		}
		drain(t, q)
		rs := stored(t, d)
		if rec.count() != 1 || len(rs) != 1 || rs[0].Attempts != 1 || rs[0].LockedUntil != nil {
			t.Fatalf("after first failure: %d runs, rows %+v", rec.count(), rs)
		}
		if !rs[0].RunAt.Equal(t0.Add(time.Minute)) || !strings.Contains(rs[0].LastError, "refused") {
			t.Fatalf("retry at %v (want %v), last_error %q", rs[0].RunAt, t0.Add(time.Minute), rs[0].LastError)
		}
		c.Advance(59 * time.Second)
		drain(t, q)
		if rec.count() != 1 {
			t.Fatal("retried before its backoff passed")
		}
		c.Advance(time.Second)
		drain(t, q)
		if rec.count() != 2 || rec.last().LastError != "connection refused" {
			t.Fatalf("%d runs, last %+v", rec.count(), rec.last())
		}
		if rs := stored(t, d); !rs[0].RunAt.Equal(c.Now().Add(2 * time.Minute)) {
			t.Fatalf("second retry at %v, want doubled backoff", rs[0].RunAt)
		}
		c.Advance(2 * time.Minute)
		drain(t, q)
		if rec.count() != 3 || len(stored(t, d)) != 0 {
			t.Fatalf("%d runs, %d rows; want 3 runs and the job deleted", rec.count(), len(stored(t, d)))
		}
	})
}

func TestPermanentErrorIsDeadAtOnce(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		c := clock.NewFake(t0)
		q := newQueue(d, c, Options{})
		rec := &recorder{fail: func(*Job) error { return Permanent(errors.New("410 gone")) }}
		q.Handle("deliver", rec.handle)
		if err := q.EnqueueNow(ctx, "deliver", payload{"1"}); err != nil {
			t.Fatal(err)
		}
		drain(t, q)
		c.Advance(48 * time.Hour)
		drain(t, q)
		rs := stored(t, d)
		if rec.count() != 1 || len(rs) != 1 || rs[0].State != StateDead || !strings.Contains(rs[0].LastError, "410 gone") {
			t.Fatalf("%d runs, rows %+v", rec.count(), rs)
		}
	})
}

func TestRetryAfterIsHonoured(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		c := clock.NewFake(t0)
		q := newQueue(d, c, Options{})
		rec := &recorder{fail: func(j *Job) error {
			if j.Attempts == 1 {
				return RetryAfter(errors.New("429 too many requests"), 10*time.Minute)
			}
			return nil
		}}
		q.Handle("deliver", rec.handle)
		if err := q.EnqueueNow(ctx, "deliver", payload{"1"}); err != nil {
			t.Fatal(err)
		}
		drain(t, q)
		if rs := stored(t, d); !rs[0].RunAt.Equal(t0.Add(10 * time.Minute)) {
			t.Fatalf("retry at %v, want Retry-After's 10m", rs[0].RunAt)
		}
		c.Advance(9 * time.Minute)
		drain(t, q)
		c.Advance(time.Minute)
		drain(t, q)
		if rec.count() != 2 || len(stored(t, d)) != 0 {
			t.Fatalf("%d runs, want 2 and done", rec.count())
		}
	})
}

func TestMaxAttemptsThenDead(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		c := clock.NewFake(t0)
		q := newQueue(d, c, Options{MaxAttempts: 50})
		rec := &recorder{fail: func(*Job) error { return errors.New("503") }}
		q.Handle("deliver", rec.handle, MaxAttempts(3))
		if err := q.EnqueueNow(ctx, "deliver", payload{"1"}); err != nil {
			t.Fatal(err)
		}
		for range 6 {
			drain(t, q)
			c.Advance(2 * time.Hour)
		}
		rs := stored(t, d)
		if rec.count() != 3 || len(rs) != 1 || rs[0].State != StateDead || rs[0].Attempts != 3 || rs[0].MaxAttempts != 3 {
			t.Fatalf("%d runs, rows %+v", rec.count(), rs)
		}
		st, err := q.Stats(ctx)
		if err != nil || st.Dead != 1 || st.Pending != 0 || st.ByKind["deliver"].Dead != 1 {
			t.Fatalf("stats %+v, %v", st, err)
		}
	})
}

func TestPanicIsRetried(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		c := clock.NewFake(t0)
		q := newQueue(d, c, Options{})
		q.Handle("bad", func(context.Context, *Job) error { panic("nil map") })
		if err := q.EnqueueNow(ctx, "bad", nil); err != nil {
			t.Fatal(err)
		}
		drain(t, q)
		rs := stored(t, d)
		if len(rs) != 1 || rs[0].State != StatePending || !strings.Contains(rs[0].LastError, "panicked: nil map") {
			t.Fatalf("rows %+v", rs)
		}
	})
}

func TestDrainRunsJobsThatHandlersEnqueue(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		q := newQueue(d, clock.NewFake(t0), Options{})
		rec := &recorder{}
		q.Handle("fanout", func(ctx context.Context, j *Job) error {
			for i := range 3 {
				if err := q.EnqueueNow(ctx, "deliver", i, Dedupe(fmt.Sprint(j.ID, i))); err != nil {
					return err
				}
			}
			return nil
		})
		q.Handle("deliver", rec.handle)
		if err := q.EnqueueNow(ctx, "fanout", nil); err != nil {
			t.Fatal(err)
		}
		drain(t, q)
		if rec.count() != 3 || len(stored(t, d)) != 0 {
			t.Fatalf("%d deliveries ran, %d rows left", rec.count(), len(stored(t, d)))
		}
	})
}
