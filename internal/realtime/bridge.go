package realtime

import "context"

// Bridge carries events between the nodes of a cluster, so that a person connected to node
// B sees a post created on node A. Nothing implements it yet; it is the seam for a
// PostgreSQL LISTEN/NOTIFY bridge (SQLite deployments are single-node and need none).
//
// The intended wiring, kept outside the Hub so that the Hub stays synchronous and free of
// I/O:
//
//	publish := func(ctx context.Context, e Event) {
//		hub.Publish(e)               // local subscribers at once, never waiting on the database
//		_ = bridge.Publish(ctx, e)   // other nodes; an error is logged, not returned to the poster
//	}
//	go bridge.Run(ctx, hub.Publish)  // events from other nodes, delivered locally
//
// What an implementation must get right:
//
//   - Publish must not block a request for long: use a short timeout or a bounded queue, and
//     drop (counting) rather than stall, the same policy the Hub applies to slow clients.
//   - No echo: Run must not deliver this node's own events again (tag each notification with
//     a node id and skip our own), or local subscribers receive everything twice.
//   - NOTIFY payloads are limited to 8000 bytes and statuses can be larger: send small
//     events inline and large ones as a reference (a row in an unlogged table, read once by
//     each node), keeping Payload's bytes identical on every node.
//   - Run returns only when ctx ends or the connection fails for good; it reconnects (with
//     backoff) on its own. Events published while a node was disconnected are lost, and
//     that is acceptable: clients refetch timelines when they reconnect.
//   - One channel for everything: per-user routing stays in each node's Hub, which already
//     knows who is connected where.
type Bridge interface {
	// Publish sends e to the other nodes.
	Publish(ctx context.Context, e Event) error
	// Run receives events from the other nodes and calls deliver for each, until ctx ends.
	Run(ctx context.Context, deliver func(Event)) error
}
