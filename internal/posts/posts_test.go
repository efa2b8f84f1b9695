package posts_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/clock"
	"github.com/atrium-social/atrium/internal/db"
	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/follows"
	"github.com/atrium-social/atrium/internal/jobs"
	"github.com/atrium-social/atrium/internal/mail"
	"github.com/atrium-social/atrium/internal/markup"
	"github.com/atrium-social/atrium/internal/orgs"
	"github.com/atrium-social/atrium/internal/posts"
	"github.com/atrium-social/atrium/internal/testutil/dbtest"
)

type nomail struct{}

func (nomail) Send(context.Context, mail.Message) error { return nil }

type mailbox struct{ to []string }

func (m *mailbox) Send(_ context.Context, msg mail.Message) error {
	m.to = append(m.to, msg.To)
	return nil
}

type world struct {
	svc   *posts.Service
	acc   *accounts.Service
	fol   *follows.Service
	clock *clock.Fake
	users map[string]*accounts.User
}

func newWorld(t *testing.T, d *db.DB) *world {
	t.Helper()
	ctx := context.Background()
	c := clock.NewFake(time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC))
	base := func(context.Context) string { return "https://acme.example" }
	acc := accounts.New(accounts.Deps{DB: d, Orgs: orgs.New(d, c), Clock: c, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Mail: nomail{}, Hasher: accounts.NewHasher(1024, 2), BaseURL: base})
	admin, err := acc.RunSetup(ctx, accounts.Setup{OrgName: "Acme", URL: "https://acme.example",
		Admin: accounts.NewUser{Username: "admin", Email: "admin@acme.example", Password: "admin password 1"}}, "")
	if err != nil {
		t.Fatal(err)
	}
	w := &world{acc: acc, clock: c, users: map[string]*accounts.User{"admin": admin}}
	for _, n := range []string{"author", "follower", "stranger", "chosen", "mentioned", "gone"} {
		u, err := acc.Create(ctx, accounts.CLIActor(), accounts.NewUser{Username: n, Email: n + "@acme.example", Password: "long password 1"})
		if err != nil {
			t.Fatal(err)
		}
		w.users[n] = u
	}
	w.fol = &follows.Service{DB: d, Clock: c}
	md := markup.New(markup.Options{LocalHost: "acme.example",
		TagURL:     func(tag string) string { return "https://acme.example/tags/" + tag },
		ProfileURL: func(m markup.Mention) string { return "https://acme.example/people/" + m.Username }})
	w.svc = posts.New(posts.Deps{DB: d, Clock: c, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Accounts: acc, Follows: w.fol, Markup: md, BaseURL: base})
	w.fol.Hooks = append(w.fol.Hooks, w.svc)
	acc.Returned = w.svc.Regenerate // as the node wires it
	if _, err := w.fol.Follow(ctx, w.users["follower"].ID, w.users["author"].ID); err != nil {
		t.Fatal(err)
	}
	if err := acc.SetActive(ctx, accounts.CLIActor(), w.users["gone"].ID, false); err != nil {
		t.Fatal(err)
	}
	w.users["gone"].State = accounts.StateDeactivated
	return w
}

func (w *world) post(t *testing.T, who string, in posts.NewPost) *posts.Post {
	t.Helper()
	w.clock.Advance(time.Second)
	p, err := w.svc.Create(context.Background(), w.users[who], in)
	if err != nil {
		t.Fatalf("create %+v: %v", in, err)
	}
	return p
}

