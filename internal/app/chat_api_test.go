package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/png"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/chat"
	"github.com/atrium-social/atrium/internal/realtime"
	"github.com/atrium-social/atrium/internal/testutil/nodetest"
	"github.com/atrium-social/atrium/internal/testutil/pgtest"
)

// The keys of the chat, chat message and Mastodon conversation entities, with JSON types.
var (
	chatFields = map[string]string{"id": "string", "uri": "string", "kind": "string", "name": "string", "accounts": "array",
		"members": "array", "role": "string", "muted": "bool", "unread": "bool", "unread_count": "number",
		"last_read_id": "string|null", "last_message": "object|null", "domain": "string", "seq": "number",
		"created_at": "string", "updated_at": "string"}
	chatMessageFields = map[string]string{"id": "string", "chat_id": "string", "uri": "string", "created_at": "string",
		"edited_at": "string|null", "deleted_at": "string|null", "account": "object", "content": "string", "text": "string",
		"in_reply_to_id": "string|null", "in_reply_to": "object|null", "media_attachments": "array", "card": "object|null",
		"reactions": "object", "my_reaction": "string|null", "seq": "number"}
	conversationFields = map[string]string{"id": "string", "unread": "bool", "accounts": "array", "last_status": "object|null"}
)

func chatJSONType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case bool:
		return "bool"
	case float64:
		return "number"
	case map[string]any:
		return "object"
	case []any:
		return "array"
	}
	return "?"
}

func chatShape(t *testing.T, what string, v map[string]any, fields map[string]string) {
	t.Helper()
	for k, want := range fields {
		got, ok := v[k]
		if !ok {
			t.Errorf("%s lacks %q: %v", what, k, v)
			continue
		}
		if typ := chatJSONType(got); !strings.Contains("|"+want+"|", "|"+typ+"|") {
			t.Errorf("%s %q is %s (%v), want %s", what, k, typ, got, want)
		}
	}
}

// chatEngines runs body on a fresh node on SQLite and, when installed, PostgreSQL.
func chatEngines(t *testing.T, body func(t *testing.T, n *nodetest.Node)) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			o := nodetest.Options{Setup: true}
			if engine == "postgres" {
				o.DB = pgtest.DSN(t)
			}
			body(t, nodetest.Start(t, o))
		})
	}
}

// want checks a status; for errors, that the body is Mastodon's {"error": "..."} and says why.
func chatWant(t *testing.T, resp *http.Response, code int, body map[string]any, what string, says ...string) {
	t.Helper()
	if resp.StatusCode != code {
		t.Fatalf("%s: status %d, want %d (%v)", what, resp.StatusCode, code, body)
	}
	if code >= 400 {
		msg, _ := body["error"].(string)
		if msg == "" {
			t.Fatalf("%s: error body %v", what, body)
		}
		for _, s := range says {
			if !strings.Contains(msg, s) {
				t.Fatalf("%s: error %q does not say %q", what, msg, s)
			}
		}
	}
}

func chatIDs(list []map[string]any) []string {
	out := make([]string, len(list))
	for i, m := range list {
		out[i], _ = m["id"].(string)
	}
	return out
}

// chatLink returns the path and query of a Link header's rel target.
func chatLink(t *testing.T, resp *http.Response, rel string) string {
	t.Helper()
	for _, part := range strings.Split(resp.Header.Get("Link"), ",") {
		if strings.Contains(part, `rel="`+rel+`"`) {
			u := strings.TrimSpace(part)
			u = u[strings.Index(u, "<")+1 : strings.Index(u, ">")]
			p, err := url.Parse(u)
			if err != nil {
				t.Fatal(err)
			}
			return p.RequestURI()
		}
	}
	t.Fatalf("no %s link in %q", rel, resp.Header.Get("Link"))
	return ""
}

