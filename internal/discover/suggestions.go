package discover

import (
	"context"
	"strings"
	"time"

	"github.com/uptrace/bun"
)

// Suggestion is a person to follow and why.
type Suggestion struct {
	AccountID string
	// Mutual is how many people the viewer follows follow them.
	Mutual         int
	SameDepartment bool
}

type dismissal struct {
	bun.BaseModel `bun:"table:suggestion_dismissals"`
	AccountID     string    `bun:"account_id,pk"`
	DismissedID   string    `bun:"dismissed_id,pk"`
	CreatedAt     time.Time `bun:"created_at"`
}

// Suggestions lists active people of this node the viewer does not follow, has not
// dismissed, and is not blocked with either way: first those most followed by the people
// the viewer follows, then colleagues of the viewer's department, then the most followed.
// department is the viewer's ("" matches nobody).
func (s *Service) Suggestions(ctx context.Context, viewerID, department string, limit int) ([]Suggestion, error) {
	var rows []struct {
		ID      string `bun:"id"`
		Mutual  int    `bun:"mutual"`
		SameDep int    `bun:"same_dep"`
		// Followers only ranks: among strangers, the colleagues most followed come first.
		Followers int `bun:"followers"`
	}
	dep := strings.ToLower(strings.TrimSpace(department))
	err := s.DB.NewSelect().TableExpr("users AS u").
		ColumnExpr("u.id").
		ColumnExpr("(SELECT COUNT(*) FROM follows f1 JOIN follows f2 ON f2.follower_id = f1.followee_id WHERE f1.follower_id = ? AND f2.followee_id = u.id) AS mutual", viewerID).
		ColumnExpr("CASE WHEN ? <> '' AND LOWER(u.department) = ? THEN 1 ELSE 0 END AS same_dep", dep, dep).
		ColumnExpr("(SELECT COUNT(*) FROM follows f3 WHERE f3.followee_id = u.id) AS followers").
		Where("u.state = 'active' AND u.id <> ?", viewerID).
		Where("NOT EXISTS (SELECT 1 FROM follows f WHERE f.follower_id = ? AND f.followee_id = u.id)", viewerID).
		Where("NOT EXISTS (SELECT 1 FROM blocks b WHERE (b.blocker_id = ? AND b.blocked_id = u.id) OR (b.blocker_id = u.id AND b.blocked_id = ?))", viewerID, viewerID).
		Where("NOT EXISTS (SELECT 1 FROM suggestion_dismissals d WHERE d.account_id = ? AND d.dismissed_id = u.id)", viewerID).
		OrderExpr("mutual DESC, same_dep DESC, followers DESC, u.username_lower ASC").
		Limit(int64(limit)).Scan(ctx, &rows)
	if err != nil {
		return nil, err
	}
	out := make([]Suggestion, len(rows))
	for i, r := range rows {
		out[i] = Suggestion{AccountID: r.ID, Mutual: r.Mutual, SameDepartment: r.SameDep == 1}
	}
	return out, nil
}

// Dismiss stops suggesting accountID to viewerID; dismissing twice is no error.
func (s *Service) Dismiss(ctx context.Context, viewerID, accountID string) error {
	_, err := s.DB.NewInsert().Model(&dismissal{AccountID: viewerID, DismissedID: accountID, CreatedAt: s.Clock.Now()}).
		On("CONFLICT DO NOTHING").Exec(ctx)
	return err
}
