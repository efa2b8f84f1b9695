package jobs

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"
	"time"

	"github.com/uptrace/bun"
)

// maxErrorLen bounds last_error: enough to diagnose, small enough for an admin table.
const maxErrorLen = 2000

// Start runs workers until ctx ends or Close is called. A dispatcher claims due jobs (up to
// Workers at a time) when polled, woken by Wake, or when a running job finishes; each job
// runs in its own goroutine. Start may be called once per Queue.
func (q *Queue) Start(ctx context.Context) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.cancel != nil {
		panic("jobs: Start called twice")
	}
	ctx, q.cancel = context.WithCancel(ctx)
	q.wg.Add(1)
	go q.dispatch(ctx)
}

// ReleaseLeases frees every pending job's lease. Call it before Start only where this process
// is the queue's only worker (SQLite: one node process owns the file), so jobs a killed
// process had claimed run at once instead of after their lease runs out.
func (q *Queue) ReleaseLeases(ctx context.Context) (int, error) {
	var n int64
	err := q.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		res, err := tx.NewUpdate().Table("jobs").Set("locked_until = NULL").
			Where("state = ? AND locked_until IS NOT NULL", StatePending).Exec(ctx)
		if err == nil {
			n, _ = res.RowsAffected()
		}
		return err
	})
	return int(n), err
}

// Close stops claiming, cancels the contexts of running handlers and waits for them to
// return. A job whose handler fails because of the shutdown is released without counting
// the attempt, so it runs again promptly on the next start; one that succeeded is deleted.
func (q *Queue) Close() {
	q.mu.Lock()
	cancel := q.cancel
	q.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	q.wg.Wait()
}

func (q *Queue) dispatch(ctx context.Context) {
	defer q.wg.Done()
	timer := time.NewTimer(q.o.Poll)
	defer timer.Stop()
	for {
		more := false
		if free := q.o.Workers - q.inFlight(); free > 0 {
			rows, err := q.claim(ctx, free)
			if err != nil && ctx.Err() == nil {
				q.log.Error("claim failed", "err", err)
			}
			for _, call := range calls(rows) {
				q.wg.Add(1)
				go func() {
					defer q.wg.Done()
					q.runCall(ctx, call)
					q.Wake() // slots are free
				}()
			}
			more = err == nil && len(rows) == free
		}
		if more && ctx.Err() == nil {
			continue // the batch was full: more may be due
		}
		timer.Reset(q.o.Poll)
		select {
		case <-ctx.Done():
			return
		case <-q.wake:
		case <-timer.C:
		}
	}
}

// Drain runs every due job of the handled kinds, one at a time in the calling goroutine,
// until none is due, including jobs that handlers enqueue meanwhile. Failed jobs are
// rescheduled as usual (at least a second later), so they are not due again until the clock
// moves: tests advance a clock.Fake and Drain again instead of sleeping. Drain returns an
// error only when the database fails or ctx ends, never for a handler's error.
func (q *Queue) Drain(ctx context.Context) error {
	_, err := q.DrainCount(ctx)
	return err
}

// DrainCount is Drain that also says how many jobs it ran, so a test driving several nodes
// can tell when all of them have gone quiet.
func (q *Queue) DrainCount(ctx context.Context) (int, error) {
	n := 0
	for {
		rows, err := q.claim(ctx, 32)
		if err != nil {
			return n, err
		}
		if len(rows) == 0 {
			return n, ctx.Err()
		}
		for _, call := range calls(rows) {
			q.runCall(ctx, call)
		}
		n += len(rows)
	}
}

// calls splits claimed jobs into handler calls: each job alone, except the jobs of one batch
// call (same group), which go together, in claim order.
func calls(rows []*row) [][]*row {
	var out [][]*row
	at := map[int]int{} // group -> index in out
	for _, r := range rows {
		if r.group == 0 {
			out = append(out, []*row{r})
			continue
		}
		i, ok := at[r.group]
		if !ok {
			i = len(out)
			at[r.group] = i
			out = append(out, nil)
		}
		out[i] = append(out[i], r)
	}
	return out
}

// runCall runs one handler call: a single job, or a batch.
func (q *Queue) runCall(ctx context.Context, rs []*row) {
	if rs[0].group == 0 {
		q.run(ctx, rs[0])
		return
	}
	q.runBatch(ctx, rs)
}

// runBatch executes the jobs of one batch call and records their outcomes, then frees their
// slots and the call's.
func (q *Queue) runBatch(ctx context.Context, rs []*row) {
	defer q.endCall(rs[0].Kind)
	defer q.unreserve(rs)
	h := q.handlerFor(rs[0].Kind)
	hctx, cancel := context.WithTimeout(ctx, q.o.Lease-q.o.Lease/10)
	start := time.Now()
	js := make([]*Job, len(rs))
	for i, r := range rs {
		js[i] = r.job()
	}
	errs := q.callBatch(hctx, h.batch, js)
	cancel()
	q.finishBatch(ctx, h, rs, errs, time.Since(start))
}

