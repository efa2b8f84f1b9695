package chat_test

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/chat"
	"github.com/atrium-social/atrium/internal/clock"
	"github.com/atrium-social/atrium/internal/db"
	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/follows"
	"github.com/atrium-social/atrium/internal/mail"
	"github.com/atrium-social/atrium/internal/markup"
	"github.com/atrium-social/atrium/internal/media"
	"github.com/atrium-social/atrium/internal/orgs"
	"github.com/atrium-social/atrium/internal/posts"
	"github.com/atrium-social/atrium/internal/realtime"
	"github.com/atrium-social/atrium/internal/testutil/dbtest"
)

type nomail struct{}

func (nomail) Send(context.Context, mail.Message) error { return nil }

// world is one node (acme.example) with local people, two remote people on a partner
// (globex.example) and one on a node that is not a partner (initech.example).
type world struct {
	d     *db.DB
	c     *chat.Service
	p     *posts.Service
	acc   *accounts.Service
	hub   *realtime.Hub
	store *media.DiskStore
	clock *clock.Fake
	hooks *recorder
	u     map[string]*accounts.User
}

func newWorld(t *testing.T, d *db.DB) *world {
	t.Helper()
	ctx := context.Background()
	c := clock.NewFake(time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC))
	base := func(context.Context) string { return "https://acme.example" }
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	acc := accounts.New(accounts.Deps{DB: d, Orgs: orgs.New(d, c), Clock: c, Log: log,
		Mail: nomail{}, Hasher: accounts.NewHasher(1024, 2), BaseURL: base})
	admin, err := acc.RunSetup(ctx, accounts.Setup{OrgName: "Acme", URL: "https://acme.example",
		Admin: accounts.NewUser{Username: "admin", Email: "admin@acme.example", Password: "admin password 1"}}, "")
	if err != nil {
		t.Fatal(err)
	}
	w := &world{d: d, acc: acc, clock: c, u: map[string]*accounts.User{"admin": admin}, hooks: &recorder{}}
	for _, n := range []string{"alice", "bob", "carol", "dave", "erin"} {
		u, err := acc.Create(ctx, accounts.CLIActor(), accounts.NewUser{Username: n, Email: n + "@acme.example", Password: "long password 1", DisplayName: strings.ToUpper(n[:1]) + n[1:]})
		if err != nil {
			t.Fatal(err)
		}
		w.u[n] = u
	}
	for _, r := range []struct{ name, host string }{{"gina", "globex.example"}, {"hank", "globex.example"}, {"ivan", "initech.example"}} {
		u, err := acc.UpsertRemote(ctx, accounts.RemoteProfile{Username: r.name, DisplayName: r.name,
			Remote: accounts.Remote{URI: "https://" + r.host + "/users/" + r.name, Domain: r.host, Inbox: "https://" + r.host + "/users/" + r.name + "/inbox"}})
		if err != nil {
			t.Fatal(err)
		}
		w.u[r.name] = u
	}
	w.store, err = media.NewDiskStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	md := markup.New(markup.Options{LocalHost: "acme.example",
		TagURL:     func(tag string) string { return "https://acme.example/tags/" + tag },
		ProfileURL: func(m markup.Mention) string { return "https://acme.example/people/" + m.Username }})
	w.p = posts.New(posts.Deps{DB: d, Clock: c, Log: log, Accounts: acc, Follows: &follows.Service{DB: d, Clock: c}, Markup: md,
		Media: w.store, BaseURL: base})
	w.hub = realtime.NewHub(log)
	t.Cleanup(w.hub.Close)
	w.c = chat.New(chat.Deps{DB: d, Clock: c, Log: log, Accounts: acc, Markup: md, Media: w.store, Hub: w.hub, BaseURL: base,
		Reachable: chat.PartnerPolicy(func(_ context.Context, host string) bool { return host == "globex.example" })})
	w.c.AddHook(w.hooks)
	return w
}

// tick moves the clock on, so that messages sent one after another have distinct times.
func (w *world) tick() { w.clock.Advance(time.Millisecond) }

func wantKind(t *testing.T, err error, k errs.Kind, contains string) {
	t.Helper()
	if !errs.Is(err, k) || !strings.Contains(errs.Message(err), contains) {
		t.Fatalf("want %v containing %q, got %v", k, contains, err)
	}
}

func (w *world) direct(t *testing.T, a, b string) *chat.View {
	t.Helper()
	v, _, err := w.c.Create(context.Background(), w.u[a], chat.NewChat{Participants: []*accounts.User{w.u[b]}})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func (w *world) group(t *testing.T, owner string, name string, others ...string) *chat.View {
	t.Helper()
	var people []*accounts.User
	for _, o := range others {
		people = append(people, w.u[o])
	}
	v, created, err := w.c.Create(context.Background(), w.u[owner], chat.NewChat{Participants: people, Name: name})
	if err != nil || !created {
		t.Fatalf("create group: %v %v", created, err)
	}
	return v
}

func (w *world) send(t *testing.T, who, chatID, text string) *chat.Message {
	t.Helper()
	w.tick()
	m, err := w.c.Send(context.Background(), w.u[who], chatID, chat.NewMessage{Text: text})
	if err != nil {
		t.Fatalf("%s sends %q: %v", who, text, err)
	}
	return m
}

func texts(ms []*chat.Message) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.ContentText
	}
	return out
}

// recorder is a Hook that writes down what it hears (from concurrent transactions too).
type recorder struct {
	mu     sync.Mutex
	events []string
}

func (r *recorder) add(e string) {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
}

func (r *recorder) MessageCreated(_ context.Context, _ bun.IDB, c *chat.Conversation, m *chat.Message) error {
	r.add("created " + m.ContentText)
	return nil
}
func (r *recorder) MessageEdited(_ context.Context, _ bun.IDB, c *chat.Conversation, m *chat.Message) error {
	r.add("edited " + m.ContentText)
	return nil
}
func (r *recorder) MessageDeleted(_ context.Context, _ bun.IDB, c *chat.Conversation, m *chat.Message) error {
	r.add("deleted " + m.ID)
	return nil
}
func (r *recorder) MembersChanged(_ context.Context, _ bun.IDB, c *chat.Conversation, ch chat.MembersChange) error {
	r.add("members +" + strings.Join(ch.Added, ",") + " -" + strings.Join(ch.Removed, ","))
	return nil
}
func (r *recorder) Reacted(_ context.Context, _ bun.IDB, c *chat.Conversation, m *chat.Message, accountID, emoji string) error {
	r.add("reacted " + emoji)
	return nil
}
func (r *recorder) ChatChanged(_ context.Context, _ bun.IDB, c *chat.Conversation) error {
	r.add("renamed " + c.Name)
	return nil
}

