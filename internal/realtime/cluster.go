package realtime

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Peer is what a Hub asks about, and tells, the rest of its cluster. The Hub calls it only
// once SetPeer installed one; Cluster is the implementation. Every method must return at
// once: the Hub calls them while publishing or under its own lock.
type Peer interface {
	// Forward takes an event Publish has just delivered locally, for other nodes.
	Forward(e Event)
	// RouteChanged says this node's first subscriber to a route arrived (up) or its last
	// left. The Hub calls it with its lock held, so it must not call the Hub.
	RouteChanged(stream, account string, up bool)
	// Listening reports whether another node has a subscriber for the route.
	Listening(stream, account string) bool
	// ListeningAccounts calls yield with each account that has the per-user stream open on
	// another node, once each, until yield returns false; it reports whether it went through
	// them all.
	ListeningAccounts(stream string, yield func(account string) bool) bool
}

// SetPeer joins the hub to a cluster: Publish forwards events to p, and Listening and
// ListeningAccounts count other nodes' subscribers. Call it before the hub is used.
func (h *Hub) SetPeer(p Peer) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.peer = p
}

// Cluster puts a Bridge behind a Hub, so that several processes serving one organisation
// behave as one node for live updates. The Hub stays free of I/O: Cluster's hooks only queue.
//
// Why presence, and not just every event to every node: publishers skip work for people who
// are not connected (mastodon.Live renders a post only if someone who would receive it is
// listening, and looks for its audience among the connected). If a node knew only its own
// subscribers, a post on node A would never be rendered for a follower connected to node B.
// So each node announces the routes it has subscribers for (deltas as they change, its full
// set every FullEvery and when a node asks), and the Hub's Listening and ListeningAccounts
// count the other nodes' routes. Forward then sends only events some other node has a
// subscriber for: a single process on PostgreSQL sends nothing at all, and a post to 300
// followers crosses only for those connected elsewhere.
//
// A node that stops announcing is forgotten after Expire. Announcements lost in transit (a
// full queue, a reconnection) are repaired by the next full set, and a node that reconnects
// asks everyone for theirs at once.
type Cluster struct {
	hub    *Hub
	bridge Bridge
	log    *slog.Logger
	opt    ClusterOptions

	mu       sync.Mutex
	pending  map[routeKey]bool // local route changes not yet announced: up or down
	wantFull bool
	kick     chan struct{} // wakes the announcer; capacity 1

	rmu    sync.RWMutex
	remote map[string]*remoteNode // other nodes' routes, by node id
	nodes  atomic.Int32           // len(remote): Forward's fast path when alone

	forwarded, unsent, received atomic.Uint64
}

// ClusterOptions tune a Cluster; zero values mean the defaults.
type ClusterOptions struct {
	FullEvery time.Duration // how often each node announces its full set of routes (30 s)
	Expire    time.Duration // a node not heard from for this long is forgotten (3 × FullEvery)
}

type remoteNode struct {
	routes   map[routeKey]struct{}
	accounts map[string]map[string]struct{} // per-user stream -> accounts, for ListeningAccounts
	seen     time.Time
}

// NewCluster joins hub to the cluster bridge reaches (it calls hub.SetPeer). Run must be
// running for anything to travel.
func NewCluster(hub *Hub, bridge Bridge, log *slog.Logger, o ClusterOptions) *Cluster {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if o.FullEvery <= 0 {
		o.FullEvery = 30 * time.Second
	}
	if o.Expire <= 0 {
		o.Expire = 3 * o.FullEvery
	}
	c := &Cluster{hub: hub, bridge: bridge, log: log, opt: o, pending: map[routeKey]bool{},
		kick: make(chan struct{}, 1), remote: map[string]*remoteNode{}}
	hub.SetPeer(c)
	return c
}

// Run carries messages until ctx ends: it runs the bridge, and announces this node's routes.
func (c *Cluster) Run(ctx context.Context) error {
	done := make(chan error, 1)
	go func() { done <- c.bridge.Run(ctx, c.receive, c.connected) }()
	tick := time.NewTicker(c.opt.FullEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return <-done
		case <-c.kick:
		case <-tick.C:
			c.mu.Lock()
			c.wantFull = true
			c.mu.Unlock()
			c.expire()
		}
		c.announce()
	}
}

// connected runs after the bridge (re)connects: what other nodes announced meanwhile is
// lost, so ask them for everything, and tell them everything (they may have missed us too).
func (c *Cluster) connected() {
	c.bridge.Send(Message{Type: TypeHello})
	c.wantFullSoon()
}

func (c *Cluster) wantFullSoon() {
	c.mu.Lock()
	c.wantFull = true
	c.mu.Unlock()
	c.wake()
}