// TestAudienceMatrix checks every audience against every kind of viewer, through the single
// post lookup and through the timelines (which use the SQL form of the rule).
func TestAudienceMatrix(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		w := newWorld(t, d)
		ctx := context.Background()
		type row struct {
			audience posts.Audience
			sees     map[string]bool // viewer -> may see; "anonymous" is the nil viewer
		}
		rows := []row{
			{posts.Public, map[string]bool{"author": true, "follower": true, "stranger": true, "chosen": true, "mentioned": true, "admin": true, "anonymous": true, "gone": true}},
			{posts.Company, map[string]bool{"author": true, "follower": true, "stranger": true, "chosen": true, "mentioned": true, "admin": true, "anonymous": false, "gone": false}},
			{posts.Followers, map[string]bool{"author": true, "follower": true, "stranger": false, "chosen": false, "mentioned": true, "admin": false, "anonymous": false, "gone": false}},
			{posts.Direct, map[string]bool{"author": true, "follower": false, "stranger": false, "chosen": true, "mentioned": true, "admin": false, "anonymous": false, "gone": false}},
		}
		for _, r := range rows {
			in := posts.NewPost{Text: "hello @mentioned about #Plans", Audience: r.audience}
			if r.audience == posts.Direct {
				in.Recipients = []string{"chosen"}
			}
			p := w.post(t, "author", in)
			comment := w.post(t, "author", posts.NewPost{Text: "a comment", InReplyToID: p.ID, Audience: posts.Public})
			if comment.Audience != r.audience {
				t.Errorf("%s: comment audience %s, want the post's", r.audience, comment.Audience)
			}
			for viewer, want := range r.sees {
				var v *posts.Viewer
				if viewer != "anonymous" {
					v = &posts.Viewer{ID: w.users[viewer].ID, Local: w.users[viewer].Active(), Admin: w.users[viewer].IsAdmin()}
					if viewer == "gone" {
						v = posts.ViewerOf(w.users[viewer]) // a deactivated person is nobody
					}
				}
				for _, id := range []string{p.ID, comment.ID} {
					_, err := w.svc.Get(ctx, v, id)
					if got := err == nil; got != want {
						t.Errorf("%s post, %s viewer, Get(%s): visible=%v want %v (%v)", r.audience, viewer, id, got, want, err)
					}
					if err != nil && !errs.Is(err, errs.NotFound) {
						t.Errorf("hidden post must be NotFound, got %v", err)
					}
				}
				// The SQL form must agree: the author's profile timeline lists the post iff visible.
				list, err := w.svc.Profile(ctx, v, w.users["author"].ID, false, posts.Page{Limit: 40})
				if err != nil {
					t.Fatal(err)
				}
				found := false
				for _, q := range list {
					found = found || q.ID == p.ID
				}
				if found != want {
					t.Errorf("%s post, %s viewer: profile timeline lists it=%v want %v", r.audience, viewer, found, want)
				}
				list, _ = w.svc.Tag(ctx, v, "plans", posts.Page{})
				found = false
				for _, q := range list {
					found = found || q.ID == p.ID
				}
				if found != want {
					t.Errorf("%s post, %s viewer: tag timeline lists it=%v want %v", r.audience, viewer, found, want)
				}
			}
		}
		// Home feeds: the follower sees followers/company/public posts, the chosen person the
		// direct one, the stranger none of them.
		home := func(who string) int {
			ps, err := w.svc.Home(ctx, posts.ViewerOf(w.users[who]), posts.Page{Limit: 40})
			if err != nil {
				t.Fatal(err)
			}
			return len(ps)
		}
		if got := home("follower"); got != 3 {
			t.Errorf("follower home has %d posts, want 3", got)
		}
		if got := home("chosen"); got != 1 {
			t.Errorf("chosen home has %d posts, want 1", got)
		}
		if got := home("stranger"); got != 0 {
			t.Errorf("stranger home has %d posts, want 0", got)
		}
		if got := home("mentioned"); got != 4 {
			t.Errorf("mentioned home has %d posts, want 4", got)
		}
	})
}

