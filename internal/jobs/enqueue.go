package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/atrium-social/atrium/internal/ids"
)

// EnqueueOption shapes one enqueued job.
type EnqueueOption func(*enqueueOptions)

type enqueueOptions struct {
	runAt     time.Time
	delay     time.Duration
	dedupe    *string
	partition string
}

// RunAt makes the job due at t instead of now.
func RunAt(t time.Time) EnqueueOption { return func(o *enqueueOptions) { o.runAt = t } }

// Delay makes the job due d after now (on the queue's clock).
func Delay(d time.Duration) EnqueueOption { return func(o *enqueueOptions) { o.delay = d } }

// Dedupe gives the job a unique key: enqueueing another job with the same key is a no-op
// while the first is still stored (pending, running or dead). Once a job has succeeded its
// row is gone and the key may be used again. Build keys that name the work, e.g.
// "deliver:" + activityID + " " + inbox.
func Dedupe(key string) EnqueueOption { return func(o *enqueueOptions) { o.dedupe = &key } }

// Partition puts the job in a partition, e.g. the target host of a delivery: at most
// Options.PartitionLimit jobs of one partition run at once in a process.
func Partition(key string) EnqueueOption { return func(o *enqueueOptions) { o.partition = key } }

// Enqueue stores a job of kind with payload encoded as JSON, through tx, so that the job is
// committed or rolled back with the caller's change. tx may be a bun.Tx or the database
// itself. Workers are not woken (the transaction has not committed yet): call Wake after the
// commit, or wait for the next poll.
func (q *Queue) Enqueue(ctx context.Context, tx bun.IDB, kind string, payload any, opts ...EnqueueOption) error {
	if kind == "" {
		return errors.New("jobs: enqueue: empty kind")
	}
	var eo enqueueOptions
	for _, o := range opts {
		o(&eo)
	}
	b, err := json.Marshal(payload)
	if err != nil {
		return fmt.Errorf("jobs: enqueue %s: encode payload: %w", kind, err)
	}
	now := q.clock.Now().UTC()
	runAt := now.Add(eo.delay)
	if !eo.runAt.IsZero() {
		runAt = eo.runAt.UTC()
	}
	maxAttempts := 0 // resolved by the handling queue when this one does not know the kind
	if h := q.handlerFor(kind); h != nil {
		maxAttempts = h.maxAttempts
	}
	r := &row{
		ID:           ids.New(now),
		Kind:         kind,
		Payload:      string(b),
		PartitionKey: eo.partition,
		DedupeKey:    eo.dedupe,
		State:        StatePending,
		MaxAttempts:  maxAttempts,
		RunAt:        runAt,
		CreatedAt:    now,
		UpdatedAt:    now,
	}
	ins := tx.NewInsert().Model(r)
	if eo.dedupe != nil {
		// ON CONFLICT rather than catching the unique violation: on PostgreSQL an error
		// would abort the caller's whole transaction.
		ins = ins.On("CONFLICT (dedupe_key) DO NOTHING")
	}
	if _, err := ins.Exec(ctx); err != nil {
		return fmt.Errorf("jobs: enqueue %s: %w", kind, err)
	}
	return nil
}

// EnqueueNow enqueues a job outside any transaction of the caller's and wakes the workers. Use it when
// the job does not belong to a change the caller is making.
func (q *Queue) EnqueueNow(ctx context.Context, kind string, payload any, opts ...EnqueueOption) error {
	if err := q.Enqueue(ctx, q.db.DB, kind, payload, opts...); err != nil {
		return err
	}
	q.Wake()
	return nil
}
