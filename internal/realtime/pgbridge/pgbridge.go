// Package pgbridge carries realtime messages between the processes of one Atrium node that
// share a PostgreSQL database, over LISTEN/NOTIFY: it is the realtime.Bridge a
// realtime.Cluster runs on. It needs no extra service (no Redis, no broker) and uses the
// database driver the node already has (bun's pgdriver).
//
// On the wire every process listens on one channel. A notification is either a frame
//
//	{"n":"<node>","q":<seq>,"t":"e","s":"user","k":"update","a":["<account>",...]}\n<payload bytes>
//
// or, when the frame would pass NOTIFY's 8000-byte limit (or its payload is not text
// PostgreSQL accepts), a reference "r <node> <id>" to a row of realtime_payloads (an
// unlogged table, migration 0014) holding the frame, which each other process reads once.
// Rows are deleted after two minutes. Payload bytes arrive unchanged either way.
//
// What it guarantees and what it does not:
//
//   - Send never blocks: messages wait in a bounded queue (Options.Queue) and are dropped,
//     counted, when it is full. One goroutine sends them in order, several per NOTIFY
//     statement, merging consecutive per-user events with the same payload (a post to many
//     followers) into one frame with several accounts.
//   - A process never receives its own messages: frames carry the node id, and the
//     listener skips its own (they still prove the connection alive, see Heartbeat).
//   - Run holds one dedicated listening connection and reconnects with exponential backoff
//     (100 ms to 30 s) when it fails or stays silent too long. After every (re)connection,
//     once a first notification has come back (it notifies itself, "s <node>", until one
//     does), which proves the server runs its LISTEN, it calls connected and the cluster
//     resynchronises. A gap in another node's sequence
//     numbers (a send that failed) does the same. Events sent while a process was cut off
//     are lost to it: live updates are best effort, and clients refetch on reconnect.
package pgbridge

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/driver/pgdriver"

	"github.com/atrium-social/atrium/internal/realtime"
)

// Channel is the NOTIFY channel the processes of a node share.
const Channel = "atrium_realtime"

// Limits and timings.
const (
	// maxInline is the largest frame sent in the notification itself. PostgreSQL refuses
	// payloads of 8000 bytes or more; the margin is for nothing in particular but costs
	// nothing either.
	maxInline = 7900
	// maxBatch is how many frames one statement carries (one round trip, one transaction,
	// so they arrive together and in order).
	maxBatch = 64
	// maxAccounts bounds one merged frame's recipients, so a frame stays reasonable even for
	// a post to thousands of followers.
	maxAccounts = 1000
	// keepRows is how long a large frame's row is kept for the others to read.
	keepRows = 2 * time.Minute
	// sendTimeout bounds one statement: a stuck database must not hold the queue for ever.
	sendTimeout = 5 * time.Second
	minBackoff  = 100 * time.Millisecond
	maxBackoff  = 30 * time.Second
)

// Options configure a Bridge.
type Options struct {
	DB  *bun.DB // the node's PostgreSQL handle (pgdriver)
	Log *slog.Logger
	// Channel overrides the NOTIFY channel (tests give each cluster its own); "" is Channel.
	Channel string
	// Queue is how many messages may wait to be sent (2048 when 0). A message is ~180 bytes
	// plus what it points to.
	Queue int
	// Heartbeat is how often the process notifies even when it has nothing to say (10 s when
	// 0). It hears its own notifications, so a listening connection silent for three
	// heartbeats is dead, whatever TCP believes, and is replaced.
	Heartbeat time.Duration
}

// Bridge is a realtime.Bridge over PostgreSQL LISTEN/NOTIFY.
type Bridge struct {
	db        *bun.DB
	log       *slog.Logger
	channel   string
	node      string
	queue     chan realtime.Message
	heartbeat time.Duration
	seq       uint64 // owned by the sending goroutine

	mu      sync.Mutex
	lastSeq map[string]heard // per other node: the last sequence number heard

	sent, dropped, failed, received, byRef, gaps, reconnects atomic.Uint64
}

