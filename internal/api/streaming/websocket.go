package streaming

import (
	"encoding/json"
	"runtime/debug"
	"sync"
	"time"

	fws "github.com/fasthttp/websocket"
	"github.com/gofiber/contrib/websocket"
	"github.com/gofiber/fiber/v2"

	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/realtime"
)

// prepareWebsocket refuses, before the upgrade and as plain JSON errors, what would otherwise
// be an opened-and-closed socket: a plain GET, or a stream named on the URL that does not
// exist or that the token may not read.
func (a *api) prepareWebsocket(c *fiber.Ctx) error {
	if !websocket.IsWebSocketUpgrade(c) {
		return fiber.ErrUpgradeRequired
	}
	cl := clientOf(c)
	if name := c.Query("stream"); name != "" {
		stream, err := resolveStream(cl, name, c.Query("tag"), c.Query("list"))
		if err != nil {
			return err
		}
		cl.initial = stream
	}
	return c.Next()
}

// wsConn is one open socket. It has one goroutine of its own, the reader, which handles
// client messages and, when the connection ends, cleans up. Events are written by a
// goroutine started when the first one arrives (realtime.Hub.SubscribeFunc), which writes
// what is queued and exits; pings by a timer. An idle socket thus holds one goroutine, no
// queue and no write buffer.
//
// The library allows one concurrent reader and one writer; wmu makes the event writer and
// the reader's error replies take turns. Control frames (pings, close) are safe from any
// goroutine.
type wsConn struct {
	a      *api
	conn   *fws.Conn // the library's connection; contrib's wrapper is recycled once the handler returns
	cl     *client
	sub    *realtime.Subscription
	pinger *time.Timer
	wmu    sync.Mutex

	mu       sync.Mutex
	closing  bool // no more read-deadline extensions: we are waiting for the peer's close
	finished bool // a close frame was sent (or the connection is broken)
	done     bool // the reader has ended: no more pings
}

// serveWebsocket takes over an upgraded connection and returns at once. The server keeps
// hijacked connections open after the handler (KeepHijackedConns, set in register), so
// returning lets fasthttp recycle the request's context and contrib/websocket its copies of
// the request's headers, cookies and query, several KiB per socket that a long-lived handler
// would pin for hours. From here wsConn owns the connection and closes it.
func (a *api) serveWebsocket(conn *websocket.Conn) {
	cl, _ := conn.Locals(localClient).(*client)
	if cl == nil { // cannot happen: authenticate runs first
		return
	}
	w := &wsConn{a: a, conn: conn.Conn, cl: cl}
	// Streams are added once w.sub is set: the first event may wake the writer at once.
	w.sub = a.Hub.SubscribeFunc(cl.userID, nil, a.Queue, w.ready)
	if cl.initial != "" {
		w.sub.Add(cl.initial)
	}
	if w.sub.Reason() != "" {
		go w.writeQueued() // the node is shutting down: say so
	}
	w.pinger = time.AfterFunc(a.ping, w.ping)
	go w.run()
}

func (a *api) recoverWebsocket(conn *websocket.Conn) {
	if r := recover(); r != nil {
		a.Log.Error("streaming: websocket handler panic", "panic", r, "stack", string(debug.Stack()))
		_ = conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseInternalServerErr, ""),
			time.Now().Add(time.Second))
	}
}

// run is the reader goroutine: it reads until the connection ends, then releases
// everything the connection holds.
func (w *wsConn) run() {
	defer func() {
		w.mu.Lock()
		w.done = true
		w.mu.Unlock()
		w.pinger.Stop()
		w.sub.Close()
		// A writer still blocked on a stalled peer fails at once rather than at its deadline.
		_ = w.conn.Close()
	}()
	defer w.recover("reader")
	w.readLoop()
}

// recover turns a panic in one of the connection's goroutines into a closed connection and
// a log line, rather than a crashed node.
func (w *wsConn) recover(what string) {
	if r := recover(); r != nil {
		w.a.Log.Error("streaming: websocket "+what+" panic", "panic", r, "stack", string(debug.Stack()))
		w.finish(websocket.CloseInternalServerErr, "")
	}
}

// ready is the subscription's wake-up: events arrived (or it ended) and no writer is
// running. The hub calls it while publishing, so it only starts one.
func (w *wsConn) ready() { go w.writeQueued() }

// writeQueued writes the queued events, then exits; the hub wakes it again with the next
// one. On the subscription's end it sends the close frame saying why.
func (w *wsConn) writeQueued() {
	defer w.recover("writer")
	w.wmu.Lock()
	defer w.wmu.Unlock()
	var bp *[]byte
	for {
		e, ok := w.sub.Next()
		if !ok {
			break
		}
		if bp == nil {
			bp = w.a.frame()
		}
		*bp = appendWebsocketMessage((*bp)[:0], e)
		if err := w.writeLocked(*bp); err != nil {
			w.a.putFrame(bp)
			w.finish(0, "") // broken: the reader ends and Closes the subscription
			return
		}
	}
	if bp != nil {
		w.a.putFrame(bp)
	}
	switch w.sub.Reason() {
	case realtime.ReasonLagging:
		// The client missed events. Close rather than drain the rest, so it reconnects and
		// refetches sooner; 1001 makes clients reconnect by themselves.
		w.finish(websocket.CloseGoingAway, realtime.ReasonLagging)
	case realtime.ReasonShutdown:
		w.finish(websocket.CloseGoingAway, "server shutting down")
	}
}

