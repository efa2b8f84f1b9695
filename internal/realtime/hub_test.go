package realtime_test

import (
	"fmt"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/atrium-social/atrium/internal/realtime"
)

// recv takes what is queued on s without waiting.
func recv(s *realtime.Subscription) []realtime.Event {
	var out []realtime.Event
	for {
		select {
		case e, ok := <-s.C():
			if !ok {
				return out
			}
			out = append(out, e)
		default:
			return out
		}
	}
}

func payloads(es []realtime.Event) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Stream + "/" + string(e.Payload)
	}
	return out
}

func want(t *testing.T, s *realtime.Subscription, name string, exp ...string) {
	t.Helper()
	got := payloads(recv(s))
	if fmt.Sprint(got) != fmt.Sprint(exp) {
		t.Fatalf("%s received %q, want %q", name, got, exp)
	}
}

func TestRoutingByAccountAndStream(t *testing.T) {
	h := realtime.NewHub(nil)
	alice := h.Subscribe("alice", []string{realtime.StreamUser, realtime.StreamPublicLocal}, 0)
	alicePhone := h.Subscribe("alice", []string{realtime.StreamUser}, 0)
	bob := h.Subscribe("bob", []string{realtime.StreamUser, realtime.HashtagStream("Go")}, 0)
	carolNotes := h.Subscribe("carol", []string{realtime.StreamNotification}, 0)
	anon := h.Subscribe("", []string{realtime.StreamUser, realtime.StreamPublicLocal}, 0)
	for _, s := range []*realtime.Subscription{alice, alicePhone, bob, carolNotes, anon} {
		defer s.Close()
	}

	h.Publish(realtime.Event{Stream: realtime.StreamUser, Kind: realtime.KindUpdate, AccountID: "alice", Payload: []byte("a1")})
	h.Publish(realtime.Event{Stream: realtime.StreamUser, Kind: realtime.KindUpdate, AccountID: "bob", Payload: []byte("b1")})
	h.Publish(realtime.Event{Stream: realtime.StreamUser, Kind: realtime.KindUpdate, Payload: []byte("nobody")}) // no owner: dropped
	h.Publish(realtime.Event{Stream: realtime.StreamPublicLocal, Kind: realtime.KindUpdate, AccountID: "bob", Payload: []byte("p1")})
	h.Publish(realtime.Event{Stream: realtime.HashtagStream("#GO"), Kind: realtime.KindUpdate, Payload: []byte("t1")})
	h.Publish(realtime.Event{Stream: realtime.HashtagStream("rust"), Kind: realtime.KindUpdate, Payload: []byte("t2")})
	h.Publish(realtime.Event{Stream: realtime.StreamUser, Kind: realtime.KindNotification, AccountID: "carol", Payload: []byte("n0")})
	h.Publish(realtime.Event{Stream: realtime.StreamNotification, Kind: realtime.KindNotification, AccountID: "carol", Payload: []byte("n1")})
	h.Publish(realtime.Event{Stream: realtime.StreamNotification, Kind: realtime.KindNotification, AccountID: "alice", Payload: []byte("n2")})

	want(t, alice, "alice", "user/a1", "public:local/p1")
	want(t, alicePhone, "alice's phone", "user/a1")
	want(t, bob, "bob", "user/b1", "hashtag:go/t1")
	want(t, carolNotes, "carol (notifications only)", "user:notification/n1")
	want(t, anon, "anonymous", "public:local/p1")
	if got := anon.Streams(); fmt.Sprint(got) != "[public:local]" {
		t.Fatalf("anonymous streams %v: per-user streams need an account", got)
	}
}

