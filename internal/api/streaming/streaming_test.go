package streaming

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/atrium-social/atrium/internal/realtime"
	"github.com/atrium-social/atrium/internal/server"
)

// message is Mastodon's websocket message as clients decode it.
type message struct {
	Stream  []string `json:"stream"`
	Event   string   `json:"event"`
	Payload string   `json:"payload"`
	Error   string   `json:"error"`
	Status  int      `json:"status"`
}

func read(t *testing.T, c *websocket.Conn) message {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, b, err := c.ReadMessage()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	var m message
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("message %s: %v", b, err)
	}
	return m
}

func send(t *testing.T, c *websocket.Conn, v string) {
	t.Helper()
	if err := c.WriteMessage(websocket.TextMessage, []byte(v)); err != nil {
		t.Fatal(err)
	}
}

func status(n int) string { return fmt.Sprintf(`{"id":"%d","content":"<p>post \"%d\"</p>"}`, n, n) }

func TestWebsocketDeliversOnlyOwnEventsInOrder(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := e.dial("access_token="+e.aliceToken, nil)
	send(t, c, `{"type":"subscribe","stream":"user"}`)
	b := e.dial("access_token="+e.bobToken+"&stream=hashtag&tag=Go", nil)
	e.waitRoutes(2)

	for i := 1; i <= 5; i++ {
		e.hub.Publish(realtime.Event{Stream: realtime.StreamUser, Kind: realtime.KindUpdate, AccountID: e.alice.ID, Payload: []byte(status(i))})
		e.hub.Publish(realtime.Event{Stream: realtime.StreamUser, Kind: realtime.KindUpdate, AccountID: e.bob.ID, Payload: []byte(status(100 + i))})
	}
	e.hub.Publish(realtime.Event{Stream: realtime.StreamUser, Kind: realtime.KindDelete, AccountID: e.alice.ID, Payload: []byte("3")})
	e.hub.Publish(realtime.Event{Stream: realtime.HashtagStream("go"), Kind: realtime.KindUpdate, Payload: []byte(status(7))})

	for i := 1; i <= 5; i++ {
		m := read(t, c)
		if fmt.Sprint(m.Stream) != "[user]" || m.Event != "update" || m.Payload != status(i) {
			t.Fatalf("alice's message %d: %+v", i, m)
		}
	}
	if m := read(t, c); m.Event != "delete" || m.Payload != "3" {
		t.Fatalf("delete: %+v", m)
	}
	// Bob follows #go only; his own user events were never asked for.
	if m := read(t, b); fmt.Sprint(m.Stream) != "[hashtag go]" || m.Payload != status(7) {
		t.Fatalf("bob: %+v", m)
	}

	// Unsubscribing stops delivery; errors come back as Mastodon's error messages.
	send(t, c, `{"type":"unsubscribe","stream":"user"}`)
	e.waitRoutes(1)
	send(t, c, `{"type":"subscribe","stream":"nonsense"}`)
	if m := read(t, c); m.Error != "Unknown stream type" || m.Status != 422 {
		t.Fatalf("unknown stream: %+v", m)
	}
	send(t, b, `{"type":"subscribe","stream":"user:notification"}`)
	if m := read(t, b); m.Status != 403 {
		t.Fatalf("bob's token lacks read:notifications: %+v", m)
	}
}

func TestWebsocketTokenAsSubprotocol(t *testing.T) {
	e := newEnv(t, envOptions{})
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second, Subprotocols: []string{e.aliceToken}}
	c, resp, err := d.Dial("ws://"+e.addr+"/api/v1/streaming?stream=public:local", nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer c.Close()
	if c.Subprotocol() != e.aliceToken || resp.Header.Get("Sec-WebSocket-Protocol") != e.aliceToken {
		t.Fatalf("the offered protocol must be echoed, got %q", resp.Header.Get("Sec-WebSocket-Protocol"))
	}
	e.waitRoutes(1)
	e.hub.Publish(realtime.Event{Stream: realtime.StreamPublicLocal, Kind: realtime.KindUpdate, Payload: []byte(status(1))})
	if m := read(t, c); fmt.Sprint(m.Stream) != "[public:local]" || m.Payload != status(1) {
		t.Fatalf("%+v", m)
	}
}

