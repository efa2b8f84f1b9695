package groups_test

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/clock"
	"github.com/atrium-social/atrium/internal/db"
	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/follows"
	"github.com/atrium-social/atrium/internal/groups"
	"github.com/atrium-social/atrium/internal/mail"
	"github.com/atrium-social/atrium/internal/markup"
	"github.com/atrium-social/atrium/internal/orgs"
	"github.com/atrium-social/atrium/internal/posts"
	"github.com/atrium-social/atrium/internal/testutil/dbtest"
)

type nomail struct{}

func (nomail) Send(context.Context, mail.Message) error { return nil }

type world struct {
	g     *groups.Service
	p     *posts.Service
	acc   *accounts.Service
	clock *clock.Fake
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
	w := &world{acc: acc, clock: c, u: map[string]*accounts.User{"admin": admin}}
	for _, n := range []string{"owner", "mod", "member", "outsider", "asker", "guest"} {
		u, err := acc.Create(ctx, accounts.CLIActor(), accounts.NewUser{Username: n, Email: n + "@acme.example", Password: "long password 1"})
		if err != nil {
			t.Fatal(err)
		}
		w.u[n] = u
	}
	fol := &follows.Service{DB: d, Clock: c}
	md := markup.New(markup.Options{LocalHost: "acme.example",
		TagURL:     func(tag string) string { return "https://acme.example/tags/" + tag },
		ProfileURL: func(m markup.Mention) string { return "https://acme.example/people/" + m.Username }})
	w.p = posts.New(posts.Deps{DB: d, Clock: c, Log: log, Accounts: acc, Follows: fol, Markup: md, BaseURL: base})
	fol.Hooks = append(fol.Hooks, w.p)
	w.g = groups.New(groups.Deps{DB: d, Clock: c, Log: log, Accounts: acc, Posts: w.p, BaseURL: base})
	w.p.Groups = w.g
	return w
}

func (w *world) v(name string) *posts.Viewer { return posts.ViewerOf(w.u[name]) }

func wantKind(t *testing.T, err error, k errs.Kind, contains string) {
	t.Helper()
	if !errs.Is(err, k) || !strings.Contains(errs.Message(err), contains) {
		t.Fatalf("want %v containing %q, got %v", k, contains, err)
	}
}

// group creates a group owned by "owner" with "mod" as moderator and "member" as member.
func (w *world) group(t *testing.T, vis groups.Visibility) *groups.Group {
	t.Helper()
	ctx := context.Background()
	g, err := w.g.Create(ctx, w.u["owner"], groups.NewGroup{DisplayName: "Launch " + string(vis), Note: "about", Visibility: vis})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"mod", "member"} {
		if _, err := w.g.Invite(ctx, w.u["owner"], g.ID, w.u[n]); err != nil {
			t.Fatal(err)
		}
		if m, err := w.g.Join(ctx, w.u[n], g.ID, ""); err != nil || !m.Active() {
			t.Fatalf("join %s after invitation: %+v %v", n, m, err)
		}
	}
	if err := w.g.SetRole(ctx, w.u["owner"], g.ID, w.u["mod"].ID, groups.Moderator); err != nil {
		t.Fatal(err)
	}
	return g
}

func ids(ps []*posts.Post) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.ID
	}
	return out
}