func (r *recorder) has(prefix string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.ContainsFunc(r.events, func(e string) bool { return strings.HasPrefix(e, prefix) })
}

func TestCreate(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		w := newWorld(t, d)
		v := w.direct(t, "alice", "bob")
		if v.Conversation.Kind != chat.Direct || len(v.Members) != 2 || v.Me.AccountID != w.u["alice"].ID || v.LastMessage != nil {
			t.Fatalf("direct chat %+v", v)
		}
		if v.Conversation.URI != "https://acme.example/chats/"+v.Conversation.ID {
			t.Errorf("uri %s", v.Conversation.URI)
		}
		// The pair's chat is unique, whoever starts it and however often.
		again, created, err := w.c.Create(ctx, w.u["bob"], chat.NewChat{Participants: []*accounts.User{w.u["alice"], w.u["bob"]}})
		if err != nil || created || again.Conversation.ID != v.Conversation.ID {
			t.Fatalf("second start: %v %v %v", again, created, err)
		}
		// A name (or Group) makes a group chat, even for two people.
		g, created, err := w.c.Create(ctx, w.u["alice"], chat.NewChat{Participants: []*accounts.User{w.u["bob"]}, Name: "  Launch  "})
		if err != nil || !created || g.Conversation.Kind != chat.Group || g.Conversation.Name != "Launch" || g.Me.Role != chat.RoleAdmin {
			t.Fatalf("group %+v %v", g, err)
		}
		for _, m := range g.Members {
			if m.AccountID == w.u["bob"].ID && m.Role != chat.RoleMember {
				t.Errorf("bob's role %s", m.Role)
			}
		}
		_, _, err = w.c.Create(ctx, w.u["alice"], chat.NewChat{Participants: []*accounts.User{w.u["alice"]}})
		wantKind(t, err, errs.Invalid, "at least one person")
		_, _, err = w.c.Create(ctx, w.u["alice"], chat.NewChat{Participants: []*accounts.User{w.u["bob"]}, Name: strings.Repeat("n", 81)})
		wantKind(t, err, errs.Invalid, "limited to 80")
		// Partners are reachable, other nodes are not; deactivated people are refused.
		if _, _, err := w.c.Create(ctx, w.u["alice"], chat.NewChat{Participants: []*accounts.User{w.u["gina"]}}); err != nil {
			t.Fatalf("chat with a partner's person: %v", err)
		}
		_, _, err = w.c.Create(ctx, w.u["alice"], chat.NewChat{Participants: []*accounts.User{w.u["bob"], w.u["ivan"]}})
		wantKind(t, err, errs.Forbidden, "initech.example is not a partner")
		if err := w.acc.SetActive(ctx, accounts.CLIActor(), w.u["erin"].ID, false); err != nil {
			t.Fatal(err)
		}
		erin, _ := w.acc.Get(ctx, w.u["erin"].ID)
		_, _, err = w.c.Create(ctx, w.u["alice"], chat.NewChat{Participants: []*accounts.User{erin}})
		wantKind(t, err, errs.Forbidden, "deactivated")
		_, _, err = w.c.Create(ctx, erin, chat.NewChat{Participants: []*accounts.User{w.u["bob"]}})
		wantKind(t, err, errs.Forbidden, "cannot use chat")
		// Lists show the viewer's chats, most recently active first.
		w.send(t, "bob", v.Conversation.ID, "hello")
		list, err := w.c.List(ctx, w.u["alice"], chat.ListOptions{})
		if err != nil || len(list) != 3 || list[0].Conversation.ID != v.Conversation.ID || list[0].LastMessage == nil || list[0].Unread != 1 {
			t.Fatalf("alice's list %+v %v", list, err)
		}
		if l, _ := w.c.List(ctx, w.u["carol"], chat.ListOptions{}); len(l) != 0 {
			t.Fatalf("carol's list %v", l)
		}
		if !w.hooks.has("members +") || !w.hooks.has("created hello") {
			t.Errorf("hooks heard %v", w.hooks.events)
		}
	})
}

func TestOutsidersGet404(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		w := newWorld(t, d)
		v := w.direct(t, "alice", "bob")
		m := w.send(t, "alice", v.Conversation.ID, "secret plans")
		id, carol := v.Conversation.ID, w.u["carol"]
		_, err := w.c.Get(ctx, carol, id)
		wantKind(t, err, errs.NotFound, "does not exist or you are not in it")
		_, err = w.c.Messages(ctx, carol, id, chat.Page{})
		wantKind(t, err, errs.NotFound, "not in it")
		_, err = w.c.Message(ctx, carol, id, m.ID)
		wantKind(t, err, errs.NotFound, "not in it")
		_, err = w.c.Send(ctx, carol, id, chat.NewMessage{Text: "let me in"})
		wantKind(t, err, errs.NotFound, "not in it")
		_, err = w.c.Search(ctx, carol, id, "plans", chat.Page{})
		wantKind(t, err, errs.NotFound, "not in it")
		_, err = w.c.React(ctx, carol, id, m.ID, "👍")
		wantKind(t, err, errs.NotFound, "not in it")
		_, err = w.c.Edit(ctx, carol, id, m.ID, "x")
		wantKind(t, err, errs.NotFound, "not in it")
		_, err = w.c.MarkRead(ctx, carol, id, "")
		wantKind(t, err, errs.NotFound, "not in it")
		wantKind(t, w.c.Typing(ctx, carol, id), errs.NotFound, "not in it")
		wantKind(t, w.c.Leave(ctx, carol, id), errs.NotFound, "not in it")
		_, err = w.c.Changes(ctx, carol, id, 0, 10)
		wantKind(t, err, errs.NotFound, "not in it")
		_, err = w.c.Get(ctx, w.u["alice"], "01JUNKNOWNCHATID000000000")
		wantKind(t, err, errs.NotFound, "not in it")
		// A message of another chat is not found through this one.
		other := w.direct(t, "carol", "dave")
		om := w.send(t, "carol", other.Conversation.ID, "elsewhere")
		_, err = w.c.Message(ctx, w.u["alice"], id, om.ID)
		wantKind(t, err, errs.NotFound, "does not exist in this chat")
		_, err = w.c.Send(ctx, w.u["alice"], id, chat.NewMessage{Text: "re", InReplyToID: om.ID})
		wantKind(t, err, errs.Invalid, "not in this chat")
	})
}

