package realtime

import (
	"log/slog"
	"sync"
	"sync/atomic"
)

// DefaultBuffer is the per-subscription queue length when Subscribe is given none. 64 events
// absorb a burst (a busy hashtag, a thread going viral) while a client's socket drains; a
// client further behind than that is better told to reconnect and refetch than fed stale
// updates.
const DefaultBuffer = 64

// Reasons a subscription ended, as returned by Subscription.Reason.
const (
	ReasonClosed   = "closed"   // the subscriber called Close
	ReasonLagging  = "lagging"  // its queue overflowed: events were dropped
	ReasonShutdown = "shutdown" // the hub was closed (node shutting down)
)

// Hub routes events to subscriptions on one node. It holds no goroutines: Publish delivers
// straight into each matching subscription's bounded channel, so 10,000 idle subscribers
// cost their channels and index entries and nothing else.
type Hub struct {
	log *slog.Logger

	mu     sync.RWMutex
	routes map[routeKey]map[*Subscription]struct{} // who receives what: Publish reads one entry
	all    map[*Subscription]struct{}              // every live subscription, for Close
	// accounts lists, per per-user stream, the accounts with a route in it (kept with
	// routes), so that a publisher can ask who is connected instead of asking about each
	// of its recipients in turn (ListeningAccounts).
	accounts map[string]map[string]struct{}
	closed   bool

	published, delivered, dropped, lagged atomic.Uint64
}

// NewHub makes an empty hub. log may be nil.
func NewHub(log *slog.Logger) *Hub {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Hub{log: log, routes: map[routeKey]map[*Subscription]struct{}{}, all: map[*Subscription]struct{}{},
		accounts: map[string]map[string]struct{}{}}
}

// Publish hands e to every matching subscription without ever waiting for one: the
// publisher is usually a request creating a post, and a stalled phone on a bad network must
// not slow it down. A subscription whose queue is full loses the event and is ended with
// ReasonLagging. Cost is proportional to the matching subscriptions only.
//
// Streams are exact: as in Mastodon, a notification goes to "user" and, in a second
// Publish of the same bytes, to "user:notification".
func (h *Hub) Publish(e Event) {
	key, ok := routeFor(e.Stream, e.AccountID)
	if !ok {
		h.log.Debug("realtime: event without a route dropped", "stream", e.Stream, "kind", e.Kind)
		return
	}
	h.published.Add(1)
	var sent, lost uint64
	h.mu.RLock()
	for s := range h.routes[key] {
		if s.deliver(e) {
			sent++
		} else {
			lost++
		}
	}
	h.mu.RUnlock()
	if sent > 0 {
		h.delivered.Add(sent)
	}
	if lost > 0 {
		h.dropped.Add(lost)
	}
}

// Listening reports whether any subscription would receive an event on stream for
// accountID (ignored for shared streams). Publishers use it to skip rendering events
// nobody is connected to see; a subscriber arriving just after the check misses the event,
// exactly as one arriving just after Publish would.
func (h *Hub) Listening(stream, accountID string) bool {
	key, ok := routeFor(stream, accountID)
	if !ok {
		return false
	}
	h.mu.RLock()
	n := len(h.routes[key])
	h.mu.RUnlock()
	return n > 0
}

// ListeningAccounts returns the accounts with a subscription to the per-user stream (such as
// StreamUser), when there are at most max of them; complete is false when there are more
// (ids is then nil). Publishers with many possible recipients (a post's ~300 followers) use
// it to look up only the recipients who are connected, and to skip the lookup when nobody
// is; with more than max connected, asking Listening about each recipient is cheaper. As with
// Listening, a subscriber arriving just after the call misses the event.
func (h *Hub) ListeningAccounts(stream string, max int) (ids []string, complete bool) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	set := h.accounts[stream]
	if len(set) > max {
		return nil, false
	}
	ids = make([]string, 0, len(set))
	for id := range set {
		ids = append(ids, id)
	}
	return ids, true
}

// Subscribe registers interest in streams for accountID (which may be "" for an anonymous
// reader of shared streams; per-user streams are then ignored). buf <= 0 means
// DefaultBuffer. The caller must Close the subscription when done. After the hub is closed
// the returned subscription is already ended with ReasonShutdown.
func (h *Hub) Subscribe(accountID string, streams []string, buf int) *Subscription {
	if buf <= 0 {
		buf = DefaultBuffer
	}
	s := &Subscription{hub: h, account: accountID, ch: make(chan Event, buf)}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		s.removed = true
		s.end(ReasonShutdown)
		return s
	}
	h.all[s] = struct{}{}
	for _, st := range streams {
		h.addLocked(s, st)
	}
	return s
}

// addLocked indexes s under stream; it reports false for streams s cannot have (a per-user
// stream without an account) and true if s already had it.
func (h *Hub) addLocked(s *Subscription, stream string) bool {
	key, ok := routeFor(stream, s.account)
	if !ok || s.removed {
		return false
	}
	for _, k := range s.keys {
		if k == key {
			return true
		}
	}
	set := h.routes[key]
	if set == nil {
		set = make(map[*Subscription]struct{}, 1)
		h.routes[key] = set
		if key.account != "" {
			ids := h.accounts[key.stream]
			if ids == nil {
				ids = map[string]struct{}{}
				h.accounts[key.stream] = ids
			}
			ids[key.account] = struct{}{}
		}
	}
	set[s] = struct{}{}
	s.keys = append(s.keys, key)
	return true
}

func (h *Hub) removeLocked(s *Subscription, key routeKey) {
	if set := h.routes[key]; set != nil {
		delete(set, s)
		if len(set) == 0 {
			delete(h.routes, key) // keeps the index from growing with every hashtag ever followed
			if ids := h.accounts[key.stream]; ids != nil && key.account != "" {
				delete(ids, key.account)
				if len(ids) == 0 {
					delete(h.accounts, key.stream)
				}
			}
		}
	}
}

// Close ends every subscription with ReasonShutdown and refuses new ones, so that streaming
// clients are told the node is going away (and reconnect elsewhere) instead of timing out.
func (h *Hub) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for s := range h.all {
		s.removed = true
		s.keys = nil
		s.end(ReasonShutdown)
	}
	h.all = map[*Subscription]struct{}{}
	h.routes = map[routeKey]map[*Subscription]struct{}{}
	h.accounts = map[string]map[string]struct{}{}
}

// Stats is a snapshot of the hub's counters, for metrics and load reports.
type Stats struct {
	Subscriptions int    // live subscriptions
	Routes        int    // distinct (stream, account) index entries
	Published     uint64 // events published with a valid route
	Delivered     uint64 // events queued to a subscription
	Dropped       uint64 // events a subscription could not take (full or already lagging)
	Lagged        uint64 // subscriptions ended because they overflowed
}

// Stats reports the hub's counters.
func (h *Hub) Stats() Stats {
	h.mu.RLock()
	st := Stats{Subscriptions: len(h.all), Routes: len(h.routes)}
	h.mu.RUnlock()
	st.Published, st.Delivered = h.published.Load(), h.delivered.Load()
	st.Dropped, st.Lagged = h.dropped.Load(), h.lagged.Load()
	return st
}