func TestVisibilityMatrix(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		w := newWorld(t, d)
		for _, vis := range []groups.Visibility{groups.Open, groups.Closed, groups.Secret} {
			t.Run(string(vis), func(t *testing.T) {
				g := w.group(t, vis)
				if vis == groups.Secret && !strings.HasPrefix(g.Handle, "launch_secret_") || len(g.Handle) < 20 && vis == groups.Secret {
					t.Fatalf("secret handle %q must carry a random suffix", g.Handle)
				}
				w.clock.Advance(time.Second)
				post, err := w.p.Create(ctx, w.u["member"], posts.NewPost{Text: "plan for @outsider #launch", GroupID: g.ID})
				if err != nil {
					t.Fatal(err)
				}
				if post.Audience != posts.Group {
					t.Fatalf("audience %s", post.Audience)
				}
				w.clock.Advance(time.Second)
				comment, err := w.p.Create(ctx, w.u["mod"], posts.NewPost{Text: "agreed", InReplyToID: post.ID})
				if err != nil {
					t.Fatal(err)
				}
				if comment.GroupID == nil || *comment.GroupID != g.ID || comment.Audience != posts.Group {
					t.Fatalf("comment must stay in the group: %+v", comment)
				}
				for viewer, want := range map[string]bool{"owner": true, "mod": true, "member": true,
					"outsider": vis == groups.Open, "admin": vis == groups.Open, "": false} {
					var v *posts.Viewer
					if viewer != "" {
						v = w.v(viewer)
					}
					// Single post, comment, timelines, search and the home feed agree.
					_, err := w.p.Get(ctx, v, post.ID)
					if got := err == nil; got != want {
						t.Errorf("%s sees the post: %v, want %v (%v)", viewer, got, want, err)
					} else if !want && !errs.Is(err, errs.NotFound) {
						t.Errorf("%s: hidden post must be NotFound, got %v", viewer, err)
					}
					if _, err := w.p.Get(ctx, v, comment.ID); (err == nil) != want {
						t.Errorf("%s sees the comment: %v, want %v", viewer, err == nil, want)
					}
					tl, err := w.g.Timeline(ctx, v, g.ID, posts.Page{})
					if got := err == nil && slices.Contains(ids(tl), post.ID); got != want {
						t.Errorf("%s reads the group timeline: %v, want %v (%v)", viewer, got, want, err)
					}
					if !want && vis == groups.Secret && !errs.Is(err, errs.NotFound) {
						t.Errorf("%s: secret timeline must be NotFound, got %v", viewer, err)
					}
					if v != nil {
						found, err := w.p.Search(ctx, v, "plan", 20)
						if err != nil {
							t.Fatal(err)
						}
						if got := slices.Contains(ids(found), post.ID); got != want {
							t.Errorf("%s finds the post in search: %v, want %v", viewer, got, want)
						}
						tag, err := w.p.Tag(ctx, v, "launch", posts.Page{})
						if err != nil {
							t.Fatal(err)
						}
						if got := slices.Contains(ids(tag), post.ID); got != want {
							t.Errorf("%s sees the post in the tag timeline: %v, want %v", viewer, got, want)
						}
						home, err := w.p.Home(ctx, v, posts.Page{})
						if err != nil {
							t.Fatal(err)
						}
						member := viewer == "owner" || viewer == "mod" || viewer == "member"
						if got := slices.Contains(ids(home), post.ID); got != member {
							t.Errorf("%s has the post in the home feed: %v, want %v", viewer, got, member)
						}
						company, err := w.p.Company(ctx, v, posts.Page{})
						if err != nil {
							t.Fatal(err)
						}
						if slices.Contains(ids(company), post.ID) {
							t.Errorf("%s: a group post must not be on the company timeline", viewer)
						}
					}
					view, err := w.g.Get(ctx, v, g.ID)
					seesProfile := vis != groups.Secret || viewer == "owner" || viewer == "mod" || viewer == "member"
					if (err == nil) != seesProfile {
						t.Errorf("%s sees the group profile: %v, want %v (%v)", viewer, err == nil, seesProfile, err)
					}
					if err == nil && view.Content != want {
						t.Errorf("%s: Content=%v, want %v", viewer, view.Content, want)
					}
					if _, err := w.g.Members(ctx, v, g.ID, groups.Joined, "", 0); (err == nil) != want {
						t.Errorf("%s lists members: %v, want %v", viewer, err, want)
					}
				}
				// Directory: secret groups only for their members.
				for viewer, want := range map[string]bool{"outsider": vis != groups.Secret, "member": true} {
					list, err := w.g.List(ctx, w.v(viewer), groups.Directory, "", 0)
					if err != nil {
						t.Fatal(err)
					}
					found := slices.ContainsFunc(list, func(x *groups.View) bool { return x.Group.ID == g.ID })
					if found != want {
						t.Errorf("%s finds the %s group in the directory: %v, want %v", viewer, vis, found, want)
					}
				}
				// Lookup by handle answers like Get.
				if _, err := w.g.Lookup(ctx, w.v("outsider"), g.Handle); (err == nil) != (vis != groups.Secret) {
					t.Errorf("outsider looks up %s: %v", vis, err)
				}
			})
		}
	})
}

