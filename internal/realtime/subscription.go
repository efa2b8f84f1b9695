package realtime

import (
	"sync"
	"sync/atomic"
)

// Subscription is one consumer's view of the hub: a bounded queue of events for the streams
// it follows. One goroutine (a websocket's writer, an SSE response) reads C; the set of
// streams may change while it runs (Mastodon clients subscribe and unsubscribe over one
// socket).
type Subscription struct {
	hub     *Hub
	account string
	ch      chan Event

	// Guarded by hub.mu: the index entries this subscription sits in, and whether Close (or
	// the hub's Close) has taken it out of the index.
	keys    []routeKey
	removed bool

	// mu orders sends on ch against closing it: publishers deliver concurrently under the
	// hub's read lock, and a send on a closed channel would panic.
	mu      sync.Mutex
	closed  bool
	reason  string
	dropped atomic.Uint64
}

// C delivers the events. It is closed when the subscription ends; Reason then says why. A
// consumer should stop at once on ReasonLagging rather than drain what is left: the client
// has already missed events and must refetch.
func (s *Subscription) C() <-chan Event { return s.ch }

// Account is the account the subscription's per-user streams belong to.
func (s *Subscription) Account() string { return s.account }

// Dropped counts the events this subscription did not receive because its queue was full or
// it had already been ended for lagging.
func (s *Subscription) Dropped() uint64 { return s.dropped.Load() }

// Reason is why the subscription ended (ReasonClosed, ReasonLagging, ReasonShutdown), or ""
// while it is live.
func (s *Subscription) Reason() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reason
}

// Add follows more streams. It reports false if a stream cannot be followed (a per-user
// stream on an anonymous subscription, an empty name) or the subscription has ended.
func (s *Subscription) Add(streams ...string) bool {
	h := s.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	ok := true
	for _, st := range streams {
		ok = h.addLocked(s, st) && ok
	}
	return ok
}

// Remove stops following streams; streams not followed are ignored.
func (s *Subscription) Remove(streams ...string) {
	h := s.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, st := range streams {
		key, ok := routeFor(st, s.account)
		if !ok {
			continue
		}
		for i, k := range s.keys {
			if k == key {
				h.removeLocked(s, key)
				s.keys = append(s.keys[:i], s.keys[i+1:]...)
				break
			}
		}
	}
}

// Streams lists the streams followed, in the order they were added.
func (s *Subscription) Streams() []string {
	s.hub.mu.RLock()
	defer s.hub.mu.RUnlock()
	out := make([]string, len(s.keys))
	for i, k := range s.keys {
		out[i] = k.stream
	}
	return out
}

// Close unsubscribes and closes C. It is safe to call more than once and from any goroutine.
func (s *Subscription) Close() {
	h := s.hub
	h.mu.Lock()
	if !s.removed {
		s.removed = true
		for _, k := range s.keys {
			h.removeLocked(s, k)
		}
		s.keys = nil
		delete(h.all, s)
	}
	h.mu.Unlock()
	s.end(ReasonClosed)
}

// deliver queues e without blocking. On a full queue the subscription is ended with
// ReasonLagging: dropping silently would leave a client showing a timeline with holes and no
// way to know it should refetch. A lagging subscription stays indexed (counting drops) until
// its consumer sees C closed and calls Close; Publish cannot take the hub's write lock.
func (s *Subscription) deliver(e Event) bool {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		s.dropped.Add(1)
		return false
	}
	select {
	case s.ch <- e:
		s.mu.Unlock()
		return true
	default:
	}
	s.closed, s.reason = true, ReasonLagging
	close(s.ch)
	s.mu.Unlock()
	s.dropped.Add(1)
	s.hub.lagged.Add(1)
	s.hub.log.Debug("realtime: subscriber lagging, ended", "account", s.account, "queue", cap(s.ch))
	return false
}

// end closes C once, recording why.
func (s *Subscription) end(reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.closed, s.reason = true, reason
	close(s.ch)
}
