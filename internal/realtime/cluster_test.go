package realtime_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/atrium-social/atrium/internal/realtime"
)

// memNet is an in-memory transport between the bridges of a test cluster: every message
// goes, in order, to every other member, as NOTIFY does.
type memNet struct {
	mu      sync.Mutex
	members []*memBridge
}

type memBridge struct {
	net  *memNet
	id   string
	in   chan realtime.Message
	down chan struct{} // closed: cut off from the others (sends are lost, nothing arrives)
	// reconnect, when sent to, makes Run call connected again, as after a lost connection.
	reconnect chan struct{}
	mu        sync.Mutex
	sent      []realtime.Message
}

func (n *memNet) join(id string) *memBridge {
	b := &memBridge{net: n, id: id, in: make(chan realtime.Message, 1<<14), down: make(chan struct{}), reconnect: make(chan struct{})}
	n.mu.Lock()
	n.members = append(n.members, b)
	n.mu.Unlock()
	return b
}

func (b *memBridge) Send(m realtime.Message) bool {
	b.mu.Lock()
	b.sent = append(b.sent, m)
	b.mu.Unlock()
	b.net.mu.Lock()
	defer b.net.mu.Unlock()
	select {
	case <-b.down:
		return true // lost in transit, as a NOTIFY sent while the database is away
	default:
	}
	m.From = b.id
	for _, o := range b.net.members {
		if o != b {
			select {
			case <-o.down:
			case o.in <- m:
			}
		}
	}
	return true
}

func (b *memBridge) Run(ctx context.Context, receive func(realtime.Message), connected func()) error {
	connected()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-b.reconnect:
			connected()
		case m := <-b.in:
			receive(m)
		}
	}
}

func (b *memBridge) events() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, m := range b.sent {
		if m.Type == realtime.TypeEvent {
			n++
		}
	}
	return n
}

type testNode struct {
	hub     *realtime.Hub
	bridge  *memBridge
	cluster *realtime.Cluster
}

func cluster(t *testing.T, opt realtime.ClusterOptions, names ...string) []*testNode {
	t.Helper()
	net := &memNet{}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	var nodes []*testNode
	for _, name := range names {
		n := &testNode{hub: realtime.NewHub(nil), bridge: net.join(name)}
		n.cluster = realtime.NewCluster(n.hub, n.bridge, nil, opt)
		wg.Go(func() { _ = n.cluster.Run(ctx) })
		nodes = append(nodes, n)
	}
	return nodes
}