func TestMembership(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		w := newWorld(t, d)
		open, closed, secret := w.group(t, groups.Open), w.group(t, groups.Closed), w.group(t, groups.Secret)

		// Open: join at once. Closed: a request for the admins. Secret: does not exist.
		if m, err := w.g.Join(ctx, w.u["asker"], open.ID, ""); err != nil || !m.Active() {
			t.Fatalf("open join: %+v %v", m, err)
		}
		if m, err := w.g.Join(ctx, w.u["asker"], closed.ID, ""); err != nil || m.State != groups.Requested {
			t.Fatalf("closed join: %+v %v", m, err)
		}
		_, err := w.g.Join(ctx, w.u["asker"], secret.ID, "")
		wantKind(t, err, errs.NotFound, "does not exist")

		// Requests: only admins and moderators see and answer them.
		_, err = w.g.Members(ctx, w.v("member"), closed.ID, groups.Requested, "", 0)
		wantKind(t, err, errs.Forbidden, "only the admins")
		_, err = w.g.Authorize(ctx, w.u["member"], closed.ID, w.u["asker"].ID)
		wantKind(t, err, errs.Forbidden, "only the admins and moderators")
		reqs, err := w.g.Members(ctx, w.v("mod"), closed.ID, groups.Requested, "", 0)
		if err != nil || len(reqs) != 1 || reqs[0].Account.Username != "asker" {
			t.Fatalf("requests: %+v %v", reqs, err)
		}
		if m, err := w.g.Authorize(ctx, w.u["mod"], closed.ID, w.u["asker"].ID); err != nil || !m.Active() {
			t.Fatalf("authorize: %+v %v", m, err)
		}
		_, err = w.g.Authorize(ctx, w.u["mod"], closed.ID, w.u["asker"].ID)
		wantKind(t, err, errs.Conflict, "no request")

		// Reject a request.
		if _, err := w.g.Join(ctx, w.u["guest"], closed.ID, ""); err != nil {
			t.Fatal(err)
		}
		if err := w.g.Reject(ctx, w.u["owner"], closed.ID, w.u["guest"].ID); err != nil {
			t.Fatal(err)
		}
		if m, _ := w.g.MembershipOf(ctx, closed.ID, w.u["guest"].ID); m != nil {
			t.Fatalf("rejected request kept: %+v", m)
		}

		// Secret: members cannot invite, moderators can; the invitation is the way in.
		_, err = w.g.Invite(ctx, w.u["member"], secret.ID, w.u["guest"])
		wantKind(t, err, errs.Forbidden, "only the admins and moderators")
		_, err = w.g.Invite(ctx, w.u["outsider"], secret.ID, w.u["guest"])
		wantKind(t, err, errs.NotFound, "does not exist")
		if _, err := w.g.Invite(ctx, w.u["mod"], secret.ID, w.u["guest"]); err != nil {
			t.Fatal(err)
		}
		inv, err := w.g.List(ctx, w.v("guest"), groups.Invitations, "", 0)
		if err != nil || len(inv) != 1 || inv[0].Group.ID != secret.ID || inv[0].Content {
			t.Fatalf("invitations: %+v %v", inv, err)
		}
		// Invited people see the name (to decide), not the content.
		_, err = w.g.Timeline(ctx, w.v("guest"), secret.ID, posts.Page{})
		wantKind(t, err, errs.Forbidden, "only members")
		if m, err := w.g.Join(ctx, w.u["guest"], secret.ID, ""); err != nil || !m.Active() {
			t.Fatalf("accept invitation: %+v %v", m, err)
		}

		// Posting rights: non-members cannot post; announcement groups take admins' posts only.
		_, err = w.p.Create(ctx, w.u["outsider"], posts.NewPost{Text: "hi", GroupID: closed.ID})
		wantKind(t, err, errs.Forbidden, "join")
		_, err = w.p.Create(ctx, w.u["outsider"], posts.NewPost{Text: "hi", GroupID: secret.ID})
		wantKind(t, err, errs.NotFound, "does not exist")
		admins := "admins"
		posting := groups.Posting(admins)
		if _, err := w.g.Update(ctx, w.u["owner"], open.ID, groups.Update{Posting: &posting}); err != nil {
			t.Fatal(err)
		}
		_, err = w.p.Create(ctx, w.u["member"], posts.NewPost{Text: "hi", GroupID: open.ID})
		wantKind(t, err, errs.Forbidden, "only the admins")
		ann, err := w.p.Create(ctx, w.u["mod"], posts.NewPost{Text: "all hands", GroupID: open.ID, Important: true})
		if err != nil {
			t.Fatal(err)
		}
		// Anyone here may comment on an open group's posts; members comment in announcement groups.
		if _, err := w.p.Create(ctx, w.u["outsider"], posts.NewPost{Text: "thanks", InReplyToID: ann.ID}); err != nil {
			t.Fatal(err)
		}
		_, err = w.p.Create(ctx, w.u["member"], posts.NewPost{Text: "x", GroupID: closed.ID, Important: true})
		wantKind(t, err, errs.Forbidden, "admins and moderators can mark")
		_, err = w.g.Update(ctx, w.u["mod"], open.ID, groups.Update{Posting: &posting})
		wantKind(t, err, errs.Forbidden, "only the admins")

		// Removing a member takes the group's posts out of their feed at once.
		w.clock.Advance(time.Second)
		p, err := w.p.Create(ctx, w.u["owner"], posts.NewPost{Text: "closed news", GroupID: closed.ID})
		if err != nil {
			t.Fatal(err)
		}
		home, _ := w.p.Home(ctx, w.v("asker"), posts.Page{})
		if !slices.Contains(ids(home), p.ID) {
			t.Fatal("member's feed lacks the group post")
		}
		if err := w.g.Remove(ctx, w.u["mod"], closed.ID, w.u["asker"].ID); err != nil {
			t.Fatal(err)
		}
		home, _ = w.p.Home(ctx, w.v("asker"), posts.Page{})
		if slices.Contains(ids(home), p.ID) {
			t.Fatal("a removed member still has the group post in their feed")
		}
		if _, err := w.p.Get(ctx, w.v("asker"), p.ID); !errs.Is(err, errs.NotFound) {
			t.Fatalf("a removed member still reads the post: %v", err)
		}
		// Moderators cannot remove admins; the last admin cannot leave or be demoted.
		err = w.g.Remove(ctx, w.u["mod"], closed.ID, w.u["owner"].ID)
		wantKind(t, err, errs.Forbidden, "only admins")
		err = w.g.Leave(ctx, w.u["owner"], closed.ID)
		wantKind(t, err, errs.Conflict, "only admin")
		err = w.g.SetRole(ctx, w.u["owner"], closed.ID, w.u["owner"].ID, groups.Member)
		wantKind(t, err, errs.Conflict, "at least one admin")
		if err := w.g.Leave(ctx, w.u["member"], closed.ID); err != nil {
			t.Fatal(err)
		}
		view, err := w.g.Get(ctx, w.v("owner"), closed.ID)
		if err != nil || view.Group.MembersCount != 2 {
			t.Fatalf("members count after join, approve, remove, leave: %+v %v", view, err)
		}

		// Pins and files.
		if err := w.g.Pin(ctx, w.u["member"], open.ID, ann.ID, true); !errs.Is(err, errs.Forbidden) {
			t.Fatalf("member pins: %v", err)
		}
		if err := w.g.Pin(ctx, w.u["owner"], open.ID, ann.ID, true); err != nil {
			t.Fatal(err)
		}
		pins, err := w.g.Pins(ctx, w.v("outsider"), open.ID)
		if err != nil || len(pins) != 1 || pins[0].ID != ann.ID {
			t.Fatalf("pins: %+v %v", pins, err)
		}
		if err := w.g.Pin(ctx, w.u["owner"], open.ID, p.ID, true); err == nil {
			t.Fatal("pinned another group's post")
		}

		// Bad input.
		_, err = w.g.Create(ctx, w.u["owner"], groups.NewGroup{DisplayName: "  "})
		wantKind(t, err, errs.Invalid, "name")
		_, err = w.g.Create(ctx, w.u["owner"], groups.NewGroup{DisplayName: "x", Visibility: "hidden"})
		wantKind(t, err, errs.Invalid, "open, closed or secret")
		_, err = w.g.Create(ctx, w.u["owner"], groups.NewGroup{DisplayName: strings.Repeat("n", 81)})
		wantKind(t, err, errs.Invalid, "80 characters")
		sec := groups.Secret
		_, err = w.g.Update(ctx, w.u["owner"], open.ID, groups.Update{Visibility: &sec})
		wantKind(t, err, errs.Invalid, "cannot become secret")
		_, err = w.g.Invite(ctx, w.u["owner"], open.ID, w.u["owner"])
		wantKind(t, err, errs.Conflict, "already a member")
		// Same names get distinct handles; a group cannot take a person's name.
		a, _ := w.g.Create(ctx, w.u["owner"], groups.NewGroup{DisplayName: "Design"})
		b, _ := w.g.Create(ctx, w.u["owner"], groups.NewGroup{DisplayName: "Design"})
		c, _ := w.g.Create(ctx, w.u["owner"], groups.NewGroup{DisplayName: "Owner"})
		if a.Handle == b.Handle || c.Handle == "owner" {
			t.Fatalf("handles: %s %s %s", a.Handle, b.Handle, c.Handle)
		}
	})
}

