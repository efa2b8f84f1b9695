package web_test

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/atrium-social/atrium/internal/chat"
	"github.com/atrium-social/atrium/internal/testutil/nodetest"
)

var msgRE = regexp.MustCompile(`data-msg="([0-9A-Z]+)"`)

// msgIDs reads the ids of the messages in a page or fragment, in document order.
func msgIDs(body string) []string {
	var out []string
	for _, m := range msgRE.FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return out
}

// startChat starts a chat from the new chat form and returns its page's path.
func startChat(t *testing.T, b *browserish, form url.Values) string {
	t.Helper()
	resp, body := b.post("/chat", form, "/chat/new", false)
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/chat/") {
		t.Fatalf("start chat %v: %d %s\n%.2000s", form, resp.StatusCode, resp.Header.Get("Location"), body)
	}
	return resp.Header.Get("Location")
}

// TestChatDirect drives a 1:1 chat through the pages as a browser does, with and without the
// page's script: the list, the pane, sending, reading ("seen by"), replies, reactions,
// edits and deletions, and the catch-up fragment; a third person gets 404 for all of it.
func TestChatDirect(t *testing.T) {
	n := nodetest.Start(t, nodetest.Options{Setup: true})
	alice := person(t, n, "alice")
	bob := person(t, n, "bob")
	carol := person(t, n, "carol")

	resp, body := alice.get("/chat", false)
	want(t, "chat index", resp, body, 200)
	has(t, "chat index", body, `href="/chat/new"`, "No chats yet", `data-chat-badge`)
	checkPage(t, "/chat", body)

	// The new chat form finds colleagues by name, never the person asking.
	resp, body = alice.get("/chat/new?q=bob", false)
	want(t, "new chat search", resp, body, 200)
	has(t, "new chat search", body, `name="participants" value="bob"`)
	checkPage(t, "/chat/new", body)
	_, body = alice.get("/chat/new?to=bob", false)
	has(t, "new chat with someone chosen", body, `name="participants" value="bob" data-chat-pick checked`)
	resp, body = alice.get("/chat/people?q=a", true)
	want(t, "people fragment", resp, body, 200)
	hasNot(t, "people fragment", body, `value="alice"`)

	chatPath := startChat(t, alice, url.Values{"participants": {"bob"}})
	id := strings.TrimPrefix(chatPath, "/chat/")
	// One person and no name is their direct chat, the same one every time.
	if again := startChat(t, alice, url.Values{"others": {"@bob"}}); again != chatPath {
		t.Fatalf("starting the direct chat again gave %s, want %s", again, chatPath)
	}
	resp, body = alice.get(chatPath, false)
	want(t, "chat page", resp, body, 200)
	has(t, "chat page", body, `data-chat="`+id+`"`, "No messages yet", `<a href="/people/bob">bob</a>`, `id="composer"`)
	checkPage(t, chatPath, body)

	// Without script a message redirects back to the chat; with it, the answer is the message.
	resp, body = alice.post(chatPath+"/messages", url.Values{"text": {"Hello **Bob**"}}, chatPath, false)
	wantRedirect(t, "send", resp, chatPath+"#latest")
	resp, body = alice.post(chatPath+"/messages", url.Values{"text": {"Are you there?"}}, chatPath, true)
	want(t, "send by script", resp, body, 201)
	has(t, "send by script", body, "Are you there?", `class="chat-msg mine"`)
	second := msgIDs(body)[0]
	resp, body = alice.post(chatPath+"/messages", url.Values{"text": {"  "}}, chatPath, true)
	want(t, "empty message", resp, body, 422)
	has(t, "empty message", body, `role="alert"`)
	if resp.Header.Get("X-Error-Field") != "text" {
		t.Fatalf("empty message: error field %q", resp.Header.Get("X-Error-Field"))
	}

	// Bob's list shows the chat with two unread; nothing is "seen" yet on Alice's side.
	resp, body = bob.get("/chat", false)
	has(t, "bob's list", body, `class="chat-row unread"`, `data-chat-unread>2<`, "Are you there?")
	resp, body = bob.get(chatPath, false)
	want(t, "bob's chat", resp, body, 200)
	has(t, "bob's chat", body, "Hello <strong>Bob</strong>", "Mark as read")
	_, body = alice.get(chatPath, false)
	hasNot(t, "alice before bob reads", body, "Seen by")

	// Bob reads (his page's script does this while the chat is in view).
	resp, body = bob.post(chatPath+"/read", url.Values{"last_read_id": {second}}, chatPath, true)
	want(t, "read", resp, body, 204)
	_, body = alice.get(chatPath, false)
	has(t, "alice after bob reads", body, "Seen by bob")
	_, body = bob.get("/chat", false)
	hasNot(t, "bob's list after reading", body, "data-chat-unread")

	// Bob answers Alice's second message and reacts to it.
	resp, body = bob.post(chatPath+"/messages", url.Values{"text": {"Yes!"}, "in_reply_to_id": {second}}, chatPath, true)
	want(t, "reply", resp, body, 201)
	has(t, "reply", body, `class="chat-quote small" href="#m-`+second+`"`, "Are you there?")
	reply := msgIDs(body)[0]
	resp, body = bob.post(chatPath+"/messages/"+second+"/react", url.Values{"emoji": {"🎉"}}, chatPath, true)
	want(t, "react", resp, body, 200)
	has(t, "react", body, `class="chat-reaction on" aria-pressed="true"`, "🎉")
	_, body = alice.get(chatPath+"/messages/"+second, true)
	has(t, "alice sees the reaction", body, `class="chat-reaction" aria-pressed="false"`, `<span class="n">1</span>`)

	// The catch-up fragment lists every message changed after a change number, in the order
	// of the changes: the reacted-to message comes after Bob's reply.
	resp, body = alice.get(chatPath+"/changes?since_seq=0", true)
	want(t, "changes", resp, body, 200)
	if got := msgIDs(body); len(got) != 3 || got[1] != reply || got[2] != second {
		t.Fatalf("changes since 0: %v (reply %s, reacted %s)", got, reply, second)
	}
	resp, body = alice.get(chatPath+"/changes?since_seq=x", true)
	want(t, "bad change number", resp, body, 422)

	// Only the author edits or deletes.
	resp, body = bob.post(chatPath+"/messages/"+second+"/edit", url.Values{"text": {"hijacked"}}, chatPath, true)
	want(t, "edit by another", resp, body, 403)
	_, body = alice.get(chatPath+"/messages/"+second+"?edit=1", true)
	has(t, "edit form", body, `class="chat-edit-form"`, ">Are you there?</textarea>")
	resp, body = alice.post(chatPath+"/messages/"+second+"/edit", url.Values{"text": {"Are you there, Bob?"}}, chatPath, true)
	want(t, "edit", resp, body, 200)
	has(t, "edit", body, "Are you there, Bob?", "· edited")
	resp, body = alice.post(chatPath+"/messages/"+second+"/delete", nil, chatPath, false)
	wantRedirect(t, "delete", resp, chatPath+"#m-"+second)
	_, body = bob.get(chatPath, false)
	has(t, "after delete", body, "Message deleted")
	hasNot(t, "after delete", body, "Are you there, Bob?")

	// Typing notices and the navigation's popover.
	resp, body = bob.post(chatPath+"/typing", nil, chatPath, true)
	want(t, "typing", resp, body, 204)
	resp, body = alice.get("/chat/dock", true)
	want(t, "dock", resp, body, 200)
	has(t, "dock", body, `href="/chat/`+id+`"`, "All chats")

	// Muting marks the chat in the list.
	resp, _ = bob.post(chatPath+"/settings", url.Values{"muted": {"1"}}, chatPath, false)
	wantRedirect(t, "mute", resp, chatPath)
	_, body = bob.get("/chat/list?current="+id, true)
	has(t, "muted list", body, `class="chat-row-muted"`, `aria-current="page"`)

	// A chat you are not in does not exist, whatever you ask of it.
	for _, p := range []string{chatPath, chatPath + "/head", chatPath + "/messages", chatPath + "/changes?since_seq=0",
		chatPath + "/messages/" + reply} {
		resp, body = carol.get(p, strings.Contains(p[len(chatPath):], "/"))
		want(t, "carol GET "+p, resp, body, 404)
	}
	for _, p := range []string{chatPath + "/messages", chatPath + "/read", chatPath + "/typing", chatPath + "/messages/" + reply + "/react",
		chatPath + "/settings", chatPath + "/leave"} {
		resp, body = carol.post(p, url.Values{"text": {"intruding"}, "emoji": {"👍"}, "muted": {"1"}}, chatPath, false)
		want(t, "carol POST "+p, resp, body, 404)
	}
	resp, body = carol.get("/chat/"+strings.Repeat("0", 26), false)
	want(t, "no such chat", resp, body, 404)
}

