package jobs

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/atrium-social/atrium/internal/clock"
	"github.com/atrium-social/atrium/internal/testutil/dbtest"
)

// BenchmarkEnqueueRun measures end-to-end throughput of no-op jobs: each enqueued in its
// own transaction (EnqueueNow) while the workers claim and delete them. Run with
// -benchtime=5000x or so; it reports jobs/s.
func BenchmarkEnqueueRun(b *testing.B) {
	for _, engine := range dbtest.Engines() {
		b.Run(engine, func(b *testing.B) {
			d := dbtest.Open(b, engine)
			ctx := context.Background()
			q := New(d, clock.System{}, nil, Options{Workers: 8, Poll: 50 * time.Millisecond})
			var done atomic.Int64
			q.Handle("noop", func(context.Context, *Job) error { done.Add(1); return nil })
			q.Start(ctx)
			defer q.Close()
			start := time.Now()
			b.ResetTimer()
			for i := range b.N {
				if err := q.EnqueueNow(ctx, "noop", i); err != nil {
					b.Fatal(err)
				}
			}
			for done.Load() < int64(b.N) {
				time.Sleep(time.Millisecond)
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "jobs/s")
		})
	}
}

// BenchmarkBacklog measures how fast the workers empty a backlog of no-op jobs that is
// already stored (claiming and deleting only).
func BenchmarkBacklog(b *testing.B) {
	for _, engine := range dbtest.Engines() {
		b.Run(engine, func(b *testing.B) {
			d := dbtest.Open(b, engine)
			ctx := context.Background()
			q := New(d, clock.System{}, nil, Options{Workers: 8, Poll: 50 * time.Millisecond})
			var done atomic.Int64
			q.Handle("noop", func(context.Context, *Job) error { done.Add(1); return nil })
			for i := range b.N {
				if err := q.Enqueue(ctx, d, "noop", i); err != nil {
					b.Fatal(err)
				}
			}
			start := time.Now()
			b.ResetTimer()
			q.Start(ctx)
			defer q.Close()
			for done.Load() < int64(b.N) {
				time.Sleep(time.Millisecond)
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "jobs/s")
		})
	}
}
