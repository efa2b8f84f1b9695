package jobs

import (
	"errors"
	"math/rand/v2"
	"time"
)

// permanentError marks a failure that retrying cannot fix.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return "permanent: " + e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Permanent wraps err so that the queue does not retry the job: it is marked dead at once,
// with err as its last_error. Use it for failures a retry cannot fix (a 4xx from a remote
// inbox, a payload that does not decode). Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err: err}
}

// IsPermanent reports whether err, or an error it wraps, came from Permanent.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

// retryAfterError carries the delay a remote party asked for.
type retryAfterError struct {
	err   error
	delay time.Duration
}

func (e *retryAfterError) Error() string { return e.err.Error() }
func (e *retryAfterError) Unwrap() error { return e.err }

// RetryAfter wraps err so that the next attempt runs d from now instead of after the
// computed backoff, e.g. for an HTTP 429 or 503 with a Retry-After header. The job still
// counts the attempt, so MaxAttempts bounds how long a peer can keep it waiting.
// RetryAfter(nil, d) is nil.
func RetryAfter(err error, d time.Duration) error {
	if err == nil {
		return nil
	}
	return &retryAfterError{err: err, delay: d}
}

// retryDelay is the delay err asks for, if any.
func retryDelay(err error) (time.Duration, bool) {
	var r *retryAfterError
	if errors.As(err, &r) {
		return r.delay, true
	}
	return 0, false
}

// BackoffFunc returns how long to wait before retrying after failed attempt number attempt
// (1 for the first run).
type BackoffFunc func(attempt int) time.Duration

// Default backoff bounds: full jitter over an exponential from 30 s, doubling, capped at 6 h
// (FEDERATION.md section 6).
const (
	backoffBase = 30 * time.Second
	backoffCap  = 6 * time.Hour
	// minDelay keeps a retry from being due at the same instant it failed, so a failing job
	// cannot spin (and Drain, on a clock that does not move, always ends).
	minDelay = time.Second
)

// DefaultBackoff is full-jitter exponential backoff: a uniformly random delay between 0 and
// min(6 h, 30 s * 2^(attempt-1)). Jitter spreads retries of many jobs that failed together
// (a partner node that was down) so they do not hit it again in one burst.
func DefaultBackoff(attempt int) time.Duration {
	return rand.N(ExponentialBackoff(backoffBase, backoffCap)(attempt) + 1)
}

// ExponentialBackoff returns a backoff without jitter: base * 2^(attempt-1), capped at max.
func ExponentialBackoff(base, max time.Duration) BackoffFunc {
	return func(attempt int) time.Duration {
		d := base
		for i := 1; i < attempt && d < max; i++ {
			d *= 2
		}
		return min(d, max)
	}
}