func TestBadInputAndInteractions(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		w := newWorld(t, d)
		ctx := context.Background()
		author, stranger := w.users["author"], w.users["stranger"]
		bad := []struct {
			in   posts.NewPost
			kind errs.Kind
			msg  string
		}{
			{posts.NewPost{Text: "   "}, errs.Invalid, "write something"},
			{posts.NewPost{Text: strings.Repeat("x", posts.MaxChars+1)}, errs.Invalid, "limited to"},
			{posts.NewPost{Text: "hi @nobody"}, errs.Invalid, "nobody here is called @nobody"},
			{posts.NewPost{Text: "hi", Audience: "everyone"}, errs.Invalid, "not an audience"},
			{posts.NewPost{Text: "hi", Audience: posts.Direct}, errs.Invalid, "choose at least one"},
			{posts.NewPost{Text: "hi", Important: true}, errs.Forbidden, "administrators"},
			{posts.NewPost{Text: "hi", AttachmentIDs: []string{"a", "b", "c", "d", "e"}}, errs.Invalid, "at most 4"},
			{posts.NewPost{Text: "hi", InReplyToID: "01NOTHERE"}, errs.NotFound, "cannot see"},
		}
		for _, b := range bad {
			_, err := w.svc.Create(ctx, author, b.in)
			if !errs.Is(err, b.kind) || !strings.Contains(errs.Message(err), b.msg) {
				t.Errorf("%+v: got %v, want %v containing %q", b.in.Text[:min(len(b.in.Text), 20)], err, b.kind, b.msg)
			}
		}
		secret := w.post(t, "author", posts.NewPost{Text: "for chosen", Audience: posts.Direct, Recipients: []string{"chosen"}})
		if _, err := w.svc.Create(ctx, stranger, posts.NewPost{Text: "reply", InReplyToID: secret.ID}); !errs.Is(err, errs.NotFound) {
			t.Errorf("reply to invisible post: %v", err)
		}
		p := w.post(t, "author", posts.NewPost{Text: "<script>alert(1)</script> **bold** [x](javascript:alert(1))"})
		if strings.Contains(p.ContentHTML, "<script") || strings.Contains(p.ContentHTML, "javascript:") || !strings.Contains(p.ContentHTML, "<strong>bold</strong>") {
			t.Errorf("unsafe or unformatted HTML: %s", p.ContentHTML)
		}
		if _, err := w.svc.Edit(ctx, stranger, p.ID, posts.Change{Text: "mine now"}); !errs.Is(err, errs.Forbidden) {
			t.Errorf("edit by another: %v", err)
		}
		if _, err := w.svc.Edit(ctx, author, p.ID, posts.Change{Text: "edited text"}); err != nil {
			t.Fatal(err)
		}
		hist, err := w.svc.History(ctx, posts.ViewerOf(stranger), p.ID)
		if err != nil || len(hist) != 2 || !strings.Contains(hist[1].Source, "edited") {
			t.Fatalf("history: %v %+v", err, hist)
		}
		// Reactions: one per person, replaced, counted once; outside the set refused.
		if _, err := w.svc.React(ctx, stranger, p.ID, "🦄"); !errs.Is(err, errs.Invalid) {
			t.Errorf("unknown reaction: %v", err)
		}
		for _, e := range []string{"👍", "🎉", "🎉"} {
			if _, err := w.svc.React(ctx, stranger, p.ID, e); err != nil {
				t.Fatal(err)
			}
		}
		got, _ := w.svc.Get(ctx, posts.ViewerOf(stranger), p.ID)
		if got.ReactionsCount != 1 {
			t.Errorf("reactions_count %d, want 1", got.ReactionsCount)
		}
		rs, _ := w.svc.Reactions(ctx, posts.ViewerOf(author), p.ID, 10)
		if len(rs) != 1 || rs[0].Emoji != "🎉" {
			t.Errorf("reactions %+v", rs)
		}
		// Shares keep the audience; direct posts cannot be shared.
		share, err := w.svc.Boost(ctx, stranger, p.ID)
		if err != nil || share.Audience != posts.Company {
			t.Fatalf("boost: %v", err)
		}
		if again, _ := w.svc.Boost(ctx, stranger, p.ID); again.ID != share.ID {
			t.Error("second boost made a second share")
		}
		if _, err := w.svc.Boost(ctx, w.users["chosen"], secret.ID); !errs.Is(err, errs.Invalid) {
			t.Errorf("boost of direct post: %v", err)
		}
		// Threads: two levels, and deletion.
		c1 := w.post(t, "stranger", posts.NewPost{Text: "comment", InReplyToID: p.ID})
		c2 := w.post(t, "author", posts.NewPost{Text: "reply to comment", InReplyToID: c1.ID})
		anc, desc, err := w.svc.Thread(ctx, posts.ViewerOf(author), c1.ID)
		if err != nil || len(anc) != 1 || len(desc) != 1 || desc[0].ID != c2.ID {
			t.Fatalf("thread: %v anc=%d desc=%d", err, len(anc), len(desc))
		}
		if _, err := w.svc.Delete(ctx, stranger, p.ID); !errs.Is(err, errs.Forbidden) {
			t.Errorf("delete by another: %v", err)
		}
		if _, err := w.svc.Delete(ctx, author, p.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := w.svc.Get(ctx, posts.ViewerOf(author), p.ID); !errs.Is(err, errs.NotFound) {
			t.Errorf("deleted post still visible: %v", err)
		}
	})
}