func TestChatAPI(t *testing.T) {
	chatEngines(t, func(t *testing.T, n *nodetest.Node) {
		alice, bob, carol, dave := n.NewUser(t, "alice"), n.NewUser(t, "bob"), n.NewUser(t, "carol"), n.NewUser(t, "dave")
		var e map[string]any

		// A direct chat: created once per pair.
		var dm, again map[string]any
		chatWant(t, alice.Call("POST", "/api/v1/chats", map[string]any{"participants": []string{"bob"}}, &dm), 200, dm, "create direct")
		chatShape(t, "chat", dm, chatFields)
		if dm["kind"] != "direct" || dm["role"] != "member" || dm["unread"] != false || len(dm["accounts"].([]any)) != 1 ||
			len(dm["members"].([]any)) != 2 || dm["accounts"].([]any)[0].(map[string]any)["acct"] != "bob" {
			t.Fatalf("direct chat %v", dm)
		}
		dmID := dm["id"].(string)
		chatWant(t, bob.Call("POST", "/api/v1/chats", map[string]any{"participants": []string{"@alice"}}, &again), 200, again, "create again")
		if again["id"] != dmID {
			t.Fatalf("a second direct chat %v", again["id"])
		}
		chatWant(t, alice.Call("POST", "/api/v1/chats", map[string]any{"participants": []string{"nobody"}}, &e), 422, e, "unknown person", "nobody is known as @nobody")
		chatWant(t, alice.Call("POST", "/api/v1/chats", map[string]any{}, &e), 422, e, "nobody", "at least one person")
		chatWant(t, alice.Call("POST", "/api/v1/chats", map[string]any{"participants": []string{"bob@initech.example"}}, &e), 403, e, "not a partner", "not a partner")

		// A group chat, by form parameters too.
		var g map[string]any
		chatWant(t, alice.Call("POST", "/api/v1/chats?participants[]=bob&participants[]=carol&name=Launch", nil, &g), 200, g, "create group")
		if g["kind"] != "group" || g["name"] != "Launch" || g["role"] != "admin" || len(g["members"].([]any)) != 3 {
			t.Fatalf("group %v", g)
		}
		gID := g["id"].(string)

		// Messages.
		var m1 map[string]any
		chatWant(t, alice.Call("POST", "/api/v1/chats/"+dmID+"/messages", map[string]any{"text": "hello **bob**"}, &m1), 200, m1, "send")
		chatShape(t, "message", m1, chatMessageFields)
		if !strings.Contains(m1["content"].(string), "<strong>bob</strong>") || m1["text"] != "hello **bob**" ||
			m1["account"].(map[string]any)["acct"] != "alice" || m1["chat_id"] != dmID {
			t.Fatalf("message %v", m1)
		}
		var m2 map[string]any
		chatWant(t, bob.Call("POST", "/api/v1/chats/"+dmID+"/messages", map[string]any{"status": "hi!", "in_reply_to_id": m1["id"]}, &m2), 200, m2, "reply")
		if m2["in_reply_to_id"] != m1["id"] || m2["in_reply_to"].(map[string]any)["text"] != "hello bob" {
			t.Fatalf("reply %v", m2)
		}
		chatWant(t, alice.Call("POST", "/api/v1/chats/"+dmID+"/messages", map[string]any{"text": strings.Repeat("x", 5001)}, &e), 422, e, "oversized", "limited to 5000 characters")
		for i := range 4 {
			alice.Call("POST", "/api/v1/chats/"+dmID+"/messages", map[string]any{"text": "more " + string(rune('a'+i))}, nil)
		}

		// Outsiders get 404 everywhere.
		for _, r := range []struct{ method, path string }{{"GET", "/api/v1/chats/" + dmID}, {"GET", "/api/v1/chats/" + dmID + "/messages"},
			{"POST", "/api/v1/chats/" + dmID + "/messages"}, {"GET", "/api/v1/chats/" + dmID + "/messages/" + m1["id"].(string)},
			{"POST", "/api/v1/chats/" + dmID + "/read"}, {"POST", "/api/v1/chats/" + dmID + "/typing"},
			{"GET", "/api/v1/chats/" + dmID + "/search?q=hello"}, {"PATCH", "/api/v1/chats/" + dmID},
			{"POST", "/api/v1/conversations/" + dmID + "/read"}, {"DELETE", "/api/v1/conversations/" + dmID}} {
			chatWant(t, carol.Call(r.method, r.path, map[string]any{"text": "x"}, &e), 404, e, r.method+" "+r.path)
		}

		// Pages, newest first, with Link headers; and catching up by seq.
		var page, older []map[string]any
		resp := bob.Call("GET", "/api/v1/chats/"+dmID+"/messages?limit=2", nil, &page)
		chatWant(t, resp, 200, nil, "page")
		if len(page) != 2 || page[0]["text"] != "more d" || page[1]["text"] != "more c" {
			t.Fatalf("first page %v", page)
		}
		chatWant(t, bob.Call("GET", chatLink(t, resp, "next"), nil, &older), 200, nil, "next page")
		if len(older) != 2 || older[0]["text"] != "more b" || older[1]["text"] != "more a" {
			t.Fatalf("next page %v", older)
		}
		var changes []map[string]any
		chatWant(t, bob.Call("GET", "/api/v1/chats/"+dmID+"/messages?since_seq=0", nil, &changes), 200, nil, "since_seq")
		if len(changes) != 6 || changes[0]["id"] != m1["id"] || changes[5]["text"] != "more d" {
			t.Fatalf("changes %v", chatIDs(changes))
		}
		chatWant(t, bob.Call("GET", "/api/v1/chats/"+dmID+"/messages?since_seq=x", nil, &e), 422, e, "bad since_seq")

		// Unread counts and read state.
		var list []map[string]any
		chatWant(t, bob.Call("GET", "/api/v1/chats", nil, &list), 200, nil, "bob's chats")
		if len(list) != 2 || list[0]["id"] != dmID || list[0]["unread_count"] != 4.0 || list[0]["last_message"].(map[string]any)["text"] != "more d" {
			t.Fatalf("bob's chats %v", list)
		}
		var count map[string]any
		chatWant(t, bob.Call("GET", "/api/v1/chats/unread_count", nil, &count), 200, nil, "unread count")
		if count["count"] != 1.0 {
			t.Fatalf("unread chats %v", count)
		}
		var read map[string]any
		chatWant(t, bob.Call("POST", "/api/v1/chats/"+dmID+"/read", nil, &read), 200, read, "read")
		if read["unread"] != false || read["unread_count"] != 0.0 || read["last_read_id"] != list[0]["last_message"].(map[string]any)["id"] {
			t.Fatalf("after read %v", read)
		}
		var seen map[string]any
		alice.Call("GET", "/api/v1/chats/"+dmID, nil, &seen)
		for _, mem := range seen["members"].([]any) {
			mm := mem.(map[string]any)
			if mm["account"].(map[string]any)["acct"] == "bob" && mm["last_read_id"] != read["last_read_id"] {
				t.Fatalf("alice does not see bob's read state: %v", mm)
			}
		}

		// Edits and deletions: only the author's own.
		mid := m1["id"].(string)
		chatWant(t, bob.Call("PUT", "/api/v1/chats/"+dmID+"/messages/"+mid, map[string]any{"text": "hijack"}, &e), 403, e, "edit others", "only the author")
		var edited map[string]any
		chatWant(t, alice.Call("PUT", "/api/v1/chats/"+dmID+"/messages/"+mid, map[string]any{"text": "hello again"}, &edited), 200, edited, "edit")
		if edited["edited_at"] == nil || edited["text"] != "hello again" {
			t.Fatalf("edited %v", edited)
		}
		chatWant(t, bob.Call("DELETE", "/api/v1/chats/"+dmID+"/messages/"+mid, nil, &e), 403, e, "delete others", "only the author")

		// Reactions, by emoji in the path.
		var reacted map[string]any
		chatWant(t, bob.Call("POST", "/api/v1/chats/"+dmID+"/messages/"+mid+"/reactions/"+url.PathEscape("🎉"), nil, &reacted), 200, reacted, "react")
		if reacted["reactions"].(map[string]any)["🎉"] != 1.0 || reacted["my_reaction"] != "🎉" {
			t.Fatalf("reacted %v", reacted)
		}
		chatWant(t, bob.Call("POST", "/api/v1/chats/"+dmID+"/messages/"+mid+"/reactions/"+url.PathEscape("🍕"), nil, &e), 422, e, "bad emoji", "not one of the reactions")
		chatWant(t, bob.Call("DELETE", "/api/v1/chats/"+dmID+"/messages/"+mid+"/reactions/"+url.PathEscape("🎉"), nil, &reacted), 200, reacted, "unreact")
		if len(reacted["reactions"].(map[string]any)) != 0 || reacted["my_reaction"] != nil {
			t.Fatalf("unreacted %v", reacted)
		}
		var gone map[string]any
		chatWant(t, alice.Call("DELETE", "/api/v1/chats/"+dmID+"/messages/"+mid, nil, &gone), 200, gone, "delete")
		if gone["deleted_at"] == nil || gone["content"] != "" || gone["text"] != "hello again" {
			t.Fatalf("tombstone %v", gone)
		}
		var after map[string]any
		bob.Call("GET", "/api/v1/chats/"+dmID+"/messages/"+mid, nil, &after)
		if after["deleted_at"] == nil || after["text"] != "" {
			t.Fatalf("bob sees %v", after)
		}

		// Attachments come from the media upload.
		img := image.NewGray(image.Rect(0, 0, 4, 4))
		var buf bytes.Buffer
		png.Encode(&buf, img)
		var media map[string]any
		chatWant(t, alice.Upload("dot.png", buf.Bytes(), "a dot", &media), 200, media, "upload")
		var withFile map[string]any
		chatWant(t, alice.Call("POST", "/api/v1/chats/"+gID+"/messages", map[string]any{"media_ids": []string{media["id"].(string)}}, &withFile), 200, withFile, "file")
		if files := withFile["media_attachments"].([]any); len(files) != 1 || files[0].(map[string]any)["type"] != "image" ||
			files[0].(map[string]any)["description"] != "a dot" {
			t.Fatalf("message with a file %v", withFile)
		}

		// Settings, typing and search.
		var patched map[string]any
		chatWant(t, bob.Call("PATCH", "/api/v1/chats/"+gID, map[string]any{"name": "Launch crew", "muted": true}, &patched), 200, patched, "patch")
		if patched["name"] != "Launch crew" || patched["muted"] != true {
			t.Fatalf("patched %v", patched)
		}
		chatWant(t, alice.Call("PATCH", "/api/v1/chats/"+dmID, map[string]any{"name": "x"}, &e), 422, e, "name a direct chat", "no name")
		var ok map[string]any
		chatWant(t, alice.Call("POST", "/api/v1/chats/"+gID+"/typing", nil, &ok), 200, ok, "typing")
		var found []map[string]any
		resp = alice.Call("GET", "/api/v1/chats/"+dmID+"/search?q=MORE+c", nil, &found)
		chatWant(t, resp, 200, nil, "search")
		if len(found) != 1 || found[0]["text"] != "more c" {
			t.Fatalf("search %v", found)
		}
		chatWant(t, alice.Call("GET", "/api/v1/chats/"+dmID+"/search?q=", nil, &e), 422, e, "empty search", "type something")

		// Members: admins add and remove; anyone leaves (DELETE of oneself).
		chatWant(t, bob.Call("POST", "/api/v1/chats/"+gID+"/members", map[string]any{"participants": []string{"dave"}}, &e), 403, e, "member adds", "only the chat's admins")
		var grown map[string]any
		chatWant(t, alice.Call("POST", "/api/v1/chats/"+gID+"/members", map[string]any{"participants": []string{"dave"}}, &grown), 200, grown, "add")
		if len(grown["members"].([]any)) != 4 {
			t.Fatalf("after add %v", grown)
		}
		chatWant(t, alice.Call("POST", "/api/v1/chats/"+dmID+"/members", map[string]any{"participants": []string{"dave"}}, &e), 422, e, "add to direct", "start a group chat")
		chatWant(t, alice.Call("POST", "/api/v1/chats/"+gID+"/members/"+bob.User.ID+"/role", map[string]any{"role": "admin"}, &grown), 200, grown, "role")
		chatWant(t, alice.Call("DELETE", "/api/v1/chats/"+gID+"/members/"+carol.User.ID, nil, &grown), 200, grown, "remove carol")
		chatWant(t, carol.Call("GET", "/api/v1/chats/"+gID, nil, &e), 404, e, "carol removed")
		var left map[string]any
		chatWant(t, dave.Call("DELETE", "/api/v1/chats/"+gID+"/members/"+dave.User.ID, nil, &left), 200, left, "dave leaves")
		if len(left) != 0 {
			t.Fatalf("leaving answers %v", left)
		}
		chatWant(t, dave.Call("GET", "/api/v1/chats/"+gID+"/messages", nil, &e), 404, e, "dave left")

		// Scopes: a read-only token reads but cannot write.
		tok, _, err := n.Accounts.CreateToken(context.Background(), accounts.CLIActor(), alice.User.ID, "ro", "read")
		if err != nil {
			t.Fatal(err)
		}
		ro := *alice
		ro.Token = tok
		chatWant(t, ro.Call("GET", "/api/v1/chats", nil, nil), 200, nil, "read with read scope")
		chatWant(t, ro.Call("POST", "/api/v1/chats/"+dmID+"/messages", map[string]any{"text": "x"}, &e), 403, e, "write with read scope")
		anon := *alice
		anon.Token = ""
		chatWant(t, anon.Call("GET", "/api/v1/chats", nil, &e), 401, e, "anonymous")
	})
}

