package loadgen

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/uptrace/bun"

	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/db"
	"github.com/atrium-social/atrium/internal/ids"
	"github.com/atrium-social/atrium/internal/posts"
	"github.com/atrium-social/atrium/internal/testutil/dbtest"
	"github.com/atrium-social/atrium/migrations"
)

// TestSeedMatchesFanIn proves the seed faithful: every seeded home feed holds exactly the
// newest posts.FeedKeep posts that a brute-force fan-in over the seeded posts, follows and
// group memberships selects, posts.Service.Home's first page equals that computation's, and
// paging on past the trimmed feed continues it without a gap. Small batches cross statement
// and transaction boundaries.
func TestSeedMatchesFanIn(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		var planHook *queryCapture
		if d.Engine == migrations.SQLite {
			planHook = &queryCapture{}
			d.AddQueryHook(planHook)
		}
		res, err := Seed(ctx, d, SeedOptions{Users: 50, Posts: 2000, Follows: 30, Days: 20, Seed: 7, Tokens: 3,
			Groups: 8, GroupMemberships: 3, GroupPostPercent: 15, Argon2MemoryKiB: 1024, BatchRows: 37, TxRows: 500})
		if err != nil {
			t.Fatal(err)
		}
		if res.Users != 50 || res.Posts != 2000 || res.Follows != 50*30 || len(res.Tokens) != 3 || res.Usernames[0] != "user00001" ||
			res.Groups != 8 || res.Memberships != 50*3 || res.GroupPosts < 200 || res.GroupPosts > 400 {
			t.Fatalf("result: %+v", res)
		}
		for table, want := range map[string]int64{"users": 50, "posts": 2000, "follows": 1500, "home_feed": res.FeedRows, "post_tags": res.Tags, "tokens": 3,
			"groups": 8, "group_members": 150} {
			if n, err := d.NewSelect().Table(table).Count(ctx); err != nil || int64(n) != want {
				t.Errorf("%s: %d rows (%v), want %d", table, n, err, want)
			}
		}

		// Brute force, in Go, from the stored rows.
		var ps []struct {
			ID       string  `bun:"id"`
			AuthorID string  `bun:"author_id"`
			Audience string  `bun:"audience"`
			GroupID  *string `bun:"group_id"`
		}
		if err := d.NewSelect().Table("posts").Column("id", "author_id", "audience", "group_id").
			Where("in_reply_to_id IS NULL AND deleted_at IS NULL").OrderExpr("id DESC").Scan(ctx, &ps); err != nil {
			t.Fatal(err)
		}
		var fs []struct {
			Follower string `bun:"follower_id"`
			Followee string `bun:"followee_id"`
		}
		if err := d.NewSelect().Table("follows").Column("follower_id", "followee_id").Scan(ctx, &fs); err != nil {
			t.Fatal(err)
		}
		follows := map[string]map[string]bool{}
		for _, f := range fs {
			if follows[f.Follower] == nil {
				follows[f.Follower] = map[string]bool{}
			}
			follows[f.Follower][f.Followee] = true
		}
		var ms []struct {
			GroupID   string `bun:"group_id"`
			AccountID string `bun:"account_id"`
			State     string `bun:"state"`
		}
		if err := d.NewSelect().Table("group_members").Column("group_id", "account_id", "state").Scan(ctx, &ms); err != nil {
			t.Fatal(err)
		}
		member := map[string]bool{} // group id + " " + account id
		for _, m := range ms {
			member[m.GroupID+" "+m.AccountID] = m.State == "member"
		}
		fanIn := func(user string) []string {
			var out []string
			for _, p := range ps {
				inGroup := p.Audience == string(posts.Group)
				if inGroup && (p.GroupID == nil || !member[*p.GroupID+" "+p.AuthorID]) {
					t.Fatalf("group post %s is not by a member of its group", p.ID)
				}
				if p.AuthorID == user || follows[user][p.AuthorID] && p.Audience != string(posts.Direct) && !inGroup ||
					inGroup && member[*p.GroupID+" "+user] {
					out = append(out, p.ID)
				}
			}
			return out
		}
		checkGroups(t, d, 8, 3, res.UserIDs)

		svc := posts.New(posts.Deps{DB: d})
		trimmed := 0
		for i, user := range res.UserIDs {
			want := fanIn(user)
			if len(want) > posts.FeedKeep {
				trimmed++
			}
			var feed []string
			if err := d.NewSelect().Table("home_feed").Column("post_id").Where("account_id = ?", user).OrderExpr("post_id DESC").Scan(ctx, &feed); err != nil {
				t.Fatal(err)
			}
			if keep := want[:min(len(want), posts.FeedKeep)]; !slices.Equal(feed, keep) {
				t.Fatalf("%s: materialised feed has %d entries, fan-in keeps %d; first difference at %d", res.Usernames[i], len(feed), len(keep), firstDiff(feed, keep))
			}
			page, err := svc.Home(ctx, &posts.Viewer{ID: user, Local: true}, posts.Page{Limit: 20})
			if err != nil {
				t.Fatal(err)
			}
			if got := postIDs(page); !slices.Equal(got, want[:min(len(want), 20)]) {
				t.Fatalf("%s: first page %v, fan-in %v", res.Usernames[i], got, want[:min(len(want), 20)])
			}
			if i < 3 { // page through the whole feed and past its trimmed end
				var all []string
				pg := posts.Page{Limit: 40}
				for {
					page, err := svc.Home(ctx, &posts.Viewer{ID: user, Local: true}, pg)
					if err != nil {
						t.Fatal(err)
					}
					if len(page) == 0 {
						break
					}
					all = append(all, postIDs(page)...)
					pg.MaxID = page[len(page)-1].ID
				}
				if !slices.Equal(all, want) {
					t.Fatalf("%s: paging gave %d posts, fan-in %d; first difference at %d", res.Usernames[i], len(all), len(want), firstDiff(all, want))
				}
			}
		}
		if trimmed == 0 {
			t.Fatalf("no feed reached posts.FeedKeep: the trim is not exercised")
		}

		// People can sign in and their tokens work.
		var u accounts.User
		if err := d.NewSelect().Model(&u).Where("username = 'user00002'").Scan(ctx); err != nil {
			t.Fatal(err)
		}
		if ok, err := accounts.NewHasher(1024, 1).Verify(ctx, u.PasswordHash, SeedPassword); err != nil || !ok {
			t.Fatalf("seed password does not verify: %v", err)
		}
		var tok accounts.Token
		if err := d.NewSelect().Model(&tok).Where("token_hash = ?", ids.Hash(res.Tokens[1])).Scan(ctx); err != nil || tok.UserID != u.ID || tok.Scopes != "read write" {
			t.Fatalf("token of user00002: %+v, %v", tok, err)
		}

		if planHook != nil {
			q := planHook.find("home_feed", "ORDER BY")
			if q == "" {
				t.Fatal("the home feed query was not seen")
			}
			plan := explain(t, d, q)
			if !strings.Contains(plan, "sqlite_autoindex_home_feed_1 (account_id=?") || strings.Contains(plan, "SCAN") || strings.Contains(plan, "TEMP B-TREE") {
				t.Fatalf("home feed query does not read the feed's primary key as a range:\n%s\n%s", q, plan)
			}
		}

		// A second seed needs --force, and numbers its people after the first.
		if _, err := Seed(ctx, d, SeedOptions{Users: 5, Posts: 10, Follows: 2, Days: 1, Argon2MemoryKiB: 1024}); err == nil || !strings.Contains(err.Error(), "--force") {
			t.Fatalf("seeding over posts: %v", err)
		}
		more, err := Seed(ctx, d, SeedOptions{Users: 5, Posts: 10, Follows: 2, Days: 1, Argon2MemoryKiB: 1024, Force: true})
		if err != nil {
			t.Fatal(err)
		}
		if more.Usernames[0] != "user00051" {
			t.Fatalf("forced seed starts at %s", more.Usernames[0])
		}
	})
}

