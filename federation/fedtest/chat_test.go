package fedtest

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/chat"
	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/testutil/nodetest"
)

// chatOf returns the only chat u has on n.
func chatOf(t *testing.T, n *nodetest.Node, u *accounts.User) *chat.View {
	t.Helper()
	list, err := n.Chat.List(context.Background(), u, chat.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 {
		t.Fatalf("%s has %d chats on %s, want 1", u.Username, len(list), n.Host())
	}
	return list[0]
}

// texts lists a chat's messages as "author: text", oldest first.
func texts(t *testing.T, n *nodetest.Node, u *accounts.User, chatID string) []string {
	t.Helper()
	ms, err := n.Chat.Messages(context.Background(), u, chatID, chat.Page{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	people := map[string]string{}
	var out []string
	for i := len(ms) - 1; i >= 0; i-- { // the service pages newest first
		m := ms[i]
		name, ok := people[m.AuthorID]
		if !ok {
			a, err := n.Accounts.Lookup(context.Background(), m.AuthorID)
			if err != nil {
				t.Fatal(err)
			}
			name = a.Username
			people[m.AuthorID] = name
		}
		text := strings.TrimSpace(m.ContentText)
		if m.Deleted() {
			text = "(deleted)"
		}
		out = append(out, name+": "+text)
	}
	return out
}

// down makes a node answer 503 to everything, as a node being restarted would, until up.
func down(n *nodetest.Node) (up func()) {
	h := n.HTTP.Config.Handler
	n.HTTP.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
	})
	return func() { n.HTTP.Config.Handler = h }
}

// retryNow makes every retry scheduled on n due now (the backoff would wait minutes).
func retryNow(t *testing.T, n *nodetest.Node) {
	t.Helper()
	if _, err := n.DB.NewUpdate().Table("jobs").Set("run_at = ?", time.Now().UTC().Add(-time.Second)).
		Where("state = 'pending'").Exec(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestChatAcrossTwoNodes: a 1:1 chat between acme and globex carries messages, replies,
// edits, reactions and deletions both ways as direct notes, and a node that was down gets
// what was said meanwhile, in order, once it is back.
func TestChatAcrossTwoNodes(t *testing.T) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) { testChatAcrossTwoNodes(t, engine) })
	}
}

func testChatAcrossTwoNodes(t *testing.T, engine string) {
	ctx := context.Background()
	acme, globex := enginePair(t, engine)
	all := []*nodetest.Node{acme, globex}
	alice := acme.NewUser(t, "alice").User
	bob := globex.NewUser(t, "bob").User
	bobOnAcme := remoteAccount(t, acme, "bob@"+globex.Host())

	v, _, err := acme.Chat.Create(ctx, alice, chat.NewChat{Participants: []*accounts.User{bobOnAcme}})
	if err != nil {
		t.Fatal(err)
	}
	hello, err := acme.Chat.Send(ctx, alice, v.Conversation.ID, chat.NewMessage{Text: "Hello from Acme"})
	if err != nil {
		t.Fatal(err)
	}
	nodetest.Settle(t, all...)
	onGlobex := chatOf(t, globex, bob)
	if got := texts(t, globex, bob, onGlobex.Conversation.ID); len(got) != 1 || got[0] != "alice: Hello from Acme" {
		t.Fatalf("bob's chat on globex: %q", got)
	}
	// The note is a Mastodon direct message: addressed to bob alone, mentioning him.
	var body string
	if err := acme.DB.NewSelect().Table("outbox_activities").Column("body").Where("object_uri = ?", hello.URI).
		Limit(1).Scan(ctx, &body); err == nil && (strings.Contains(body, "#Public") || !strings.Contains(body, `"Mention"`)) {
		t.Errorf("the chat note is not a direct message: %s", body)
	}

	// Bob answers alice's message; the reply lands in the same chat on acme.
	bobMsgs, _ := globex.Chat.Messages(ctx, bob, onGlobex.Conversation.ID, chat.Page{Limit: 10})
	reply, err := globex.Chat.Send(ctx, bob, onGlobex.Conversation.ID, chat.NewMessage{Text: "Hi Alice", InReplyToID: bobMsgs[len(bobMsgs)-1].ID})
	if err != nil {
		t.Fatal(err)
	}
	nodetest.Settle(t, all...)
	if got := texts(t, acme, alice, v.Conversation.ID); len(got) != 2 || got[1] != "bob: Hi Alice" {
		t.Fatalf("alice's chat after bob's reply: %q", got)
	}
	onAcme, err := acme.Chat.ByURI(ctx, reply.URI)
	if err != nil || onAcme.InReplyToID == nil || *onAcme.InReplyToID != hello.ID {
		t.Fatalf("bob's reply on acme: %+v %v (want it to answer %s)", onAcme, err, hello.ID)
	}

	// Edit, reaction and deletion travel too.
	if _, err := acme.Chat.Edit(ctx, alice, v.Conversation.ID, hello.ID, "Hello from Acme (edited)"); err != nil {
		t.Fatal(err)
	}
	if _, err := globex.Chat.React(ctx, bob, onGlobex.Conversation.ID, bobMsgs[len(bobMsgs)-1].ID, "🎉"); err != nil {
		t.Fatal(err)
	}
	nodetest.Settle(t, all...)
	if got := texts(t, globex, bob, onGlobex.Conversation.ID); got[0] != "alice: Hello from Acme (edited)" {
		t.Errorf("the edit did not reach globex: %q", got)
	}
	m, err := acme.Chat.Message(ctx, alice, v.Conversation.ID, hello.ID)
	if err != nil || m.Reactions["🎉"] != 1 {
		t.Errorf("bob's reaction on acme: %+v %v", m, err)
	}
	if _, err := globex.Chat.Delete(ctx, bob, onGlobex.Conversation.ID, reply.ID); err != nil {
		t.Fatal(err)
	}
	nodetest.Settle(t, all...)
	if got := texts(t, acme, alice, v.Conversation.ID); got[1] != "bob: (deleted)" {
		t.Errorf("the deletion did not reach acme: %q", got)
	}

	// Globex goes down; alice writes twice; globex comes back and catches up, in order.
	up := down(globex)
	for _, text := range []string{"Are you there?", "Call me when you are back"} {
		if _, err := acme.Chat.Send(ctx, alice, v.Conversation.ID, chat.NewMessage{Text: text}); err != nil {
			t.Fatal(err)
		}
	}
	nodetest.Settle(t, all...)
	if got := texts(t, globex, bob, onGlobex.Conversation.ID); len(got) != 2 {
		t.Fatalf("globex got messages while down: %q", got)
	}
	up()
	retryNow(t, acme)
	nodetest.Settle(t, all...)
	got := texts(t, globex, bob, onGlobex.Conversation.ID)
	want := []string{"alice: Hello from Acme (edited)", "bob: (deleted)", "alice: Are you there?", "alice: Call me when you are back"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("globex after coming back:\n got %q\nwant %q", got, want)
	}
}

