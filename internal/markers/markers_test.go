package markers_test

import (
	"context"
	"testing"
	"time"

	"github.com/atrium-social/atrium/internal/clock"
	"github.com/atrium-social/atrium/internal/db"
	"github.com/atrium-social/atrium/internal/markers"
	"github.com/atrium-social/atrium/internal/testutil/dbtest"
)

func TestSetCountsVersionsPerPersonAndTimeline(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		for _, id := range []string{"u1", "u2"} {
			if _, err := d.ExecContext(ctx, `INSERT INTO users (id, username, username_lower, email, email_lower, password_hash, display_name, role, state, created_at, updated_at)
				VALUES (?, ?, ?, ?, ?, '', '', 'member', 'active', ?, ?)`, id, id, id, id+"@x", id+"@x", time.Now(), time.Now()); err != nil {
				t.Fatal(err)
			}
		}
		fake := clock.NewFake(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
		s := &markers.Service{DB: d, Clock: fake}
		m, err := s.Set(ctx, "u1", "home", "10")
		if err != nil || m.Version != 1 || m.LastReadID != "10" || !m.UpdatedAt.Equal(fake.Now()) {
			t.Fatalf("first: %+v %v", m, err)
		}
		fake.Advance(time.Minute)
		m, err = s.Set(ctx, "u1", "home", "20")
		if err != nil || m.Version != 2 || m.LastReadID != "20" || !m.UpdatedAt.Equal(fake.Now()) {
			t.Fatalf("second: %+v %v", m, err)
		}
		if _, err := s.Set(ctx, "u2", "home", "5"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Set(ctx, "u1", "public", "5"); err == nil {
			t.Fatal("a marker for an unknown timeline was saved")
		}
		got, err := s.Get(ctx, "u1", []string{"home", "notifications", "bogus"})
		if err != nil || len(got) != 1 || got["home"].LastReadID != "20" || got["home"].Version != 2 {
			t.Fatalf("get: %+v %v", got, err)
		}
	})
}