// TestChatFormsNeedCSRF sends each chat form without its token, as another site could.
func TestChatFormsNeedCSRF(t *testing.T) {
	n := nodetest.Start(t, nodetest.Options{Setup: true})
	alice := person(t, n, "alice")
	person(t, n, "bob")
	chatPath := startChat(t, alice, url.Values{"participants": {"bob"}})
	_, body := alice.post(chatPath+"/messages", url.Values{"text": {"first"}}, chatPath, true)
	mid := msgIDs(body)[0]
	for _, p := range []string{"/chat", chatPath + "/messages", chatPath + "/messages/" + mid + "/edit", chatPath + "/messages/" + mid + "/delete",
		chatPath + "/messages/" + mid + "/react", chatPath + "/messages/" + mid + "/unreact", chatPath + "/read", chatPath + "/typing",
		chatPath + "/settings", chatPath + "/leave", chatPath + "/members", chatPath + "/members/x/remove"} {
		form := url.Values{"text": {"forged"}, "participants": {"bob"}, "emoji": {"👍"}, "csrf": {"wrong"}}
		resp, body := alice.post(p, form, chatPath, false)
		want(t, "forged POST "+p, resp, body, 403)
	}
	_, body = alice.get(chatPath+"/messages/"+mid, true)
	has(t, "after forged posts", body, "first")
	hasNot(t, "after forged posts", body, "forged", "chat-reaction")
}

