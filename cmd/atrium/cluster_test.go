package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/app"
	"github.com/atrium-social/atrium/internal/config"
	"github.com/atrium-social/atrium/internal/db"
	"github.com/atrium-social/atrium/internal/testutil/pgtest"
)

// TestTwoProcessesOnePostgres is issue 7's multi-process check: two `atrium serve` processes
// share one PostgreSQL database (as behind a load balancer). Bob's websocket is held by
// process B; Alice, whom he follows, posts through process A (once with a text whose status
// JSON is larger than NOTIFY's 8000 bytes) and follows him back (a notification). Bob must
// receive each post and the notification exactly once, byte for byte.
func TestTwoProcessesOnePostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("short: builds and runs the atrium binary")
	}
	dsn := pgtest.DSN(t) // skips, naming postgres, when it is not installed
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	addrA, addrB := loopbackAddr(t), loopbackAddr(t)
	urlA := "http://" + addrA

	// Setup in-process; both children then read everything from the database.
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.DB = dsn
	cfg.Argon2MemoryKiB = 1024
	node, err := app.New(ctx, cfg, app.Options{Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := node.Accounts.RunSetup(ctx, accounts.Setup{OrgName: "Cluster Co", URL: urlA,
		Admin: accounts.NewUser{Username: "admin", Email: "admin@cluster.example", Password: "cluster test password"}}, "test"); err != nil {
		t.Fatal(err)
	}
	alice, err := node.Accounts.Create(ctx, accounts.CLIActor(), accounts.NewUser{Username: "alice", Email: "alice@cluster.example", Password: "alice's long password"})
	if err != nil {
		t.Fatal(err)
	}
	bob, err := node.Accounts.Create(ctx, accounts.CLIActor(), accounts.NewUser{Username: "bob", Email: "bob@cluster.example", Password: "bob's long password"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := node.Follows.Follow(ctx, bob.ID, alice.ID); err != nil {
		t.Fatal(err)
	}
	aliceToken, _, err := node.Accounts.CreateToken(ctx, accounts.CLIActor(), alice.ID, "cluster test", "write follow")
	if err != nil {
		t.Fatal(err)
	}
	bobToken, _, err := node.Accounts.CreateToken(ctx, accounts.CLIActor(), bob.ID, "cluster test", "read")
	if err != nil {
		t.Fatal(err)
	}
	node.Close()

	bin := buildAtrium(t)
	serve := func(addr string) *crashChild {
		c := startChild(t, bin, []string{"serve", "--db", dsn, "--data-dir", t.TempDir(), "--listen", addr, "--log-level", "info"})
		c.waitHealthy(t, "http://"+addr+"/healthz", 30*time.Second)
		return c
	}
	procA, procB := serve(addrA), serve(addrB)

	// Bob's websocket, on B.
	ws, _, err := websocket.DefaultDialer.DialContext(ctx, "ws://"+addrB+"/api/v1/streaming?stream=user&access_token="+bobToken, nil)
	if err != nil {
		t.Fatalf("websocket to B: %v\n%s", err, procB.out.tail())
	}
	defer ws.Close()
	var mu sync.Mutex
	var events []streamEvent
	go func() {
		for {
			_, b, err := ws.ReadMessage()
			if err != nil {
				return
			}
			var m struct{ Event, Payload string }
			if json.Unmarshal(b, &m) == nil {
				mu.Lock()
				events = append(events, streamEvent{m.Event, m.Payload, time.Now()})
				mu.Unlock()
			}
		}
	}()
	received := func(match func(streamEvent) bool) []streamEvent {
		mu.Lock()
		defer mu.Unlock()
		var out []streamEvent
		for _, e := range events {
			if match(e) {
				out = append(out, e)
			}
		}
		return out
	}
	updateOf := func(id string) func(streamEvent) bool {
		return func(e streamEvent) bool { return e.kind == "update" && e.status().ID == id }
	}
	waitUntil := func(what string, limit time.Duration, ok func() bool) bool {
		deadline := time.Now().Add(limit)
		for !ok() {
			if time.Now().After(deadline) {
				t.Logf("timed out waiting until %s", what)
				return false
			}
			time.Sleep(10 * time.Millisecond)
		}
		return true
	}

	// Probes until one arrives: process A learns of Bob's subscription on B asynchronously
	// (a few milliseconds; ~10 under CPU load), as a local publisher may miss a subscriber
	// that arrives at the same instant, and Bob has only just connected.
	var probes []string
	for i := 0; ; i++ {
		id := postStatus(ctx, t, urlA, aliceToken, fmt.Sprintf("probe %d", i))
		probes = append(probes, id)
		t.Logf("%s posted probe %s", time.Now().Format("15:04:05.000"), id)
		if waitUntil("probe "+id+" reaches B", 2*time.Second, func() bool { return len(received(updateOf(id))) > 0 }) {
			break
		}
		if i == 10 {
			t.Fatalf("no probe reached bob on B\nA:\n%s\nB:\n%s", procA.out.tail(), procB.out.tail())
		}
	}

	small := postStatus(ctx, t, urlA, aliceToken, "the release is out")
	large := strings.Repeat("Grüße aus Köln 🎉 ", 280) // under 5000 characters, ~6 KB of text, 10+ KB as status JSON
	big := postStatus(ctx, t, urlA, aliceToken, large)
	apiPost(ctx, t, urlA+"/api/v1/accounts/"+bob.ID+"/follow", aliceToken)
	notified := func(e streamEvent) bool { return e.kind == "notification" && e.notification().Type == "follow" }
	if !waitUntil("bob has both posts and the notification", 15*time.Second, func() bool {
		return len(received(updateOf(small))) > 0 && len(received(updateOf(big))) > 0 && len(received(notified)) > 0
	}) {
		all := received(func(streamEvent) bool { return true })
		t.Fatalf("bob on B received %d events: %v\nA:\n%s\nB:\n%s", len(all), kinds(all),
			procA.out.tail(), procB.out.tail())
	}
	time.Sleep(time.Second) // a duplicate (an echo, a second delivery path) would arrive by now
	if len(probes) > 1 {
		// Say whether the missed probes came late or never.
		for _, e := range received(func(streamEvent) bool { return true }) {
			t.Logf("%s received %s %s", e.at.Format("15:04:05.000"), e.kind, e.status().ID)
		}
	}
	for what, match := range map[string]func(streamEvent) bool{"the small post": updateOf(small), "the large post": updateOf(big), "the notification": notified} {
		if n := len(received(match)); n != 1 {
			t.Errorf("%s arrived %d times, want exactly once", what, n)
			for _, e := range received(func(streamEvent) bool { return true }) {
				t.Logf("%s %.150s", e.kind, e.payload)
			}
		}
	}
	got := received(updateOf(big))[0]
	if len(got.payload) <= 8000 {
		t.Fatalf("the large post's event is %d bytes; the test needs more than NOTIFY's 8000", len(got.payload))
	}
	if !strings.Contains(got.status().Content, strings.TrimSpace(large)[:200]) {
		t.Fatalf("the large post arrived altered: %.300s", got.status().Content)
	}

	// It crossed through the database (by reference), rather than being published by B.
	d, err := db.Open(ctx, db.Options{DSN: dsn})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var rows int
	if err := d.QueryRowContext(ctx, "SELECT count(*) FROM realtime_payloads").Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows == 0 {
		t.Fatal("no large message went through realtime_payloads: the large post did not cross between the processes")
	}
}

type streamEvent struct {
	kind, payload string
	at            time.Time
}

type statusJSON struct {
	ID      string `json:"id"`
	Content string `json:"content"`
}

func (e streamEvent) status() statusJSON {
	var s statusJSON
	_ = json.Unmarshal([]byte(e.payload), &s)
	return s
}

func (e streamEvent) notification() struct{ Type string } {
	var n struct{ Type string }
	_ = json.Unmarshal([]byte(e.payload), &n)
	return n
}

func kinds(es []streamEvent) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.kind
	}
	return out
}

// apiPost sends an empty POST to the Mastodon API and fails the test unless it answers 200.
func apiPost(ctx context.Context, t *testing.T, url, token string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("POST %s: %s: %s", url, resp.Status, b)
	}
}

// postStatus posts a company-wide status through the Mastodon API and returns its id.
func postStatus(ctx context.Context, t *testing.T, base, token, text string) string {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"status": text})
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/v1/statuses", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var st statusJSON
	if resp.StatusCode != http.StatusOK || json.Unmarshal(b, &st) != nil || st.ID == "" {
		t.Fatalf("POST /api/v1/statuses: %s: %s", resp.Status, b)
	}
	return st.ID
}

// loopbackAddr picks a free port on 127.0.0.1.
func loopbackAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