// New makes a bridge with a fresh random node id. Run must be running for anything to be
// sent or received.
func New(o Options) *Bridge {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Channel == "" {
		o.Channel = Channel
	}
	if o.Queue <= 0 {
		o.Queue = 2048
	}
	if o.Heartbeat <= 0 {
		o.Heartbeat = 10 * time.Second
	}
	var id [8]byte
	_, _ = rand.Read(id[:])
	return &Bridge{db: o.DB, log: o.Log, channel: o.Channel, node: hex.EncodeToString(id[:]),
		queue: make(chan realtime.Message, o.Queue), heartbeat: o.Heartbeat, lastSeq: map[string]heard{}}
}

type heard struct {
	seq uint64
	at  time.Time
}

// Node is this process's id on the channel.
func (b *Bridge) Node() string { return b.node }

// Send implements realtime.Bridge: it queues m, or drops it when the queue is full.
func (b *Bridge) Send(m realtime.Message) bool {
	select {
	case b.queue <- m:
		return true
	default:
		b.dropped.Add(1)
		return false
	}
}

// Stats are a bridge's counters.
type Stats struct {
	Sent       uint64 // frames notified
	Dropped    uint64 // messages refused because the queue was full
	Failed     uint64 // frames lost because a statement failed
	Received   uint64 // messages from other processes handed on
	ByRef      uint64 // frames sent or received through realtime_payloads
	Gaps       uint64 // holes seen in other processes' sequence numbers
	Reconnects uint64 // listening connections replaced
}

// Stats reports the bridge's counters.
func (b *Bridge) Stats() Stats {
	return Stats{Sent: b.sent.Load(), Dropped: b.dropped.Load(), Failed: b.failed.Load(), Received: b.received.Load(),
		ByRef: b.byRef.Load(), Gaps: b.gaps.Load(), Reconnects: b.reconnects.Load()}
}

// Run implements realtime.Bridge: it sends what Send queued and listens, until ctx ends.
func (b *Bridge) Run(ctx context.Context, receive func(realtime.Message), connected func()) error {
	var wg sync.WaitGroup
	wg.Go(func() { b.sendLoop(ctx) })
	b.listenLoop(ctx, receive, connected)
	wg.Wait()
	return ctx.Err()
}

// header is a frame's first line.
type header struct {
	Node     string      `json:"n"`
	Seq      uint64      `json:"q"`
	Type     string      `json:"t"` // e event, p presence, h hello, b heartbeat
	Stream   string      `json:"s,omitempty"`
	Kind     string      `json:"k,omitempty"`
	Accounts []string    `json:"a,omitempty"`
	Up       [][2]string `json:"u,omitempty"`
	Down     [][2]string `json:"d,omitempty"`
	Full     bool        `json:"f,omitempty"`
}

// sendLoop is the only sender: frames leave in the order Send took the messages.
func (b *Bridge) sendLoop(ctx context.Context) {
	beat := time.NewTicker(b.heartbeat)
	defer beat.Stop()
	clean := time.NewTicker(keepRows / 2)
	defer clean.Stop()
	batch := make([]realtime.Message, 0, maxBatch)
	for {
		batch = batch[:0]
		select {
		case <-ctx.Done():
			return
		case m := <-b.queue:
			batch = append(batch, m)
		more:
			for len(batch) < cap(batch) {
				select {
				case m := <-b.queue:
					batch = append(batch, m)
				default:
					break more
				}
			}
			if err := b.flush(ctx, b.frames(batch)); err != nil && ctx.Err() == nil {
				b.log.Warn("realtime: cluster notify failed; events lost for the other processes", "err", err)
				pause(ctx, time.Second) // the database is unwell: do not spin on it
			}
		case <-beat.C:
			if err := b.flush(ctx, [][]byte{b.frame(header{Type: "b"}, nil)}); err != nil && ctx.Err() == nil {
				b.log.Warn("realtime: cluster heartbeat failed", "err", err)
			}
		case <-clean.C:
			b.forget()
			cctx, cancel := context.WithTimeout(ctx, sendTimeout)
			_, err := b.db.ExecContext(cctx, "DELETE FROM realtime_payloads WHERE created_at < now() - ?::interval",
				fmt.Sprintf("%d seconds", int(keepRows.Seconds())))
			cancel()
			if err != nil && ctx.Err() == nil {
				b.log.Warn("realtime: clean realtime_payloads", "err", err)
			}
		}
	}
}

