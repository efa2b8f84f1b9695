package streaming

import (
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/contrib/websocket"
	"github.com/gofiber/fiber/v2"

	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/realtime"
	"github.com/atrium-social/atrium/internal/server"
)

// Deps are what the streaming API needs.
type Deps struct {
	Server *server.Server
	Hub    *realtime.Hub
	Log    *slog.Logger
	// Queue is how many events may wait for one connection before it is closed as lagging;
	// 0 means realtime.DefaultBuffer (64). A websocket's queue holds memory only while
	// events wait in it (an SSE response's channel holds 72 bytes per slot for its life).
	Queue int
}

// Connection limits. They bound what one client can cost the node: memory (buffers, queued
// events, streams indexed), CPU (messages parsed) and time (a stalled peer is dropped).
const (
	pingEvery  = 30 * time.Second // websocket ping and SSE heartbeat: keeps proxies from idling us out
	pongWait   = 75 * time.Second // two missed pings and a margin, then the peer is gone
	writeWait  = 10 * time.Second // a client that cannot take one frame in 10 s is dropped
	closeGrace = 2 * time.Second  // how long we wait for the peer's close frame after ours
	readLimit  = 4 << 10          // client messages are tiny subscribe requests
	msgRate    = 20               // client messages per second, sustained...
	msgBurst   = 40               // ...after a burst (a client resubscribing to its streams at start)
	maxStreams = 32               // streams one connection may follow
)

type api struct {
	Deps
	ping   time.Duration // pingEvery; tests shorten it to see heartbeats
	frames sync.Pool     // *[]byte scratch for websocket frames, shared by all connections
}

// localClient is the Locals key for who is streaming, set before the upgrade and read in the
// websocket handler (contrib/websocket copies Locals across).
const localClient = "streaming.client"

// client is the authenticated party of one streaming connection.
type client struct {
	userID  string
	scopes  string // the token's scopes; "" for a cookie session, which carries every scope
	initial string // websocket: the stream named on the URL, already resolved; "" if none
}

// Register mounts the streaming API: the websocket endpoint Mastodon apps use, its health
// check, and the server-sent-events endpoints older clients use.
func Register(d Deps) { register(d, pingEvery) }