func TestOrderAndPages(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		w := newWorld(t, d)
		id := w.direct(t, "alice", "bob").Conversation.ID
		var sent []string
		for i := range 25 {
			who := "alice"
			if i%3 == 0 {
				who = "bob"
			}
			// Every other message in the same millisecond: ids still follow the sending order.
			if i%2 == 0 {
				w.tick()
			}
			m, err := w.c.Send(ctx, w.u[who], id, chat.NewMessage{Text: "m" + string(rune('a'+i))})
			if err != nil {
				t.Fatal(err)
			}
			if len(sent) > 0 && m.ID <= sent[len(sent)-1] {
				t.Fatalf("message %d has id %s, not after %s", i, m.ID, sent[len(sent)-1])
			}
			sent = append(sent, m.ID)
		}
		ids := func(ms []*chat.Message) []string {
			out := make([]string, len(ms))
			for i, m := range ms {
				out[i] = m.ID
			}
			return out
		}
		newest := slices.Clone(sent)
		slices.Reverse(newest)
		first, err := w.c.Messages(ctx, w.u["bob"], id, chat.Page{})
		if err != nil || !slices.Equal(ids(first), newest[:20]) {
			t.Fatalf("first page %v %v", ids(first), err)
		}
		next, _ := w.c.Messages(ctx, w.u["bob"], id, chat.Page{MaxID: first[len(first)-1].ID})
		if !slices.Equal(ids(next), newest[20:]) {
			t.Fatalf("older page %v", ids(next))
		}
		// min_id: the messages just after it, still newest first; since_id: the newest ones.
		after, _ := w.c.Messages(ctx, w.u["bob"], id, chat.Page{MinID: sent[4], Limit: 3})
		if !slices.Equal(ids(after), []string{sent[7], sent[6], sent[5]}) {
			t.Fatalf("min_id page %v", ids(after))
		}
		since, _ := w.c.Messages(ctx, w.u["bob"], id, chat.Page{SinceID: sent[4], Limit: 3})
		if !slices.Equal(ids(since), newest[:3]) {
			t.Fatalf("since_id page %v", ids(since))
		}
		// Catching up by seq sees every change in order: an edit moves a message to the end.
		all, _ := w.c.Changes(ctx, w.u["bob"], id, 0, 100)
		if !slices.Equal(ids(all), sent) {
			t.Fatalf("changes %v", ids(all))
		}
		mark := all[len(all)-1].Seq
		w.tick()
		if _, err := w.c.Edit(ctx, w.u["alice"], id, sent[1], "edited"); err != nil {
			t.Fatal(err)
		}
		if _, err := w.c.React(ctx, w.u["bob"], id, sent[2], "🎉"); err != nil {
			t.Fatal(err)
		}
		late, _ := w.c.Changes(ctx, w.u["bob"], id, mark, 100)
		if !slices.Equal(ids(late), []string{sent[1], sent[2]}) || late[0].Seq >= late[1].Seq || late[0].EditedAt == nil {
			t.Fatalf("changes after %d: %v", mark, ids(late))
		}
	})
}

func TestEditDelete(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		w := newWorld(t, d)
		id := w.direct(t, "alice", "bob").Conversation.ID
		m := w.send(t, "alice", id, "see https://example.com/a **now**")
		if m.LinkURL != "https://example.com/a" || !strings.Contains(m.ContentHTML, "<strong>now</strong>") {
			t.Fatalf("rendered %+v", m)
		}
		_, err := w.c.Edit(ctx, w.u["bob"], id, m.ID, "hijacked")
		wantKind(t, err, errs.Forbidden, "only the author can edit")
		_, err = w.c.Delete(ctx, w.u["bob"], id, m.ID)
		wantKind(t, err, errs.Forbidden, "only the author can delete")
		w.tick()
		e, err := w.c.Edit(ctx, w.u["alice"], id, m.ID, "see you later")
		if err != nil || e.EditedAt == nil || e.ContentText != "see you later" || e.LinkURL != "" {
			t.Fatalf("edit %+v %v", e, err)
		}
		_, err = w.c.Edit(ctx, w.u["alice"], id, m.ID, "   ")
		wantKind(t, err, errs.Invalid, "write something")
		if _, err := w.c.React(ctx, w.u["bob"], id, m.ID, "👍"); err != nil {
			t.Fatal(err)
		}
		del, err := w.c.Delete(ctx, w.u["alice"], id, m.ID)
		if err != nil || !del.Deleted() || del.ContentHTML != "" || del.Source != "" || len(del.Reactions) != 0 {
			t.Fatalf("tombstone %+v %v", del, err)
		}
		got, err := w.c.Message(ctx, w.u["bob"], id, m.ID)
		if err != nil || !got.Deleted() || got.ContentText != "" || len(got.Reactions) != 0 {
			t.Fatalf("bob sees %+v %v", got, err)
		}
		_, err = w.c.Edit(ctx, w.u["alice"], id, m.ID, "back")
		wantKind(t, err, errs.NotFound, "does not exist")
		_, err = w.c.React(ctx, w.u["bob"], id, m.ID, "👍")
		wantKind(t, err, errs.NotFound, "does not exist")
		if !w.hooks.has("edited see you later") || !w.hooks.has("deleted "+m.ID) {
			t.Errorf("hooks heard %v", w.hooks.events)
		}
	})
}