// frames encodes a batch, merging consecutive per-user events that carry the same payload
// (the same bytes in memory: one rendering published to many accounts).
func (b *Bridge) frames(batch []realtime.Message) [][]byte {
	out := make([][]byte, 0, len(batch))
	var h header
	var payload []byte
	pending := false
	emit := func() {
		if pending {
			out = append(out, b.frame(h, payload))
			pending = false
		}
	}
	for _, m := range batch {
		e := m.Event
		accounts := m.Accounts
		if m.Type == realtime.TypeEvent && len(accounts) == 0 && e.AccountID != "" && realtime.PerUser(e.Stream) {
			accounts = []string{e.AccountID}
		}
		if pending && m.Type == realtime.TypeEvent && h.Type == "e" && len(accounts) > 0 && len(h.Accounts) > 0 &&
			h.Stream == e.Stream && h.Kind == e.Kind && sameBytes(payload, e.Payload) && len(h.Accounts)+len(accounts) <= maxAccounts {
			h.Accounts = append(h.Accounts, accounts...)
			continue
		}
		emit()
		switch m.Type {
		case realtime.TypeEvent:
			h = header{Type: "e", Stream: e.Stream, Kind: e.Kind, Accounts: append([]string(nil), accounts...)}
			payload = e.Payload
		case realtime.TypePresence:
			h = header{Type: "p", Full: m.Full, Up: routes(m.Up), Down: routes(m.Down)}
			payload = nil
		case realtime.TypeHello:
			h = header{Type: "h"}
			payload = nil
		default:
			continue
		}
		pending = true
	}
	emit()
	return out
}

func routes(rs []realtime.Route) [][2]string {
	if len(rs) == 0 {
		return nil
	}
	out := make([][2]string, len(rs))
	for i, r := range rs {
		out[i] = [2]string{r.Stream, r.Account}
	}
	return out
}

func sameBytes(a, b []byte) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

// frame is one encoded notification: the header line, then the payload's bytes.
func (b *Bridge) frame(h header, payload []byte) []byte {
	b.seq++
	h.Node, h.Seq = b.node, b.seq
	out, _ := json.Marshal(h) // strings and slices of strings: cannot fail
	out = append(out, '\n')
	return append(out, payload...)
}

// inline reports whether a frame can travel as the notification's payload: NOTIFY takes
// fewer than 8000 bytes of text in the database's encoding, so no NUL and valid UTF-8.
func inline(f []byte) bool {
	return len(f) <= maxInline && bytes.IndexByte(f, 0) < 0 && utf8.Valid(f)
}

// flush sends frames in order: runs of small ones in one statement, large ones by
// reference.
func (b *Bridge) flush(ctx context.Context, frames [][]byte) error {
	var errs []error
	for len(frames) > 0 {
		n := 0
		for n < len(frames) && n < maxBatch && inline(frames[n]) {
			n++
		}
		if n > 0 {
			if err := b.notify(ctx, frames[:n]); err != nil {
				b.failed.Add(uint64(n))
				errs = append(errs, err)
			} else {
				b.sent.Add(uint64(n))
			}
			frames = frames[n:]
			continue
		}
		if err := b.notifyRef(ctx, frames[0]); err != nil {
			b.failed.Add(1)
			errs = append(errs, err)
		} else {
			b.sent.Add(1)
			b.byRef.Add(1)
		}
		frames = frames[1:]
	}
	return errors.Join(errs...)
}

