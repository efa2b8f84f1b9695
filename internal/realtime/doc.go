// Package realtime is the node's in-process publish/subscribe for live updates: new posts
// in timelines, notifications, deletions, badges, chat. Services publish an Event (payload
// encoded once); the streaming API (internal/api/streaming) subscribes one Subscription per
// websocket or SSE response and writes what arrives.
//
// # Design
//
//   - One Hub per node, no package-level state, no goroutines inside: Publish delivers
//     directly into each matching subscription's bounded queue, so an idle subscriber costs
//     memory only.
//   - Two kinds of queue. Subscribe gives a channel, read by a goroutine of the consumer's
//     (SSE); its buffer is allocated up front (64 × 72-byte Event, 5.5 KB). SubscribeFunc
//     gives a goroutine-free consumer (the websockets): the hub calls its ready function
//     when the first event arrives, the consumer takes events with Next, and the queue
//     borrows a pooled 8-event buffer only while events wait in it (0.6 KB per idle
//     subscription, index entries included). That, and no writer goroutine per socket, is
//     most of what brings 10,000 websockets within P7's 150 MB.
//   - Index by route: per-user streams (user, user:notification, direct, list:<id>) are
//     keyed by (stream, account), shared streams (public, public:local, hashtag:<tag>) by
//     stream alone. Publish reads one index entry, so its cost follows the number of
//     matching subscribers, not the number connected.
//   - Publish never blocks. A subscription whose queue is full loses the event, counts it,
//     and is ended with ReasonLagging: a client that missed events must reconnect and
//     refetch rather than show a timeline with silent holes. Mastodon clients already do
//     that on reconnect.
//   - Privacy is the publisher's decision: an event on a per-user stream reaches only its
//     AccountID; the hub neither knows nor checks visibility.
//   - Cluster: several processes sharing one PostgreSQL database act as one node. A
//     Cluster (cluster.go) joins the Hub to the others through a Bridge (bridge.go;
//     pgbridge implements it with LISTEN/NOTIFY). The Hub only gains a Peer hook, called
//     without I/O: Publish offers each event to it after delivering locally, and Listening
//     and ListeningAccounts count other processes' subscribers, because publishers skip the
//     work for people nobody is connected to see. Each process announces its routes
//     (presence), so an event crosses only to processes with a subscriber for it, and a
//     single process on PostgreSQL sends nothing.
//
// # Measured (2-core AMD EPYC, Go 1.26, medians of 3 runs, load average 1.2-1.4 from other
// work; go test -bench . ./internal/realtime)
//
//	BenchmarkPublish/subscribers=10000/matching=100        3.05 µs/op  (30.5 ns per delivery), 0 allocs
//	BenchmarkPublish/subscribers=1000/matching=100         3.08 µs/op  (same: cost follows matches)
//	BenchmarkPublish/subscribers=10000/matching=1          93 ns/op
//	BenchmarkPublish/func/subscribers=10000/matching=100   2.08 µs/op  (20.8 ns per delivery), 0 allocs
//	BenchmarkPublish/func/subscribers=10000/matching=1     96 ns/op
//	BenchmarkSubscribe/chan                                5.6 KB per idle subscription
//	BenchmarkSubscribe/func                                0.6 KB per idle subscription
//
// func/ is SubscribeFunc with a ready function that does nothing; the websocket's starts a
// goroutine (~0.3 µs, no allocation once goroutines are recycled). The end-to-end check
// (10,000 websockets held, a message to 100 online members) lives in internal/api/
// streaming's load_test.go, with its figures in that package's documentation; the
// two-process check is cmd/atrium's TestTwoProcessesOnePostgres.
package realtime