func TestMentionsDoNotWidenGroupPosts(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		w := newWorld(t, d)
		g := w.group(t, groups.Closed)
		p, err := w.p.Create(ctx, w.u["member"], posts.NewPost{Text: "ping @outsider and @mod", GroupID: g.ID})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.p.Get(ctx, w.v("outsider"), p.ID); !errs.Is(err, errs.NotFound) {
			t.Fatalf("a mention let a non-member read a closed group's post: %v", err)
		}
		home, _ := w.p.Home(ctx, w.v("outsider"), posts.Page{})
		if slices.Contains(ids(home), p.ID) {
			t.Fatal("a mention put a closed group's post in a non-member's feed")
		}
		_, err = w.p.Create(ctx, w.u["member"], posts.NewPost{Text: "x", GroupID: g.ID, Recipients: []string{"outsider"}})
		wantKind(t, err, errs.Invalid, "goes to the group")
		// A share of a group post is refused: it would carry it outside the group.
		if _, err := w.p.Boost(ctx, w.u["mod"], p.ID); err == nil {
			t.Fatal("a group post was shared")
		}
	})
}

// TestModeratorsDeleteGroupPosts: a group's admins and moderators delete anyone's posts and
// comments in it; members delete only their own; nobody moderates a group by mentioning it.
func TestModeratorsDeleteGroupPosts(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		w := newWorld(t, d)
		g := w.group(t, groups.Open)
		p, err := w.p.Create(ctx, w.u["member"], posts.NewPost{Text: "off topic", GroupID: g.ID})
		if err != nil {
			t.Fatal(err)
		}
		c, err := w.p.Create(ctx, w.u["owner"], posts.NewPost{Text: "please keep it on topic", InReplyToID: p.ID})
		if err != nil {
			t.Fatal(err)
		}
		// The outsider can read an open group but moderates nothing; a member cannot delete
		// the owner's comment.
		_, err = w.p.Delete(ctx, w.u["outsider"], p.ID)
		wantKind(t, err, errs.Forbidden, "moderator of the group")
		_, err = w.p.Delete(ctx, w.u["member"], c.ID)
		wantKind(t, err, errs.Forbidden, "moderator of the group")
		if _, err := w.p.Delete(ctx, w.u["mod"], p.ID); err != nil {
			t.Fatalf("the moderator could not delete a post in the group: %v", err)
		}
		if _, err := w.p.Get(ctx, w.v("owner"), p.ID); !errs.Is(err, errs.NotFound) {
			t.Fatalf("the deleted post is still there: %v", err)
		}
		// Outside the group a moderator is nobody special.
		own, err := w.p.Create(ctx, w.u["member"], posts.NewPost{Text: "my own post"})
		if err != nil {
			t.Fatal(err)
		}
		_, err = w.p.Delete(ctx, w.u["mod"], own.ID)
		wantKind(t, err, errs.Forbidden, "only the author")
	})
}
