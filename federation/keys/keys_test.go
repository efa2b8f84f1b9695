package keys_test

import (
	"context"
	"sync"
	"testing"

	"github.com/atrium-social/atrium/federation/keys"
	"github.com/atrium-social/atrium/internal/clock"
	"github.com/atrium-social/atrium/internal/db"
	"github.com/atrium-social/atrium/internal/testutil/dbtest"
)

// Two processes (two stores on one database) racing to make a key must end with one pair.
func TestKeysAreMadeOnceAndKept(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		a, b := &keys.Store{DB: d, Clock: clock.System{}}, &keys.Store{DB: d, Clock: clock.System{}}
		var wg sync.WaitGroup
		pems := make([]string, 4)
		for i := range pems {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				s := a
				if i%2 == 1 {
					s = b
				}
				p, err := s.For(ctx, "someone")
				if err != nil {
					t.Error(err)
					return
				}
				pems[i] = p.PublicPEM
			}(i)
		}
		wg.Wait()
		for _, p := range pems[1:] {
			if p != pems[0] {
				t.Fatal("racing stores ended with different keys")
			}
		}
		other, err := a.For(ctx, keys.Instance)
		if err != nil || other.PublicPEM == pems[0] || other.Private.N.BitLen() != 2048 {
			t.Fatalf("instance key: %v", err)
		}
	})
}
