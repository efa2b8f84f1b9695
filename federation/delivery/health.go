package delivery

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/uptrace/bun"

	"github.com/atrium-social/atrium/internal/db"
	"github.com/atrium-social/atrium/internal/jobs"
	"github.com/atrium-social/atrium/internal/orgs"
)

// peerRow is a row of peer_hosts.
type peerRow struct {
	bun.BaseModel `bun:"table:peer_hosts"`

	Host          string     `bun:"host,pk"`
	LastSuccessAt *time.Time `bun:"last_success_at"`
	LastFailureAt *time.Time `bun:"last_failure_at"`
	FailingSince  *time.Time `bun:"failing_since"`
	Failures      int        `bun:"failures"`
	Delivered     int        `bun:"delivered"`
	Received      int        `bun:"received"`
	LastError     string     `bun:"last_error"`
	Unavailable   bool       `bun:"unavailable"`
	UpdatedAt     time.Time  `bun:"updated_at"`
}

// unavailableCacheTTL bounds how long this process may miss a change another process made
// to the set of unavailable hosts. Missing a new one costs a few extra attempts at a host
// that has failed for a week; a recovered one is re-read before anything is parked.
const unavailableCacheTTL = 30 * time.Second

// unavailableSet caches which hosts are unavailable, so that a delivery to a healthy host
// (nearly all of them) costs no read of peer_hosts before sending.
type unavailableSet struct {
	mu       sync.Mutex
	hosts    map[string]bool
	loadedAt time.Time
}

// mayBeUnavailable reports whether host was unavailable when the set was last loaded (at most
// unavailableCacheTTL ago) or this process saw it become so since.
func (s *Service) mayBeUnavailable(ctx context.Context, host string, now time.Time) (bool, error) {
	u := &s.unavailable
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.hosts == nil || now.Sub(u.loadedAt) >= unavailableCacheTTL || now.Before(u.loadedAt) {
		var hosts []string
		err := s.db.NewSelect().Model((*peerRow)(nil)).Column("host").Where("unavailable = ?", true).Scan(ctx, &hosts)
		if err != nil {
			return false, fmt.Errorf("delivery: load unavailable hosts: %w", err)
		}
		u.hosts = make(map[string]bool, len(hosts))
		for _, h := range hosts {
			u.hosts[h] = true
		}
		u.loadedAt = now
	}
	return u.hosts[host], nil
}

// markUnavailable records what this process just learned about host.
func (s *Service) markUnavailable(host string, unavailable bool) {
	u := &s.unavailable
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.hosts == nil {
		return // loaded on first use
	}
	if unavailable {
		u.hosts[host] = true
	} else {
		delete(u.hosts, host)
	}
}

// peerState reads what the handler needs to know about a host before sending: whether it is
// unavailable, and when it was last tried. No row means a host we never failed to reach.
func (s *Service) peerState(ctx context.Context, host string) (peerRow, error) {
	var r peerRow
	err := s.db.NewSelect().Model(&r).Column("unavailable", "last_failure_at").Where("host = ?", host).Scan(ctx)
	if err != nil && !db.IsNotFound(err) {
		return peerRow{}, fmt.Errorf("delivery: peer state of %s: %w", host, err)
	}
	return r, nil
}

// claimProbe makes the caller the day's one real attempt at an unavailable host, if nobody
// tried it for ProbeEvery. The conditional UPDATE is the lock: of the workers (in any
// process) that race for it, exactly one sees a changed row.
func (s *Service) claimProbe(ctx context.Context, host string, now time.Time) (bool, error) {
	res, err := s.db.NewUpdate().Model((*peerRow)(nil)).
		Set("last_failure_at = ?", now).
		Where("host = ?", host).
		Where("unavailable = ?", true).
		Where("(last_failure_at IS NULL OR last_failure_at <= ?)", now.Add(-ProbeEvery)).
		Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("delivery: claim probe of %s: %w", host, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("delivery: claim probe of %s: %w", host, err)
	}
	return n == 1, nil
}

// The outcome upserts: one statement each, INSERT ... ON CONFLICT (host) DO UPDATE, which
// SQLite (3.24+) and PostgreSQL both speak. Columns missing from the INSERT take their
// defaults (zero, empty text, FALSE, NULL) on a host's first row.
const (
	upsertSuccess = `INSERT INTO peer_hosts (host, last_success_at, delivered, updated_at)
VALUES (?0, ?1, 1, ?1)
ON CONFLICT (host) DO UPDATE SET
	last_success_at = EXCLUDED.last_success_at,
	failing_since = NULL,
	failures = 0,
	delivered = peer_hosts.delivered + 1,
	unavailable = ?2,
	updated_at = EXCLUDED.updated_at`

	// A refusal (404, 410, ...) proves the host is up: it ends a failure run, yet nothing
	// was delivered.
	upsertAnswered = `INSERT INTO peer_hosts (host, last_failure_at, last_error, updated_at)
VALUES (?0, ?1, ?2, ?1)
ON CONFLICT (host) DO UPDATE SET
	last_failure_at = EXCLUDED.last_failure_at,
	failing_since = NULL,
	failures = 0,
	last_error = EXCLUDED.last_error,
	unavailable = ?3,
	updated_at = EXCLUDED.updated_at`

	// failing_since keeps the start of the run; unavailable follows from it, so the
	// statement needs no prior read.
	upsertFailure = `INSERT INTO peer_hosts (host, last_failure_at, failing_since, failures, last_error, updated_at)
VALUES (?0, ?1, ?1, 1, ?2, ?1)
ON CONFLICT (host) DO UPDATE SET
	last_failure_at = EXCLUDED.last_failure_at,
	failing_since = COALESCE(peer_hosts.failing_since, EXCLUDED.failing_since),
	failures = peer_hosts.failures + 1,
	last_error = EXCLUDED.last_error,
	unavailable = (COALESCE(peer_hosts.failing_since, EXCLUDED.failing_since) <= ?3),
	updated_at = EXCLUDED.updated_at
RETURNING unavailable`

	upsertReceived = `INSERT INTO peer_hosts (host, received, updated_at)
VALUES (?0, 1, ?1)
ON CONFLICT (host) DO UPDATE SET
	received = peer_hosts.received + 1,
	updated_at = EXCLUDED.updated_at`
)