func TestRefusedBeforeUpgrade(t *testing.T) {
	e := newEnv(t, envOptions{})
	writeOnly := e.token(e.alice, "write")
	session, err := e.acc.CreateSession(context.Background(), e.alice, "test", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	cookie := http.Header{"Cookie": {server.SessionCookie + "=" + session}}
	for _, tc := range []struct {
		name, query string
		header      http.Header
		status      int
	}{
		{"no credentials", "stream=user", nil, 401},
		{"bad token", "access_token=nope", nil, 401},
		{"bad bearer", "", http.Header{"Authorization": {"Bearer nope"}}, 401},
		{"no read scope", "access_token=" + writeOnly, nil, 403},
		{"unknown stream", "access_token=" + e.aliceToken + "&stream=firehose", nil, 422},
		{"hashtag without tag", "access_token=" + e.aliceToken + "&stream=hashtag", nil, 422},
		{"cookie from another site", "", http.Header{"Cookie": cookie["Cookie"], "Origin": {"https://evil.example"}}, 403},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, resp, err := e.tryDial(tc.query, tc.header)
			if err == nil {
				c.Close()
				t.Fatal("upgraded; want a refusal")
			}
			if resp == nil || resp.StatusCode != tc.status {
				t.Fatalf("status %v, want %d (%v)", resp, tc.status, err)
			}
			var body struct{ Error string }
			if json.NewDecoder(resp.Body).Decode(&body) != nil || body.Error == "" {
				t.Fatal("refusals must be JSON errors")
			}
		})
	}
	// Authorization headers and same-site cookies are fine.
	e.dial("stream=user", http.Header{"Authorization": {"Bearer " + e.aliceToken}})
	e.dial("stream=user", http.Header{"Cookie": cookie["Cookie"], "Origin": {"http://" + e.addr}})

	resp, body := get(t, "http://"+e.addr+"/api/v1/streaming/health")
	if resp.StatusCode != 200 || body != "OK" {
		t.Fatalf("health: %d %q", resp.StatusCode, body)
	}
	if resp, _ := get(t, "http://"+e.addr+"/api/v1/streaming", "Authorization", "Bearer "+e.aliceToken); resp.StatusCode != 426 {
		t.Fatalf("plain GET: %d, want 426 Upgrade Required", resp.StatusCode)
	}
}

// closeCode reads until the connection ends and returns the close frame's code and text.
func closeCode(t *testing.T, c *websocket.Conn) (int, string, int) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	n := 0
	for {
		if _, _, err := c.ReadMessage(); err != nil {
			var ce *websocket.CloseError
			if !errors.As(err, &ce) {
				t.Fatalf("connection ended without a close frame: %v", err)
			}
			return ce.Code, ce.Text, n
		}
		n++
	}
}

func TestFloodIsClosedWith1008(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := e.dial("access_token="+e.aliceToken, nil)
	for i := 0; i < 200; i++ {
		if err := c.WriteMessage(websocket.TextMessage, []byte(`{"type":"subscribe","stream":"public"}`)); err != nil {
			break // the server may already have closed
		}
	}
	if code, text, _ := closeCode(t, c); code != websocket.ClosePolicyViolation || text != "too many messages" {
		t.Fatalf("close %d %q, want 1008", code, text)
	}
	e.waitRoutes(0) // and its subscription is gone
}

func TestSlowClientIsClosedAsLagging(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := e.dial("access_token="+e.aliceToken+"&stream=public:local", nil)
	e.waitRoutes(1)
	// The client reads nothing while ~20 MB are published: socket buffers fill, the writer
	// blocks, the queue overflows, and Publish must still return at once.
	big := bytes.Repeat([]byte("x"), 64<<10)
	start := time.Now()
	for i := 0; i < 300; i++ {
		e.hub.Publish(realtime.Event{Stream: realtime.StreamPublicLocal, Kind: realtime.KindUpdate, Payload: big})
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("publishing to a stalled client took %v", d)
	}
	if st := e.hub.Stats(); st.Lagged != 1 || st.Dropped == 0 {
		t.Fatalf("stats %+v: the stalled subscriber should have lagged", st)
	}
	code, text, got := closeCode(t, c)
	if code != websocket.CloseGoingAway || text != "lagging" {
		t.Fatalf("close %d %q after %d messages, want 1001 lagging", code, text, got)
	}
	if got >= 300 {
		t.Fatalf("received all %d events; nothing lagged", got)
	}
	e.waitRoutes(0)
}

