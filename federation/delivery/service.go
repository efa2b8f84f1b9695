package delivery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/uptrace/bun"

	"github.com/atrium-social/atrium/federation/keys"
	"github.com/atrium-social/atrium/internal/clock"
	"github.com/atrium-social/atrium/internal/db"
	"github.com/atrium-social/atrium/internal/ids"
	"github.com/atrium-social/atrium/internal/jobs"
	"github.com/atrium-social/atrium/internal/outbound"
)

// Kind is the jobs kind of one delivery (one activity to one inbox).
const Kind = "deliver"

// The schedule (see the package comment for how the numbers fit together).
const (
	// Window is how long a delivery keeps being retried after it was enqueued.
	Window = 72 * time.Hour
	// MaxAttempts is a backstop behind Window: about 34 attempts fill three days.
	MaxAttempts = 48
	// UnavailableAfter is how long a host must have failed before it is marked unavailable.
	UnavailableAfter = 7 * 24 * time.Hour
	// ProbeEvery is how often an unavailable host gets one real attempt.
	ProbeEvery = 24 * time.Hour

	// unauthorizedAttempts: a 401 on this attempt or later is final. Earlier ones are
	// retried because a peer that just saw a rotated key may still hold the old one.
	unauthorizedAttempts = 4
	// maxRetryAfter caps what a peer can ask for; it is also the backoff's cap.
	maxRetryAfter = 6 * time.Hour
	// maxErrorLen bounds peer_hosts.last_error: enough to diagnose, small for an admin table.
	maxErrorLen = 500
	// DefaultConcurrencyPerCPU sets the default cap on deliveries in flight. A delivery holds
	// a core for its signature (~0.8 ms) and then waits a network round trip, so the cap
	// must cover rate x RTT: the signing limit of ~1,200/s per core at a 50 ms RTT needs
	// 60 in flight per core. On loopback (no RTT) 16 and 128 in flight cost the same CPU per
	// delivery (BenchmarkFanOut1000), so a generous cap costs nothing when peers are fast.
	DefaultConcurrencyPerCPU = 64

	// activityCacheSize bounds the parsed outbox rows kept in memory. A fan-out reads the
	// same row once per inbox; a few hundred recent activities cover every fan-out in flight.
	activityCacheSize = 256
)

// Deps are the Service's collaborators. Every field but Allowed, Log, UserAgent and
// Concurrency is required.
type Deps struct {
	DB    *db.DB
	Jobs  *jobs.Queue
	Keys  *keys.Store
	HTTP  *outbound.Client
	Clock clock.Clock
	Log   *slog.Logger
	// Allowed is the partner policy for a host ("host" or "host:port", lower case), checked
	// at Send and again at send time. nil allows everyone.
	Allowed func(ctx context.Context, host string) bool
	// UserAgent is sent with every delivery; "" leaves the outbound client's default.
	UserAgent string
	// Concurrency caps the deliveries running at once in this process; 0 means
	// DefaultConcurrencyPerCPU per CPU. jobs.Options.Workers must be at least as large.
	Concurrency int
}

// Activity is one outgoing activity, already serialised.
type Activity struct {
	URI       string // the activity id; unique
	Kind      string // "Create", "Delete", ...
	SignerID  string // owner id in federation/keys whose key signs the deliveries
	KeyID     string // the public key id as published, e.g. ".../users/alice#main-key"
	ObjectURI string // the object the activity is about ("" if none), for CancelObject
	Body      []byte // the exact JSON to POST
}

// Service enqueues and performs deliveries.
type Service struct {
	db        *db.DB
	jobs      *jobs.Queue
	keys      *keys.Store
	http      *http.Client
	clock     clock.Clock
	log       *slog.Logger
	allowed   func(ctx context.Context, host string) bool
	userAgent string
	// backoff is the retry schedule, a field so in-package tests can make it deterministic.
	backoff jobs.BackoffFunc

	unavailable unavailableSet

	mu    sync.Mutex
	cache map[string]*stored // outbox rows by id; immutable, so safe to cache across processes
}

