package delivery

import (
	"bytes"
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/atrium-social/atrium/federation/signature"
	"github.com/atrium-social/atrium/internal/db"
	"github.com/atrium-social/atrium/internal/jobs"
	"github.com/atrium-social/atrium/internal/outbound"
)

const (
	contentType = "application/activity+json"
	accept      = `application/activity+json, application/ld+json; profile="https://www.w3.org/ns/activitystreams"`
	// drainLimit is how much of a response body is read so the connection can be reused;
	// inbox answers are tiny, and a peer streaming more is not worth our time.
	drainLimit = 64 << 10
	// snippetLen is how much of an error response goes into last_error.
	snippetLen = 200
)

// errParked is the error a parked delivery is rescheduled with.
var errParked = errors.New("delivery: host unavailable; parked until the next daily probe")

// stored is an outbox row as the handler needs it.
type stored struct {
	signerID string
	keyID    string
	body     []byte
}

// verdict is what an attempt's result means for the job and the host.
type verdict int

const (
	delivered verdict = iota // 2xx: done
	rejected                 // the peer answered and refuses for good: drop, host is up
	retry                    // try again after the backoff; the host is failing
	throttled                // try again no earlier than Retry-After; the host is failing
	fatal                    // no answer and none will come (blocked address, bad URL): drop
)

// classify maps an HTTP status on the given attempt to a verdict (FEDERATION.md section 6;
// the table is in the package comment).
func classify(status, attempt int) verdict {
	switch {
	case status >= 200 && status <= 299:
		return delivered
	case status == http.StatusUnauthorized:
		if attempt >= unauthorizedAttempts {
			return rejected
		}
		return retry
	case status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable:
		return throttled
	case status == http.StatusRequestTimeout:
		return retry
	case status == http.StatusNotImplemented:
		return rejected // NodeBB-style "we do not handle this type": retrying cannot help
	case status >= 400 && status <= 499:
		return rejected // 410 Gone included
	default:
		return retry // 5xx, and 1xx/3xx, which a POST to an inbox should never get
	}
}

// classifyErr maps a transport error to a verdict.
func classifyErr(err error) verdict {
	if errors.Is(err, outbound.ErrBlocked) || errors.Is(err, outbound.ErrScheme) {
		return fatal
	}
	return retry
}

// handle performs one delivery; it is the jobs handler of Kind.
func (s *Service) handle(ctx context.Context, j *jobs.Job) error {
	var p payload
	if err := j.Decode(&p); err != nil {
		return jobs.Permanent(fmt.Errorf("delivery: %w", err))
	}
	host, err := inboxHost(p.Inbox)
	if err != nil {
		return jobs.Permanent(fmt.Errorf("delivery: inbox %q: %w", p.Inbox, err))
	}
	log := s.log.With("inbox", p.Inbox, "peer_host", host, "activity_id", p.Activity, "attempt", j.Attempts)
	// The policy is checked again now, not only at Send: a partner removed while deliveries
	// wait (or retry for days) must stop receiving at once.
	if s.allowed != nil && !s.allowed(ctx, host) {
		log.InfoContext(ctx, "delivery dropped: host is no longer allowed")
		return nil
	}
	now := s.clock.Now().UTC()
	var peer peerRow
	if maybe, err := s.mayBeUnavailable(ctx, host, now); err != nil {
		return err
	} else if maybe {
		if peer, err = s.peerState(ctx, host); err != nil {
			return err
		}
		if !peer.Unavailable {
			s.markUnavailable(host, false) // another process saw it recover
		}
	}
	if peer.Unavailable {
		if now.Sub(j.CreatedAt) >= Window {
			return jobs.Permanent(fmt.Errorf("delivery: %s to %s: host unavailable for the whole %s window", p.Activity, p.Inbox, Window))
		}
		probe, err := s.claimProbe(ctx, host, now)
		if err != nil {
			return err
		}
		if !probe {
			return jobs.RetryAfter(errParked, parkDelay(peer.LastFailureAt, now))
		}
		log.InfoContext(ctx, "probing unavailable host")
	}
	act, err := s.activity(ctx, p.Activity)
	if err != nil {
		if db.IsNotFound(err) {
			return jobs.Permanent(fmt.Errorf("delivery: activity %s is not stored: %w", p.Activity, err))
		}
		return fmt.Errorf("delivery: load activity %s: %w", p.Activity, err)
	}
	pair, err := s.keys.For(ctx, act.signerID)
	if err != nil {
		return fmt.Errorf("delivery: key of %s: %w", act.signerID, err)
	}
	req, err := s.request(ctx, p.Inbox, act, pair.Private, now)
	if err != nil {
		return jobs.Permanent(err) // our side cannot build or sign it; the peer is not to blame
	}
	ans, err := s.post(req, now)
	if err != nil {
		if ctx.Err() != nil {
			return err // stopping or out of lease: says nothing about the peer
		}
		return s.finish(ctx, log, j, host, peer.Unavailable, classifyErr(err), 0, err)
	}
	v := classify(ans.status, j.Attempts)
	var cause error
	if v != delivered {
		cause = fmt.Errorf("delivery: POST %s: %s", p.Inbox, ans.detail)
	}
	return s.finish(ctx, log, j, host, peer.Unavailable, v, ans.retryAfter, cause)
}