func (c *Cluster) wake() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// announce sends this node's route changes, or its full set when one is due.
func (c *Cluster) announce() {
	var m Message
	c.mu.Lock()
	full := c.wantFull
	c.mu.Unlock()
	if full {
		// The set and the reset of pending changes are one step under the hub's lock (the
		// order RouteChanged takes them in), so no change falls between them.
		h := c.hub
		h.mu.RLock()
		c.mu.Lock()
		m = Message{Type: TypePresence, Full: true, Up: make([]Route, 0, len(h.routes))}
		for k := range h.routes {
			m.Up = append(m.Up, Route{k.stream, k.account})
		}
		clear(c.pending)
		c.wantFull = false
		c.mu.Unlock()
		h.mu.RUnlock()
	} else {
		c.mu.Lock()
		if len(c.pending) == 0 {
			c.mu.Unlock()
			return
		}
		m = Message{Type: TypePresence}
		for k, up := range c.pending {
			if up {
				m.Up = append(m.Up, Route{k.stream, k.account})
			} else {
				m.Down = append(m.Down, Route{k.stream, k.account})
			}
		}
		clear(c.pending)
		c.mu.Unlock()
	}
	if !c.bridge.Send(m) {
		// A lost announcement leaves the others wrong until a full set arrives: send one
		// with the next change or tick (not at once: the bridge's queue is full).
		c.mu.Lock()
		c.wantFull = true
		c.mu.Unlock()
	}
}

// Forward implements Peer: it sends e on when another node has a subscriber for it.
func (c *Cluster) Forward(e Event) {
	if c.nodes.Load() == 0 {
		return
	}
	key, ok := routeFor(e.Stream, e.AccountID)
	if !ok || !c.Listening(key.stream, key.account) {
		return
	}
	if c.bridge.Send(Message{Type: TypeEvent, Event: e}) {
		c.forwarded.Add(1)
	} else {
		c.unsent.Add(1)
	}
}

// RouteChanged implements Peer.
func (c *Cluster) RouteChanged(stream, account string, up bool) {
	c.mu.Lock()
	c.pending[routeKey{stream, account}] = up
	c.mu.Unlock()
	c.wake()
}

// Listening implements Peer.
func (c *Cluster) Listening(stream, account string) bool {
	if c.nodes.Load() == 0 {
		return false
	}
	key := routeKey{stream, account}
	limit := time.Now().Add(-c.opt.Expire)
	c.rmu.RLock()
	defer c.rmu.RUnlock()
	for _, n := range c.remote {
		if _, ok := n.routes[key]; ok && n.seen.After(limit) {
			return true
		}
	}
	return false
}

// ListeningAccounts implements Peer.
func (c *Cluster) ListeningAccounts(stream string, yield func(string) bool) bool {
	if c.nodes.Load() == 0 {
		return true
	}
	limit := time.Now().Add(-c.opt.Expire)
	c.rmu.RLock()
	defer c.rmu.RUnlock()
	var seen map[string]struct{} // only needed when two nodes may both list someone
	for _, n := range c.remote {
		if !n.seen.After(limit) {
			continue
		}
		for id := range n.accounts[stream] {
			if len(c.remote) > 1 {
				if seen == nil {
					seen = map[string]struct{}{}
				}
				if _, dup := seen[id]; dup {
					continue
				}
				seen[id] = struct{}{}
			}
			if !yield(id) {
				return false
			}
		}
	}
	return true
}

// receive handles one message from another node.
func (c *Cluster) receive(m Message) {
	c.received.Add(1)
	switch m.Type {
	case TypeEvent:
		if len(m.Accounts) == 0 {
			c.hub.Deliver(m.Event)
			return
		}
		e := m.Event
		for _, id := range m.Accounts {
			e.AccountID = id
			c.hub.Deliver(e)
		}
	case TypeHello:
		c.wantFullSoon()
	case TypePresence:
		c.log.Debug("realtime: cluster presence", "node", m.From, "full", m.Full, "up", len(m.Up), "down", len(m.Down))
		c.rmu.Lock()
		defer c.rmu.Unlock()
		n := c.remote[m.From]
		if n == nil || m.Full {
			n = &remoteNode{routes: map[routeKey]struct{}{}, accounts: map[string]map[string]struct{}{}}
			c.remote[m.From] = n
			c.nodes.Store(int32(len(c.remote)))
		}
		n.seen = time.Now()
		for _, r := range m.Up {
			k := routeKey{r.Stream, r.Account}
			n.routes[k] = struct{}{}
			if k.account != "" {
				ids := n.accounts[k.stream]
				if ids == nil {
					ids = map[string]struct{}{}
					n.accounts[k.stream] = ids
				}
				ids[k.account] = struct{}{}
			}
		}
		for _, r := range m.Down {
			k := routeKey{r.Stream, r.Account}
			delete(n.routes, k)
			if ids := n.accounts[k.stream]; ids != nil {
				delete(ids, k.account)
				if len(ids) == 0 {
					delete(n.accounts, k.stream)
				}
			}
		}
	}
}

// expire forgets the nodes that stopped announcing (stopped or cut off).
func (c *Cluster) expire() {
	limit := time.Now().Add(-c.opt.Expire)
	c.rmu.Lock()
	defer c.rmu.Unlock()
	for id, n := range c.remote {
		if !n.seen.After(limit) {
			delete(c.remote, id)
			c.log.Info("realtime: cluster node gone quiet, forgotten", "node", id)
		}
	}
	c.nodes.Store(int32(len(c.remote)))
}

// ClusterStats are a Cluster's counters.
type ClusterStats struct {
	Nodes     int    // other nodes known
	Forwarded uint64 // events sent on to other nodes
	Unsent    uint64 // events the bridge could not take (its queue was full)
	Received  uint64 // messages received from other nodes
}

// Stats reports the cluster's counters.
func (c *Cluster) Stats() ClusterStats {
	return ClusterStats{Nodes: int(c.nodes.Load()), Forwarded: c.forwarded.Load(), Unsent: c.unsent.Load(),
		Received: c.received.Load()}
}
