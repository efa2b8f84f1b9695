package posts

import (
	"context"
	"time"
)

// AuthorStats is what a profile reports of an account's posting (Mastodon's statuses_count
// and last_status_at): its posts, comments and shares that are not deleted. Posts to chosen
// people and in groups are left out: how many there are is not everyone's to know.
func (s *Service) AuthorStats(ctx context.Context, authorID string) (count int, last *time.Time, err error) {
	var row struct {
		N    int
		Last *time.Time
	}
	err = s.DB.NewSelect().Model((*Post)(nil)).ColumnExpr("COUNT(*) AS n").ColumnExpr("MAX(created_at) AS last").
		Where("author_id = ? AND deleted_at IS NULL AND audience IN (?, ?, ?)", authorID, Company, Followers, Public).
		Scan(ctx, &row)
	return row.N, row.Last, err
}
