package streaming

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/atrium-social/atrium/internal/realtime"
)

func TestAppendJSONStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "plain", `{"id":"1","content":"<p>a & b</p>"}`, "quote \" backslash \\ slash /",
		"ctrl \x00\x01\x1f\t\r\n", "ünïcödé ✓ 😀", "line\u2028para\u2029", "bad \xff\xfe utf8 \xe2\x82", "\x7f"} {
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(s); err != nil {
			t.Fatal(err)
		}
		wantS := string(bytes.TrimSuffix(want.Bytes(), []byte("\n")))
		if got := string(appendJSONString(nil, s)); got != wantS {
			t.Errorf("string %q: got %s want %s", s, got, wantS)
		}
		if got := string(appendJSONString(nil, []byte(s))); got != wantS {
			t.Errorf("bytes %q: got %s want %s", s, got, wantS)
		}
	}
}

func TestWebsocketMessageShape(t *testing.T) {
	payload := `{"id":"1","content":"<p>\"hi\"</p>"}`
	b := appendWebsocketMessage(nil, realtime.Event{Stream: realtime.LocalHashtagStream("Go"), Kind: "update", Payload: []byte(payload)})
	var m struct {
		Stream  []string
		Event   string
		Payload string
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	if len(m.Stream) != 2 || m.Stream[0] != "hashtag:local" || m.Stream[1] != "go" || m.Event != "update" || m.Payload != payload {
		t.Fatalf("decoded %+v from %s", m, b)
	}
	if got := string(appendWebsocketMessage(nil, realtime.Event{Stream: "list:7", Kind: "filters_changed"})); got != `{"stream":["list","7"],"event":"filters_changed"}` {
		t.Fatalf("no payload: %s", got)
	}
	ev := realtime.Event{Stream: realtime.HashtagStream("go"), Kind: "update", Payload: []byte(payload)}
	if n := testing.AllocsPerRun(100, func() { b = appendWebsocketMessage(b[:0], ev) }); n != 0 {
		t.Fatalf("%v allocations per message into a reused buffer", n)
	}
}

func TestSSEEventShape(t *testing.T) {
	got := string(appendSSE(nil, realtime.Event{Kind: "update", Payload: []byte("{\"a\":1,\n\"b\":2}\r\nx\ry")}))
	want := "event: update\ndata: {\"a\":1,\ndata: \"b\":2}\ndata: x\ndata: y\n\n"
	if got != want {
		t.Fatalf("got %q want %q", got, want)
	}
}