func eventually(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestClusterDeliversAcrossNodesOnce: a subscriber on B receives what is published on A,
// once; A's own subscribers receive it once (no echo); and events nobody elsewhere listens
// to stay on their node.
func TestClusterDeliversAcrossNodesOnce(t *testing.T) {
	nodes := cluster(t, realtime.ClusterOptions{}, "a", "b")
	a, b := nodes[0], nodes[1]
	onA := a.hub.Subscribe("alice", []string{realtime.StreamUser}, 0)
	onB := b.hub.Subscribe("alice", []string{realtime.StreamUser, realtime.StreamPublicLocal}, 0)
	bobOnB := b.hub.Subscribe("bob", []string{realtime.StreamNotification}, 0)
	defer onA.Close()
	defer onB.Close()
	defer bobOnB.Close()

	// What publishers ask before rendering must see B's subscribers from A.
	eventually(t, "A sees alice and bob on B", func() bool {
		return a.hub.Listening(realtime.StreamNotification, "bob") && a.hub.Listening(realtime.StreamPublicLocal, "")
	})
	if ids, complete := a.hub.ListeningAccounts(realtime.StreamUser, 10); !complete || fmt.Sprint(ids) != "[alice]" {
		t.Fatalf("A's connected accounts: %v %v; alice is on both nodes and counts once", ids, complete)
	}
	if a.hub.Listening(realtime.StreamUser, "carol") {
		t.Fatal("nobody is carol")
	}

	a.hub.Publish(ev(realtime.StreamUser, "alice", "a1"))
	a.hub.Publish(ev(realtime.StreamNotification, "bob", "n1"))
	a.hub.Publish(ev(realtime.StreamPublicLocal, "", "p1"))
	a.hub.Publish(ev(realtime.StreamUser, "carol", "nobody's")) // carol is nowhere: not sent
	eventually(t, "B's subscribers have A's events", func() bool { return len(onB.C()) == 2 && len(bobOnB.C()) == 1 })
	b.hub.Publish(ev(realtime.StreamUser, "alice", "b1"))
	eventually(t, "A's subscriber has B's event", func() bool { return len(onA.C()) == 2 })
	time.Sleep(20 * time.Millisecond) // anything extra (an echo) would arrive by now
	want(t, onB, "alice on B", "user/a1", "public:local/p1", "user/b1")
	want(t, bobOnB, "bob on B", "user:notification/n1")
	want(t, onA, "alice on A", "user/a1", "user/b1")
	if n := a.bridge.events(); n != 3 {
		t.Fatalf("A sent %d events; want 3 (carol's has no subscriber anywhere)", n)
	}

	// B's subscribers leave: A stops sending.
	onB.Close()
	bobOnB.Close()
	eventually(t, "A sees B's subscribers gone", func() bool {
		return !a.hub.Listening(realtime.StreamPublicLocal, "") && !a.hub.Listening(realtime.StreamNotification, "bob")
	})
	a.hub.Publish(ev(realtime.StreamPublicLocal, "", "p2"))
	if n := a.bridge.events(); n != 3 {
		t.Fatalf("A sent %d events; want still 3", n)
	}
}

// TestClusterSingleNodeSendsNothing: on PostgreSQL with one process, the cluster must cost
// nothing per event.
func TestClusterSingleNodeSendsNothing(t *testing.T) {
	a := cluster(t, realtime.ClusterOptions{}, "a")[0]
	s := a.hub.Subscribe("alice", []string{realtime.StreamUser}, 100)
	defer s.Close()
	for range 100 {
		a.hub.Publish(ev(realtime.StreamUser, "alice", "x"))
	}
	if n := a.bridge.events(); n != 0 || a.cluster.Stats().Forwarded != 0 {
		t.Fatalf("a lone node sent %d events", n)
	}
	want(t, s, "alice", slices.Repeat([]string{"user/x"}, 100)...)
}

// TestClusterResynchronises: announcements lost while a node was cut off are repaired when
// it reconnects, and a node that stops announcing is forgotten.
func TestClusterResynchronises(t *testing.T) {
	nodes := cluster(t, realtime.ClusterOptions{FullEvery: 50 * time.Millisecond, Expire: 300 * time.Millisecond}, "a", "b")
	a, b := nodes[0], nodes[1]
	eventually(t, "A knows B", func() bool { return a.cluster.Stats().Nodes == 1 })

	close(b.bridge.down) // B's announcements are lost from here
	s := b.hub.Subscribe("dave", []string{realtime.StreamUser}, 0)
	defer s.Close()
	time.Sleep(20 * time.Millisecond)
	if a.hub.Listening(realtime.StreamUser, "dave") {
		t.Fatal("A cannot know about dave yet")
	}
	b.bridge.net.mu.Lock() // back: Send reads down under the net's lock
	b.bridge.down = make(chan struct{})
	b.bridge.net.mu.Unlock()
	b.bridge.reconnect <- struct{}{}
	eventually(t, "A learns of dave after B reconnects", func() bool { return a.hub.Listening(realtime.StreamUser, "dave") })

	// B goes quiet for good: A forgets it (and dave) after Expire.
	b.bridge.net.mu.Lock()
	close(b.bridge.down)
	b.bridge.net.mu.Unlock()
	eventually(t, "A forgets the silent B", func() bool {
		return !a.hub.Listening(realtime.StreamUser, "dave") && a.cluster.Stats().Nodes == 0
	})
}