// TestChatGroup is a group chat: named at creation, its admin adds and removes people (who
// lose it at once), anyone renames it, and leaving takes it off the list.
func TestChatGroup(t *testing.T) {
	n := nodetest.Start(t, nodetest.Options{Setup: true})
	alice := person(t, n, "alice")
	bob := person(t, n, "bob")
	carol := person(t, n, "carol")
	dave := person(t, n, "dave")

	// A failure keeps what was typed and names the field.
	resp, body := alice.post("/chat", url.Values{"name": {"Launch"}}, "/chat/new", false)
	want(t, "nobody chosen", resp, body, 422)
	has(t, "nobody chosen", body, "choose at least one person", `value="Launch"`)
	resp, body = alice.post("/chat", url.Values{"others": {"nobody_here"}}, "/chat/new", false)
	want(t, "unknown person", resp, body, 422)
	has(t, "unknown person", body, "nobody is known as @nobody_here", `value="nobody_here"`)

	chatPath := startChat(t, alice, url.Values{"participants": {"bob", "carol"}, "name": {"Launch team"}})
	_, body = alice.get(chatPath, false)
	has(t, "group page", body, "Launch team", "3 people", `action="`+chatPath+`/members"`, "Remove<span")
	checkPage(t, chatPath, body)
	_, body = bob.get(chatPath, false)
	has(t, "member's view", body, "Launch team")
	hasNot(t, "member's view", body, `action="`+chatPath+`/members"`)
	_, body = alice.post(chatPath+"/messages", url.Values{"text": {"Kick-off at nine"}}, chatPath, true)
	first := msgIDs(body)[0]

	// Members may not manage people; the admin may.
	resp, body = bob.post(chatPath+"/members", url.Values{"others": {"dave"}}, chatPath, false)
	want(t, "member adds", resp, body, 403)
	resp, _ = alice.post(chatPath+"/members", url.Values{"others": {"dave"}}, chatPath, false)
	wantRedirect(t, "admin adds", resp, chatPath)
	resp, body = dave.get(chatPath, false)
	want(t, "dave's view", resp, body, 200)
	hasNot(t, "dave reads from now on", body, "Kick-off at nine")

	_, body = alice.get(chatPath+"/head", true)
	carolID := regexp.MustCompile(`data-member="([0-9A-Z]+)" data-name="carol"`).FindStringSubmatch(body)
	if carolID == nil {
		t.Fatalf("no carol in the head:\n%s", body)
	}
	resp, _ = alice.post(chatPath+"/members/"+carolID[1]+"/remove", nil, chatPath, false)
	wantRedirect(t, "remove carol", resp, chatPath)
	resp, body = carol.get(chatPath+"/messages/"+first, true)
	want(t, "carol after removal", resp, body, 404)

	resp, _ = bob.post(chatPath+"/settings", url.Values{"name": {"Launch crew"}}, chatPath, false)
	wantRedirect(t, "rename", resp, chatPath)
	_, body = alice.get("/chat", false)
	has(t, "renamed", body, "Launch crew")

	resp, _ = bob.post(chatPath+"/leave", nil, chatPath, false)
	wantRedirect(t, "leave", resp, "/chat")
	_, body = bob.get("/chat", false)
	hasNot(t, "bob's list after leaving", body, "Launch crew")
	resp, body = bob.get(chatPath, false)
	want(t, "bob after leaving", resp, body, 404)
}

