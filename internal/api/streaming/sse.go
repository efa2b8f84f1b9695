package streaming

import (
	"bufio"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"

	"github.com/atrium-social/atrium/internal/realtime"
)

// serveSSE streams one Mastodon stream as server-sent events, the transport of older
// clients and of EventSource in browsers.
func (a *api) serveSSE(name string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		cl := clientOf(c)
		stream, err := resolveStream(cl, name, c.Query("tag"), c.Query("list"))
		if err != nil {
			return err
		}
		c.Set(fiber.HeaderContentType, "text/event-stream; charset=utf-8")
		c.Set(fiber.HeaderCacheControl, "no-store")
		c.Set("X-Accel-Buffering", "no") // nginx would otherwise hold events back
		ctx := c.Context()
		// Owning the write deadline stops the server's 60 s WriteTimeout from cutting a stream
		// that is meant to last hours; pumpSSE re-arms it before every write instead.
		if err := ctx.SetWriteDeadline(time.Now().Add(writeWait)); err != nil {
			return err
		}
		// Subscribe before answering, so nothing published after the client sees the first
		// bytes is missed.
		sub := a.Hub.Subscribe(cl.userID, []string{stream}, a.Queue)
		ctx.SetBodyStreamWriter(func(bw *bufio.Writer) { pumpSSE(ctx, bw, sub, a.ping) })
		return nil
	}
}

// pumpSSE runs in fasthttp's body-stream goroutine. It writes events as they come, batching
// what is already queued into one flush, and a ":thump" comment every heartbeat so proxies
// keep the connection and a vanished client is noticed (the flush fails). A lagging
// subscription simply ends the response: EventSource reconnects on its own.
func pumpSSE(ctx *fasthttp.RequestCtx, bw *bufio.Writer, sub *realtime.Subscription, heartbeat time.Duration) {
	defer sub.Close()
	beat := time.NewTicker(heartbeat)
	defer beat.Stop()
	// The deadline is re-armed before writing anything, not just before flushing: a full
	// buffer flushes by itself, and a deadline left over from a quiet half hour would fail it.
	arm := func() { _ = ctx.SetWriteDeadline(time.Now().Add(writeWait)) }
	arm()
	if _, err := bw.WriteString(":)\n"); err != nil || bw.Flush() != nil {
		return
	}
	var buf []byte
	for {
		select {
		case e, ok := <-sub.C():
			if !ok || sub.Reason() == realtime.ReasonLagging {
				return
			}
			arm()
			buf = appendSSE(buf[:0], e)
			if _, err := bw.Write(buf); err != nil {
				return
			}
			if cap(buf) > 64<<10 {
				buf = nil
			}
			if len(sub.C()) > 0 {
				continue // more already queued: one flush for the burst
			}
			if bw.Flush() != nil {
				return
			}
		case <-beat.C:
			arm()
			if _, err := bw.WriteString(":thump\n"); err != nil || bw.Flush() != nil {
				return
			}
		}
	}
}
