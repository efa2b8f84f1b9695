// Package streaming is Mastodon's streaming API on an Atrium node: live timelines and
// notifications over a websocket (GET /api/v1/streaming, what current apps use) and over
// server-sent events (GET /api/v1/streaming/user, /public/local, /hashtag?tag=..., for older
// clients and EventSource), fed by the node's realtime.Hub.
//
// Wire format, as Mastodon: websocket clients name a stream on the URL (?stream=user,
// ?stream=hashtag&tag=go) and/or send {"type":"subscribe","stream":"user"} and
// {"type":"unsubscribe",...}; the server sends {"stream":["user"],"event":"update",
// "payload":"<the status JSON, as a string>"}. SSE sends "event: update\ndata: {...}\n\n"
// and a ":thump" comment every 30 s.
//
// Authentication: an Authorization bearer token, an access_token query parameter, or the
// token as the Sec-WebSocket-Protocol (browsers cannot set headers on a WebSocket); else
// the session cookie, accepted only from our own origin because browsers attach cookies to
// cross-site WebSockets. Tokens need read, read:statuses or read:notifications. Refusals
// are JSON errors before the upgrade.
//
// Limits per connection keep 10,000 sockets affordable and one client from hurting the
// others: 512-byte read buffer and pooled write buffers (an idle socket holds none), 4 KiB
// client messages, 20 messages/s (burst 40) then close 1008, 32 streams, 64 queued events
// then close 1001 "lagging", 10 s write deadline, ping every 30 s and 75 s to answer.
//
// One goroutine per socket, the reader. The upgrade handler returns at once (the server
// keeps hijacked connections open, KeepHijackedConns), so fasthttp recycles the request's
// memory; events are queued by the hub without a goroutine (realtime.Hub.SubscribeFunc)
// and written by a goroutine started when the first arrives, which exits once the queue
// is empty; pings come from a timer.
//
// Reconnecting without loss: the server never replays, as in Mastodon. A client that
// reconnects (after 1001 "lagging" or "server shutting down", or a dropped network)
// subscribes first and then refetches what it missed: timelines and notifications page
// with since_id and min_id, and chat clients fetch messages since their last seen id.
// Naming the stream on the URL (?stream=user, as the web page does) makes the subscription
// exist before the socket opens, so a refetch started on open misses nothing on one
// process. A {"type":"subscribe"} message has no acknowledgement in Mastodon's protocol,
// so a client should let it land before refetching. With several processes on one
// PostgreSQL, a new subscriber is known to the others a few milliseconds later
// (realtime.Cluster's presence): an event published elsewhere in that window is not
// delivered live, and only the refetch shows it.
//
// Routing is the hub's: per-user streams (user, user:notification, direct, list) reach only
// the events' AccountID, so the publisher decides who may see what; this package only
// checks the token may read the kind of stream asked for.
//
// Every stream, public ones included, requires a signed-in user: the mastodon Live
// publisher relies on it when it puts company-only posts on public:local.
//
// Websockets need the node served by fasthttp itself (App.Listener), as `atrium serve`
// does; the net/http adaptor used by nodetest cannot hijack connections or stream bodies.
//
// # Measured (P7; load_test.go, 2-core AMD EPYC, clients in a child process)
//
// 10,000 websockets held, extra resident memory of the node (medians of 3 runs, run in
// turn, load average 1.0-1.7 from other work on the machine):
//
//	before: a handler goroutine and a writer goroutine per socket,
//	        64-event channel, fasthttp's 16 KiB read buffer kept          +269 MiB  27.5 KiB/conn
//	now, with the server's ReduceMemoryUsage (as the node runs)            +73 MiB   7.5 KiB/conn
//	now, ReduceMemoryUsage off (ATRIUM_STREAMING_LOAD_REDUCE=0)           +118 MiB  12.0 KiB/conn
//
// The last line flatters: its heap grows by 186 MiB, because each socket keeps fasthttp's
// 16 KiB read buffer, and the figure is low only while those buffers' untouched pages stay
// out of a young process's memory. The server therefore runs with ReduceMemoryUsage, which
// returns the buffer once a request is read (internal/server).
//
// Where a connection's ~7.5 KiB go now (heap profile): the reader goroutine's stack 4.0 KiB
// (blocked deep in the library's ReadMessage, so the runtime cannot shrink it to 2 KiB);
// the library's connection, its 512-byte read buffer and handlers ~1.1 KiB; the socket's
// descriptor, addresses and poller entry ~0.4 KiB; subscription and hub index ~0.25 KiB;
// the ping timer ~0.1 KiB; our wsConn and client ~0.2 KiB; the rest allocator overhead.
// Before, the writer goroutine's stack (2.4 KiB), the 64-event queue (4.6 KiB of heap),
// fasthttp's request context and contrib/websocket's copies of the request (~7 KiB of
// heap, pinned by the handler goroutine) and the read buffer made up the difference.
//
// A ~1 KiB message to 100 online members while the 10,000 are held, 20 messages/s: p99
// 5.6 ms, p50 1.4 ms (p99 runs 2.8, 5.6, 6.5 ms; before 2.6, 3.5, 4.8 ms in the same
// session); target p99 <= 50 ms. The CPU profile of the sending shows the write system
// call (89%), starting the writer goroutines 11%. On a busy machine (load average 5-9,
// other sessions compiling) the tail belongs to the scheduler, for both designs: p99 over
// five runs 11, 15, 30, 72, 88 ms now, and 9, 9, 10, 22, 155 ms before.
package streaming
