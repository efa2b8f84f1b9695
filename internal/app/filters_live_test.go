package app_test

import (
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/atrium-social/atrium/internal/testutil/nodetest"
)

// streamFrames records every frame a user stream delivers: event name and decoded payload.
type streamFrames struct {
	mu     sync.Mutex
	frames []streamFrame
	conn   *websocket.Conn
	done   chan struct{}
}

type streamFrame struct {
	event   string
	payload map[string]any
}

func openUserStream(t *testing.T, n *nodetest.Node, token string) *streamFrames {
	t.Helper()
	addr := n.HTTP.Listener.Addr().String()
	conn, _, err := websocket.DefaultDialer.Dial("ws://"+addr+"/api/v1/streaming?stream=user&access_token="+token, nil)
	if err != nil {
		t.Fatalf("websocket: %v", err)
	}
	s := &streamFrames{conn: conn, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		for {
			_, data, err := conn.ReadMessage()
			if err != nil {
				return
			}
			var f struct {
				Event   string `json:"event"`
				Payload string `json:"payload"`
			}
			if json.Unmarshal(data, &f) != nil {
				continue
			}
			var p map[string]any
			_ = json.Unmarshal([]byte(f.Payload), &p)
			s.mu.Lock()
			s.frames = append(s.frames, streamFrame{f.Event, p})
			s.mu.Unlock()
		}
	}()
	t.Cleanup(func() { conn.Close(); <-s.done })
	return s
}

// statusOf is the status a frame carries: the payload of an update, or a notification's status.
func (f streamFrame) statusOf() map[string]any {
	if f.event == "notification" {
		st, _ := f.payload["status"].(map[string]any)
		return st
	}
	return f.payload
}