func TestHubShutdownClosesSockets(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := e.dial("access_token="+e.aliceToken+"&stream=user", nil)
	e.waitRoutes(1)
	e.hub.Close()
	if code, text, _ := closeCode(t, c); code != websocket.CloseGoingAway || text != "server shutting down" {
		t.Fatalf("close %d %q", code, text)
	}
}

func TestWebsocketPing(t *testing.T) {
	e := newEnv(t, envOptions{ping: 50 * time.Millisecond})
	c := e.dial("access_token="+e.aliceToken, nil)
	pings := make(chan struct{}, 10)
	c.SetPingHandler(func(string) error {
		pings <- struct{}{}
		return c.WriteControl(websocket.PongMessage, nil, time.Now().Add(time.Second))
	})
	go func() { _, _, _ = c.ReadMessage() }() // control frames are handled while reading
	for range 2 {
		select {
		case <-pings:
		case <-time.After(5 * time.Second):
			t.Fatal("no ping from the server")
		}
	}
}

// sseStream opens an SSE response and returns a line reader on it.
func sseStream(t *testing.T, url string, header ...string) *bufio.Reader {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	resp, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("status %d, content type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	r := bufio.NewReader(resp.Body)
	if l := line(t, r); l != ":)" {
		t.Fatalf("first line %q", l)
	}
	return r
}

func line(t *testing.T, r *bufio.Reader) string {
	t.Helper()
	done := make(chan struct{})
	var s string
	var err error
	go func() { s, err = r.ReadString('\n'); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("no line from the stream")
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSuffix(s, "\n")
}

func TestSSE(t *testing.T) {
	e := newEnv(t, envOptions{ping: 100 * time.Millisecond})
	user := sseStream(t, "http://"+e.addr+"/api/v1/streaming/user", "Authorization", "Bearer "+e.aliceToken)
	tag := sseStream(t, "http://"+e.addr+"/api/v1/streaming/hashtag?tag=Go&access_token="+e.bobToken)
	e.waitRoutes(2)
	e.hub.Publish(realtime.Event{Stream: realtime.StreamUser, Kind: realtime.KindUpdate, AccountID: e.bob.ID, Payload: []byte(status(9))})
	e.hub.Publish(realtime.Event{Stream: realtime.StreamUser, Kind: realtime.KindNotification, AccountID: e.alice.ID, Payload: []byte(`{"id":"1"}`)})
	e.hub.Publish(realtime.Event{Stream: realtime.HashtagStream("go"), Kind: realtime.KindUpdate, Payload: []byte(status(2))})

	var got []string
	for len(got) < 3 {
		if l := line(t, user); l != ":thump" { // heartbeats may fall anywhere
			got = append(got, l)
		}
	}
	if want := []string{"event: notification", `data: {"id":"1"}`, ""}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("user stream %q, want %q", got, want)
	}
	got = got[:0]
	for len(got) < 3 {
		if l := line(t, tag); l != ":thump" {
			got = append(got, l)
		}
	}
	if want := []string{"event: update", "data: " + status(2), ""}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("hashtag stream %q, want %q", got, want)
	}
	for line(t, tag) != ":thump" {
	}

	if resp, _ := get(t, "http://"+e.addr+"/api/v1/streaming/user"); resp.StatusCode != 401 {
		t.Fatalf("anonymous SSE: %d", resp.StatusCode)
	}
	if resp, _ := get(t, "http://"+e.addr+"/api/v1/streaming/user/notification?access_token="+e.bobToken); resp.StatusCode != 403 {
		t.Fatalf("SSE without read:notifications: %d", resp.StatusCode)
	}
}
