package realtime

import "context"

// Bridge carries messages between the nodes of a cluster, so that a person connected to node
// B sees a post created on node A. SQLite deployments are single-node and need none;
// internal/realtime/pgbridge implements it with PostgreSQL LISTEN/NOTIFY. A Cluster puts a
// Bridge behind a Hub (see Cluster for what travels and why).
//
// What an implementation must get right:
//
//   - Send must not block a request: use a bounded queue and drop (counting) rather than
//     stall, the same policy the Hub applies to slow clients.
//   - No echo: Run must not hand this node's own messages back (tag each with a node id and
//     skip our own), or local subscribers receive everything twice.
//   - Order: messages from one node arrive at every other node in the order Send took them.
//     Presence relies on it (a route announced up then down must not end up up).
//   - Size: events can be large (a status with a long text is tens of KB) and must arrive
//     byte for byte; a transport with a small message limit (NOTIFY's 8000 bytes) sends
//     large messages by reference.
//   - Run returns only when ctx ends; it reconnects (with backoff) on its own, and calls
//     connected after each (re)connection, before that connection's first message, so that
//     the cluster can ask for state it may have missed. Events published while a node was
//     disconnected are lost, and that is acceptable: clients refetch timelines when they
//     reconnect, and chat clients catch up from their last seen message.
//   - One channel for everything: per-user routing stays in each node's Hub, which already
//     knows who is connected where.
type Bridge interface {
	// Send queues m for every other node without waiting; it reports false when m was
	// dropped. Send owns m afterwards: its slices must not change. It may merge consecutive
	// events that differ only in their account (a post to many followers) into one message
	// with several Accounts.
	Send(m Message) bool
	// Run receives the other nodes' messages and calls receive for each, in order, until ctx
	// ends. receive and connected run on Run's goroutine.
	Run(ctx context.Context, receive func(Message), connected func()) error
}

// MessageType says what a Message carries.
type MessageType uint8

// Message types.
const (
	// TypeEvent carries an event to deliver to the receiving node's subscribers.
	TypeEvent MessageType = iota
	// TypePresence announces which routes (a stream, and for per-user streams an account)
	// the sending node has subscribers for: Up gained their first subscriber and Down lost
	// their last; with Full, Up is the node's complete set and replaces what was known.
	TypePresence
	// TypeHello says the sending node (re)connected and asks every node for its full
	// presence.
	TypeHello
)

// Message is what the nodes of a cluster exchange.
type Message struct {
	// From is the sending node's id, set by the bridge on receipt.
	From string
	Type MessageType
	// Event is a TypeEvent's event. When Accounts is set, the event goes to each of them
	// (its per-user stream) and Event.AccountID is ignored.
	Event    Event
	Accounts []string
	// Up, Down and Full are a TypePresence's routes.
	Up, Down []Route
	Full     bool
}

// Route is one index entry of a hub: a stream, and the account for a per-user stream.
type Route struct{ Stream, Account string }
