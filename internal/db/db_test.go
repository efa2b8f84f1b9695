package db_test

import (
	"context"
	"errors"
	"testing"

	"github.com/uptrace/bun"

	"github.com/atrium-social/atrium/internal/db"
	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/testutil/dbtest"
)

func TestAfterCommitAndErrorMapping(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		ran := 0
		if err := d.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
			db.AfterCommit(ctx, func() { ran++ })
			if ran != 0 {
				t.Error("callback ran before commit")
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if ran != 1 {
			t.Fatalf("after commit ran %d times", ran)
		}
		boom := errors.New("boom")
		err := d.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
			db.AfterCommit(ctx, func() { ran++ })
			return boom
		})
		if !errors.Is(err, boom) || ran != 1 {
			t.Fatalf("rolled back transaction ran its callback (ran=%d, err=%v)", ran, err)
		}
		insert := func() error {
			_, err := d.ExecContext(ctx, `INSERT INTO settings (key, value, updated_at) VALUES ('k', 'v', '2026-01-01 00:00:00+00:00')`)
			return db.Err(err, "duplicate setting")
		}
		if err := insert(); err != nil {
			t.Fatal(err)
		}
		if err := insert(); !errs.Is(err, errs.Conflict) {
			t.Fatalf("duplicate: want Conflict, got %v", err)
		}
		var v string
		err = db.Err(d.NewSelect().Table("settings").Column("value").Where("key = 'missing'").Scan(ctx, &v), "no such setting")
		if !errs.Is(err, errs.NotFound) {
			t.Fatalf("missing row: want NotFound, got %v", err)
		}
	})
}