func register(d Deps, ping time.Duration) {
	if d.Log == nil {
		d.Log = d.Server.Log
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Queue <= 0 {
		d.Queue = realtime.DefaultBuffer
	}
	a := &api{Deps: d, ping: ping}
	app := d.Server.App
	// The websocket handler hands its connection to goroutines of its own and returns, so
	// that fasthttp can recycle the request's memory (serveWebsocket); fasthttp must then
	// leave the connection open. Websockets are the server's only hijacked connections.
	app.Server().KeepHijackedConns = true
	app.Get("/api/v1/streaming/health", func(c *fiber.Ctx) error {
		c.Set(fiber.HeaderContentType, fiber.MIMETextPlainCharsetUTF8)
		return c.SendString("OK")
	})
	app.Get("/api/v1/streaming", a.authenticate, a.prepareWebsocket, websocket.New(a.serveWebsocket, websocket.Config{
		HandshakeTimeout: 10 * time.Second,
		// Small buffers are what lets one node hold 10,000 sockets: the read buffer only ever
		// sees subscribe messages, and write buffers are pooled, so an idle connection holds
		// none at all.
		ReadBufferSize:  512,
		WriteBufferSize: 4 << 10,
		WriteBufferPool: &sync.Pool{},
		RecoverHandler:  a.recoverWebsocket,
	}))
	for path, stream := range map[string]string{
		"user":              realtime.StreamUser,
		"user/notification": realtime.StreamNotification,
		"direct":            realtime.StreamDirect,
		"public":            realtime.StreamPublic,
		"public/local":      realtime.StreamPublicLocal,
		"public/remote":     realtime.StreamPublicRemote,
		"hashtag":           "hashtag",
		"hashtag/local":     "hashtag:local",
		"list":              "list",
	} {
		app.Get("/api/v1/streaming/"+path, a.authenticate, a.serveSSE(stream))
	}
}

// authenticate finds who is streaming. An explicit token wins over an ambient cookie:
// Authorization (already resolved by the server middleware), then access_token or
// Sec-WebSocket-Protocol (which browsers' WebSocket API can set, unlike headers), then the
// session cookie. Failures are 401 JSON, before any upgrade.
func (a *api) authenticate(c *fiber.Ctx) error {
	u, t := server.CurrentUser(c), server.CurrentToken(c)
	if t == nil {
		tok, viaProtocol := c.Query("access_token"), false
		if tok == "" {
			// Browsers send the token as the only offered subprotocol; take the first entry.
			tok, _, _ = strings.Cut(c.Get(fiber.HeaderSecWebSocketProtocol), ",")
			tok, viaProtocol = strings.TrimSpace(tok), true
		}
		if tok != "" {
			var err error
			if u, t, err = a.Server.Accounts.TokenUser(c.UserContext(), tok); err != nil {
				return err
			}
			if viaProtocol {
				// The handshake fails in browsers unless we accept the offered protocol.
				c.Set(fiber.HeaderSecWebSocketProtocol, tok)
			}
		} else if u != nil && !sameOrigin(c) {
			// A cookie rides along on any site's WebSocket; only our own pages may use it.
			return errs.E(errs.Forbidden, "streaming with a session cookie is allowed only from this site")
		}
	}
	if u == nil {
		return errs.E(errs.Unauthorized, "Missing access token")
	}
	cl := &client{userID: u.ID}
	if t != nil {
		cl.scopes = t.Scopes
		if !accounts.HasScope(t.Scopes, "read:statuses") && !accounts.HasScope(t.Scopes, "read:notifications") {
			return errs.E(errs.Forbidden, "This action is outside the authorized scopes")
		}
	}
	c.Locals(localClient, cl)
	return c.Next()
}

func sameOrigin(c *fiber.Ctx) bool {
	o := c.Get(fiber.HeaderOrigin)
	if o == "" {
		return true // not a browser-initiated cross-site request
	}
	ou, err := url.Parse(o)
	return err == nil && strings.EqualFold(ou.Host, string(c.Request().Host()))
}

func clientOf(c *fiber.Ctx) *client { cl, _ := c.Locals(localClient).(*client); return cl }

// resolveStream turns a Mastodon stream request into the hub's stream name, checking the
// scope the stream needs. Errors read like Mastodon's.
func resolveStream(cl *client, name, tag, list string) (string, error) {
	need := "read:statuses"
	var stream string
	switch name {
	case realtime.StreamUser:
		stream = name
		if cl.can("read:notifications") {
			need = "read:notifications"
		}
	case realtime.StreamNotification:
		stream, need = name, "read:notifications"
	case realtime.StreamDirect, realtime.StreamPublic, realtime.StreamPublicLocal, realtime.StreamPublicRemote:
		stream = name
	case "hashtag", "hashtag:local":
		tag = strings.TrimPrefix(strings.TrimSpace(tag), "#")
		if tag == "" || len(tag) > 100 || strings.ContainsAny(tag, ": ") {
			return "", errs.E(errs.Invalid, "No tag for stream provided")
		}
		stream = realtime.HashtagStream(tag)
		if name == "hashtag:local" {
			stream = realtime.LocalHashtagStream(tag)
		}
	case "list":
		// Lists are per-user streams: events carry the owner's account, so naming someone
		// else's list id receives nothing.
		if list == "" || len(list) > 64 {
			return "", errs.E(errs.Invalid, "No list for stream provided")
		}
		stream = realtime.ListStream(list)
	default:
		return "", errs.E(errs.Invalid, "Unknown stream type")
	}
	if !cl.can(need) {
		return "", errs.E(errs.Forbidden, "This action is outside the authorized scopes")
	}
	return stream, nil
}

func (cl *client) can(scope string) bool {
	return cl.scopes == "" || accounts.HasScope(cl.scopes, scope)
}