func TestFullSubscriberNeverBlocksPublish(t *testing.T) {
	h := realtime.NewHub(nil)
	slow := h.Subscribe("s", []string{realtime.StreamPublicLocal}, 2)
	fast := h.Subscribe("f", []string{realtime.StreamPublicLocal}, 100)
	defer slow.Close()
	defer fast.Close()
	done := make(chan struct{})
	go func() {
		for i := range 10 {
			h.Publish(realtime.Event{Stream: realtime.StreamPublicLocal, Payload: fmt.Appendf(nil, "%d", i)})
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Publish blocked on a subscriber nobody reads")
	}
	// The slow one keeps what fitted, then its channel is closed and it says why.
	want(t, slow, "slow", "public:local/0", "public:local/1")
	if _, ok := <-slow.C(); ok {
		t.Fatal("a lagging subscription's channel should be closed")
	}
	if slow.Reason() != realtime.ReasonLagging || slow.Dropped() != 8 {
		t.Fatalf("slow: reason %q dropped %d, want lagging and 8", slow.Reason(), slow.Dropped())
	}
	if got := len(recv(fast)); got != 10 || fast.Reason() != "" || fast.Dropped() != 0 {
		t.Fatalf("fast subscriber got %d events (reason %q): the slow one must not affect it", got, fast.Reason())
	}
	st := h.Stats()
	if st.Lagged != 1 || st.Dropped != 8 || st.Delivered != 12 || st.Published != 10 {
		t.Fatalf("stats %+v", st)
	}
	slow.Close()
	if slow.Reason() != realtime.ReasonLagging {
		t.Fatalf("Close after lagging must keep the first reason, got %q", slow.Reason())
	}
	if st := h.Stats(); st.Subscriptions != 1 || st.Routes != 1 {
		t.Fatalf("after closing the slow one: %+v", st)
	}
}

func TestUnsubscribeAndClose(t *testing.T) {
	h := realtime.NewHub(nil)
	s := h.Subscribe("erin", nil, 0)
	if !s.Add(realtime.StreamUser, realtime.HashtagStream("go"), realtime.StreamUser) {
		t.Fatal("Add refused valid streams")
	}
	if fmt.Sprint(s.Streams()) != "[user hashtag:go]" {
		t.Fatalf("streams %v: duplicates must collapse", s.Streams())
	}
	s.Remove(realtime.HashtagStream("go"), realtime.StreamDirect)
	h.Publish(realtime.Event{Stream: realtime.HashtagStream("go"), Payload: []byte("t")})
	h.Publish(realtime.Event{Stream: realtime.StreamUser, AccountID: "erin", Payload: []byte("u")})
	want(t, s, "erin", "user/u")
	if st := h.Stats(); st.Routes != 1 {
		t.Fatalf("an unsubscribed stream with no one left must leave the index: %+v", st)
	}

	s.Close()
	s.Close() // idempotent
	if _, ok := <-s.C(); ok || s.Reason() != realtime.ReasonClosed {
		t.Fatalf("after Close: channel open=%v reason %q", ok, s.Reason())
	}
	if s.Add(realtime.StreamUser) {
		t.Fatal("Add on a closed subscription should report false")
	}
	h.Publish(realtime.Event{Stream: realtime.StreamUser, AccountID: "erin", Payload: []byte("late")})
	if st := h.Stats(); st.Subscriptions != 0 || st.Routes != 0 {
		t.Fatalf("closed subscription still indexed: %+v", st)
	}
}

func TestHubClose(t *testing.T) {
	h := realtime.NewHub(nil)
	a := h.Subscribe("a", []string{realtime.StreamUser}, 0)
	idle := h.Subscribe("b", nil, 0) // no streams yet: must still be told
	h.Close()
	for _, s := range []*realtime.Subscription{a, idle} {
		if _, ok := <-s.C(); ok || s.Reason() != realtime.ReasonShutdown {
			t.Fatalf("after hub Close: open=%v reason %q", ok, s.Reason())
		}
		s.Close()
	}
	late := h.Subscribe("c", []string{realtime.StreamUser}, 0)
	if late.Reason() != realtime.ReasonShutdown {
		t.Fatalf("subscribing to a closed hub: reason %q", late.Reason())
	}
	h.Publish(realtime.Event{Stream: realtime.StreamUser, AccountID: "c"})
}

// TestConcurrentPublishSubscribe is for -race: publishers, consumers that come and go, and
// stream changes all at once; every consumer must end cleanly and the index must empty.
func TestConcurrentPublishSubscribe(t *testing.T) {
	h := realtime.NewHub(nil)
	streams := []string{realtime.StreamUser, realtime.StreamPublicLocal, realtime.HashtagStream("go"), realtime.StreamDirect}
	var wg sync.WaitGroup
	for p := range 4 {
		wg.Go(func() {
			for i := range 3000 {
				h.Publish(realtime.Event{Stream: streams[i%len(streams)], AccountID: fmt.Sprint("u", i%8), Kind: "update",
					Payload: []byte{byte(p), byte(i)}})
				if i%64 == 0 {
					runtime.Gosched() // let subscribers interleave on a 2-core machine
				}
			}
		})
	}
	for c := range 16 {
		wg.Go(func() {
			for round := range 10 {
				s := h.Subscribe(fmt.Sprint("u", c%8), streams[:1+c%len(streams)], 4+round%8)
				for range 10 {
					s.Add(streams[round%len(streams)])
					select {
					case <-s.C():
					default:
						runtime.Gosched()
					}
					s.Remove(streams[(round+1)%len(streams)])
					_ = s.Dropped()
				}
				s.Close()
			}
		})
	}
	wg.Wait()
	if st := h.Stats(); st.Subscriptions != 0 || st.Routes != 0 || st.Published != 4*3000 {
		t.Fatalf("after all closed: %+v", st)
	}
}

// TestListeningAccounts checks the connected-accounts index that publishers with many
// recipients use: it follows subscriptions, stream changes and Close, and refuses to list
// more than asked.
func TestListeningAccounts(t *testing.T) {
	h := realtime.NewHub(nil)
	accounts := func(max int) string {
		ids, complete := h.ListeningAccounts(realtime.StreamUser, max)
		slices.Sort(ids)
		return fmt.Sprint(ids, complete)
	}
	if got := accounts(10); got != "[] true" {
		t.Fatalf("empty hub: %s", got)
	}
	alice := h.Subscribe("alice", []string{realtime.StreamUser}, 0)
	alicePhone := h.Subscribe("alice", []string{realtime.StreamUser, realtime.StreamPublicLocal}, 0)
	bob := h.Subscribe("bob", []string{realtime.StreamNotification}, 0)
	anon := h.Subscribe("", []string{realtime.StreamPublicLocal}, 0)
	defer anon.Close()
	if got := accounts(10); got != "[alice] true" {
		t.Fatalf("alice twice, bob on notifications: %s", got)
	}
	bob.Add(realtime.StreamUser)
	if got := accounts(10); got != "[alice bob] true" {
		t.Fatalf("bob added the user stream: %s", got)
	}
	if got := accounts(1); got != "[] false" {
		t.Fatalf("more than max: %s", got)
	}
	alice.Close()
	if got := accounts(10); got != "[alice bob] true" {
		t.Fatalf("alice's phone is still connected: %s", got)
	}
	alicePhone.Close()
	bob.Remove(realtime.StreamUser)
	if got := accounts(10); got != "[] true" {
		t.Fatalf("everyone left the user stream: %s", got)
	}
	if ids, _ := h.ListeningAccounts(realtime.StreamNotification, 10); len(ids) != 1 || ids[0] != "bob" {
		t.Fatalf("notification stream: %v", ids)
	}
	h.Close()
	if got := accounts(10); got != "[] true" {
		t.Fatalf("closed hub: %s", got)
	}
}
