package accounts

import (
	"context"
	"fmt"
	"time"
)

// ActiveWindow is how recently someone must have used the node (a session seen or a token
// used, both recorded at most hourly) to count as active. Big fan-outs skip inactive
// followers, as Mastodon does after 7 days, and rebuild their feeds when they return
// (Service.Returned).
const ActiveWindow = 7 * 24 * time.Hour

// ActiveSQL is the condition, on a user id column, that the user is active: put the cutoff
// (now - ActiveWindow) twice in the arguments. Sessions and tokens are indexed by user.
const ActiveSQL = `(EXISTS (SELECT 1 FROM sessions s WHERE s.user_id = %[1]s AND s.last_seen_at > ?)
	OR EXISTS (SELECT 1 FROM tokens t WHERE t.user_id = %[1]s AND t.revoked_at IS NULL AND t.last_used_at > ?))`

// wasActive reports whether the user counted as active at now, before the touch about to be
// recorded.
func (s *Service) wasActive(ctx context.Context, userID string, now time.Time) (bool, error) {
	cutoff := now.Add(-ActiveWindow)
	var active bool
	err := s.DB.NewRaw("SELECT "+fmt.Sprintf(ActiveSQL, "?"), userID, cutoff, userID, cutoff).Scan(ctx, &active)
	if err != nil {
		return false, fmt.Errorf("activity of %s: %w", userID, err)
	}
	return active, nil
}

// returned tells Returned that someone inactive is back, after their activity was recorded
// (so fan-outs from now on include them). Failures are logged: the person is let in anyway,
// and the fan-in fallback covers a feed that could not be rebuilt.
func (s *Service) returned(ctx context.Context, userID string) {
	if s.Returned == nil {
		return
	}
	if err := s.Returned(ctx, userID); err != nil {
		s.Log.Warn("rebuilding the feed of a returning person failed", "user", userID, "err", err)
	}
}
