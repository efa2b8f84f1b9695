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
	// peer, when set, is the rest of the cluster (see Peer); guarded by mu.
	peer Peer

	// chunks lends SubscribeFunc queues their buffers (*[chunk]Event) while they hold
	// events.
	chunks sync.Pool

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
//
// In a cluster (SetPeer), the event is then offered to the peer, which sends it on to the
// nodes with a subscriber for it; the peer must not block either.
func (h *Hub) Publish(e Event) {
	if peer := h.deliver(e); peer != nil {
		peer.Forward(e)
	}
}

// Deliver hands e to this node's subscriptions only: it is how events from other nodes of a
// cluster arrive, and they must not be sent on again.
func (h *Hub) Deliver(e Event) { h.deliver(e) }

func (h *Hub) deliver(e Event) Peer {
	key, ok := routeFor(e.Stream, e.AccountID)
	if !ok {
		h.log.Debug("realtime: event without a route dropped", "stream", e.Stream, "kind", e.Kind)
		return nil
	}
	h.published.Add(1)
	var sent, lost uint64
	h.mu.RLock()
	peer := h.peer
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
	return peer
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
	n, peer := len(h.routes[key]), h.peer
	h.mu.RUnlock()
	return n > 0 || peer != nil && peer.Listening(key.stream, key.account)
}

// ListeningAccounts returns the accounts with a subscription to the per-user stream (such as
// StreamUser), when there are at most max of them; complete is false when there are more
// (ids is then nil). Publishers with many possible recipients (a post's ~300 followers) use
// it to look up only the recipients who are connected, and to skip the lookup when nobody
// is; with more than max connected, asking Listening about each recipient is cheaper. As with
// Listening, a subscriber arriving just after the call misses the event. In a cluster the
// accounts connected to other nodes count too.
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
	if h.peer != nil {
		complete = h.peer.ListeningAccounts(stream, func(id string) bool {
			if _, local := set[id]; !local {
				if len(ids) == max {
					return false
				}
				ids = append(ids, id)
			}
			return true
		})
		if !complete {
			return nil, false
		}
	}
	return ids, true
}

// Subscribe registers interest in streams for accountID (which may be "" for an anonymous
// reader of shared streams; per-user streams are then ignored). buf <= 0 means
// DefaultBuffer. The caller must Close the subscription when done. After the hub is closed
// the returned subscription is already ended with ReasonShutdown (SubscribeFunc's ready is
// then not called: check Reason).
func (h *Hub) Subscribe(accountID string, streams []string, buf int) *Subscription {
	if buf <= 0 {
		buf = DefaultBuffer
	}
	return h.subscribe(&Subscription{hub: h, account: accountID, ch: make(chan Event, buf)}, streams)
}

// SubscribeFunc is Subscribe for a consumer without a goroutine of its own (a websocket
// whose writer runs only when there is something to write). ready is called when an event
// arrives for a consumer that last found the queue empty (at first, and after each Next
// that reported false), and when the subscription ends other than by Close. It runs on the
// publisher's goroutine (or Hub.Close's, under the hub's lock), so it must neither block nor
// call the hub: start the writer and return. At most limit events wait (<= 0 means DefaultBuffer); one more ends the
// subscription with ReasonLagging.
func (h *Hub) SubscribeFunc(accountID string, streams []string, limit int, ready func()) *Subscription {
	if limit <= 0 {
		limit = DefaultBuffer
	}
	return h.subscribe(&Subscription{hub: h, account: accountID, limit: limit, ready: ready, armed: true}, streams)
}

func (h *Hub) subscribe(s *Subscription, streams []string) *Subscription {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		s.removed = true
		s.armed = false // SubscribeFunc's caller reads Reason; ready must not run before it returns
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
		if h.peer != nil {
			h.peer.RouteChanged(key.stream, key.account, true)
		}
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
			if h.peer != nil {
				h.peer.RouteChanged(key.stream, key.account, false)
			}
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
	if h.peer != nil {
		for key := range h.routes {
			h.peer.RouteChanged(key.stream, key.account, false)
		}
	}
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