// TestSeedViewerShape checks the P3 viewer: someone with a load token follows 300 people and
// is a member of 20 groups, and part of their home feed comes from those groups.
func TestSeedViewerShape(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		res, err := Seed(ctx, d, SeedOptions{Users: 400, Posts: 4000, Follows: 300, Days: 30, Seed: 3, Tokens: 2,
			Groups: 40, GroupMemberships: 20, GroupPostPercent: 15, Argon2MemoryKiB: 1024})
		if err != nil {
			t.Fatal(err)
		}
		checkGroups(t, d, 40, 20, res.UserIDs)
		viewer := res.UserIDs[0] // user00001 holds the first token, as `atrium dev load` uses them
		follows, err := d.NewSelect().Table("follows").Where("follower_id = ?", viewer).Count(ctx)
		if err != nil || follows != 300 {
			t.Fatalf("the viewer follows %d people (%v), want 300", follows, err)
		}
		groups, err := d.NewSelect().Table("group_members").Where("account_id = ? AND state = 'member'", viewer).Count(ctx)
		if err != nil || groups != 20 {
			t.Fatalf("the viewer is a member of %d groups (%v), want 20", groups, err)
		}
		fromGroups, err := d.NewSelect().TableExpr("home_feed AS h").Join("JOIN posts AS p ON p.id = h.post_id").
			Where("h.account_id = ? AND p.audience = 'group' AND p.author_id <> ?", viewer, viewer).Count(ctx)
		if err != nil || fromGroups == 0 {
			t.Fatalf("the viewer's home feed has %d group posts by others (%v)", fromGroups, err)
		}
	})
}

