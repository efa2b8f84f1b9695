package fedtest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/chat"
	"github.com/atrium-social/atrium/internal/realtime"
	"github.com/atrium-social/atrium/internal/testutil/nodetest"
)

// BenchmarkCrossNodeChat is P8: a chat message from alice on acme to bob on globex, two real
// nodes on loopback with their job queues running as in production, timed from Send on acme
// to the live event on bob's stream on globex (signing, delivery, intake, the inbox job, the
// chat service and the realtime hub). Messages go one at a time, so each time is one
// message's own way, not a queue's.
//
//	go test ./federation/fedtest -run '^$' -bench CrossNodeChat -benchtime 1x
func BenchmarkCrossNodeChat(b *testing.B) {
	const messages = 300
	ctx := context.Background()
	acme := nodetest.Start(b, nodetest.Options{Setup: true, Host: "acme.test", OrgName: "Acme"})
	globex := nodetest.Start(b, nodetest.Options{Setup: true, Host: "globex.test", OrgName: "Globex"})
	nodetest.Partner(b, acme, globex)
	alice := acme.NewUser(b, "alice").User
	bob := globex.NewUser(b, "bob").User
	bobOnAcme, err := acme.People.ByAcct(ctx, "bob@"+globex.Host())
	if err != nil {
		b.Fatal(err)
	}
	v, _, err := acme.Chat.Create(ctx, alice, chat.NewChat{Participants: []*accounts.User{bobOnAcme}})
	if err != nil {
		b.Fatal(err)
	}
	sub := globex.Hub.Subscribe(bob.ID, []string{realtime.StreamUser}, 256)
	defer sub.Close()
	arrive := func(limit time.Duration) bool {
		deadline := time.After(limit)
		for {
			select {
			case e, ok := <-sub.C():
				if !ok {
					b.Fatalf("bob's stream ended: %s", sub.Reason())
				}
				if e.Kind == chat.KindMessage {
					return true
				}
			case <-deadline:
				return false
			}
		}
	}
	// Warm-up: keys are made, the actors resolved and the chat created on globex.
	for i := 0; i < 5; i++ {
		if _, err := acme.Chat.Send(ctx, alice, v.Conversation.ID, chat.NewMessage{Text: "warm-up"}); err != nil {
			b.Fatal(err)
		}
		if !arrive(10 * time.Second) {
			b.Fatal("a warm-up message never reached bob")
		}
	}
	for range b.N {
		times := make([]time.Duration, 0, messages)
		for i := 0; i < messages; i++ {
			start := time.Now()
			if _, err := acme.Chat.Send(ctx, alice, v.Conversation.ID, chat.NewMessage{Text: "ping"}); err != nil {
				b.Fatal(err)
			}
			if !arrive(5 * time.Second) {
				b.Fatalf("message %d did not reach bob within 5 s", i)
			}
			times = append(times, time.Since(start))
		}
		slices.Sort(times)
		ms := func(q float64) float64 { return float64(times[int(q*float64(len(times)-1))].Microseconds()) / 1000 }
		b.ReportMetric(ms(0.50), "p50-ms")
		b.ReportMetric(ms(0.99), "p99-ms")
		b.ReportMetric(float64(times[len(times)-1].Microseconds())/1000, "max-ms")
	}
}
