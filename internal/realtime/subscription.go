package realtime

import (
	"sync"
	"sync/atomic"
)

// Subscription is one consumer's view of the hub: a bounded queue of events for the streams
// it follows. The set of streams may change while it runs (Mastodon clients subscribe and
// unsubscribe over one socket).
//
// It comes in two forms:
//
//   - Subscribe: events arrive on the channel C, read by a goroutine of the consumer's (an SSE
//     response). The channel's buffer is allocated up front.
//   - SubscribeFunc: nobody waits. The hub calls the consumer's ready function when the first
//     event arrives, and the consumer takes events with Next until there are none. The queue
//     borrows a small pooled buffer while it holds events and returns it when drained, so an
//     idle subscription holds no buffer and no goroutine: that is what lets a node keep
//     10,000 websockets within P7's memory budget.
type Subscription struct {
	hub     *Hub
	account string
	ch      chan Event // Subscribe; nil for SubscribeFunc

	// Guarded by hub.mu: the index entries this subscription sits in, and whether Close (or
	// the hub's Close) has taken it out of the index.
	keys    []routeKey
	removed bool

	// mu orders deliveries against taking and against ending: publishers deliver
	// concurrently under the hub's read lock, and a send on a closed channel would panic.
	mu     sync.Mutex
	closed bool
	reason string
	// SubscribeFunc's queue and wake-up: ready is called once each time armed is set and
	// then an event arrives or the subscription ends; Next sets armed again when it finds
	// the queue empty, so exactly one wake-up is ever outstanding and none is lost.
	q       queue
	limit   int
	ready   func()
	armed   bool
	dropped atomic.Uint64
}

// C delivers the events of a subscription made with Subscribe (nil for SubscribeFunc). It is
// closed when the subscription ends; Reason then says why. A consumer should stop at once on
// ReasonLagging rather than drain what is left: the client has already missed events and
// must refetch.
func (s *Subscription) C() <-chan Event { return s.ch }

// Next takes the oldest queued event of a subscription made with SubscribeFunc. It reports
// false when the queue is empty or the subscription has ended (Reason says which; a lagging
// subscription yields nothing more, as its consumer must close rather than drain). After a
// false, the hub calls ready again on the next event or on the end.
func (s *Subscription) Next() (Event, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed && s.reason == ReasonLagging || s.q.n == 0 {
		if s.closed {
			s.q.release(s.hub)
		} else {
			s.armed = true
		}
		return Event{}, false
	}
	return s.q.pop(s.hub), true
}

// Len is the number of events queued.
func (s *Subscription) Len() int {
	if s.ch != nil {
		return len(s.ch)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.q.n
}

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

// Close unsubscribes and ends the subscription (closing C). It is safe to call more than
// once and from any goroutine. It does not call ready: the consumer is the one closing.
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
	s.mu.Lock()
	s.armed = false
	s.q.release(h)
	s.mu.Unlock()
	s.end(ReasonClosed)
}

// deliver queues e without blocking. On a full queue the subscription is ended with
// ReasonLagging: dropping silently would leave a client showing a timeline with holes and no
// way to know it should refetch. A lagging subscription stays indexed (counting drops) until
// its consumer sees it ended and calls Close; Publish cannot take the hub's write lock.
func (s *Subscription) deliver(e Event) bool {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		s.dropped.Add(1)
		return false
	}
	if s.ch != nil {
		select {
		case s.ch <- e:
			s.mu.Unlock()
			return true
		default:
		}
	} else if s.q.n < s.limit {
		s.q.push(s.hub, e, s.limit)
		wake := s.armed
		s.armed = false
		s.mu.Unlock()
		if wake {
			s.ready()
		}
		return true
	}
	s.closed, s.reason = true, ReasonLagging
	if s.ch != nil {
		close(s.ch)
	}
	wake := s.armed
	s.armed = false
	s.mu.Unlock()
	s.dropped.Add(1)
	s.hub.lagged.Add(1)
	s.hub.log.Debug("realtime: subscriber lagging, ended", "account", s.account, "queue", max(cap(s.ch), s.limit))
	if wake {
		s.ready()
	}
	return false
}

// end closes the subscription once, recording why, and wakes a SubscribeFunc consumer that
// is waiting for events (except on Close, which its consumer called).
func (s *Subscription) end(reason string) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed, s.reason = true, reason
	if s.ch != nil {
		close(s.ch)
	}
	wake := s.armed && reason != ReasonClosed
	s.armed = false
	s.mu.Unlock()
	if wake {
		s.ready()
	}
}

// chunk is the size of the pooled buffers queues borrow: enough for the events that usually
// arrive together (a post, its notification, a badge), 576 bytes. A burst beyond it grows
// the queue by doubling, up to the subscription's limit, with buffers of its own.
const chunk = 8

// queue is a ring of events that holds a buffer only while it holds events.
type queue struct {
	buf     []Event
	head, n int
}

func (q *queue) push(h *Hub, e Event, limit int) {
	if q.buf == nil {
		if p, ok := h.chunks.Get().(*[chunk]Event); ok {
			q.buf = p[:]
		} else {
			q.buf = make([]Event, chunk)
		}
	}
	if q.n == len(q.buf) { // the caller checked q.n < limit, so there is room to grow
		grown := make([]Event, min(2*len(q.buf), limit))
		for i := range q.n {
			grown[i] = q.buf[(q.head+i)%len(q.buf)]
		}
		n := q.n
		q.release(h)
		q.buf, q.n = grown, n
	}
	q.buf[(q.head+q.n)%len(q.buf)] = e
	q.n++
}

func (q *queue) pop(h *Hub) Event {
	e := q.buf[q.head]
	q.buf[q.head] = Event{} // the payload may be large: do not keep it reachable
	q.head = (q.head + 1) % len(q.buf)
	q.n--
	if q.n == 0 {
		q.release(h)
	}
	return e
}

// release gives the buffer back (to the pool if it is a chunk), dropping what it holds.
func (q *queue) release(h *Hub) {
	if q.buf == nil {
		return
	}
	clear(q.buf)
	if len(q.buf) == chunk {
		h.chunks.Put((*[chunk]Event)(q.buf))
	}
	q.buf, q.head, q.n = nil, 0, 0
}
