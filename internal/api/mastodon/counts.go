package mastodon

import (
	"context"

	"github.com/atrium-social/atrium/internal/accounts"
)

// accountWithCounts is the account of a profile request (verify_credentials, accounts/:id,
// lookup) with its real counts: followers, following, posts and the day of the last one.
// Accounts inside lists and statuses carry zeros instead, as three count queries per row would
// cost the timelines most of their speed; apps read counts from the profile request.
func (a *api) accountWithCounts(ctx context.Context, u *accounts.User) (Account, error) {
	acc := a.account(u, a.BaseURL(ctx))
	var err error
	if acc.FollowersCount, acc.FollowingCount, err = a.Follows.Counts(ctx, u.ID); err != nil {
		return acc, err
	}
	n, last, err := a.Posts.AuthorStats(ctx, u.ID)
	if err != nil {
		return acc, err
	}
	acc.StatusesCount = n
	if last != nil {
		day := last.UTC().Format("2006-01-02") // Mastodon gives the day only
		acc.LastStatusAt = &day
	}
	return acc, nil
}
