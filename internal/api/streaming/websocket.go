package streaming

import (
	"encoding/json"
	"runtime/debug"
	"sync"
	"time"

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

// wsConn is one open socket. Its goroutines: the handler's (fasthttp's hijack goroutine),
// which reads client messages, and one writer, which owns every data write. The library
// allows one concurrent reader and one writer; control frames (pong replies) are safe from
// either.
type wsConn struct {
	a    *api
	conn *websocket.Conn
	cl   *client
	sub  *realtime.Subscription
	out  chan []byte   // reader -> writer: replies to client messages (errors)
	stop chan struct{} // closed when the reader has finished

	mu      sync.Mutex // guards closing
	closing bool       // no more read-deadline extensions: we are waiting for the peer's close
}

func (a *api) serveWebsocket(conn *websocket.Conn) {
	cl, _ := conn.Locals(localClient).(*client)
	if cl == nil { // cannot happen: authenticate runs first
		return
	}
	var streams []string
	if cl.initial != "" {
		streams = []string{cl.initial}
	}
	w := &wsConn{a: a, conn: conn, cl: cl, out: make(chan []byte, 4), stop: make(chan struct{})}
	w.sub = a.Hub.Subscribe(cl.userID, streams, a.Queue)
	defer w.sub.Close()
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		defer func() {
			if r := recover(); r != nil {
				a.Log.Error("streaming: websocket writer panic", "panic", r, "stack", string(debug.Stack()))
				w.shutdownRead(0)
			}
		}()
		w.writeLoop()
	}()
	defer func() { close(w.stop); <-writerDone }()
	w.readLoop()
}

func (a *api) recoverWebsocket(conn *websocket.Conn) {
	if r := recover(); r != nil {
		a.Log.Error("streaming: websocket handler panic", "panic", r, "stack", string(debug.Stack()))
		_ = conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseInternalServerErr, ""),
			time.Now().Add(time.Second))
	}
}

// readLoop handles client messages until the peer goes away, breaks a limit, or the writer
// ends the connection (it then shortens the read deadline to wake us).
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

// replyError queues Mastodon's error message; if the writer is backed up the reply is
// dropped, since errors are advisory and the reader must never block.
func (w *wsConn) replyError(err error) {
	b, _ := json.Marshal(struct {
		Error  string `json:"error"`
		Status int    `json:"status"`
	}{errs.Message(err), errs.KindOf(err).Status()})
	select {
	case w.out <- b:
	default:
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

// writeLoop sends events, replies and pings until the subscription ends, a write fails, or
// the reader stops.
func (w *wsConn) writeLoop() {
	ping := time.NewTicker(w.a.ping)
	defer ping.Stop()
	for {
		select {
		case e, ok := <-w.sub.C():
			if !ok || w.sub.Reason() == realtime.ReasonLagging {
				// Lagging: the client missed events. Close rather than drain the rest, so it
				// reconnects and refetches sooner; 1001 makes clients reconnect by themselves.
				reason := "server shutting down"
				if w.sub.Reason() == realtime.ReasonLagging {
					reason = realtime.ReasonLagging
				}
				w.finish(websocket.CloseGoingAway, reason)
				return
			}
			if err := w.writeEvent(e); err != nil {
				w.finish(0, "")
				return
			}
		case b := <-w.out:
			if err := w.write(b); err != nil {
				w.finish(0, "")
				return
			}
		case <-ping.C:
			if err := w.conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(writeWait)); err != nil {
				w.finish(0, "")
				return
			}
		case <-w.stop:
			return
		}
	}
}

// finish sends a close frame (code 0: the connection is broken, send nothing) and wakes the
// reader: after a close frame it waits briefly for the peer's answer, else at once. Close
// frames go through WriteControl, which the library allows from either goroutine.
func (w *wsConn) finish(code int, reason string) {
	if code != 0 {
		err := w.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(writeWait))
		if err == nil {
			w.shutdownRead(closeGrace)
			return
		}
	}
	w.shutdownRead(0)
}

func (w *wsConn) writeEvent(e realtime.Event) error {
	bp := w.a.frame()
	*bp = appendWebsocketMessage((*bp)[:0], e)
	err := w.write(*bp)
	w.a.putFrame(bp)
	return err
}

func (w *wsConn) write(b []byte) error {
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