// callBatch runs fn, turning a panic or a wrong number of outcomes into an error for each job.
func (q *Queue) callBatch(ctx context.Context, fn BatchHandler, js []*Job) (errs []error) {
	defer func() {
		if p := recover(); p != nil {
			q.log.Error("job handler panicked", "job_id", js[0].ID, "kind", js[0].Kind, "batch", len(js),
				"panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			errs = repeatErr(fmt.Errorf("handler panicked: %v", p), len(js))
		}
	}()
	errs = fn(ctx, js)
	if len(errs) != len(js) {
		return repeatErr(fmt.Errorf("batch handler returned %d outcomes for %d jobs", len(errs), len(js)), len(js))
	}
	return errs
}

func repeatErr(err error, n int) []error {
	out := make([]error, n)
	for i := range out {
		out[i] = err
	}
	return out
}

// finishBatch records the outcomes of a batch call: the jobs that succeeded are deleted
// together (one statement per attempts value, which is normally one), the others one by one.
func (q *Queue) finishBatch(ctx context.Context, h *handler, rs []*row, errs []error, took time.Duration) {
	done := map[int][]string{} // attempts -> ids
	for i, r := range rs {
		if errs[i] != nil {
			q.finish(ctx, h, r, errs[i], took)
			continue
		}
		done[r.Attempts] = append(done[r.Attempts], r.ID)
	}
	if len(done) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	for attempts, idList := range done {
		log := q.log.With("job_ids", idList, "kind", rs[0].Kind, "attempt", attempts, "took", took)
		var res sql.Result
		err := q.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
			var err error
			res, err = tx.NewDelete().Model((*row)(nil)).
				Where("id IN (?)", bun.In(idList)).
				Where("attempts = ?", attempts).
				Where("state = ?", StatePending).
				Exec(ctx)
			return err
		})
		if err == nil {
			if n, rerr := res.RowsAffected(); rerr == nil && n < int64(len(idList)) {
				log.Warn("job lease ran out before it finished; another worker owns it now", "outcome", "done",
					"lost", int64(len(idList))-n)
				continue
			}
		}
		q.recorded(log, "done", res, err)
	}
}

// run executes one claimed job and records the outcome, then frees its slot.
func (q *Queue) run(ctx context.Context, r *row) {
	defer q.unreserve([]*row{r})
	h := q.handlerFor(r.Kind)
	// Stop the handler a little before the lease runs out, so that normally its outcome is
	// written before another worker may claim the job.
	hctx, cancel := context.WithTimeout(ctx, q.o.Lease-q.o.Lease/10)
	start := time.Now()
	err := q.call(hctx, h.fn, r.job())
	cancel()
	q.finish(ctx, h, r, err, time.Since(start))
}

// call runs fn, turning a panic into an error so one bad job cannot take the process down.
func (q *Queue) call(ctx context.Context, fn Handler, j *Job) (err error) {
	defer func() {
		if p := recover(); p != nil {
			q.log.Error("job handler panicked", "job_id", j.ID, "kind", j.Kind,
				"panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			err = fmt.Errorf("handler panicked: %v", p)
		}
	}()
	return fn(ctx, j)
}

// finish deletes, reschedules, kills or releases the job. Every statement is fenced by the
// attempts value of this claim: if the lease ran out and another worker claimed the job
// again, attempts has moved on and this worker's outcome is dropped.
func (q *Queue) finish(ctx context.Context, h *handler, r *row, runErr error, took time.Duration) {
	stopping := ctx.Err() != nil
	// Record the outcome even when the queue is stopping.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	now := q.clock.Now().UTC()
	log := q.log.With("job_id", r.ID, "kind", r.Kind, "attempt", r.Attempts, "took", took)
	// Both writes go through db.Tx: on SQLite they queue for the single writer in Go
	// instead of sleeping in SQLite's busy handler while the work they follow commits.
	var res sql.Result
	if runErr == nil {
		err := q.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
			var err error
			res, err = tx.NewDelete().Model((*row)(nil)).
				Where("id = ?", r.ID).
				Where("attempts = ?", r.Attempts).
				Where("state = ?", StatePending).
				Exec(ctx)
			return err
		})
		q.recorded(log, "done", res, err)
		return
	}
	upd := q.db.NewUpdate().Model((*row)(nil)).
		Set("locked_until = NULL").
		Set("updated_at = ?", now).
		Where("id = ?", r.ID).
		Where("attempts = ?", r.Attempts).
		Where("state = ?", StatePending)
	maxAttempts := r.MaxAttempts
	if maxAttempts <= 0 {
		maxAttempts = h.maxAttempts
	}
	var outcome string
	switch {
	case stopping && !IsPermanent(runErr):
		// The failure is most likely the cancelled context: give the attempt back.
		outcome = "released"
		upd = upd.Set("attempts = attempts - 1")
	case IsPermanent(runErr) || r.Attempts >= maxAttempts:
		outcome = "dead"
		upd = upd.Set("state = ?", StateDead).Set("last_error = ?", errText(runErr))
	default:
		delay, ok := retryDelay(runErr)
		if !ok {
			delay = h.backoff(r.Attempts)
		}
		delay = max(delay, minDelay)
		outcome = "retry"
		log = log.With("retry_in", delay)
		upd = upd.Set("run_at = ?", now.Add(delay)).Set("last_error = ?", errText(runErr))
	}
	err := q.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		var err error
		res, err = upd.Conn(tx).Exec(ctx)
		return err
	})
	q.recorded(log.With("err", runErr.Error()), outcome, res, err)
}

// recorded logs the outcome of a job once its row has been written.
func (q *Queue) recorded(log *slog.Logger, outcome string, res sql.Result, err error) {
	if err != nil {
		// The lease will run out and the job will run again: at-least-once holds.
		log.Error("recording job outcome failed", "outcome", outcome, "db_err", err)
		return
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		log.Warn("job lease ran out before it finished; another worker owns it now", "outcome", outcome)
		return
	}
	switch outcome {
	case "done":
		log.Debug("job done")
	case "dead":
		log.Warn("job failed for good; kept as dead")
	default:
		log.Info("job "+outcome, "outcome", outcome)
	}
}

// errText is err as stored in last_error: bounded, valid UTF-8, without NUL (which
// PostgreSQL's TEXT rejects).
func errText(err error) string {
	s := strings.ReplaceAll(err.Error(), "\x00", "")
	if len(s) > maxErrorLen {
		s = s[:maxErrorLen]
	}
	return strings.ToValidUTF8(s, "")
}
