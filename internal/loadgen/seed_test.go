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
// newest posts.FeedKeep posts that a brute-force fan-in over the seeded posts and follows
// selects, posts.Service.Home's first page equals that computation's, and paging on past
// the trimmed feed continues it without a gap. Small batches cross statement and
// transaction boundaries.
func TestSeedMatchesFanIn(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		var planHook *queryCapture
		if d.Engine == migrations.SQLite {
			planHook = &queryCapture{}
			d.AddQueryHook(planHook)
		}
		res, err := Seed(ctx, d, SeedOptions{Users: 50, Posts: 2000, Follows: 30, Days: 20, Seed: 7, Tokens: 3,
			Argon2MemoryKiB: 1024, BatchRows: 37, TxRows: 500})
		if err != nil {
			t.Fatal(err)
		}
		if res.Users != 50 || res.Posts != 2000 || res.Follows != 50*30 || len(res.Tokens) != 3 || res.Usernames[0] != "user00001" {
			t.Fatalf("result: %+v", res)
		}
		for table, want := range map[string]int64{"users": 50, "posts": 2000, "follows": 1500, "home_feed": res.FeedRows, "post_tags": res.Tags, "tokens": 3} {
			if n, err := d.NewSelect().Table(table).Count(ctx); err != nil || int64(n) != want {
				t.Errorf("%s: %d rows (%v), want %d", table, n, err, want)
			}
		}

		// Brute force, in Go, from the stored rows.
		var ps []struct {
			ID       string `bun:"id"`
			AuthorID string `bun:"author_id"`
			Audience string `bun:"audience"`
		}
		if err := d.NewSelect().Table("posts").Column("id", "author_id", "audience").
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
		fanIn := func(user string) []string {
			var out []string
			for _, p := range ps {
				if p.AuthorID == user || follows[user][p.AuthorID] && p.Audience != string(posts.Direct) && p.Audience != string(posts.Group) {
					out = append(out, p.ID)
				}
			}
			return out
		}

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