// checkGroups checks the seeded groups as groups.Service would have left them: everyone is a
// member of perPerson groups, each group with members has its first member as creator and
// admin, members_count counts the members, and open, closed and secret groups are all there.
func checkGroups(t *testing.T, d *db.DB, groups, perPerson int, userIDs []string) {
	t.Helper()
	ctx := context.Background()
	var gs []struct {
		ID           string `bun:"id"`
		Handle       string `bun:"handle"`
		Visibility   string `bun:"visibility"`
		CreatorID    string `bun:"creator_id"`
		MembersCount int    `bun:"members_count"`
	}
	if err := d.NewSelect().Table("groups").Column("id", "handle", "visibility", "creator_id", "members_count").Scan(ctx, &gs); err != nil {
		t.Fatal(err)
	}
	if len(gs) != groups {
		t.Fatalf("%d groups, want %d", len(gs), groups)
	}
	kinds := map[string]int{}
	for _, g := range gs {
		kinds[g.Visibility]++
		var ms []struct {
			AccountID string `bun:"account_id"`
			Role      string `bun:"role"`
		}
		if err := d.NewSelect().Table("group_members").Column("account_id", "role").Where("group_id = ? AND state = 'member'", g.ID).
			OrderExpr("account_id").Scan(ctx, &ms); err != nil {
			t.Fatal(err)
		}
		if g.MembersCount != len(ms) {
			t.Fatalf("group %s: members_count %d, %d members", g.Handle, g.MembersCount, len(ms))
		}
		if len(ms) > 0 && (ms[0].AccountID != g.CreatorID || ms[0].Role != "admin") {
			t.Fatalf("group %s: creator %s, first member %+v", g.Handle, g.CreatorID, ms[0])
		}
	}
	if kinds["open"] == 0 || kinds["closed"] == 0 || kinds["secret"] == 0 {
		t.Fatalf("group kinds: %v", kinds)
	}
	for _, u := range userIDs {
		n, err := d.NewSelect().Table("group_members").Where("account_id = ? AND state = 'member'", u).Count(ctx)
		if err != nil || n != int64(perPerson) {
			t.Fatalf("%s is a member of %d groups (%v), want %d", u, n, err, perPerson)
		}
	}
}

func postIDs(ps []*posts.Post) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.ID
	}
	return out
}

func firstDiff(a, b []string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// queryCapture records the queries a database runs.
type queryCapture struct {
	mu sync.Mutex
	qs []string
}

func (c *queryCapture) BeforeQuery(ctx context.Context, _ *bun.QueryEvent) context.Context {
	return ctx
}

func (c *queryCapture) AfterQuery(_ context.Context, e *bun.QueryEvent) {
	c.mu.Lock()
	c.qs = append(c.qs, e.Query)
	c.mu.Unlock()
}

// find returns the first recorded SELECT containing every part.
func (c *queryCapture) find(parts ...string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
next:
	for _, q := range c.qs {
		if !strings.HasPrefix(q, "SELECT") {
			continue
		}
		for _, p := range parts {
			if !strings.Contains(q, p) {
				continue next
			}
		}
		return q
	}
	return ""
}

func explain(t *testing.T, d *db.DB, q string) string {
	t.Helper()
	rows, err := d.QueryContext(context.Background(), "EXPLAIN QUERY PLAN "+q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		b.WriteString(detail + "\n")
	}
	return b.String()
}