func (s *Service) recordSuccess(ctx context.Context, host string, now time.Time) error {
	s.markUnavailable(host, false)
	return s.upsert(ctx, "success", host, upsertSuccess, host, now, false)
}

func (s *Service) recordAnswered(ctx context.Context, host string, now time.Time, msg string) error {
	s.markUnavailable(host, false)
	return s.upsert(ctx, "refusal", host, upsertAnswered, host, now, errText(msg), false)
}

func (s *Service) recordFailure(ctx context.Context, host string, now time.Time, msg string) error {
	var unavailable bool
	err := s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewRaw(upsertFailure, host, now, errText(msg), now.Add(-UnavailableAfter)).Scan(ctx, &unavailable)
	})
	if err != nil {
		return fmt.Errorf("delivery: record failure of %s: %w", host, err)
	}
	s.markUnavailable(host, unavailable)
	return nil
}

// RecordReceived counts one activity accepted from host (the inbox calls it).
func (s *Service) RecordReceived(ctx context.Context, host string) error {
	host = strings.ToLower(host)
	return s.upsert(ctx, "received", host, upsertReceived, host, s.clock.Now().UTC())
}

// upsert writes a host's record through the node's transaction queue (db.Tx): on SQLite a
// write outside it would wait in SQLite's busy handler while holding a pooled connection,
// and enough of those starve a transaction that needs one more connection for a read, until
// the 10 s busy timeout breaks the tie (seen as 10 s stalls of chat messages under load).
func (s *Service) upsert(ctx context.Context, what, host, query string, args ...any) error {
	if err := s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		_, err := tx.NewRaw(query, args...).Exec(ctx)
		return err
	}); err != nil {
		return fmt.Errorf("delivery: record %s of %s: %w", what, host, err)
	}
	return nil
}

// wakeParked makes the parked deliveries of a host that just answered due now, instead of at
// their next daily probe. It writes the jobs table directly because internal/jobs has no
// "reschedule a partition" call; only run_at changes, which the queue's fencing ignores.
func (s *Service) wakeParked(ctx context.Context, log *slog.Logger, host string, now time.Time) {
	res, err := s.db.NewUpdate().TableExpr("jobs").
		Set("run_at = ?", now).
		Where("kind = ?", Kind).
		Where("partition_key = ?", host).
		Where("state = ?", jobs.StatePending).
		Where("run_at > ?", now).
		Where("(locked_until IS NULL OR locked_until <= ?)", now).
		Exec(ctx)
	if err != nil {
		log.ErrorContext(ctx, "waking parked deliveries failed", "err", err)
		return
	}
	n, _ := res.RowsAffected()
	log.InfoContext(ctx, "host is available again", "woken", n)
	s.jobs.Wake()
}

// Health reports the delivery health of hosts (nil or empty: every host with a record), each
// with its number of pending deliveries. Every host asked for is in the map, zero-valued when
// nothing is known about it.
func (s *Service) Health(ctx context.Context, hosts []string) (map[string]orgs.PeerHealth, error) {
	norm := make([]string, len(hosts))
	for i, h := range hosts {
		norm[i] = strings.ToLower(h)
	}
	var rows []peerRow
	q := s.db.NewSelect().Model(&rows)
	if len(norm) > 0 {
		q = q.Where("host IN (?)", bun.In(norm))
	}
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("delivery: health: %w", err)
	}
	var depths []struct {
		Host string `bun:"partition_key"`
		N    int    `bun:"n"`
	}
	dq := s.db.NewSelect().TableExpr("jobs").
		ColumnExpr("partition_key, COUNT(*) AS n").
		Where("kind = ?", Kind).
		Where("state = ?", jobs.StatePending).
		GroupExpr("partition_key")
	if len(norm) > 0 {
		dq = dq.Where("partition_key IN (?)", bun.In(norm))
	}
	if err := dq.Scan(ctx, &depths); err != nil {
		return nil, fmt.Errorf("delivery: health: queue depth: %w", err)
	}
	out := make(map[string]orgs.PeerHealth, max(len(norm), len(rows)))
	for _, h := range norm {
		out[h] = orgs.PeerHealth{Host: h}
	}
	for _, r := range rows {
		out[r.Host] = orgs.PeerHealth{
			Host:          r.Host,
			LastSuccessAt: utc(r.LastSuccessAt),
			LastFailureAt: utc(r.LastFailureAt),
			FailingSince:  utc(r.FailingSince),
			Failures:      r.Failures,
			Delivered:     r.Delivered,
			Received:      r.Received,
			LastError:     r.LastError,
			Unavailable:   r.Unavailable,
		}
	}
	for _, d := range depths {
		h := out[d.Host]
		h.Host = d.Host
		h.QueueDepth = d.N
		out[d.Host] = h
	}
	return out, nil
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// errText is a message as stored in last_error: bounded, valid UTF-8, without NUL (which
// PostgreSQL's TEXT rejects).
func errText(s string) string {
	s = strings.ReplaceAll(s, "\x00", "")
	if len(s) > maxErrorLen {
		s = s[:maxErrorLen]
	}
	return strings.ToValidUTF8(s, "")
}