// New builds the service and registers the "deliver" handler on d.Jobs.
func New(d Deps) *Service {
	log := d.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	// A copy of the outbound client that does not follow redirects (see the package comment);
	// it keeps the guarded transport, so URL and address checks still apply.
	hc := *d.HTTP.HTTP()
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	s := &Service{
		db:        d.DB,
		jobs:      d.Jobs,
		keys:      d.Keys,
		http:      &hc,
		clock:     d.Clock,
		log:       log.With("component", "delivery"),
		allowed:   d.Allowed,
		userAgent: d.UserAgent,
		backoff:   jobs.DefaultBackoff,
		cache:     map[string]*stored{},
	}
	n := d.Concurrency
	if n <= 0 {
		n = DefaultConcurrencyPerCPU * runtime.GOMAXPROCS(0)
	}
	d.Jobs.Handle(Kind, s.handle,
		jobs.MaxAttempts(MaxAttempts),
		jobs.Concurrency(n),
		jobs.Backoff(func(attempt int) time.Duration { return s.backoff(attempt) }))
	return s
}

// outboxRow is the stored form of an Activity.
type outboxRow struct {
	bun.BaseModel `bun:"table:outbox_activities"`

	ID        string    `bun:"id,pk"`
	URI       string    `bun:"uri"`
	Kind      string    `bun:"kind"`
	SignerID  string    `bun:"signer_id"`
	KeyID     string    `bun:"key_id"`
	ObjectURI string    `bun:"object_uri"`
	Body      string    `bun:"body"`
	CreatedAt time.Time `bun:"created_at"`
}

// payload is a delivery job's payload: references only, so the body is stored once and a
// retry reads what is stored, not a snapshot.
type payload struct {
	Activity string `json:"activity"` // outbox_activities.id
	Inbox    string `json:"inbox"`
}

// dedupeKey names one delivery. CancelObject relies on the prefix up to the space.
func dedupeKey(activityID, inbox string) string { return dedupePrefix(activityID) + inbox }

func dedupePrefix(activityID string) string { return "deliver:" + activityID + " " }

// Send stores a and enqueues one delivery per distinct inbox, through tx, so that they commit
// or roll back with the caller's change. Inboxes whose host the partner policy refuses, and
// URLs that are not absolute http(s) URLs, are skipped (and logged), never fatal: one bad
// address in a remote actor must not undo a local post. Workers are woken after the commit
// when tx was started by db.Tx, at once otherwise.
//
// The dedupe key holds while a delivery is stored (pending, retrying or dead): a second Send
// of the same activity to the same inbox in that time is a no-op, and a second Send with more
// inboxes adds only the new ones. Once a delivery succeeded its job is gone, and sending the
// activity again delivers it again; receivers deduplicate by activity id.
func (s *Service) Send(ctx context.Context, tx bun.IDB, a Activity, inboxes []string) error {
	if a.URI == "" || a.Kind == "" || a.SignerID == "" || a.KeyID == "" || len(a.Body) == 0 {
		return fmt.Errorf("delivery: send %q: activity needs a URI, kind, signer, key id and body", a.URI)
	}
	type target struct{ inbox, host string }
	var targets []target
	seen := make(map[string]bool, len(inboxes))
	allowed := map[string]bool{}
	for _, inbox := range inboxes {
		if seen[inbox] {
			continue // a shared inbox named by many recipients
		}
		seen[inbox] = true
		host, err := inboxHost(inbox)
		if err != nil {
			s.log.WarnContext(ctx, "skipping unusable inbox", "activity_uri", a.URI, "inbox", inbox, "err", err)
			continue
		}
		ok, known := allowed[host]
		if !known {
			ok = s.allowed == nil || s.allowed(ctx, host)
			allowed[host] = ok
		}
		if !ok {
			s.log.DebugContext(ctx, "host not allowed; not delivering", "activity_uri", a.URI, "peer_host", host)
			continue
		}
		targets = append(targets, target{inbox, host})
	}
	id, err := s.store(ctx, tx, a)
	if err != nil {
		return err
	}
	for _, t := range targets {
		err := s.jobs.Enqueue(ctx, tx, Kind, payload{Activity: id, Inbox: t.inbox},
			jobs.Dedupe(dedupeKey(id, t.inbox)), jobs.Partition(t.host))
		if err != nil {
			return fmt.Errorf("delivery: send %s to %s: %w", a.URI, t.inbox, err)
		}
	}
	if len(targets) > 0 {
		db.AfterCommit(ctx, s.jobs.Wake)
	}
	return nil
}

