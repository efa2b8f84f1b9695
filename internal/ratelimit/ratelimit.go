// Package ratelimit counts attempts per key (an IP, a user name) in fixed windows. It is
// owned by a node, never global, so several nodes in one process keep separate counts. The
// map is bounded: when full, expired windows are swept, and if still full the request is
// refused, which under a flood of distinct keys errs on the side of safety.
package ratelimit

import (
	"sync"
	"time"

	"github.com/atrium-social/atrium/internal/clock"
)

// Limiter allows up to Max events per key within Window.
type Limiter struct {
	mu      sync.Mutex
	max     int
	window  time.Duration
	clock   clock.Clock
	entries map[string]*entry
	maxKeys int
}

type entry struct {
	start time.Time
	count int
}

// New makes a limiter of max events per window.
func New(c clock.Clock, max int, window time.Duration) *Limiter {
	return &Limiter{max: max, window: window, clock: c, entries: map[string]*entry{}, maxKeys: 100_000}
}

// Allow records an event for key and reports whether it is within the limit, and if not,
// how long until the window resets.
func (l *Limiter) Allow(key string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock.Now()
	e := l.entries[key]
	if e == nil || now.Sub(e.start) >= l.window {
		if e == nil && len(l.entries) >= l.maxKeys {
			l.sweep(now)
			if len(l.entries) >= l.maxKeys {
				return false, l.window
			}
		}
		e = &entry{start: now}
		l.entries[key] = e
	}
	if e.count >= l.max {
		return false, e.start.Add(l.window).Sub(now)
	}
	e.count++
	return true, 0
}

// Reset forgets key, e.g. after a successful sign-in.
func (l *Limiter) Reset(key string) {
	l.mu.Lock()
	delete(l.entries, key)
	l.mu.Unlock()
}

func (l *Limiter) sweep(now time.Time) {
	for k, e := range l.entries {
		if now.Sub(e.start) >= l.window {
			delete(l.entries, k)
		}
	}
}
