package lists_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/atrium-social/atrium/internal/clock"
	"github.com/atrium-social/atrium/internal/db"
	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/follows"
	"github.com/atrium-social/atrium/internal/lists"
	"github.com/atrium-social/atrium/internal/testutil/dbtest"
)

func ptr[T any](v T) *T { return &v }

func TestLists(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		clk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
		fs := &follows.Service{DB: d, Clock: clk}
		s := &lists.Service{DB: d, Clock: clk, Follows: fs}

		if _, err := s.Create(ctx, "alice", lists.Input{Title: ptr("  ")}); !errs.Is(err, errs.Invalid) {
			t.Fatalf("empty title: %v", err)
		}
		if _, err := s.Create(ctx, "alice", lists.Input{Title: ptr("x"), RepliesPolicy: ptr("all")}); !errs.Is(err, errs.Invalid) {
			t.Fatalf("bad policy: %v", err)
		}
		l, err := s.Create(ctx, "alice", lists.Input{Title: ptr(" Team ")})
		if err != nil || l.Title != "Team" || l.RepliesPolicy != lists.RepliesList || l.Exclusive {
			t.Fatalf("create: %+v %v", l, err)
		}
		if _, err := s.Get(ctx, "bob", l.ID); !errs.Is(err, errs.NotFound) {
			t.Fatalf("another's list: %v", err)
		}
		if _, err := s.Update(ctx, "bob", l.ID, lists.Input{Title: ptr("mine")}); !errs.Is(err, errs.NotFound) {
			t.Fatalf("update another's list: %v", err)
		}
		l, err = s.Update(ctx, "alice", l.ID, lists.Input{RepliesPolicy: ptr("none"), Exclusive: ptr(true)})
		if err != nil || l.Title != "Team" || l.RepliesPolicy != "none" || !l.Exclusive {
			t.Fatalf("update: %+v %v", l, err)
		}

		// Only followed accounts may be added, and a failed add adds nothing.
		if _, err := fs.Follow(ctx, "alice", "bob"); err != nil {
			t.Fatal(err)
		}
		if err := s.AddMembers(ctx, "alice", l.ID, []string{"bob", "carol"}); !errs.Is(err, errs.Invalid) {
			t.Fatalf("add unfollowed: %v", err)
		}
		if m, _ := s.Members(ctx, "alice", l.ID, "", 0); len(m) != 0 {
			t.Fatalf("after failed add: %v", m)
		}
		if err := s.AddMembers(ctx, "alice", l.ID, []string{"bob", "bob"}); err != nil {
			t.Fatal(err)
		}
		if err := s.AddMembers(ctx, "bob", l.ID, []string{"bob"}); !errs.Is(err, errs.NotFound) {
			t.Fatalf("add to another's list: %v", err)
		}
		if m, err := s.Members(ctx, "alice", l.ID, "", 0); err != nil || !slices.Equal(m, []string{"bob"}) {
			t.Fatalf("members %v %v", m, err)
		}
		if in, _ := s.Containing(ctx, "alice", "bob"); len(in) != 1 || in[0].ID != l.ID {
			t.Fatalf("containing %v", in)
		}
		if in, _ := s.Containing(ctx, "carol", "bob"); len(in) != 0 {
			t.Fatalf("someone else's lists %v", in)
		}
		if ex, err := s.ExclusiveMembers(ctx, "alice"); err != nil || !ex["bob"] || len(ex) != 1 {
			t.Fatalf("exclusive %v %v", ex, err)
		}
		if err := s.RemoveMembers(ctx, "alice", l.ID, []string{"bob"}); err != nil {
			t.Fatal(err)
		}
		if m, _ := s.Members(ctx, "alice", l.ID, "", 0); len(m) != 0 {
			t.Fatalf("after remove %v", m)
		}
		if err := s.Delete(ctx, "bob", l.ID); !errs.Is(err, errs.NotFound) {
			t.Fatalf("delete another's: %v", err)
		}
		if err := s.Delete(ctx, "alice", l.ID); err != nil {
			t.Fatal(err)
		}
		if all, _ := s.All(ctx, "alice"); len(all) != 0 {
			t.Fatalf("after delete %v", all)
		}
	})
}