// ping runs on its timer every a.ping: it keeps proxies from idling the connection out and,
// with the read deadline the pong extends, finds peers that vanished.
func (w *wsConn) ping() {
	w.mu.Lock()
	done := w.done
	w.mu.Unlock()
	if done {
		return
	}
	if err := w.conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(writeWait)); err != nil {
		w.finish(0, "")
		return
	}
	w.mu.Lock()
	if !w.done {
		w.pinger.Reset(w.a.ping)
	}
	w.mu.Unlock()
}

// readLoop handles client messages until the peer goes away, breaks a limit, or the
// connection is being finished (finish shortens the read deadline to wake us).
func (w *wsConn) readLoop() {
	c := w.conn
	c.SetReadLimit(readLimit) // over it, the library answers 1009 and ReadMessage fails
	w.extendRead()
	c.SetPongHandler(func(string) error { w.extendRead(); return nil })
	tokens, last := float64(msgBurst), time.Now()
	flooded := false
	for {
		_, msg, err := c.ReadMessage()
		if err != nil {
			return
		}
		if flooded {
			continue // discard until the peer answers our close frame or closeGrace ends
		}
		now := time.Now()
		tokens = min(msgBurst, tokens+now.Sub(last).Seconds()*msgRate)
		last = now
		if tokens < 1 {
			// A client sending this much is broken or hostile; parsing its messages would cost
			// us more than closing it. 1008 tells a well-behaved library not to retry at once.
			w.a.Log.Info("streaming: client flooding, closed", "account", w.cl.userID)
			// Keep reading afterwards: closing a socket with unread input sends a reset,
			// which can destroy our close frame before the client reads it.
			w.finish(websocket.ClosePolicyViolation, "too many messages")
			flooded = true
			continue
		}
		tokens--
		w.extendRead()
		w.handle(msg)
	}
}

type clientMessage struct {
	Type   string `json:"type"`
	Stream string `json:"stream"`
	Tag    string `json:"tag"`
	List   string `json:"list"`
}

// handle applies one client message: {"type":"subscribe","stream":"hashtag","tag":"go"}.
// Unknown types are ignored, as Mastodon does, so newer clients keep working.
func (w *wsConn) handle(msg []byte) {
	var m clientMessage
	if err := json.Unmarshal(msg, &m); err != nil {
		w.replyError(errs.E(errs.Invalid, "Invalid JSON"))
		return
	}
	if m.Type != "subscribe" && m.Type != "unsubscribe" {
		return
	}
	stream, err := resolveStream(w.cl, m.Stream, m.Tag, m.List)
	if err != nil {
		w.replyError(err)
		return
	}
	if m.Type == "unsubscribe" {
		w.sub.Remove(stream)
		return
	}
	if len(w.sub.Streams()) >= maxStreams {
		w.replyError(errs.E(errs.Invalid, "Too many streams on one connection (at most %d)", maxStreams))
		return
	}
	w.sub.Add(stream)
}

// replyError sends Mastodon's error message. The reader writes it itself (taking turns with
// the event writer): errors answer the client's own messages, which are rate limited.
func (w *wsConn) replyError(err error) {
	b, _ := json.Marshal(struct {
		Error  string `json:"error"`
		Status int    `json:"status"`
	}{errs.Message(err), errs.KindOf(err).Status()})
	w.wmu.Lock()
	defer w.wmu.Unlock()
	if w.writeLocked(b) != nil {
		w.finish(0, "")
	}
}

func (w *wsConn) extendRead() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.closing {
		_ = w.conn.SetReadDeadline(time.Now().Add(pongWait))
	}
}

// shutdownRead makes the blocked reader return within d, and stops the pong handler from
// extending that.
func (w *wsConn) shutdownRead(d time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closing = true
	_ = w.conn.SetReadDeadline(time.Now().Add(d))
}

// finish sends a close frame once (code 0: the connection is broken, send nothing) and
// wakes the reader: after a close frame it waits briefly for the peer's answer, else at
// once. Close frames go through WriteControl, which the library allows from any goroutine.
func (w *wsConn) finish(code int, reason string) {
	w.mu.Lock()
	already := w.finished
	w.finished = true
	w.mu.Unlock()
	if code != 0 && !already {
		err := w.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(writeWait))
		if err == nil {
			w.shutdownRead(closeGrace)
			return
		}
	}
	if !already || code == 0 {
		w.shutdownRead(0)
	}
}

// writeLocked writes one message; the caller holds wmu.
func (w *wsConn) writeLocked(b []byte) error {
	if err := w.conn.SetWriteDeadline(time.Now().Add(writeWait)); err != nil {
		return err
	}
	return w.conn.WriteMessage(websocket.TextMessage, b)
}

// frame lends a scratch buffer for building one message; buffers are shared by all
// connections, since only the few writing at this instant need one.
func (a *api) frame() *[]byte {
	if bp, ok := a.frames.Get().(*[]byte); ok {
		return bp
	}
	b := make([]byte, 0, 4<<10)
	return &b
}

func (a *api) putFrame(bp *[]byte) {
	if cap(*bp) <= 64<<10 { // an occasional huge status should not pin its buffer forever
		a.frames.Put(bp)
	}
}