func (b *Bridge) notify(ctx context.Context, frames [][]byte) error {
	var q strings.Builder
	args := make([]any, 0, 2*len(frames))
	q.WriteString("SELECT ")
	for i, f := range frames {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString("pg_notify(?, ?)")
		args = append(args, b.channel, string(f))
	}
	ctx, cancel := context.WithTimeout(ctx, sendTimeout)
	defer cancel()
	if _, err := b.db.ExecContext(ctx, q.String(), args...); err != nil {
		return fmt.Errorf("pgbridge: notify %d frames: %w", len(frames), err)
	}
	return nil
}

// notifyRef stores a large frame and notifies its id, in one statement (the row is
// committed with the notification, so every listener can read it).
func (b *Bridge) notifyRef(ctx context.Context, f []byte) error {
	ctx, cancel := context.WithTimeout(ctx, sendTimeout)
	defer cancel()
	_, err := b.db.ExecContext(ctx, `WITH p AS (INSERT INTO realtime_payloads (body) VALUES (?) RETURNING id)
		SELECT pg_notify(?, ? || p.id) FROM p`, f, b.channel, "r "+b.node+" ")
	if err != nil {
		return fmt.Errorf("pgbridge: notify a %d-byte frame by reference: %w", len(f), err)
	}
	return nil
}

// listenLoop keeps a listening connection, reconnecting with backoff, until ctx ends.
func (b *Bridge) listenLoop(ctx context.Context, receive func(realtime.Message), connected func()) {
	backoff := minBackoff
	for {
		heard, err := b.listenOnce(ctx, receive, connected)
		if ctx.Err() != nil {
			return
		}
		if heard {
			backoff = minBackoff // it worked for a while: this is a new failure
		}
		b.reconnects.Add(1)
		b.log.Warn("realtime: cluster listener lost, reconnecting", "err", err, "in", backoff)
		if !pause(ctx, backoff) {
			return
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// listenOnce listens on one connection until it fails, stays silent for three heartbeats,
// or ctx ends. heard says whether anything arrived.
func (b *Bridge) listenOnce(ctx context.Context, receive func(realtime.Message), connected func()) (heard bool, err error) {
	ln := pgdriver.NewListener(b.db)
	defer ln.Close()
	if err := ln.Listen(ctx, b.channel); err != nil {
		return false, fmt.Errorf("pgbridge: listen on %s: %w", b.channel, err)
	}
	// Listen only sends the command. Until the server has run it, notifications are not
	// ours to hear, and the cluster's request for everyone's state (connected) could be
	// answered before we listen. The first notification to arrive proves the LISTEN is in
	// force (and everything notified later reaches us), so until one does, notify ourselves
	// every 100 ms, and only then call connected.
	var synced atomic.Bool
	var probes sync.WaitGroup
	probeStop := make(chan struct{})
	defer func() { close(probeStop); probes.Wait() }()
	probes.Go(func() {
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for !synced.Load() {
			pctx, cancel := context.WithTimeout(ctx, sendTimeout)
			_, err := b.db.ExecContext(pctx, "SELECT pg_notify(?, ?)", b.channel, "s "+b.node)
			cancel()
			if err != nil && ctx.Err() == nil {
				b.log.Debug("realtime: cluster listener probe", "err", err)
			}
			select {
			case <-probeStop:
				return
			case <-t.C:
			}
		}
	})
	var last atomic.Int64
	last.Store(time.Now().UnixNano())
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		// Receive waits without a deadline; closing the listener is what ends it, when ctx
		// ends or when even our own heartbeats stopped arriving.
		t := time.NewTicker(b.heartbeat)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-ctx.Done():
				_ = ln.Close()
				return
			case <-t.C:
				if time.Since(time.Unix(0, last.Load())) > 3*b.heartbeat {
					b.log.Warn("realtime: cluster listener silent, replacing it", "silent", time.Since(time.Unix(0, last.Load())).Round(time.Second))
					_ = ln.Close()
					return
				}
			}
		}
	}()
	for {
		_, payload, err := ln.Receive(ctx)
		if err != nil {
			return heard, fmt.Errorf("pgbridge: receive: %w", err)
		}
		heard = true
		last.Store(time.Now().UnixNano())
		if !synced.Load() {
			synced.Store(true)
			connected()
		}
		b.handle(ctx, payload, receive, connected)
	}
}