func TestUnreadReadAndMute(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		w := newWorld(t, d)
		id := w.group(t, "alice", "Ops", "bob", "carol").Conversation.ID
		m1 := w.send(t, "alice", id, "one")
		m2 := w.send(t, "alice", id, "two")
		w.send(t, "alice", id, "three")
		unread := func(who string) int {
			t.Helper()
			v, err := w.c.Get(ctx, w.u[who], id)
			if err != nil {
				t.Fatal(err)
			}
			return v.Unread
		}
		if unread("bob") != 3 || unread("carol") != 3 || unread("alice") != 0 {
			t.Fatalf("unread bob %d carol %d alice %d", unread("bob"), unread("carol"), unread("alice"))
		}
		if _, err := w.c.MarkRead(ctx, w.u["bob"], id, m2.ID); err != nil {
			t.Fatal(err)
		}
		if unread("bob") != 1 {
			t.Fatalf("bob after reading two: %d", unread("bob"))
		}
		// Read state never moves back.
		me, err := w.c.MarkRead(ctx, w.u["bob"], id, m1.ID)
		if err != nil || me.LastReadID != m2.ID {
			t.Fatalf("read backwards: %+v %v", me, err)
		}
		_, err = w.c.MarkRead(ctx, w.u["bob"], id, "01JNOSUCHMESSAGE000000000")
		wantKind(t, err, errs.NotFound, "does not exist in this chat")
		if n, _ := w.c.UnreadChats(ctx, w.u["bob"]); n != 1 {
			t.Fatalf("bob's unread chats %d", n)
		}
		if _, err := w.c.MarkRead(ctx, w.u["bob"], id, ""); err != nil || unread("bob") != 0 {
			t.Fatalf("read all: %d %v", unread("bob"), err)
		}
		// "Seen by": each member's last read message.
		v, _ := w.c.Get(ctx, w.u["alice"], id)
		seen := map[string]string{}
		for _, m := range v.Members {
			seen[m.AccountID] = m.LastReadID
		}
		if seen[w.u["bob"].ID] != v.LastMessage.ID || seen[w.u["alice"].ID] != v.LastMessage.ID || seen[w.u["carol"].ID] != "" {
			t.Fatalf("seen by %v (last %s)", seen, v.LastMessage.ID)
		}
		// A deleted message stops counting.
		if _, err := w.c.Delete(ctx, w.u["alice"], id, m1.ID); err != nil || unread("carol") != 2 {
			t.Fatalf("after delete carol has %d unread (%v)", unread("carol"), err)
		}
		// Muting keeps the count on the chat but takes it off the badge.
		muted := true
		mv, err := w.c.Update(ctx, w.u["carol"], id, chat.Change{Muted: &muted})
		if err != nil || !mv.Me.Muted {
			t.Fatalf("mute %+v %v", mv, err)
		}
		if n, _ := w.c.UnreadChats(ctx, w.u["carol"]); n != 0 || unread("carol") != 2 {
			t.Fatalf("muted: badge %d, unread %d", n, unread("carol"))
		}
		// Hidden until the next message.
		if err := w.c.Hide(ctx, w.u["carol"], id); err != nil {
			t.Fatal(err)
		}
		if l, _ := w.c.List(ctx, w.u["carol"], chat.ListOptions{}); len(l) != 0 {
			t.Fatalf("hidden chat listed: %v", l)
		}
		if l, _ := w.c.List(ctx, w.u["carol"], chat.ListOptions{Hidden: true}); len(l) != 1 {
			t.Fatalf("hidden chats asked for: %v", l)
		}
		w.send(t, "bob", id, "four")
		if l, _ := w.c.List(ctx, w.u["carol"], chat.ListOptions{}); len(l) != 1 {
			t.Fatalf("a new message brings the chat back: %v", l)
		}
		// Renaming: any member of a group chat; never a direct chat.
		name := "Ops team"
		if v, err := w.c.Update(ctx, w.u["bob"], id, chat.Change{Name: &name}); err != nil || v.Conversation.Name != name {
			t.Fatalf("rename %v", err)
		}
		dm := w.direct(t, "alice", "bob").Conversation.ID
		_, err = w.c.Update(ctx, w.u["alice"], dm, chat.Change{Name: &name})
		wantKind(t, err, errs.Invalid, "a direct chat has no name")
	})
}