// finish records the attempt's outcome in peer_hosts and turns it into the handler's result.
// A failed health write is logged, not returned: the delivery's own outcome stands, and
// failing a delivered job would send it again.
func (s *Service) finish(ctx context.Context, log *slog.Logger, j *jobs.Job, host string, wasUnavailable bool,
	v verdict, retryAfter time.Duration, cause error) error {
	now := s.clock.Now().UTC()
	var herr error
	switch v {
	case delivered:
		herr = s.recordSuccess(ctx, host, now)
	case rejected:
		herr = s.recordAnswered(ctx, host, now, cause.Error())
	default:
		herr = s.recordFailure(ctx, host, now, cause.Error())
	}
	if herr != nil {
		log.ErrorContext(ctx, "recording peer health failed", "err", herr)
	}
	if wasUnavailable && (v == delivered || v == rejected) {
		s.wakeParked(ctx, log, host, now)
	}
	switch v {
	case delivered:
		log.DebugContext(ctx, "delivered")
		return nil
	case rejected, fatal:
		return jobs.Permanent(cause) // the queue logs it and keeps the job as dead
	}
	if age := now.Sub(j.CreatedAt); age >= Window {
		return jobs.Permanent(fmt.Errorf("delivery: giving up after %s and %d attempts: %w", age.Round(time.Minute), j.Attempts, cause))
	}
	if v == throttled && retryAfter > 0 {
		// Retry-After is a floor, never a shortcut past the backoff: a peer that keeps
		// answering "Retry-After: 1" must not burn the attempts within minutes.
		return jobs.RetryAfter(cause, max(min(retryAfter, maxRetryAfter), s.backoff(j.Attempts)))
	}
	return cause
}

// answer is what a peer said.
type answer struct {
	status     int
	retryAfter time.Duration // 0 when absent or unparsable
	detail     string        // status line and the start of the body, for last_error
}

// request builds and signs one delivery's POST.
func (s *Service) request(ctx context.Context, inbox string, act *stored, key *rsa.PrivateKey, now time.Time) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, inbox, bytes.NewReader(act.body))
	if err != nil {
		return nil, fmt.Errorf("delivery: request to %s: %w", inbox, err)
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Accept", accept)
	if s.userAgent != "" {
		req.Header.Set("User-Agent", s.userAgent)
	}
	// Signed now, on every attempt: a signature's Date is only accepted for about an hour.
	if err := signature.Sign(req, act.body, key, act.keyID, now); err != nil {
		return nil, fmt.Errorf("delivery: sign for %s: %w", inbox, err)
	}
	return req, nil
}

// post sends a signed delivery. Only transport failures are errors; any HTTP answer is an
// answer.
func (s *Service) post(req *http.Request, now time.Time) (*answer, error) {
	resp, err := s.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("delivery: POST %s: %w", req.URL.Redacted(), err)
	}
	defer resp.Body.Close()
	a := &answer{status: resp.StatusCode, detail: resp.Status}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		a.retryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), now)
		snip, _ := io.ReadAll(io.LimitReader(resp.Body, snippetLen))
		if t := strings.TrimSpace(strings.ToValidUTF8(string(snip), "")); t != "" {
			a.detail += ": " + t
		}
	}
	// Reading the rest (bounded) lets the transport reuse the connection for the next
	// delivery to this host.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, drainLimit))
	return a, nil
}

// parseRetryAfter reads a Retry-After header: delay-seconds or an HTTP date, relative to now.
// Anything else, or a time in the past, is 0 (use the backoff).
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		if secs > int64(maxRetryAfter/time.Second) {
			return maxRetryAfter
		}
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return min(d, maxRetryAfter)
		}
	}
	return 0
}

// parkDelay is how long a delivery to an unavailable host waits: until a day after the
// host's last attempt, when one job will probe it, plus up to an hour of jitter so the
// parked jobs of a host do not all wake in the same second.
func parkDelay(lastAttempt *time.Time, now time.Time) time.Duration {
	d := ProbeEvery
	if lastAttempt != nil {
		d = lastAttempt.Add(ProbeEvery).Sub(now)
	}
	return max(d, time.Minute) + rand.N(time.Hour)
}

// activity loads an outbox row, from the cache when a fan-out has already read it.
func (s *Service) activity(ctx context.Context, id string) (*stored, error) {
	s.mu.Lock()
	a := s.cache[id]
	s.mu.Unlock()
	if a != nil {
		return a, nil
	}
	var r outboxRow
	if err := s.db.NewSelect().Model(&r).Column("signer_id", "key_id", "body").Where("id = ?", id).Scan(ctx); err != nil {
		return nil, err
	}
	a = &stored{signerID: r.SignerID, keyID: r.KeyID, body: []byte(r.Body)}
	s.mu.Lock()
	if len(s.cache) >= activityCacheSize {
		clear(s.cache) // crude but bounded; fan-outs in flight reload their row once
	}
	s.cache[id] = a
	s.mu.Unlock()
	return a, nil
}