// TestGroupChatAcrossThreeNodes: a group chat started on acme with people on globex and
// initech. Acme keeps the member list; every member's node gets every message; a forged
// message from a removed member is refused everywhere.
func TestGroupChatAcrossThreeNodes(t *testing.T) {
	ctx := context.Background()
	acme := nodetest.Start(t, nodetest.Options{Setup: true, Host: "acme.test", OrgName: "Acme", Manual: true})
	globex := nodetest.Start(t, nodetest.Options{Setup: true, Host: "globex.test", OrgName: "Globex", Manual: true})
	initech := nodetest.Start(t, nodetest.Options{Setup: true, Host: "initech.test", OrgName: "Initech", Manual: true})
	nodetest.Partner(t, acme, globex, initech)
	all := []*nodetest.Node{acme, globex, initech}
	alice := acme.NewUser(t, "alice").User
	bob := globex.NewUser(t, "bob").User
	carol := initech.NewUser(t, "carol").User
	people := []*accounts.User{remoteAccount(t, acme, "bob@"+globex.Host()), remoteAccount(t, acme, "carol@"+initech.Host())}

	v, _, err := acme.Chat.Create(ctx, alice, chat.NewChat{Participants: people, Name: "Launch crew", Group: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := acme.Chat.Send(ctx, alice, v.Conversation.ID, chat.NewMessage{Text: "Kick-off at 10"}); err != nil {
		t.Fatal(err)
	}
	nodetest.Settle(t, all...)
	onGlobex, onInitech := chatOf(t, globex, bob), chatOf(t, initech, carol)
	if onGlobex.Conversation.Name != "Launch crew" || onGlobex.Conversation.Kind != chat.Group {
		t.Errorf("globex's copy: %+v", onGlobex.Conversation)
	}
	// Carol writes from initech: straight to acme and globex.
	if _, err := initech.Chat.Send(ctx, carol, onInitech.Conversation.ID, chat.NewMessage{Text: "I'll bring the slides"}); err != nil {
		t.Fatal(err)
	}
	nodetest.Settle(t, all...)
	for n, u := range map[*nodetest.Node]*accounts.User{acme: alice, globex: bob} {
		c := chatOf(t, n, u)
		got := texts(t, n, u, c.Conversation.ID)
		if len(got) != 2 || got[1] != "carol: I'll bring the slides" {
			t.Errorf("%s: %q", n.Host(), got)
		}
	}
	// Alice removes carol: acme's word reaches globex and initech; carol's node stops
	// receiving, and what carol still sends is refused by the others.
	carolOnAcme := people[1]
	if err := acme.Chat.RemoveMember(ctx, alice, v.Conversation.ID, carolOnAcme.ID); err != nil {
		t.Fatal(err)
	}
	nodetest.Settle(t, all...)
	if _, err := acme.Chat.Send(ctx, alice, v.Conversation.ID, chat.NewMessage{Text: "Slides are done, thanks"}); err != nil {
		t.Fatal(err)
	}
	nodetest.Settle(t, all...)
	if got := texts(t, globex, bob, onGlobex.Conversation.ID); len(got) != 3 {
		t.Errorf("globex after the removal: %q", got)
	}
	if _, err := initech.Chat.Get(ctx, carol, onInitech.Conversation.ID); err == nil {
		t.Errorf("carol still has the chat on initech after acme removed her")
	}
	// A message carol's node would still send is refused on globex: she is no longer a member.
	carolOnGlobex := remoteAccount(t, globex, "carol@"+initech.Host())
	_, _, err = globex.Chat.ReceiveMessage(ctx, carolOnGlobex, chat.RemoteMessage{URI: initech.URL(ctx) + "/chats/x/messages/late",
		ContextURI: v.Conversation.URI, ContentHTML: "<p>one more thing</p>", To: []*accounts.User{bob}})
	if !errs.Is(err, errs.Forbidden) {
		t.Errorf("a removed member's message was not refused: %v", err)
	}
}

// TestChatWithMastodon: a Mastodon user sees an Atrium chat message as a direct message (to
// them alone, mentioned, in their personal inbox, with the chat as its conversation), and
// their direct reply comes back into the chat.
func TestChatWithMastodon(t *testing.T) {
	ctx := context.Background()
	acme := nodetest.Start(t, nodetest.Options{Setup: true, Host: "acme.test", OrgName: "Acme", Manual: true})
	alice := acme.NewUser(t, "alice").User
	nodetest.Settle(t, acme)
	masto := startFakePeer(t, acme, flavorMastodon)
	them := remoteAccount(t, acme, masto.user+"@"+masto.host)

	v, _, err := acme.Chat.Create(ctx, alice, chat.NewChat{Participants: []*accounts.User{them}})
	if err != nil {
		t.Fatal(err)
	}
	hello, err := acme.Chat.Send(ctx, alice, v.Conversation.ID, chat.NewMessage{Text: "Lunch on Thursday?"})
	if err != nil {
		t.Fatal(err)
	}
	nodetest.Settle(t, acme)
	create := masto.one("Create")
	aliceURI := acme.URL(ctx) + "/users/alice"
	checkOurActivity(t, create, aliceURI)
	note := obj(create.Doc["object"])
	switch {
	case create.Path != "/users/"+masto.user+"/inbox":
		t.Errorf("delivered to %s, want the personal inbox (Mastodon counts its owner as a recipient)", create.Path)
	case strings.Join(toStrings(note["to"]), ",") != masto.actorID || len(toStrings(note["cc"])) != 0:
		t.Errorf("addressed to %v / %v, want the Mastodon user alone", note["to"], note["cc"])
	case str(note["conversation"]) != v.Conversation.URI || str(note["context"]) != v.Conversation.URI:
		t.Errorf("conversation %v, context %v: want the chat %s", note["conversation"], note["context"], v.Conversation.URI)
	case note["directMessage"] != true:
		t.Errorf("directMessage = %v", note["directMessage"])
	}
	if tags, _ := note["tag"].([]any); len(tags) != 1 || str(obj(tags[0])["href"]) != masto.actorID {
		t.Errorf("the recipient is not mentioned: %v", note["tag"])
	}

	// Their reply, as Mastodon sends a direct answer.
	reply := masto.actorID + "/statuses/300"
	answer := `{"@context":"https://www.w3.org/ns/activitystreams","id":"` + reply + `/activity","type":"Create","actor":"` + masto.actorID + `",` +
		`"to":["` + aliceURI + `"],"cc":[],"object":{"id":"` + reply + `","type":"Note","attributedTo":"` + masto.actorID + `",` +
		`"inReplyTo":"` + hello.URI + `","conversation":"` + v.Conversation.URI + `","content":"<p><span class=\"h-card\"><a href=\"` + aliceURI +
		`\" class=\"u-url mention\">@<span>alice</span></a></span> Sure, noon!</p>","published":"2026-11-24T12:00:00Z","to":["` + aliceURI + `"],"cc":[],` +
		`"tag":[{"type":"Mention","href":"` + aliceURI + `","name":"@alice@` + acme.Host() + `"}]}}`
	masto.deliver(aliceURI, answer)
	nodetest.Settle(t, acme)
	got := texts(t, acme, alice, v.Conversation.ID)
	if len(got) != 2 || !strings.Contains(got[1], "Sure, noon!") {
		t.Fatalf("alice's chat after the Mastodon reply: %q", got)
	}
	masto.checkClean()
}