func TestMembers(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		w := newWorld(t, d)
		id := w.group(t, "alice", "Ops", "bob", "carol").Conversation.ID
		w.send(t, "alice", id, "before dave")
		_, err := w.c.AddMembers(ctx, w.u["bob"], id, []*accounts.User{w.u["dave"]})
		wantKind(t, err, errs.Forbidden, "only the chat's admins can add")
		_, err = w.c.AddMembers(ctx, w.u["alice"], id, []*accounts.User{w.u["ivan"]})
		wantKind(t, err, errs.Forbidden, "not a partner")
		w.tick()
		v, err := w.c.AddMembers(ctx, w.u["alice"], id, []*accounts.User{w.u["dave"], w.u["bob"], w.u["gina"]})
		if err != nil || len(v.Members) != 5 {
			t.Fatalf("add: %v %v", v, err)
		}
		w.send(t, "bob", id, "after dave")
		// People added later read from when they were added.
		ms, err := w.c.Messages(ctx, w.u["dave"], id, chat.Page{})
		if err != nil || !slices.Equal(texts(ms), []string{"after dave"}) {
			t.Fatalf("dave reads %v %v", texts(ms), err)
		}
		if dv, _ := w.c.Get(ctx, w.u["dave"], id); dv.Unread != 1 {
			t.Fatalf("dave's unread %d", dv.Unread)
		}
		// Removal: admins only; the person removed loses the chat at once.
		wantKind(t, w.c.RemoveMember(ctx, w.u["bob"], id, w.u["carol"].ID), errs.Forbidden, "only the chat's admins can remove")
		if err := w.c.RemoveMember(ctx, w.u["alice"], id, w.u["carol"].ID); err != nil {
			t.Fatal(err)
		}
		_, err = w.c.Messages(ctx, w.u["carol"], id, chat.Page{})
		wantKind(t, err, errs.NotFound, "not in it")
		wantKind(t, w.c.RemoveMember(ctx, w.u["alice"], id, w.u["carol"].ID), errs.NotFound, "not in the chat")
		// Roles: the last admin cannot step down; remote people cannot administer.
		wantKind(t, w.c.SetRole(ctx, w.u["alice"], id, w.u["alice"].ID, chat.RoleMember), errs.Conflict, "needs an admin")
		wantKind(t, w.c.SetRole(ctx, w.u["alice"], id, w.u["gina"].ID, chat.RoleAdmin), errs.Invalid, "only people of this node")
		// Leaving: self-removal; when the last admin leaves, the earliest member here takes over.
		if err := w.c.RemoveMember(ctx, w.u["alice"], id, w.u["alice"].ID); err != nil {
			t.Fatal(err)
		}
		if _, err := w.c.Get(ctx, w.u["alice"], id); !errs.Is(err, errs.NotFound) {
			t.Fatalf("alice left but still sees the chat: %v", err)
		}
		bv, _ := w.c.Get(ctx, w.u["bob"], id)
		if bv.Me.Role != chat.RoleAdmin {
			t.Fatalf("bob should have taken over: %+v", bv.Me)
		}
		if err := w.c.Leave(ctx, w.u["dave"], id); err != nil {
			t.Fatal(err)
		}
		if bv, _ = w.c.Get(ctx, w.u["bob"], id); len(bv.Members) != 2 {
			t.Fatalf("members left: %d", len(bv.Members))
		}
		// A direct chat never changes; leaving it hides it.
		dm := w.direct(t, "alice", "bob").Conversation.ID
		_, err = w.c.AddMembers(ctx, w.u["alice"], dm, []*accounts.User{w.u["carol"]})
		wantKind(t, err, errs.Invalid, "start a group chat")
		if err := w.c.Leave(ctx, w.u["alice"], dm); err != nil {
			t.Fatal(err)
		}
		if l, _ := w.c.List(ctx, w.u["alice"], chat.ListOptions{}); len(l) != 0 {
			t.Fatalf("left direct chat listed: %v", l)
		}
		if !w.hooks.has("members +" + w.u["dave"].ID) {
			t.Errorf("hooks heard %v", w.hooks.events)
		}
	})
}

func TestReactionsAndLimits(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		w := newWorld(t, d)
		id := w.direct(t, "alice", "bob").Conversation.ID
		m := w.send(t, "alice", id, "ship it?")
		_, err := w.c.React(ctx, w.u["bob"], id, m.ID, "🍕")
		wantKind(t, err, errs.Invalid, "not one of the reactions")
		r, err := w.c.React(ctx, w.u["bob"], id, m.ID, "👍")
		if err != nil || r.Reactions["👍"] != 1 || r.MyReaction != "👍" {
			t.Fatalf("react %+v %v", r, err)
		}
		w.c.React(ctx, w.u["alice"], id, m.ID, "🎉")
		r, _ = w.c.React(ctx, w.u["bob"], id, m.ID, "❤️") // replaces bob's 👍
		if r.Reactions["👍"] != 0 || r.Reactions["❤️"] != 1 || r.Reactions["🎉"] != 1 {
			t.Fatalf("counts %v", r.Reactions)
		}
		r, _ = w.c.Unreact(ctx, w.u["bob"], id, m.ID, "👍") // not bob's reaction: nothing happens
		if r.Reactions["❤️"] != 1 {
			t.Fatalf("counts %v", r.Reactions)
		}
		r, _ = w.c.Unreact(ctx, w.u["bob"], id, m.ID, "❤️")
		if r.Reactions["❤️"] != 0 || r.MyReaction != "" {
			t.Fatalf("after unreact %v", r.Reactions)
		}
		_, err = w.c.Send(ctx, w.u["alice"], id, chat.NewMessage{Text: strings.Repeat("x", chat.MaxChars+1)})
		wantKind(t, err, errs.Invalid, "limited to 5000 characters; this one has 5001")
		if _, err := w.c.Send(ctx, w.u["alice"], id, chat.NewMessage{Text: strings.Repeat("é", chat.MaxChars)}); err != nil {
			t.Fatalf("exactly the limit: %v", err)
		}
		_, err = w.c.Send(ctx, w.u["alice"], id, chat.NewMessage{Text: "files", AttachmentIDs: make([]string, chat.MaxAttachments+1)})
		wantKind(t, err, errs.Invalid, "at most 10 files")
		_, err = w.c.Send(ctx, w.u["alice"], id, chat.NewMessage{Text: " \x00 "})
		wantKind(t, err, errs.Invalid, "write something")
		// A direct chat with someone deactivated refuses new messages.
		if err := w.acc.SetActive(ctx, accounts.CLIActor(), w.u["bob"].ID, false); err != nil {
			t.Fatal(err)
		}
		_, err = w.c.Send(ctx, w.u["alice"], id, chat.NewMessage{Text: "still there?"})
		wantKind(t, err, errs.Forbidden, "deactivated")
	})
}

