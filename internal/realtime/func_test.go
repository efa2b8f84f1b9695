package realtime_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/atrium-social/atrium/internal/realtime"
)

// take drains a SubscribeFunc subscription with Next.
func take(s *realtime.Subscription) []string {
	var out []string
	for {
		e, ok := s.Next()
		if !ok {
			return out
		}
		out = append(out, string(e.Payload))
	}
}

func ev(stream, account, payload string) realtime.Event {
	return realtime.Event{Stream: stream, Kind: realtime.KindUpdate, AccountID: account, Payload: []byte(payload)}
}

// TestSubscribeFuncWakesOncePerDrain: ready is called when an event arrives for a consumer
// that found the queue empty, never twice for one drain, and again after the next drain.
func TestSubscribeFuncWakesOncePerDrain(t *testing.T) {
	h := realtime.NewHub(nil)
	var wakes atomic.Int32
	s := h.SubscribeFunc("alice", []string{realtime.StreamUser}, 0, func() { wakes.Add(1) })
	defer s.Close()
	for i := range 20 { // more than one pooled chunk: the queue grows and keeps the order
		h.Publish(ev(realtime.StreamUser, "alice", fmt.Sprint(i)))
	}
	if wakes.Load() != 1 || s.Len() != 20 {
		t.Fatalf("after 20 events: %d wake-ups, %d queued; want 1 and 20", wakes.Load(), s.Len())
	}
	got := take(s)
	if fmt.Sprint(got) != fmt.Sprint([]string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15", "16", "17", "18", "19"}) {
		t.Fatalf("order: %v", got)
	}
	h.Publish(ev(realtime.StreamUser, "alice", "again"))
	h.Publish(ev(realtime.StreamUser, "bob", "not alice's"))
	if wakes.Load() != 2 {
		t.Fatalf("%d wake-ups after the drain and one more event; want 2", wakes.Load())
	}
	if got := take(s); fmt.Sprint(got) != "[again]" {
		t.Fatalf("got %v", got)
	}
	s.Close()
	if wakes.Load() != 2 || s.Reason() != realtime.ReasonClosed {
		t.Fatalf("Close must not wake its own consumer: %d wake-ups, reason %q", wakes.Load(), s.Reason())
	}
	if _, ok := s.Next(); ok {
		t.Fatal("Next after Close")
	}
}

// TestSubscribeFuncLagsAndShutsDown: the same never-block policy as channels, and the
// consumer is woken to say goodbye.
func TestSubscribeFuncLagsAndShutsDown(t *testing.T) {
	h := realtime.NewHub(nil)
	var wakes atomic.Int32
	slow := h.SubscribeFunc("s", []string{realtime.StreamPublicLocal}, 3, func() { wakes.Add(1) })
	for i := range 10 {
		h.Publish(ev(realtime.StreamPublicLocal, "", fmt.Sprint(i)))
	}
	if slow.Reason() != realtime.ReasonLagging || slow.Dropped() != 7 || wakes.Load() != 1 {
		t.Fatalf("reason %q, dropped %d, wakes %d; want lagging, 7, 1", slow.Reason(), slow.Dropped(), wakes.Load())
	}
	if _, ok := slow.Next(); ok {
		t.Fatal("a lagging subscription must not be drained: its client refetches")
	}
	slow.Close()

	// Ended while waiting for events: woken once, with the reason.
	idle := h.SubscribeFunc("i", []string{realtime.StreamUser}, 0, func() { wakes.Add(1) })
	busy := h.SubscribeFunc("b", []string{realtime.StreamUser}, 0, func() { wakes.Add(1) })
	h.Publish(ev(realtime.StreamUser, "b", "last words"))
	wakes.Store(0)
	h.Close()
	if wakes.Load() != 1 {
		t.Fatalf("hub Close: %d wake-ups; want 1 (the idle one: the busy one's writer is awake already)", wakes.Load())
	}
	if _, ok := idle.Next(); ok || idle.Reason() != realtime.ReasonShutdown {
		t.Fatalf("idle after shutdown: reason %q", idle.Reason())
	}
	// What was queued before the shutdown may still be written before the goodbye.
	if got := take(busy); fmt.Sprint(got) != "[last words]" || busy.Reason() != realtime.ReasonShutdown {
		t.Fatalf("busy after shutdown: %v, reason %q", got, busy.Reason())
	}
	late := h.SubscribeFunc("l", []string{realtime.StreamUser}, 0, func() { t.Error("ready called before SubscribeFunc returned") })
	if late.Reason() != realtime.ReasonShutdown {
		t.Fatalf("subscribing to a closed hub: %q", late.Reason())
	}
}

// TestSubscribeFuncConcurrent is for -race: publishers and a consumer that drains only when
// woken, as the websocket writer does. Every event must arrive once, in order per publisher.
func TestSubscribeFuncConcurrent(t *testing.T) {
	h := realtime.NewHub(nil)
	const publishers, each = 4, 2000
	var mu sync.Mutex
	got := map[byte][]int{}
	var s *realtime.Subscription
	var writers sync.WaitGroup
	var drainMu sync.Mutex // one writer at a time, as the websocket's wmu
	ready := func() {
		writers.Add(1)
		go func() {
			defer writers.Done()
			drainMu.Lock()
			defer drainMu.Unlock()
			for {
				e, ok := s.Next()
				if !ok {
					return
				}
				mu.Lock()
				got[e.Payload[0]] = append(got[e.Payload[0]], int(e.Payload[1])<<8|int(e.Payload[2]))
				mu.Unlock()
			}
		}()
	}
	s = h.SubscribeFunc("c", nil, publishers*each, ready)
	s.Add(realtime.StreamUser)
	var pubs sync.WaitGroup
	for p := range publishers {
		pubs.Go(func() {
			for i := range each {
				h.Publish(realtime.Event{Stream: realtime.StreamUser, AccountID: "c", Payload: []byte{byte(p), byte(i >> 8), byte(i)}})
			}
		})
	}
	pubs.Wait()
	writers.Wait()
	for p := range publishers {
		seq := got[byte(p)]
		if len(seq) != each {
			t.Fatalf("publisher %d: %d events arrived, want %d (reason %q)", p, len(seq), each, s.Reason())
		}
		for i, v := range seq {
			if v != i {
				t.Fatalf("publisher %d: event %d arrived as number %d", p, v, i)
			}
		}
	}
	s.Close()
}
