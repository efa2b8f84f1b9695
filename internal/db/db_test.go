package db_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/atrium-social/atrium/internal/db"
	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/testutil/dbtest"
	"github.com/atrium-social/atrium/internal/testutil/pgtest"
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

// TestTransactionsLeaveConnections: transactions that each run a query outside themselves
// (as caches loading on a miss do) all finish, even when there are as many of them as pooled
// connections: on PostgreSQL they would otherwise take every connection and wait for a
// further one for ever.
func TestTransactionsLeaveConnections(t *testing.T) {
	ctx := context.Background()
	d2, err := db.Open(ctx, db.Options{DSN: pgtest.DSN(t), MaxConn: 4}) // a small pool: few transactions fill it
	if err != nil {
		t.Fatal(err)
	}
	defer d2.Close()
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second) // a deadlock fails the test instead of hanging it
	defer cancel()
	var wg sync.WaitGroup
	errc := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errc <- d2.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
				var one int
				if err := tx.NewRaw("SELECT 1").Scan(ctx, &one); err != nil {
					return err
				}
				time.Sleep(50 * time.Millisecond)            // every transaction holds its connection now
				return d2.NewRaw("SELECT 1").Scan(ctx, &one) // outside the transaction
			})
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		if err != nil {
			t.Fatalf("a transaction failed (a deadlock ends at the deadline): %v", err)
		}
	}
}