func tinyPNG(t *testing.T) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	for i := range 8 {
		img.Set(i, i, color.RGBA{200, 10, 10, 255})
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestAttachmentsAndSearch(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		w := newWorld(t, d)
		id := w.direct(t, "alice", "bob").Conversation.ID
		up, err := w.p.Upload(ctx, w.u["alice"], bytes.NewReader(tinyPNG(t)), "dot.png", "a red dot")
		if err != nil {
			t.Fatal(err)
		}
		bobs, _ := w.p.Upload(ctx, w.u["bob"], bytes.NewReader(tinyPNG(t)), "b.png", "")
		_, err = w.c.Send(ctx, w.u["alice"], id, chat.NewMessage{AttachmentIDs: []string{bobs.ID}})
		wantKind(t, err, errs.Invalid, "does not exist or is used already")
		m, err := w.c.Send(ctx, w.u["alice"], id, chat.NewMessage{AttachmentIDs: []string{up.ID}})
		if err != nil || len(m.Attachments) != 1 || m.Attachments[0].ID != up.ID || m.Attachments[0].Description != "a red dot" {
			t.Fatalf("message with a file %+v %v", m, err)
		}
		// An upload belongs to one message: not to a second one, nor to a post.
		_, err = w.c.Send(ctx, w.u["alice"], id, chat.NewMessage{AttachmentIDs: []string{up.ID}})
		wantKind(t, err, errs.Invalid, "used already")
		if _, err := w.p.Create(ctx, w.u["alice"], posts.NewPost{Text: "x", AttachmentIDs: []string{up.ID}}); err == nil {
			t.Fatal("the chat's file was attached to a post")
		}
		got, _ := w.c.Message(ctx, w.u["bob"], id, m.ID)
		if len(got.Attachments) != 1 {
			t.Fatalf("bob sees %+v", got)
		}
		// Deleting the message deletes its file.
		if _, err := w.c.Delete(ctx, w.u["alice"], id, m.ID); err != nil {
			t.Fatal(err)
		}
		if _, _, err := w.store.Open(ctx, up.FileKey); err == nil {
			t.Fatal("the deleted message's file is still stored")
		}
		// Search within the chat: every word, any case, LIKE wildcards taken literally.
		w.send(t, "alice", id, "Quarterly report is ready")
		w.send(t, "bob", id, "the REPORT has a typo")
		w.send(t, "bob", id, "100% done_now")
		found, err := w.c.Search(ctx, w.u["bob"], id, "report", chat.Page{})
		if err != nil || !slices.Equal(texts(found), []string{"the REPORT has a typo", "Quarterly report is ready"}) {
			t.Fatalf("search %v %v", texts(found), err)
		}
		if found, _ = w.c.Search(ctx, w.u["bob"], id, "quarterly READY", chat.Page{}); len(found) != 1 {
			t.Fatalf("two words %v", texts(found))
		}
		if found, _ = w.c.Search(ctx, w.u["bob"], id, "0%", chat.Page{}); !slices.Equal(texts(found), []string{"100% done_now"}) {
			t.Fatalf("wildcard %v", texts(found))
		}
		if found, _ = w.c.Search(ctx, w.u["bob"], id, "e_n", chat.Page{}); len(found) != 1 {
			t.Fatalf("underscore %v", texts(found))
		}
		_, err = w.c.Search(ctx, w.u["bob"], id, "  ", chat.Page{})
		wantKind(t, err, errs.Invalid, "type something")
	})
}

func remoteMsg(w *world, who, path string, to ...string) chat.RemoteMessage {
	rm := chat.RemoteMessage{URI: "https://globex.example/users/" + who + "/statuses/" + path, ContentHTML: "<p>hi from " + who + "</p>",
		Published: w.clock.Now().Add(-time.Minute)}
	for _, t := range to {
		rm.To = append(rm.To, w.u[t])
	}
	return rm
}

func TestRemoteMessages(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		w := newWorld(t, d)
		gina, hank := w.u["gina"], w.u["hank"]
		// A direct note from a partner starts (or joins) the pair's chat, once per URI.
		rm := remoteMsg(w, "gina", "1", "alice")
		rm.ContextURI = "https://globex.example/contexts/1"
		m, created, err := w.c.ReceiveMessage(ctx, gina, rm)
		if err != nil || !created || m.ContentText != "hi from gina" {
			t.Fatalf("receive %+v %v %v", m, created, err)
		}
		again, created, err := w.c.ReceiveMessage(ctx, gina, rm)
		if err != nil || created || again.ID != m.ID {
			t.Fatalf("repeat %+v %v %v", again, created, err)
		}
		dm := w.direct(t, "alice", "gina")
		if dm.Conversation.ID != m.ConversationID || dm.Unread != 1 || dm.Conversation.Domain != "globex.example" {
			t.Fatalf("alice's chat with gina %+v (message in %s)", dm, m.ConversationID)
		}
		if c, err := w.c.ByContext(ctx, rm.ContextURI); err != nil || c.ID != m.ConversationID {
			t.Fatalf("by context %v %v", c, err)
		}
		// A reply in the same thread with no context finds the chat through inReplyTo.
		reply := remoteMsg(w, "gina", "2", "alice")
		reply.InReplyToURI = m.URI
		if r, _, err := w.c.ReceiveMessage(ctx, gina, reply); err != nil || r.ConversationID != m.ConversationID || r.InReplyToID == nil {
			t.Fatalf("reply %+v %v", r, err)
		}
		// Forgeries: an id on another server, someone else's message id, a conversation the
		// author is not in, an unknown context of another origin.
		forged := remoteMsg(w, "gina", "3", "alice")
		forged.URI = "https://acme.example/chats/x/messages/y"
		_, _, err = w.c.ReceiveMessage(ctx, gina, forged)
		wantKind(t, err, errs.Forbidden, "not on its author's server")
		_, _, err = w.c.ReceiveMessage(ctx, hank, chat.RemoteMessage{URI: m.URI, ContentHTML: "<p>mine now</p>", To: []*accounts.User{w.u["alice"]}})
		wantKind(t, err, errs.Forbidden, "belongs to someone else")
		hankClaims := chat.RemoteMessage{URI: "https://globex.example/users/hank/statuses/9", ContentHTML: "<p>let me in</p>",
			ContextURI: rm.ContextURI, To: []*accounts.User{w.u["alice"]}}
		_, _, err = w.c.ReceiveMessage(ctx, hank, hankClaims)
		wantKind(t, err, errs.Forbidden, "not a member of the conversation")
		group := w.group(t, "alice", "Acme only", "bob")
		hankClaims.ContextURI = group.Conversation.URI
		_, _, err = w.c.ReceiveMessage(ctx, hank, hankClaims)
		wantKind(t, err, errs.Forbidden, "not a member of the conversation")
		hankClaims.ContextURI = "https://initech.example/contexts/7"
		hankClaims.To = []*accounts.User{w.u["alice"], w.u["bob"]}
		_, _, err = w.c.ReceiveMessage(ctx, hank, hankClaims)
		wantKind(t, err, errs.Forbidden, "only its own node can start it")
		hankClaims.ContextURI, hankClaims.InReplyToURI = "", group.Conversation.URI+"/messages/none"
		hankClaims.To = []*accounts.User{gina}
		_, _, err = w.c.ReceiveMessage(ctx, hank, hankClaims)
		wantKind(t, err, errs.Invalid, "nobody on this node")
		_, _, err = w.c.ReceiveMessage(ctx, w.u["ivan"], chat.RemoteMessage{URI: "https://initech.example/users/ivan/1", ContentHTML: "<p>x</p>", To: []*accounts.User{w.u["alice"]}})
		wantKind(t, err, errs.Forbidden, "not a partner")
		big := remoteMsg(w, "gina", "big", "alice")
		big.ContextURI, big.ContentHTML = rm.ContextURI, "<p>"+strings.Repeat("a", chat.MaxChars+1)+"</p>"
		_, _, err = w.c.ReceiveMessage(ctx, gina, big)
		wantKind(t, err, errs.TooLarge, "limited to 5000")
		// A reply claiming a message of another chat.
		wrong := remoteMsg(w, "gina", "4", "alice")
		wrong.ContextURI, wrong.InReplyToURI = rm.ContextURI, w.send(t, "alice", group.Conversation.ID, "acme only").URI
		_, _, err = w.c.ReceiveMessage(ctx, gina, wrong)
		wantKind(t, err, errs.Forbidden, "another conversation")
		// Edits, reactions and deletions: only by the author, only by members.
		_, err = w.c.ReceiveEdit(ctx, hank, m.URI, "<p>edited by hank</p>")
		wantKind(t, err, errs.Forbidden, "only the author")
		if e, err := w.c.ReceiveEdit(ctx, gina, m.URI, "<p>edited</p>"); err != nil || e.EditedAt == nil || e.ContentText != "edited" {
			t.Fatalf("edit %+v %v", e, err)
		}
		if e, err := w.c.ReceiveEdit(ctx, gina, "https://globex.example/unknown", "<p>x</p>"); err != nil || e != nil {
			t.Fatalf("edit of an unknown message: %v %v", e, err)
		}
		wantKind(t, w.c.ReceiveReaction(ctx, hank, m.URI, "👍", false), errs.Forbidden, "not a member")
		wantKind(t, w.c.ReceiveReaction(ctx, gina, m.URI, "🍕", false), errs.Invalid, "not one of the reactions")
		if err := w.c.ReceiveReaction(ctx, gina, m.URI, "🎉", false); err != nil {
			t.Fatal(err)
		}
		if got, _ := w.c.Message(ctx, w.u["alice"], dm.Conversation.ID, m.ID); got.Reactions["🎉"] != 1 {
			t.Fatalf("reactions %v", got.Reactions)
		}
		wantKind(t, w.c.ReceiveDelete(ctx, hank, m.URI), errs.Forbidden, "only the author")
		if err := w.c.ReceiveDelete(ctx, gina, m.URI); err != nil {
			t.Fatal(err)
		}
		if got, _ := w.c.Message(ctx, w.u["alice"], dm.Conversation.ID, m.ID); !got.Deleted() {
			t.Fatalf("not deleted: %+v", got)
		}
		if err := w.c.ReceiveDelete(ctx, gina, m.URI); err != nil {
			t.Fatalf("a repeated delete: %v", err)
		}
		// Alice's answer is local, with a URI here, in the same chat.
		a := w.send(t, "alice", dm.Conversation.ID, "hello gina")
		if !a.Local("https://acme.example") || a.ConversationID != m.ConversationID {
			t.Fatalf("answer %+v", a)
		}
	})
}