// waitStatus waits for a frame of event whose status contains text.
func (s *streamFrames) waitStatus(t *testing.T, event, text string) streamFrame {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		s.mu.Lock()
		i := slices.IndexFunc(s.frames, func(f streamFrame) bool {
			st := f.statusOf()
			content, _ := st["content"].(string)
			return f.event == event && strings.Contains(content, text)
		})
		var f streamFrame
		if i >= 0 {
			f = s.frames[i]
		}
		s.mu.Unlock()
		if i >= 0 {
			return f
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no %s event with %q within 10s", event, text)
	return streamFrame{}
}

// anyWith reports whether any frame's status contains text.
func (s *streamFrames) anyWith(text string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.ContainsFunc(s.frames, func(f streamFrame) bool {
		content, _ := f.statusOf()["content"].(string)
		return strings.Contains(content, text)
	})
}

// A person's filters and mutes apply to what the streaming API pushes as they apply to
// timeline pages: a warn filter marks the pushed status `filtered`, a hide filter and a mute
// keep it off the stream, for posts and notifications alike. Threads (statuses/:id/context)
// leave out muted people's replies and what a "thread" hide filter matches.
func TestFiltersAndMutesApplyLiveAndInThreads(t *testing.T) {
	eachEngineWith(t, nodetest.Options{Setup: true, Serve: true}, func(t *testing.T, n *nodetest.Node) {
		c := caller{t}
		alice, bob, carol, dave := n.NewUser(t, "alice"), n.NewUser(t, "bob"), n.NewUser(t, "carol"), n.NewUser(t, "dave")
		for _, who := range []*nodetest.API{bob, carol} {
			c.expect(alice.Call("POST", "/api/v1/accounts/"+who.User.ID+"/follow", nil, nil), 200, nil, "follow")
		}
		c.expect(alice.Call("POST", "/api/v2/filters", map[string]any{"title": "Spoilers", "context": []string{"home", "notifications", "thread"},
			"keywords_attributes": []map[string]any{{"keyword": "dragon"}}}, nil), 200, nil, "warn filter")
		c.expect(alice.Call("POST", "/api/v2/filters", map[string]any{"title": "Hidden", "context": []string{"home", "notifications", "thread"},
			"filter_action": "hide", "keywords_attributes": []map[string]any{{"keyword": "quarterly"}}}, nil), 200, nil, "hide filter")
		c.expect(alice.Call("POST", "/api/v1/accounts/"+carol.User.ID+"/mute", map[string]any{"notifications": true}, nil), 200, nil, "mute")

		// Thread: muted replies and hidden words are left out; the asked-for status stays.
		var root, st map[string]any
		c.expect(bob.Call("POST", "/api/v1/statuses", map[string]any{"status": "Offsite planning", "visibility": "public"}, &root), 200, nil, "root")
		rootID := root["id"].(string)
		for who, text := range map[*nodetest.API]string{carol: "carol replies", dave: "the quarterly numbers", bob: "a dragon appears"} {
			c.expect(who.Call("POST", "/api/v1/statuses", map[string]any{"status": text, "in_reply_to_id": rootID, "visibility": "public"}, &st), 200, nil, "reply")
		}
		var ctxt struct{ Descendants []map[string]any }
		c.expect(alice.Call("GET", "/api/v1/statuses/"+rootID+"/context", nil, &ctxt), 200, nil, "context")
		if len(ctxt.Descendants) != 1 || !strings.Contains(ctxt.Descendants[0]["content"].(string), "dragon") ||
			len(ctxt.Descendants[0]["filtered"].([]any)) != 1 {
			t.Fatalf("alice's thread = %v, want only bob's reply, marked filtered", ctxt.Descendants)
		}
		c.expect(dave.Call("GET", "/api/v1/statuses/"+rootID+"/context", nil, &ctxt), 200, nil, "dave's context")
		if len(ctxt.Descendants) != 3 {
			t.Fatalf("dave (no filters) sees %d replies, want 3", len(ctxt.Descendants))
		}

		// Live: posts to the home stream, and notifications.
		s := openUserStream(t, n, alice.Token)
		time.Sleep(100 * time.Millisecond) // the subscription is registered after the upgrade
		c.expect(bob.Call("POST", "/api/v1/statuses", map[string]any{"status": "here be dragon"}, nil), 200, nil, "warn post")
		c.expect(bob.Call("POST", "/api/v1/statuses", map[string]any{"status": "quarterly report"}, nil), 200, nil, "hidden post")
		c.expect(carol.Call("POST", "/api/v1/statuses", map[string]any{"status": "carol speaks"}, nil), 200, nil, "muted post")
		c.expect(carol.Call("POST", "/api/v1/statuses", map[string]any{"status": "@alice carol mentions"}, nil), 200, nil, "muted mention")
		c.expect(dave.Call("POST", "/api/v1/statuses", map[string]any{"status": "@alice quarterly mention"}, nil), 200, nil, "hidden mention")
		c.expect(dave.Call("POST", "/api/v1/statuses", map[string]any{"status": "@alice dragon mention"}, nil), 200, nil, "warn mention")
		c.expect(bob.Call("POST", "/api/v1/statuses", map[string]any{"status": "plain sentinel"}, nil), 200, nil, "sentinel")

		if f := s.waitStatus(t, "update", "here be dragon"); len(f.payload["filtered"].([]any)) != 1 {
			t.Fatalf("pushed warn match without filtered: %v", f.payload["filtered"])
		}
		if f := s.waitStatus(t, "notification", "dragon mention"); len(f.statusOf()["filtered"].([]any)) != 1 {
			t.Fatalf("pushed warn-matching notification without filtered: %v", f.statusOf())
		}
		if f := s.waitStatus(t, "update", "plain sentinel"); len(f.payload["filtered"].([]any)) != 0 {
			t.Fatalf("unmatched status marked filtered: %v", f.payload["filtered"])
		}
		time.Sleep(200 * time.Millisecond) // events are published in order; allow stragglers
		for _, text := range []string{"quarterly", "carol speaks", "carol mentions"} {
			if s.anyWith(text) {
				t.Errorf("the stream pushed %q, which alice hides", text)
			}
		}
	})
}

// A live event is rendered once for all its recipients: the author's own marks (pinned to
// their profile, their muted thread) must not reach anyone else.
func TestLiveEventsCarryNoAuthorMarks(t *testing.T) {
	n := nodetest.Start(t, nodetest.Options{Setup: true, Serve: true})
	c := caller{t}
	alice, bob := n.NewUser(t, "alice"), n.NewUser(t, "bob")
	c.expect(alice.Call("POST", "/api/v1/accounts/"+bob.User.ID+"/follow", nil, nil), 200, nil, "follow")
	var st map[string]any
	c.expect(bob.Call("POST", "/api/v1/statuses", map[string]any{"status": "pinned news"}, &st), 200, nil, "post")
	id := st["id"].(string)
	c.expect(bob.Call("POST", "/api/v1/statuses/"+id+"/pin", nil, nil), 200, nil, "pin")
	c.expect(bob.Call("POST", "/api/v1/statuses/"+id+"/mute", nil, nil), 200, nil, "mute thread")
	s := openUserStream(t, n, alice.Token)
	time.Sleep(100 * time.Millisecond)
	c.expect(bob.Call("PUT", "/api/v1/statuses/"+id, map[string]any{"status": "pinned news, edited"}, nil), 200, nil, "edit")
	f := s.waitStatus(t, "status.update", "edited")
	if f.payload["pinned"] != false || f.payload["muted"] != false {
		t.Fatalf("alice's live update carries bob's marks: pinned=%v muted=%v", f.payload["pinned"], f.payload["muted"])
	}
}
