package filters_test

import (
	"context"
	"testing"
	"time"

	"github.com/atrium-social/atrium/internal/clock"
	"github.com/atrium-social/atrium/internal/db"
	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/filters"
	"github.com/atrium-social/atrium/internal/testutil/dbtest"
)

func ptr[T any](v T) *T { return &v }

func TestFiltersAndMatching(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		clk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
		s := &filters.Service{DB: d, Clock: clk}

		if _, err := s.Create(ctx, "alice", filters.Input{Title: ptr("x"), Context: []string{"everywhere"}}); !errs.Is(err, errs.Invalid) {
			t.Fatalf("bad context: %v", err)
		}
		if _, err := s.Create(ctx, "alice", filters.Input{Title: ptr("x"), Context: []string{"home"}, Action: ptr("blur")}); !errs.Is(err, errs.Invalid) {
			t.Fatalf("bad action: %v", err)
		}
		f, err := s.Create(ctx, "alice", filters.Input{Title: ptr("Spoilers"), Context: []string{"home", "public"}, ExpiresSet: true, ExpiresIn: 3600,
			Keywords: []filters.KeywordChange{{Keyword: "café"}, {Keyword: "ring", WholeWord: ptr(false)}, {Keyword: "#tv"}}})
		if err != nil || f.Action != "warn" || len(f.Keywords) != 3 || f.ExpiresAt == nil {
			t.Fatalf("create %+v %v", f, err)
		}
		if _, err := s.Get(ctx, "bob", f.ID); !errs.Is(err, errs.NotFound) {
			t.Fatalf("another's filter: %v", err)
		}

		m, err := s.MatcherFor(ctx, "alice", "home")
		if err != nil {
			t.Fatal(err)
		}
		for text, want := range map[string]int{
			"Le CAFÉ est ouvert": 1, "cafés": 0, "the Lord of the Rings": 1, "watching #TV tonight": 1, "#tvshow": 0, "nothing": 0,
		} {
			if got := m.Match(text); len(got) != want {
				t.Errorf("match %q: %v, want %d", text, got, want)
			}
		}
		if got := m.Match("café ring"); len(got) != 1 || len(got[0].KeywordMatches) != 2 {
			t.Errorf("two keywords: %+v", got)
		}
		if m, _ := s.MatcherFor(ctx, "alice", "notifications"); !m.Empty() {
			t.Error("a home filter applies to notifications")
		}

		// Keyword changes: destroy one, change another, add one. (Keywords made in the same
		// millisecond have no set order, so they are found by word.)
		kw := func(f *filters.Filter, word string) *filters.Keyword {
			for i := range f.Keywords {
				if f.Keywords[i].Keyword == word {
					return &f.Keywords[i]
				}
			}
			return nil
		}
		f, err = s.Update(ctx, "alice", f.ID, filters.Input{Action: ptr("hide"), Keywords: []filters.KeywordChange{
			{ID: kw(f, "café").ID, Destroy: true}, {ID: kw(f, "ring").ID, WholeWord: ptr(true)}, {Keyword: "dragon"}}})
		if err != nil || f.Action != "hide" || len(f.Keywords) != 3 || kw(f, "café") != nil || kw(f, "ring") == nil || !kw(f, "ring").WholeWord || kw(f, "dragon") == nil {
			t.Fatalf("update %+v %v", f, err)
		}
		if _, err := s.Update(ctx, "alice", f.ID, filters.Input{Keywords: []filters.KeywordChange{{ID: "nope", Destroy: true}}}); !errs.Is(err, errs.Invalid) {
			t.Fatalf("foreign keyword id: %v", err)
		}
		if _, err := s.Keyword(ctx, "bob", f.Keywords[0].ID); !errs.Is(err, errs.NotFound) {
			t.Fatalf("another's keyword: %v", err)
		}

		// Expired filters stay listed but stop matching.
		clk.Advance(2 * time.Hour)
		if m, _ := s.MatcherFor(ctx, "alice", "home"); !m.Empty() {
			t.Error("expired filter still applies")
		}
		if all, _ := s.All(ctx, "alice"); len(all) != 1 {
			t.Errorf("all %v", all)
		}
		if err := s.Delete(ctx, "alice", f.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Keyword(ctx, "alice", f.Keywords[0].ID); !errs.Is(err, errs.NotFound) {
			t.Fatalf("keyword outlived its filter: %v", err)
		}
	})
}

func TestMutesAndDomainBlocks(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		clk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
		s := &filters.Service{DB: d, Clock: clk}
		if err := s.MuteAccount(ctx, "alice", "alice", true, 0); !errs.Is(err, errs.Invalid) {
			t.Fatalf("self mute: %v", err)
		}
		if err := s.MuteAccount(ctx, "alice", "bob", true, 0); err != nil {
			t.Fatal(err)
		}
		if err := s.MuteAccount(ctx, "alice", "bob", false, time.Hour); err != nil { // re-mute changes settings
			t.Fatal(err)
		}
		m, err := s.Muting(ctx, "alice", []string{"bob", "carol"})
		if err != nil || len(m) != 1 || m["bob"].Notifications || m["bob"].ExpiresAt == nil {
			t.Fatalf("muting %v %v", m, err)
		}
		clk.Advance(2 * time.Hour)
		if m, _ := s.Muting(ctx, "alice", nil); len(m) != 0 {
			t.Fatalf("expired mute still applies: %v", m)
		}
		if err := s.MuteAccount(ctx, "alice", "carol", true, 0); err != nil {
			t.Fatal(err)
		}
		if l, _ := s.Mutes(ctx, "alice", "", 40); len(l) != 1 || l[0].MutedID != "carol" {
			t.Fatalf("mutes %v", l)
		}
		if err := s.Unmute(ctx, "alice", "carol"); err != nil {
			t.Fatal(err)
		}
		if l, _ := s.Mutes(ctx, "alice", "", 40); len(l) != 0 {
			t.Fatalf("after unmute %v", l)
		}

		if err := s.BlockDomain(ctx, "alice", "not a domain"); !errs.Is(err, errs.Invalid) {
			t.Fatalf("bad domain: %v", err)
		}
		for _, dm := range []string{"Spam.Example", "spam.example", "https://b.example/"} {
			if err := s.BlockDomain(ctx, "alice", dm); err != nil {
				t.Fatal(err)
			}
		}
		if l, _ := s.BlockedDomains(ctx, "alice", "", 0); len(l) != 2 || l[0] != "b.example" || l[1] != "spam.example" {
			t.Fatalf("domains %v", l)
		}
		if l, _ := s.BlockedDomains(ctx, "alice", "b.example", 1); len(l) != 1 || l[0] != "spam.example" {
			t.Fatalf("page %v", l)
		}
		if err := s.UnblockDomain(ctx, "alice", "SPAM.example"); err != nil {
			t.Fatal(err)
		}
		if l, _ := s.BlockedDomains(ctx, "alice", "", 0); len(l) != 1 {
			t.Fatalf("after unblock %v", l)
		}
	})
}
