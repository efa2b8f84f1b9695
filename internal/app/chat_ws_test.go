package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/app"
	"github.com/atrium-social/atrium/internal/chat"
	"github.com/atrium-social/atrium/internal/config"
)

// wsClient is one member's websocket, as a browser tab holds it: it records the chat
// messages that arrive live (with their change numbers) until closed.
type wsClient struct {
	conn *websocket.Conn
	mu   sync.Mutex
	got  []string // message ids, in arrival order
	seq  int64    // the highest change number seen
	done chan struct{}
}

func dialChat(t *testing.T, addr, token string) *wsClient {
	t.Helper()
	conn, resp, err := websocket.DefaultDialer.Dial("ws://"+addr+"/api/v1/streaming?stream=user&access_token="+token, nil)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("websocket: %v (status %d)", err, status)
	}
	c := &wsClient{conn: conn, done: make(chan struct{})}
	go func() {
		defer close(c.done)
		for {
			_, data, err := conn.ReadMessage()
			if err != nil {
				return
			}
			var frame struct {
				Event   string `json:"event"`
				Payload string `json:"payload"`
			}
			if json.Unmarshal(data, &frame) != nil || frame.Event != chat.KindMessage {
				continue
			}
			var ev struct {
				Seq     int64 `json:"seq"`
				Message struct {
					ID string `json:"id"`
				} `json:"message"`
			}
			if err := json.Unmarshal([]byte(frame.Payload), &ev); err != nil {
				continue
			}
			c.mu.Lock()
			c.got = append(c.got, ev.Message.ID)
			c.seq = max(c.seq, ev.Seq)
			c.mu.Unlock()
		}
	}()
	return c
}

func (c *wsClient) close() { c.conn.Close(); <-c.done }

func (c *wsClient) snapshot() ([]string, int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.got), c.seq
}

// TestChatWebsocketsManyClients: 25 members of a group chat hold websockets while 60
// messages are sent. Every client receives every message once, in order. Five of them drop
// their connection midway and, back again, catch up from the last change they saw
// (since_seq), as the page does: nothing is lost and nothing is repeated.
func TestChatWebsocketsManyClients(t *testing.T) {
	const members, messages, dropAt, backAt = 25, 60, 20, 40
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Argon2MemoryKiB = 1024
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	cfg.SetURLExplicit("http://" + addr)
	n, err := app.New(ctx, cfg, app.Options{Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	go func() { _ = n.Serve(ctx, ln) }()
	owner, err := n.Accounts.RunSetup(ctx, accounts.Setup{OrgName: "Acme", URL: "http://" + addr,
		Admin: accounts.NewUser{Username: "owner", Email: "owner@acme.example", Password: "owner password 1"}}, "test")
	if err != nil {
		t.Fatal(err)
	}
	var people []*accounts.User
	tokens := map[string]string{}
	for i := range members {
		u := owner
		if i > 0 {
			if u, err = n.Accounts.Create(ctx, accounts.CLIActor(), accounts.NewUser{Username: fmt.Sprintf("m%02d", i),
				Email: fmt.Sprintf("m%02d@acme.example", i), Password: "member password 1"}); err != nil {
				t.Fatal(err)
			}
			people = append(people, u)
		}
		tok, _, err := n.Accounts.CreateToken(ctx, accounts.CLIActor(), u.ID, "test", "read write")
		if err != nil {
			t.Fatal(err)
		}
		tokens[u.ID] = tok
	}
	v, _, err := n.Chat.Create(ctx, owner, chat.NewChat{Participants: people, Name: "All hands", Group: true})
	if err != nil {
		t.Fatal(err)
	}
	chatID := v.Conversation.ID
	clients := map[string]*wsClient{}
	for _, u := range people {
		clients[u.ID] = dialChat(t, addr, tokens[u.ID])
	}
	// A message sent right after dialling could beat the subscription: wait until the hub
	// has every client.
	waitFor(t, 5*time.Second, func() bool { return n.Hub.Stats().Subscriptions >= len(people) })

	droppers := people[:5]
	var sent []string
	for i := range messages {
		if i == dropAt {
			for _, u := range droppers {
				clients[u.ID].close()
			}
		}
		if i == backAt {
			fresh := map[string]*wsClient{}
			for _, u := range droppers {
				fresh[u.ID] = dialChat(t, addr, tokens[u.ID])
			}
			waitFor(t, 5*time.Second, func() bool { return n.Hub.Stats().Subscriptions >= len(people) })
			for _, u := range droppers {
				old := clients[u.ID]
				_, seq := old.snapshot()
				// Catch up from the last change seen, then keep what arrives live.
				var missed []struct {
					ID string `json:"id"`
				}
				getJSON(t, addr, tokens[u.ID], fmt.Sprintf("/api/v1/chats/%s/messages?since_seq=%d&limit=100", chatID, seq), &missed)
				got, _ := old.snapshot()
				for _, m := range missed {
					if !slices.Contains(got, m.ID) {
						got = append(got, m.ID)
					}
				}
				// What arrived live since the reconnect comes after what was missed.
				f := fresh[u.ID]
				f.mu.Lock()
				for _, id := range f.got {
					if !slices.Contains(got, id) {
						got = append(got, id)
					}
				}
				f.got = got
				f.mu.Unlock()
				clients[u.ID] = f
			}
		}
		m, err := n.Chat.Send(ctx, owner, chatID, chat.NewMessage{Text: fmt.Sprintf("message %d", i)})
		if err != nil {
			t.Fatal(err)
		}
		sent = append(sent, m.ID)
	}
	for _, u := range people {
		c := clients[u.ID]
		waitFor(t, 10*time.Second, func() bool { got, _ := c.snapshot(); return len(got) >= messages })
		got, _ := c.snapshot()
		if !slices.Equal(got, sent) {
			t.Errorf("%s received %d messages, want the %d sent, in order, once each (first difference at %d)",
				u.Username, len(got), len(sent), firstDiff(got, sent))
		}
	}
	for _, c := range clients {
		c.close()
	}
}

func firstDiff(a, b []string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

func waitFor(t *testing.T, limit time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("not done after %v", limit)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func getJSON(t *testing.T, addr, token, path string, out any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, body)
	}
	if err := json.Unmarshal(body, out); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
}