// handle decodes one notification and hands it on, unless it is our own.
func (b *Bridge) handle(ctx context.Context, payload string, receive func(realtime.Message), connected func()) {
	if strings.HasPrefix(payload, "s ") {
		return // a process (re)connecting checks it listens
	}
	var f []byte
	if ref, ok := strings.CutPrefix(payload, "r "); ok {
		node, id, _ := strings.Cut(ref, " ")
		if node == b.node {
			return
		}
		n, err := strconv.ParseInt(id, 10, 64)
		if err != nil {
			b.log.Warn("realtime: cluster notification with a bad reference", "payload", payload)
			return
		}
		rctx, cancel := context.WithTimeout(ctx, sendTimeout)
		err = b.db.QueryRowContext(rctx, "SELECT body FROM realtime_payloads WHERE id = ?", n).Scan(&f)
		cancel()
		if err != nil {
			b.log.Warn("realtime: read a large cluster message", "id", n, "err", err)
			return
		}
		b.byRef.Add(1)
	} else {
		f = []byte(payload)
	}
	line, data, ok := bytes.Cut(f, []byte{'\n'})
	var h header
	if !ok || json.Unmarshal(line, &h) != nil || h.Node == "" {
		b.log.Warn("realtime: cluster notification not understood", "len", len(f))
		return
	}
	if h.Node == b.node {
		return
	}
	if b.gap(h.Node, h.Seq) {
		// Something that node sent never arrived (a statement failed): presence may be
		// stale, so resynchronise as after a reconnection.
		b.gaps.Add(1)
		connected()
	}
	m := realtime.Message{From: h.Node}
	switch h.Type {
	case "b":
		return
	case "e":
		m.Type = realtime.TypeEvent
		m.Event = realtime.Event{Stream: h.Stream, Kind: h.Kind, Payload: data}
		m.Accounts = h.Accounts
	case "p":
		m.Type, m.Full = realtime.TypePresence, h.Full
		for _, r := range h.Up {
			m.Up = append(m.Up, realtime.Route{Stream: r[0], Account: r[1]})
		}
		for _, r := range h.Down {
			m.Down = append(m.Down, realtime.Route{Stream: r[0], Account: r[1]})
		}
	case "h":
		m.Type = realtime.TypeHello
	default:
		return // a newer process's message type: ignore, as a rolling upgrade needs
	}
	b.received.Add(1)
	receive(m)
}

// gap records node's sequence number and reports whether some were skipped. The first
// number heard from a node starts its count.
func (b *Bridge) gap(node string, seq uint64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	last, known := b.lastSeq[node]
	b.lastSeq[node] = heard{seq, time.Now()}
	return known && seq > last.seq+1
}

// forget drops the sequence numbers of processes not heard for a while (every process
// heartbeats): each restart brings a new node id, and the map must not grow with them.
func (b *Bridge) forget() {
	limit := time.Now().Add(-10 * b.heartbeat)
	b.mu.Lock()
	defer b.mu.Unlock()
	for node, h := range b.lastSeq {
		if h.at.Before(limit) {
			delete(b.lastSeq, node)
		}
	}
}

// pause waits d or until ctx ends; it reports whether ctx is still live.
func pause(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