func TestRemoteGroupChat(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		w := newWorld(t, d)
		gina, hank := w.u["gina"], w.u["hank"]
		ctxURI := "https://globex.example/chats/42"
		// Globex states the member list of its chat; ivan's node is not a partner, left out.
		c, err := w.c.ReceiveMembers(ctx, gina, ctxURI, "Supply", []*accounts.User{gina, hank, w.u["alice"], w.u["bob"], w.u["ivan"]})
		if err != nil || c.Kind != chat.Group || c.Domain != "globex.example" || c.Name != "Supply" {
			t.Fatalf("members %+v %v", c, err)
		}
		v, err := w.c.Get(ctx, w.u["alice"], c.ID)
		if err != nil || len(v.Members) != 4 {
			t.Fatalf("alice sees %+v %v", v, err)
		}
		_, err = w.c.ReceiveMembers(ctx, w.u["ivan"], ctxURI, "x", nil)
		wantKind(t, err, errs.Forbidden, "not a partner")
		// Local admins do not manage a chat another node keeps.
		_, err = w.c.AddMembers(ctx, w.u["alice"], c.ID, []*accounts.User{w.u["carol"]})
		wantKind(t, err, errs.Forbidden, "kept by globex.example")
		name := "Renamed"
		_, err = w.c.Update(ctx, w.u["alice"], c.ID, chat.Change{Name: &name})
		wantKind(t, err, errs.Forbidden, "kept by globex.example")
		// Messages from its members, by context.
		rm := remoteMsg(w, "hank", "g1")
		rm.ContextURI = ctxURI
		if m, _, err := w.c.ReceiveMessage(ctx, hank, rm); err != nil || m.ConversationID != c.ID {
			t.Fatalf("hank in the group: %v %v", m, err)
		}
		// Globex removes bob and hank and adds carol.
		w.tick()
		if _, err := w.c.ReceiveMembers(ctx, gina, ctxURI, "Supply", []*accounts.User{gina, w.u["alice"], w.u["carol"]}); err != nil {
			t.Fatal(err)
		}
		_, err = w.c.Get(ctx, w.u["bob"], c.ID)
		wantKind(t, err, errs.NotFound, "not in it")
		rm = remoteMsg(w, "hank", "g2")
		rm.ContextURI = ctxURI
		_, _, err = w.c.ReceiveMessage(ctx, hank, rm)
		wantKind(t, err, errs.Forbidden, "not a member")
		if cv, err := w.c.Get(ctx, w.u["carol"], c.ID); err != nil || cv.LastMessage != nil {
			t.Fatalf("carol reads from when she was added: %+v %v", cv, err)
		}
		// A local member may leave it (their node tells globex through the hook).
		if err := w.c.Leave(ctx, w.u["alice"], c.ID); err != nil {
			t.Fatal(err)
		}
	})
}

// events drains what a subscription received so far.
func events(s *realtime.Subscription) []realtime.Event {
	var out []realtime.Event
	for {
		select {
		case e, ok := <-s.C():
			if !ok {
				return out
			}
			out = append(out, e)
		default:
			return out
		}
	}
}

