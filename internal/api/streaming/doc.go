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
// # Measured (P7; load_test.go, 2-core AMD EPYC, medians of 3 runs, clients in a child process)
//
// 10,000 websockets held, extra resident memory of the node:
//
//	server as configured today (16 KiB fasthttp read buffer)    +308 MiB  31.5 KiB/conn
//	with fasthttp ReduceMemoryUsage                              +237 MiB  24.2 KiB/conn
//	ReduceMemoryUsage and Deps.Queue = 16                        +206 MiB  21.1 KiB/conn
//
// Where a connection's ~24 KiB go (heap profile, ReduceMemoryUsage): goroutine stacks 6.4
// KiB (fasthttp's hijack goroutine, which reads, ~4; our writer ~2.4); the 64-event queue
// 4.6 KiB; fasthttp's request context and parsed request, kept until the hijacked handler
// returns, ~4 KiB; the websocket connection, its 512-byte read buffer and contrib's copies
// of headers, cookies and query ~3 KiB; timers, index entries and descriptors the rest.
// Without ReduceMemoryUsage fasthttp also keeps its 16 KiB per-connection read buffer for
// the life of every hijacked connection. The 150 MB target needs more than settings: no
// goroutine per socket (netpoll-driven websockets), which this design does not attempt.
//
// A ~1 KiB message to 100 online members while the 10,000 are held, 20 messages/s:
// median p50 2.0 ms, p99 6.6 ms (runs: p99 3.5 to 6.8 ms, and one at 110 ms while a
// compile shared the two cores); target p99 <= 50 ms.
package streaming
