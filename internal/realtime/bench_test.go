package realtime_test

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/atrium-social/atrium/internal/realtime"
)

// population subscribes n people, each to their own user stream and to one of n/100
// hashtags, so that a hashtag post matches 1% of them and a personal event exactly one.
// With funcs, the subscriptions are SubscribeFunc's (the websockets'), else Subscribe's.
func population(n int, funcs bool) (*realtime.Hub, []*realtime.Subscription) {
	h := realtime.NewHub(nil)
	subs := make([]*realtime.Subscription, n)
	tags := max(n/100, 1)
	for i := range subs {
		streams := []string{realtime.StreamUser, realtime.HashtagStream(fmt.Sprint("tag", i%tags))}
		if funcs {
			subs[i] = h.SubscribeFunc(fmt.Sprint("acct", i), streams, 0, func() {})
		} else {
			subs[i] = h.Subscribe(fmt.Sprint("acct", i), streams, 0)
		}
	}
	return h, subs
}

// drainEvery empties the queues the benchmark fills, off the clock, before they overflow (an
// overflowing subscriber would be ended and stop costing anything). The queues keep the
// production size on purpose: deep ones measured 2.5x slower per delivery, from cache
// misses, which is not what a node with draining writers sees. The price is wall time:
// StopTimer stops the world to read memory statistics.
const drainEvery = realtime.DefaultBuffer / 2

func drain(subs []*realtime.Subscription) {
	for _, s := range subs {
		if s.C() == nil {
			for _, ok := s.Next(); ok; _, ok = s.Next() {
			}
			continue
		}
		for len(s.C()) > 0 {
			<-s.C()
		}
	}
}

// BenchmarkPublish: one publish to a hashtag stream matching 1% of the subscribers. The cost
// must follow the matching count (100), not the population: compare subscribers=1000 and
// subscribers=10000 with the same 100 matching, and matching=1 for a personal event.
// func/... is the same with SubscribeFunc's queues (the websockets'), which borrow a pooled
// buffer on the first event and return it when drained.
func BenchmarkPublish(b *testing.B) {
	payload := []byte(`{"id":"123","content":"<p>hello #go</p>","visibility":"public"}`)
	for _, tc := range []struct {
		name      string
		subs, hit int
		funcs     bool
	}{{"subscribers=10000/matching=100", 10000, 100, false}, {"subscribers=1000/matching=100", 1000, 100, false},
		{"subscribers=10000/matching=1", 10000, 1, false},
		{"func/subscribers=10000/matching=100", 10000, 100, true}, {"func/subscribers=10000/matching=1", 10000, 1, true}} {
		personal := tc.hit == 1 // a user-stream event for acct0; otherwise hashtag tag0
		b.Run(tc.name, func(b *testing.B) {
			h, subs := population(tc.subs, tc.funcs)
			ev := realtime.Event{Stream: realtime.HashtagStream("tag0"), Kind: realtime.KindUpdate, Payload: payload}
			if personal {
				ev = realtime.Event{Stream: realtime.StreamUser, Kind: realtime.KindUpdate, AccountID: "acct0", Payload: payload}
			}
			matched := subs[:0:0]
			for i, s := range subs {
				if personal && i == 0 || !personal && i%max(tc.subs/100, 1) == 0 {
					matched = append(matched, s)
				}
			}
			// A websocket's writer takes events as they come, so its queue stays within the
			// pooled chunk (8 events): drain before it would grow.
			every := drainEvery
			if tc.funcs {
				every = 8
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				h.Publish(ev)
				if i%every == every-1 {
					b.StopTimer()
					drain(matched)
					b.StartTimer()
				}
			}
			b.StopTimer()
			if st := h.Stats(); st.Lagged != 0 || st.Delivered != uint64(b.N*tc.hit) {
				b.Fatalf("stats %+v for %d publishes to %d", st, b.N, tc.hit)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*tc.hit), "ns/delivery")
		})
	}
}

// BenchmarkSubscribe reports the heap each idle subscription holds (its queue and index
// entries), the hub's share of the per-connection memory budget: chan for Subscribe (its
// buffer is allocated up front), func for SubscribeFunc (no buffer until an event comes).
func BenchmarkSubscribe(b *testing.B) {
	const n = 10000
	for _, funcs := range []bool{false, true} {
		b.Run(map[bool]string{false: "chan", true: "func"}[funcs], func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				h, subs := population(n, funcs)
				runtime.GC()
				runtime.ReadMemStats(&after)
				b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "B/subscription")
				runtime.KeepAlive(subs)
				h.Close()
			}
		})
	}
}