func kinds(es []realtime.Event) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Stream + " " + e.Kind
	}
	return out
}

func TestLiveEvents(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		w := newWorld(t, d)
		g := w.group(t, "alice", "Ops", "bob")
		subs := map[string]*realtime.Subscription{}
		for _, n := range []string{"alice", "bob", "carol"} {
			subs[n] = w.hub.Subscribe(w.u[n].ID, []string{realtime.StreamUser, realtime.StreamDirect}, 0)
			defer subs[n].Close()
		}
		m := w.send(t, "alice", g.Conversation.ID, "hello live")
		for _, n := range []string{"alice", "bob"} {
			es := events(subs[n])
			if !slices.Equal(kinds(es), []string{"user " + chat.KindMessage, "direct conversation"}) {
				t.Fatalf("%s got %v", n, kinds(es))
			}
			var p struct {
				ChatID  string `json:"chat_id"`
				Seq     int64  `json:"seq"`
				Message struct {
					ID      string `json:"id"`
					Content string `json:"content"`
				} `json:"message"`
			}
			if err := json.Unmarshal(es[0].Payload, &p); err != nil || p.ChatID != g.Conversation.ID || p.Message.ID != m.ID ||
				p.Seq != m.Seq || !strings.Contains(p.Message.Content, "hello live") {
				t.Fatalf("%s payload %s %v", n, es[0].Payload, err)
			}
			var conv struct {
				ID     string `json:"id"`
				Unread bool   `json:"unread"`
			}
			if err := json.Unmarshal(es[1].Payload, &conv); err != nil || conv.ID != g.Conversation.ID || conv.Unread != (n == "bob") {
				t.Fatalf("%s conversation %s %v", n, es[1].Payload, err)
			}
		}
		if es := events(subs["carol"]); len(es) != 0 {
			t.Fatalf("carol is not in the chat but got %v", kinds(es))
		}
		// A failing change publishes nothing.
		if _, err := w.c.Edit(ctx, w.u["bob"], g.Conversation.ID, m.ID, "nope"); err == nil {
			t.Fatal("bob edited alice's message")
		}
		w.c.Edit(ctx, w.u["alice"], g.Conversation.ID, m.ID, "hello edited")
		w.c.React(ctx, w.u["bob"], g.Conversation.ID, m.ID, "👍")
		w.c.MarkRead(ctx, w.u["bob"], g.Conversation.ID, "")
		if err := w.c.Typing(ctx, w.u["bob"], g.Conversation.ID); err != nil {
			t.Fatal(err)
		}
		if err := w.c.Typing(ctx, w.u["bob"], g.Conversation.ID); err != nil { // within the interval: dropped quietly
			t.Fatal(err)
		}
		w.c.Delete(ctx, w.u["alice"], g.Conversation.ID, m.ID)
		want := []string{"user " + chat.KindMessageUpdate, "user " + chat.KindReaction, "user " + chat.KindRead, "user " + chat.KindTyping,
			"user " + chat.KindMessageDelete}
		if got := kinds(events(subs["alice"])); !slices.Equal(got, want) {
			t.Fatalf("alice got %v, want %v", got, want)
		}
		if got := kinds(events(subs["bob"])); !slices.Equal(got, slices.Delete(slices.Clone(want), 3, 4)) {
			t.Fatalf("bob got %v (never his own typing)", got)
		}
		if es := events(subs["carol"]); len(es) != 0 {
			t.Fatalf("carol got %v", kinds(es))
		}
		// Membership changes reach the members and the person removed; then nothing more.
		if _, err := w.c.AddMembers(ctx, w.u["alice"], g.Conversation.ID, []*accounts.User{w.u["carol"]}); err != nil {
			t.Fatal(err)
		}
		if got := kinds(events(subs["carol"])); !slices.Equal(got, []string{"user " + chat.KindChat}) {
			t.Fatalf("carol added: %v", got)
		}
		if err := w.c.RemoveMember(ctx, w.u["alice"], g.Conversation.ID, w.u["carol"].ID); err != nil {
			t.Fatal(err)
		}
		if got := kinds(events(subs["carol"])); !slices.Equal(got, []string{"user " + chat.KindChat}) {
			t.Fatalf("carol removed: %v", got)
		}
		events(subs["alice"])
		events(subs["bob"])
		w.send(t, "bob", g.Conversation.ID, "after carol")
		if es := events(subs["carol"]); len(es) != 0 {
			t.Fatalf("carol removed but got %v", kinds(es))
		}
		if got := kinds(events(subs["alice"])); len(got) != 2 {
			t.Fatalf("alice got %v", got)
		}
	})
}

func TestTypingFlood(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		w := newWorld(t, d)
		var err error
		for i := 0; i < 200 && err == nil; i++ {
			// A new chat each time: the per-chat interval never applies, the overall cap does.
			id := w.group(t, "alice", "g", "bob").Conversation.ID
			err = w.c.Typing(ctx, w.u["alice"], id)
		}
		wantKind(t, err, errs.TooMany, "too many typing notices")
	})
}

// TestConcurrentSends: messages sent at once into one chat get distinct, gapless change
// numbers in the order of their ids, so catching up by seq never skips or repeats one.
func TestConcurrentSends(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		w := newWorld(t, d)
		id := w.group(t, "alice", "Busy", "bob", "carol").Conversation.ID
		const n = 24
		errc := make(chan error, n)
		for i := range n {
			who := []string{"alice", "bob", "carol"}[i%3]
			go func() {
				_, err := w.c.Send(ctx, w.u[who], id, chat.NewMessage{Text: "burst"})
				errc <- err
			}()
		}
		for range n {
			if err := <-errc; err != nil {
				t.Fatal(err)
			}
		}
		all, err := w.c.Changes(ctx, w.u["bob"], id, 0, 100)
		if err != nil || len(all) != n {
			t.Fatalf("changes: %d %v", len(all), err)
		}
		for i, m := range all {
			if m.Seq != int64(i+1) || i > 0 && m.ID <= all[i-1].ID {
				t.Fatalf("change %d: seq %d id %s after %s", i, m.Seq, m.ID, all[max(i-1, 0)].ID)
			}
		}
	})
}
