package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/atrium-social/atrium/internal/clock"
	"github.com/atrium-social/atrium/internal/db"
	"github.com/atrium-social/atrium/migrations"
)

// Handler runs one job. It must be idempotent: a job can run more than once (see the package
// comment). Returning nil deletes the job; an error schedules a retry unless it is wrapped
// with Permanent or the job has used its attempts. The context ends shortly before the job's
// lease runs out or when the queue stops; a handler must return promptly then.
type Handler func(ctx context.Context, j *Job) error

// Options tune a Queue. Zero fields take the defaults shown.
type Options struct {
	Workers        int           // handlers running at once in this process (4)
	Lease          time.Duration // a claimed job is invisible to other workers this long; handlers get 90% of it (2m)
	Poll           time.Duration // how often idle workers look for due jobs (1s)
	Backoff        BackoffFunc   // delay before a retry (DefaultBackoff)
	MaxAttempts    int           // attempts before a job is dead (20)
	PartitionLimit int           // running jobs per partition key in this process (4)
}

func (o Options) withDefaults() Options {
	if o.Workers <= 0 {
		o.Workers = 4
	}
	if o.Lease <= 0 {
		o.Lease = 2 * time.Minute
	}
	if o.Poll <= 0 {
		o.Poll = time.Second
	}
	if o.Backoff == nil {
		o.Backoff = DefaultBackoff
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 20
	}
	if o.PartitionLimit <= 0 {
		o.PartitionLimit = 4
	}
	return o
}

// Queue is one process's view of the shared job table: it enqueues jobs and, once started,
// runs the kinds it has handlers for. Several Queues (processes) may share one database.
type Queue struct {
	db    *db.DB
	clock clock.Clock
	log   *slog.Logger
	o     Options
	pg    bool
	wake  chan struct{}

	mu       sync.Mutex
	handlers map[string]*handler
	running  int            // claimed jobs not yet finished, all kinds
	parts    map[string]int // running jobs per non-empty partition key
	groups   int            // the last batch call number given out
	cancel   context.CancelFunc
	wg       sync.WaitGroup // the dispatcher and every running handler
}

// BatchHandler runs several jobs of one kind in one call (see HandleBatch) and returns one
// outcome per job, in the order given: nil deletes that job, an error is treated as a
// Handler's error would be (retry, Permanent, dead after MaxAttempts). The same idempotence
// rule applies to every job of the batch.
type BatchHandler func(ctx context.Context, js []*Job) []error

// handler is a registered kind with its resolved settings.
type handler struct {
	fn          Handler
	batch       BatchHandler // instead of fn for kinds registered with HandleBatch
	size        int          // the most jobs per batch call
	maxAttempts int
	concurrency int // 0: only Options.Workers bounds it; handler calls for batch kinds
	backoff     BackoffFunc
	running     int // jobs claimed and not finished; guarded by Queue.mu
	calls       int // batch calls in flight; guarded by Queue.mu
}

// New returns a queue on d. It runs nothing until Start (or Drain in tests).
func New(d *db.DB, c clock.Clock, log *slog.Logger, o Options) *Queue {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Queue{
		db:       d,
		clock:    c,
		log:      log.With("component", "jobs"),
		o:        o.withDefaults(),
		pg:       d.Engine == migrations.Postgres,
		wake:     make(chan struct{}, 1),
		handlers: map[string]*handler{},
		parts:    map[string]int{},
	}
}

// HandlerOption tunes how one kind is run.
type HandlerOption func(*handler)

// MaxAttempts sets the attempts a job of this kind gets before it is dead. It is recorded
// in each job at enqueue time, so a change applies to jobs enqueued afterwards.
func MaxAttempts(n int) HandlerOption { return func(h *handler) { h.maxAttempts = n } }

// Concurrency caps how many jobs of this kind run at once in this process, below Workers.
func Concurrency(n int) HandlerOption { return func(h *handler) { h.concurrency = n } }

// Backoff replaces Options.Backoff for this kind.
func Backoff(f BackoffFunc) HandlerOption { return func(h *handler) { h.backoff = f } }

// Handle registers the handler for kind. Jobs of kinds without a handler stay pending (they
// show in Stats) until some queue on the database handles them. Registering a kind twice is
// a programming error and panics.
func (q *Queue) Handle(kind string, fn Handler, opts ...HandlerOption) {
	if fn == nil {
		panic(fmt.Sprintf("jobs: bad or duplicate handler for kind %q", kind))
	}
	q.register(kind, &handler{fn: fn, size: 1}, opts)
}

// HandleBatch registers a handler that takes up to size due jobs of kind per call, for work
// whose cost is mostly per call (a read of many rows at once, one write of all outcomes).
// Jobs are claimed, leased, retried and deleted one by one as with Handle: a batch is only
// how they are handed over, and each job's outcome is its own. Concurrency bounds the calls
// running at once (so at most Concurrency * size jobs of the kind run); a call gets whatever
// is due when a slot frees, which under a trickle is one job and under a backlog is size.
func (q *Queue) HandleBatch(kind string, fn BatchHandler, size int, opts ...HandlerOption) {
	if fn == nil || size <= 0 {
		panic(fmt.Sprintf("jobs: bad batch handler for kind %q", kind))
	}
	q.register(kind, &handler{batch: fn, size: size}, opts)
}

func (q *Queue) register(kind string, h *handler, opts []HandlerOption) {
	for _, o := range opts {
		o(h)
	}
	if h.maxAttempts <= 0 {
		h.maxAttempts = q.o.MaxAttempts
	}
	if h.backoff == nil {
		h.backoff = q.o.Backoff
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if _, dup := q.handlers[kind]; dup || kind == "" {
		panic(fmt.Sprintf("jobs: bad or duplicate handler for kind %q", kind))
	}
	q.handlers[kind] = h
}

// handlerFor returns the registered handler of kind, or nil.
func (q *Queue) handlerFor(kind string) *handler {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.handlers[kind]
}

// Wake nudges the workers to look for due jobs now rather than at the next poll. Call it
// after committing a transaction that enqueued jobs; EnqueueNow calls it itself.
func (q *Queue) Wake() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}