// store inserts a unless its URI is already stored, and returns the row's id.
func (s *Service) store(ctx context.Context, tx bun.IDB, a Activity) (string, error) {
	now := s.clock.Now().UTC()
	r := &outboxRow{
		ID: ids.New(now), URI: a.URI, Kind: a.Kind, SignerID: a.SignerID, KeyID: a.KeyID,
		ObjectURI: a.ObjectURI, Body: string(a.Body), CreatedAt: now,
	}
	// DO NOTHING rather than catching the unique violation, which on PostgreSQL would abort
	// the caller's whole transaction.
	res, err := tx.NewInsert().Model(r).On("CONFLICT (uri) DO NOTHING").Exec(ctx)
	if err != nil {
		return "", fmt.Errorf("delivery: store %s: %w", a.URI, err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 1 {
		return r.ID, nil
	}
	var id string
	if err := tx.NewSelect().Model((*outboxRow)(nil)).Column("id").Where("uri = ?", a.URI).Scan(ctx, &id); err != nil {
		return "", fmt.Errorf("delivery: load stored %s: %w", a.URI, err)
	}
	return id, nil
}

// CancelObject drops the deliveries not yet sent (pending, not running) of every stored
// activity about objectURI except Deletes. Call it in the transaction that deletes the
// object. A delivery already running finishes; the Delete that follows cleans up after it.
func (s *Service) CancelObject(ctx context.Context, tx bun.IDB, objectURI string) error {
	if objectURI == "" {
		return nil
	}
	// outbox_activities has no index on object_uri (the schema is fixed): this scans the
	// outbox, once per deleted object, which is cheap next to the fan-out it saves.
	var actIDs []string
	err := tx.NewSelect().Model((*outboxRow)(nil)).Column("id").
		Where("object_uri = ?", objectURI).
		Where("kind <> ?", "Delete").
		Scan(ctx, &actIDs)
	if err != nil {
		return fmt.Errorf("delivery: cancel %s: %w", objectURI, err)
	}
	if len(actIDs) == 0 {
		return nil
	}
	// Match the dedupe key's prefix with substr() rather than LIKE, whose case rules and
	// index use differ between the engines. Ids are ULIDs, so there is one length in practice.
	byLen := map[int][]string{}
	for _, id := range actIDs {
		p := dedupePrefix(id)
		byLen[len(p)] = append(byLen[len(p)], p)
	}
	now := s.clock.Now().UTC()
	var cancelled int64
	for n, prefixes := range byLen {
		res, err := tx.NewDelete().TableExpr("jobs").
			Where("kind = ?", Kind).
			Where("state = ?", jobs.StatePending).
			Where("(locked_until IS NULL OR locked_until <= ?)", now).
			Where("substr(dedupe_key, 1, ?) IN (?)", n, bun.In(prefixes)).
			Exec(ctx)
		if err != nil {
			return fmt.Errorf("delivery: cancel deliveries about %s: %w", objectURI, err)
		}
		if k, err := res.RowsAffected(); err == nil {
			cancelled += k
		}
	}
	if cancelled > 0 {
		s.log.InfoContext(ctx, "cancelled deliveries of a deleted object", "object_uri", objectURI, "deliveries", cancelled)
	}
	return nil
}

// errInbox is wrapped by inboxHost's errors.
var errInbox = errors.New("not an absolute http(s) URL")

// inboxHost validates an inbox URL and returns its host as partition key and policy subject:
// host[:port] in lower case, the form config.Host gives for our own URL.
func inboxHost(inbox string) (string, error) {
	u, err := url.Parse(inbox)
	if err != nil {
		return "", fmt.Errorf("%w: %v", errInbox, err)
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		return "", errInbox
	}
	return strings.ToLower(u.Host), nil
}