// sendFiles sends the chat composer as multipart, with files, as the page does.
func (b *browserish) sendFiles(chatPath, text string, files []file, fetch bool) (*http.Response, string) {
	b.t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	_ = w.WriteField("csrf", b.CSRF())
	_ = w.WriteField("text", text)
	for _, f := range files {
		fw, _ := w.CreateFormFile("files", f.name)
		fw.Write(f.data)
	}
	w.Close()
	req, _ := http.NewRequest("POST", b.n.HTTP.URL+chatPath+"/messages", &buf)
	req.Header.Set("Content-Type", w.FormDataContentType())
	if fetch {
		req.Header.Set("X-Requested-With", "fetch")
	}
	return b.Do(req)
}

// TestChatAttachments sends pictures and files from the composer: they show as thumbnails
// and file links to the others; too many files, or a stranger's upload, are refused before
// anything is stored.
func TestChatAttachments(t *testing.T) {
	n := nodetest.Start(t, nodetest.Options{Setup: true})
	alice := person(t, n, "alice")
	bob := person(t, n, "bob")
	carol := person(t, n, "carol")
	chatPath := startChat(t, alice, url.Values{"participants": {"bob"}})

	resp, body := alice.sendFiles(chatPath, "The floor plan", []file{{"plan.png", pngBytes(800, 600)}, {"notes.txt", []byte("level 2")}}, true)
	want(t, "send files", resp, body, 201)
	has(t, "send files", body, `class="images n1"`, `src="/media/`, `class="file-chip"`, "notes.txt")
	resp, body = alice.sendFiles(chatPath, "", []file{{"only.png", pngBytes(64, 64)}}, false)
	wantRedirect(t, "picture alone", resp, chatPath+"#latest")
	_, body = bob.get(chatPath, false)
	has(t, "bob sees the pictures", body, "The floor plan", `class="images n1"`)
	_, body = bob.get("/chat", false)
	has(t, "list preview of a picture", body, "Sent a picture")

	var many []file
	for i := 0; i < 11; i++ {
		many = append(many, file{"p.png", pngBytes(8, 8)})
	}
	resp, body = alice.sendFiles(chatPath, "too many", many, true)
	want(t, "too many files", resp, body, 422)
	if resp.Header.Get("X-Error-Field") != "files" {
		t.Fatalf("too many files: error field %q", resp.Header.Get("X-Error-Field"))
	}
	resp, body = carol.sendFiles(chatPath, "hello?", []file{{"x.png", pngBytes(8, 8)}}, true)
	want(t, "stranger's files", resp, body, 404)
}

// TestChatWithPartnerFromPages: someone on a partner node can be messaged from the pages: the
// profile's Message button, the new chat form's search by user@host, and the chat reaches
// their node.
func TestChatWithPartnerFromPages(t *testing.T) {
	acme := nodetest.Start(t, nodetest.Options{Setup: true, Host: "acme.test", Manual: true})
	globex := nodetest.Start(t, nodetest.Options{Setup: true, Host: "globex.test", OrgName: "Globex", Manual: true})
	nodetest.Partner(t, acme, globex)
	alice := person(t, acme, "alice")
	gina := globex.NewUser(t, "gina").User
	acct := "gina@" + globex.Host()

	// Search by address finds her on globex; her profile here offers to message her.
	resp, body := alice.get("/chat/new?q="+url.QueryEscape(acct), false)
	want(t, "search by address", resp, body, 200)
	has(t, "search by address", body, `name="participants" value="`+acct+`"`)
	resp, body = alice.get("/people/"+acct, false)
	want(t, "her profile", resp, body, 200)
	has(t, "her profile", body, `href="/chat/new?to=`+url.QueryEscape(acct)+`">Message</a>`)
	_, body = alice.get("/chat/new?to="+url.QueryEscape(acct), false)
	has(t, "new chat with her chosen", body, `value="`+acct+`" data-chat-pick checked`)
	// Nobody offers to message themselves.
	_, body = alice.get("/people/alice", false)
	hasNot(t, "own profile", body, ">Message</a>")

	chatPath := startChat(t, alice, url.Values{"participants": {acct}})
	if resp, body := alice.post(chatPath+"/messages", url.Values{"text": {"Hello Globex"}}, chatPath, false); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("send: %d %.500s", resp.StatusCode, body)
	}
	nodetest.Settle(t, acme, globex)
	list, err := globex.Chat.List(t.Context(), gina, chat.ListOptions{})
	if err != nil || len(list) != 1 || list[0].LastMessage == nil || !strings.Contains(list[0].LastMessage.ContentText, "Hello Globex") {
		t.Fatalf("gina's chats on globex: %+v %v", list, err)
	}
}
