package people_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/atrium-social/atrium/federation/activity"
	"github.com/atrium-social/atrium/federation/people"
	"github.com/atrium-social/atrium/federation/remotemedia"
	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/clock"
	"github.com/atrium-social/atrium/internal/db"
	"github.com/atrium-social/atrium/internal/markup"
	"github.com/atrium-social/atrium/internal/orgs"
	"github.com/atrium-social/atrium/internal/testutil/dbtest"
)

// TestStoreQueuesPictures: storing an actor queues its avatar and header for copying; a
// picture URL the cache refuses does not stop the actor from being stored.
func TestStoreQueuesPictures(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		c := clock.NewFake(time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC))
		acc := accounts.New(accounts.Deps{DB: d, Orgs: orgs.New(d, c), Clock: c, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
			Hasher: accounts.NewHasher(1024, 2), BaseURL: func(context.Context) string { return "https://acme.example" }})
		var queued []string
		r := &people.Resolver{Accounts: acc, Clock: c, Markup: markup.New(markup.Options{LocalHost: "acme.example"}),
			QueueMedia: func(_ context.Context, u string) (string, error) {
				if u == "https://globex.example/bad" {
					return "", remotemedia.ErrURL
				}
				queued = append(queued, u)
				return remotemedia.Key(u), nil
			}}
		a := &activity.Actor{ID: "https://globex.example/users/bob", Type: "Person", PreferredUsername: "bob",
			Inbox: "https://globex.example/users/bob/inbox", Icon: "https://globex.example/a.png", Image: "https://globex.example/bad"}
		u, err := r.Store(ctx, a)
		if err != nil || u == nil {
			t.Fatalf("store: %v", err)
		}
		if len(queued) != 1 || queued[0] != "https://globex.example/a.png" {
			t.Fatalf("queued %v", queued)
		}
		// The page or API finds the copy by the stored URL, with nothing new in accounts.
		if remotemedia.Key(u.Remote.AvatarURL) != remotemedia.Key("https://globex.example/a.png") {
			t.Fatal("avatar URL not kept as sent")
		}
		r.QueueMedia = func(context.Context, string) (string, error) { return "", errors.New("database down") }
		if _, err := r.Store(ctx, a); err == nil {
			t.Fatal("a failure to queue was swallowed")
		}
	})
}