func TestConversationsAPI(t *testing.T) {
	chatEngines(t, func(t *testing.T, n *nodetest.Node) {
		alice, bob := n.NewUser(t, "alice"), n.NewUser(t, "bob")
		n.NewUser(t, "carol")
		var dm, g, e map[string]any
		alice.Call("POST", "/api/v1/chats", map[string]any{"participants": []string{"bob"}}, &dm)
		alice.Call("POST", "/api/v1/chats", map[string]any{"participants": []string{"bob", "carol"}, "name": "Trio"}, &g)
		var msg map[string]any
		alice.Call("POST", "/api/v1/chats/"+dm["id"].(string)+"/messages", map[string]any{"text": "ping https://example.com/x"}, &msg)
		time.Sleep(2 * time.Millisecond)
		alice.Call("POST", "/api/v1/chats/"+g["id"].(string)+"/messages", map[string]any{"text": "hello trio"}, nil)

		var convs []map[string]any
		resp := bob.Call("GET", "/api/v1/conversations", nil, &convs)
		chatWant(t, resp, 200, nil, "conversations")
		if len(convs) != 2 || convs[0]["id"] != g["id"] || convs[1]["id"] != dm["id"] {
			t.Fatalf("conversations %v", convs)
		}
		if resp.Header.Get("Link") == "" {
			t.Error("no Link header")
		}
		for _, c := range convs {
			chatShape(t, "conversation", c, conversationFields)
			if c["unread"] != true {
				t.Errorf("unread %v", c)
			}
		}
		st := convs[1]["last_status"].(map[string]any)
		for _, k := range []string{"id", "uri", "url", "created_at", "account", "content", "visibility", "sensitive", "spoiler_text",
			"media_attachments", "mentions", "tags", "emojis", "reblogs_count", "favourites_count", "replies_count", "in_reply_to_id", "card"} {
			if _, ok := st[k]; !ok {
				t.Errorf("last_status lacks %q", k)
			}
		}
		if st["visibility"] != "direct" || st["id"] != msg["id"] || st["account"].(map[string]any)["acct"] != "alice" ||
			!strings.Contains(st["content"].(string), "ping") {
			t.Fatalf("last_status %v", st)
		}
		mentions := st["mentions"].([]any)
		if len(mentions) != 1 || mentions[0].(map[string]any)["acct"] != "bob" {
			t.Fatalf("mentions %v", mentions)
		}
		if accts := convs[0]["accounts"].([]any); len(accts) != 2 {
			t.Fatalf("accounts of the group conversation %v", accts)
		}
		// Paging: one at a time, following the Link header.
		var first, second []map[string]any
		resp = bob.Call("GET", "/api/v1/conversations?limit=1", nil, &first)
		bob.Call("GET", chatLink(t, resp, "next"), nil, &second)
		if len(first) != 1 || len(second) != 1 || first[0]["id"] != g["id"] || second[0]["id"] != dm["id"] {
			t.Fatalf("pages %v / %v", chatIDs(first), chatIDs(second))
		}
		// Read, then remove from the list until the next message.
		var read map[string]any
		chatWant(t, bob.Call("POST", "/api/v1/conversations/"+dm["id"].(string)+"/read", nil, &read), 200, read, "read")
		if read["unread"] != false || read["id"] != dm["id"] {
			t.Fatalf("read %v", read)
		}
		var empty map[string]any
		chatWant(t, bob.Call("DELETE", "/api/v1/conversations/"+dm["id"].(string), nil, &empty), 200, empty, "remove")
		bob.Call("GET", "/api/v1/conversations", nil, &convs)
		if len(convs) != 1 || convs[0]["id"] != g["id"] {
			t.Fatalf("after remove %v", chatIDs(convs))
		}
		alice.Call("POST", "/api/v1/chats/"+dm["id"].(string)+"/messages", map[string]any{"text": "again"}, nil)
		bob.Call("GET", "/api/v1/conversations", nil, &convs)
		if len(convs) != 2 || convs[0]["id"] != dm["id"] {
			t.Fatalf("a new message brings it back: %v", chatIDs(convs))
		}
		chatWant(t, bob.Call("POST", "/api/v1/conversations/01JNOSUCHCHAT000000000000/read", nil, &e), 404, e, "unknown", "Record not found")
	})
}

