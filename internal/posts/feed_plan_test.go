package posts

import (
	"context"
	"strings"
	"testing"

	"github.com/uptrace/bun"

	"github.com/atrium-social/atrium/internal/testutil/dbtest"
)

// TestHomeQueryPlan: a home page reads one range of the viewer's materialised feed and looks
// up each of its posts, and the viewer's state of each, by key, so its cost grows with the
// page size and never with the size of the database (PERFORMANCE.md). SQLite keeps no
// statistics here, so the plan on an empty database is the plan it runs on a full one.
func TestHomeQueryPlan(t *testing.T) {
	d := dbtest.Open(t, "sqlite")
	for _, q := range []string{homeHeadsNewest, homeHeadsOldest} {
		rows, err := d.DB.DB.QueryContext(context.Background(), "EXPLAIN QUERY PLAN "+q, "someone", "~", "", 20)
		if err != nil {
			t.Fatal(err)
		}
		var plan strings.Builder
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan.WriteString(detail + "\n")
		}
		rows.Close()
		p := plan.String()
		for _, want := range []string{"SEARCH h USING COVERING INDEX sqlite_autoindex_home_feed_1 (account_id=? AND post_id>? AND post_id<?)",
			"SEARCH p USING INDEX sqlite_autoindex_posts_1 (id=?)", "(post_id=? AND account_id=?)", "(reblog_of_id=? AND author_id=?)",
			"(account_id=? AND post_id=?)"} {
			if !strings.Contains(p, want) {
				t.Errorf("plan lacks %q:\n%s", want, p)
			}
		}
		if strings.Contains(p, "SCAN") || strings.Contains(p, "TEMP B-TREE") {
			t.Errorf("the home page query scans or sorts:\n%s", p)
		}
	}
}

// TestUniqueAudience: someone both mentioned and following, or an author who is also a member
// of the group, is in a post's audience once (one feed entry, one live update).
func TestUniqueAudience(t *testing.T) {
	got := unique([]string{"author", "bob", "carol", "bob", "author"})
	if strings.Join(got, ",") != "author,bob,carol" {
		t.Errorf("unique = %v", got)
	}
}

// TestTagFanOutPlan: a batch of posts reaches its hashtags' followers from the posts' own
// tags, never from a walk over the posts table. Without the CROSS JOINs, SQLite began from
// posts_reblog_idx (every top-level post) once the batch had many ids, which held the write
// lock for seconds on the 1M-post load dataset.
func TestTagFanOutPlan(t *testing.T) {
	d := dbtest.Open(t, "sqlite")
	ids := make([]string, 100)
	for i := range ids {
		ids[i] = strings.Repeat("0", 20) + string(rune('A'+i%26)) + strings.Repeat("1", 5)
	}
	q := d.DB.NewRaw(tagFanOutSQL, bun.In(ids), bun.In(tagFanOutAudiences)).String()
	rows, err := d.DB.DB.QueryContext(context.Background(), "EXPLAIN QUERY PLAN "+q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if len(plan) == 0 || !strings.HasPrefix(plan[0], "SEARCH t USING COVERING INDEX sqlite_autoindex_post_tags_1 (post_id=?)") {
		t.Fatalf("the hashtag fan-out does not start from the posts' tags:\n%s", strings.Join(plan, "\n"))
	}
	for _, step := range plan {
		if strings.Contains(step, "SCAN") || strings.Contains(step, "posts_reblog_idx") {
			t.Errorf("the hashtag fan-out walks a table: %q in\n%s", step, strings.Join(plan, "\n"))
		}
	}
}
