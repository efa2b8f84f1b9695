package pgbridge_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/atrium-social/atrium/internal/db"
	"github.com/atrium-social/atrium/internal/realtime"
	"github.com/atrium-social/atrium/internal/realtime/pgbridge"
	"github.com/atrium-social/atrium/internal/testutil/dbtest"
)

// peer is one bridge with what it received; two peers on one database stand for two
// processes (each has its own node id and its own listening connection).
type peer struct {
	b *pgbridge.Bridge

	mu        sync.Mutex
	got       []realtime.Message
	connected int
}

func (p *peer) messages() []realtime.Message {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]realtime.Message(nil), p.got...)
}

func (p *peer) connections() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.connected
}

func start(t *testing.T, d *db.DB, channel string) *peer {
	t.Helper()
	p := &peer{b: pgbridge.New(pgbridge.Options{DB: d.DB, Channel: channel, Heartbeat: 300 * time.Millisecond})}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = p.b.Run(ctx, func(m realtime.Message) {
			p.mu.Lock()
			p.got = append(p.got, m)
			p.mu.Unlock()
		}, func() {
			p.mu.Lock()
			p.connected++
			p.mu.Unlock()
		})
	}()
	t.Cleanup(func() { cancel(); <-done })
	waitFor(t, "the bridge listens", func() bool { return p.connections() > 0 })
	return p
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestBridgeCarriesMessagesIntactInOrder: small and large events (the large by reference,
// through realtime_payloads), bytes NOTIFY could not carry as text, presence and hello all
// arrive at the other process once, in order, byte for byte, and never back at the sender;
// a post to 300 followers travels as a few merged frames.
func TestBridgeCarriesMessagesIntactInOrder(t *testing.T) {
	d := dbtest.Open(t, "postgres")
	a, b := start(t, d, "rt_test"), start(t, d, "rt_test")

	large := []byte(`{"id":"1","content":"` + strings.Repeat("Grüße aus Köln 🎉 ", 1200) + `"}`) // ~24 KB
	binary := []byte{'{', 0, 0xff, 0xfe, '}'}                                                   // NUL and invalid UTF-8: no text NOTIFY
	shared := []byte(`{"id":"2","content":"<p>to all followers</p>"}`)
	var sent []realtime.Message
	send := func(m realtime.Message) {
		if !a.b.Send(m) {
			t.Fatal("Send refused with an empty queue")
		}
		sent = append(sent, m)
	}
	send(realtime.Message{Type: realtime.TypeEvent, Event: realtime.Event{Stream: realtime.StreamUser, Kind: realtime.KindUpdate, AccountID: "u1", Payload: []byte(`{"id":"0"}`)}})
	send(realtime.Message{Type: realtime.TypeEvent, Event: realtime.Event{Stream: realtime.StreamPublicLocal, Kind: realtime.KindUpdate, Payload: large}})
	send(realtime.Message{Type: realtime.TypeEvent, Event: realtime.Event{Stream: realtime.StreamUser, Kind: realtime.KindDelete, AccountID: "u2", Payload: binary}})
	send(realtime.Message{Type: realtime.TypePresence, Full: true, Up: []realtime.Route{{Stream: "user", Account: "u1"}, {Stream: "public:local"}}})
	send(realtime.Message{Type: realtime.TypeHello})
	for i := range 300 {
		send(realtime.Message{Type: realtime.TypeEvent, Event: realtime.Event{Stream: realtime.StreamUser, Kind: realtime.KindUpdate,
			AccountID: fmt.Sprintf("f%03d", i), Payload: shared}})
	}
	send(realtime.Message{Type: realtime.TypePresence, Down: []realtime.Route{{Stream: "user", Account: "u1"}}})

	// Expand merged frames back into one entry per recipient to compare with what was sent.
	flat := func(ms []realtime.Message) []string {
		var out []string
		for _, m := range ms {
			switch {
			case m.Type == realtime.TypeEvent && len(m.Accounts) > 0:
				for _, id := range m.Accounts {
					out = append(out, fmt.Sprintf("event %s %s %s %x", m.Event.Stream, m.Event.Kind, id, m.Event.Payload))
				}
			case m.Type == realtime.TypeEvent:
				out = append(out, fmt.Sprintf("event %s %s %s %x", m.Event.Stream, m.Event.Kind, m.Event.AccountID, m.Event.Payload))
			default:
				out = append(out, fmt.Sprintf("%d %v %v %v", m.Type, m.Full, m.Up, m.Down))
			}
		}
		return out
	}
	want := flat(sent)
	waitFor(t, "B has everything", func() bool { return len(flat(b.messages())) >= len(want) })
	time.Sleep(200 * time.Millisecond) // an echo or a duplicate would arrive by now
	got := b.messages()
	if g := flat(got); strings.Join(g, "\n") != strings.Join(want, "\n") {
		t.Fatalf("B received %d entries, want %d; first difference:\n%s", len(g), len(want), firstDiff(g, want))
	}
	for _, m := range got {
		if m.From != a.b.Node() {
			t.Fatalf("message from %q, want A's node %q", m.From, a.b.Node())
		}
		if m.Type == realtime.TypeEvent && m.Event.Stream == realtime.StreamPublicLocal && !bytes.Equal(m.Event.Payload, large) {
			t.Fatal("the large payload changed on the way")
		}
	}
	if len(got) > len(sent)-290 {
		t.Fatalf("B received %d messages for %d sent: the 300 followers' copies were not merged", len(got), len(sent))
	}
	if n := len(a.messages()); n != 0 {
		t.Fatalf("A received %d of its own messages", n)
	}
	if st := a.b.Stats(); st.ByRef < 2 || st.Dropped != 0 || st.Failed != 0 {
		t.Fatalf("A's stats %+v: the large and the binary payloads go by reference, nothing lost", st)
	}
}

func firstDiff(got, want []string) string {
	for i := range max(len(got), len(want)) {
		var g, w string
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		if g != w {
			return fmt.Sprintf("#%d got  %.200s\n#%d want %.200s", i, g, i, w)
		}
	}
	return ""
}

// TestBridgeReconnects: when the database drops the listening connections, each bridge
// reconnects by itself, says so (the cluster then resynchronises), and messages flow again.
func TestBridgeReconnects(t *testing.T) {
	d := dbtest.Open(t, "postgres")
	a, b := start(t, d, "rt_reconnect"), start(t, d, "rt_reconnect")
	ctx := context.Background()
	var killed int
	if err := d.QueryRowContext(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE query LIKE 'LISTEN %' AND datname = current_database() AND pid <> pg_backend_pid()`).Scan(&killed); err != nil {
		t.Fatal(err)
	}
	if killed < 2 {
		t.Fatalf("terminated %d listening connections, want both", killed)
	}
	waitFor(t, "both reconnected", func() bool { return a.connections() >= 2 && b.connections() >= 2 })
	event := realtime.Message{Type: realtime.TypeEvent, Event: realtime.Event{Stream: realtime.StreamPublicLocal, Kind: realtime.KindUpdate, Payload: []byte("after")}}
	a.b.Send(event)
	waitFor(t, "B hears A again", func() bool {
		for _, m := range b.messages() {
			if string(m.Event.Payload) == "after" {
				return true
			}
		}
		return false
	})
	if st := a.b.Stats(); st.Reconnects == 0 {
		t.Fatalf("stats %+v: the reconnection should be counted", st)
	}
}

// TestSendNeverBlocks: with nothing sending (the database away, or slow), Send refuses at
// once beyond the queue rather than holding the request that published.
func TestSendNeverBlocks(t *testing.T) {
	b := pgbridge.New(pgbridge.Options{Queue: 4})
	start := time.Now()
	accepted := 0
	for range 100 {
		if b.Send(realtime.Message{Type: realtime.TypeHello}) {
			accepted++
		}
	}
	if accepted != 4 || b.Stats().Dropped != 96 || time.Since(start) > time.Second {
		t.Fatalf("accepted %d, dropped %d in %v", accepted, b.Stats().Dropped, time.Since(start))
	}
}