// TestChatLiveShapes: live events carry the API's own entities, to the members only.
func TestChatLiveShapes(t *testing.T) {
	n := nodetest.Start(t, nodetest.Options{Setup: true})
	alice, bob, carol := n.NewUser(t, "alice"), n.NewUser(t, "bob"), n.NewUser(t, "carol")
	var dm map[string]any
	alice.Call("POST", "/api/v1/chats", map[string]any{"participants": []string{"bob"}}, &dm)
	subB := n.Hub.Subscribe(bob.User.ID, []string{realtime.StreamUser, realtime.StreamDirect}, 0)
	defer subB.Close()
	subC := n.Hub.Subscribe(carol.User.ID, []string{realtime.StreamUser, realtime.StreamDirect}, 0)
	defer subC.Close()
	var m map[string]any
	alice.Call("POST", "/api/v1/chats/"+dm["id"].(string)+"/messages", map[string]any{"text": "live!"}, &m)
	got := map[string]realtime.Event{}
	deadline := time.After(5 * time.Second)
	for len(got) < 2 {
		select {
		case ev := <-subB.C():
			got[ev.Stream+" "+ev.Kind] = ev
		case <-deadline:
			t.Fatalf("bob got only %v", got)
		}
	}
	var payload struct {
		ChatID  string         `json:"chat_id"`
		Seq     int64          `json:"seq"`
		Message map[string]any `json:"message"`
	}
	if err := json.Unmarshal(got["user "+chat.KindMessage].Payload, &payload); err != nil {
		t.Fatal(err)
	}
	chatShape(t, "live message", payload.Message, chatMessageFields)
	if payload.ChatID != dm["id"] || payload.Message["id"] != m["id"] || payload.Message["account"].(map[string]any)["acct"] != "alice" {
		t.Fatalf("live payload %v", payload)
	}
	var conv map[string]any
	if err := json.Unmarshal(got["direct conversation"].Payload, &conv); err != nil {
		t.Fatal(err)
	}
	chatShape(t, "live conversation", conv, conversationFields)
	if conv["unread"] != true || conv["last_status"].(map[string]any)["visibility"] != "direct" {
		t.Fatalf("live conversation %v", conv)
	}
	select {
	case ev := <-subC.C():
		t.Fatalf("carol is not in the chat but got %s %s", ev.Kind, ev.Payload)
	default:
	}
}