func TestAnnouncements(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		w := newWorld(t, d)
		ctx := context.Background()
		until := w.clock.Now().Add(48 * time.Hour)
		a := w.post(t, "admin", posts.NewPost{Text: "Office closed Friday", Important: true, ImportantUntil: &until})
		for _, who := range []string{"stranger", "follower"} {
			list, err := w.svc.Announcements(ctx, posts.ViewerOf(w.users[who]))
			if err != nil || len(list) != 1 || list[0].ID != a.ID {
				t.Fatalf("%s announcements: %v %d", who, err, len(list))
			}
		}
		if err := w.svc.MarkRead(ctx, w.users["stranger"], a.ID); err != nil {
			t.Fatal(err)
		}
		if list, _ := w.svc.Announcements(ctx, posts.ViewerOf(w.users["stranger"])); len(list) != 0 {
			t.Error("announcement still pinned after reading")
		}
		if _, err := w.svc.ReadReceipts(ctx, w.users["stranger"], a.ID); !errs.Is(err, errs.Forbidden) {
			t.Errorf("receipts for a reader: %v", err)
		}
		rc, err := w.svc.ReadReceipts(ctx, w.users["admin"], a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(rc.Read) != 1 || rc.Read[0].User.Username != "stranger" || rc.Audience != 6 || len(rc.Unread) != 5 || len(rc.Reach) != 1 {
			t.Errorf("receipts: read=%d unread=%d audience=%d reach=%d", len(rc.Read), len(rc.Unread), rc.Audience, len(rc.Reach))
		}
		// E-mail to everyone: queued with the post, one message a person, never twice.
		q := jobs.New(d, w.clock, nil, jobs.Options{})
		mb := &mailbox{}
		w.svc.Jobs = q
		w.svc.RegisterJobs(q, mb)
		if _, err := w.svc.Create(ctx, w.users["author"], posts.NewPost{Text: "not important", EmailEveryone: true}); !errs.Is(err, errs.Invalid) {
			t.Errorf("e-mail for a plain post: %v", err)
		}
		w.post(t, "admin", posts.NewPost{Text: "All hands at 3pm", Important: true, EmailEveryone: true})
		for i := 0; i < 3; i++ {
			if err := q.Drain(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if len(mb.to) != 5 { // everyone active but the author
			t.Errorf("announcement e-mailed to %d people, want 5: %v", len(mb.to), mb.to)
		}
		w.clock.Advance(49 * time.Hour)
		list, _ := w.svc.Announcements(ctx, posts.ViewerOf(w.users["follower"]))
		for _, p := range list {
			if p.ID == a.ID {
				t.Error("announcement pinned after its end date")
			}
		}
	})
}

// TestFeedTrimAndFallback checks that a trimmed feed keeps FeedKeep entries and that paging
// past them still reaches older posts, without duplicates.
func TestFeedTrimAndFallback(t *testing.T) {
	d := dbtest.Open(t, "sqlite")
	w := newWorld(t, d)
	ctx := context.Background()
	total := posts.FeedKeep + posts.FeedKeep/4 + 30
	for i := 0; i < total; i++ {
		w.post(t, "author", posts.NewPost{Text: "post"})
	}
	removed, err := w.svc.TrimFeeds(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Both the author's and the follower's feeds were over the limit.
	if removed != int64(2*(total-posts.FeedKeep)) {
		t.Fatalf("trim removed %d, want %d", removed, 2*(total-posts.FeedKeep))
	}
	v := posts.ViewerOf(w.users["follower"])
	seen := map[string]bool{}
	pg := posts.Page{Limit: 40}
	for {
		page, err := w.svc.Home(ctx, v, pg)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		for _, p := range page {
			if seen[p.ID] {
				t.Fatalf("post %s twice", p.ID)
			}
			seen[p.ID] = true
		}
		pg.MaxID = page[len(page)-1].ID
	}
	if len(seen) != total {
		t.Fatalf("paged through %d posts, want %d", len(seen), total)
	}
}

// TestBackgroundFanOut checks that a large audience is fanned out by the background writer:
// not inside the posting transaction, exactly once, and only to active followers.
func TestBackgroundFanOut(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		w := newWorld(t, d)
		ctx := context.Background()
		var fans []*accounts.User
		for i := 0; i <= posts.InlineFanOut; i++ {
			u, err := w.acc.Create(ctx, accounts.CLIActor(), accounts.NewUser{Username: fmt.Sprintf("fan%03d", i),
				Email: fmt.Sprintf("fan%03d@acme.example", i), Password: "long password 1"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.fol.Follow(ctx, u.ID, w.users["author"].ID); err != nil {
				t.Fatal(err)
			}
			fans = append(fans, u)
		}
		// Big fan-outs reach the followers active within accounts.ActiveWindow: all fans but
		// the last have signed in; the last never has.
		away := fans[len(fans)-1]
		fans = fans[: len(fans)-1 : len(fans)-1]
		for _, u := range append(fans, w.users["follower"]) {
			if _, err := w.acc.CreateSession(ctx, u, "test", "127.0.0.1"); err != nil {
				t.Fatal(err)
			}
		}
		p := w.post(t, "author", posts.NewPost{Text: "to many"})
		if !p.FanOutPending {
			t.Fatal("a post to more than InlineFanOut followers was fanned out inline")
		}
		home := func(u *accounts.User) int {
			ps, err := w.svc.Home(ctx, posts.ViewerOf(u), posts.Page{})
			if err != nil {
				t.Fatal(err)
			}
			return len(ps)
		}
		if home(w.users["author"]) != 1 {
			t.Error("the author does not see their own post at once")
		}
		if home(fans[0]) != 0 {
			t.Error("a follower saw the post before the fan-out ran")
		}
		n, err := w.svc.FanOutPending(ctx, 200)
		if err != nil || n != 1 {
			t.Fatalf("fan-out handled %d, err %v", n, err)
		}
		for _, u := range append(fans, w.users["follower"]) {
			if home(u) != 1 {
				t.Fatalf("%s's feed lacks the post after fan-out", u.Username)
			}
		}
		if n, _ := w.svc.FanOutPending(ctx, 200); n != 0 {
			t.Errorf("fan-out ran again: %d", n)
		}
		if home(away) != 0 {
			t.Fatal("the fan-out wrote into the feed of someone who never signed in")
		}
		// Coming back rebuilds the feed.
		if _, err := w.acc.CreateSession(ctx, away, "test", "127.0.0.1"); err != nil {
			t.Fatal(err)
		}
		if home(away) != 1 {
			t.Fatal("the feed of someone returning was not rebuilt")
		}
		// Someone whose last visit is older than the window is skipped again, and rebuilt
		// when a session is next used.
		w.clock.Advance(accounts.ActiveWindow + time.Hour)
		p2 := w.post(t, "author", posts.NewPost{Text: "while everyone was away"})
		if _, err := w.svc.FanOutPending(ctx, 200); err != nil {
			t.Fatal(err)
		}
		if home(fans[0]) != 1 {
			t.Fatal("the fan-out wrote into the feed of someone away for longer than the window")
		}
		tok, _, err := w.acc.CreateToken(ctx, accounts.CLIActor(), fans[0].ID, "app", "read")
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := w.acc.TokenUser(ctx, tok); err != nil {
			t.Fatal(err)
		}
		ps, err := w.svc.Home(ctx, posts.ViewerOf(fans[0]), posts.Page{})
		if err != nil || len(ps) != 2 || ps[0].ID != p2.ID {
			t.Fatalf("after returning with a token: %d posts, %v", len(ps), err)
		}
	})
}
