package follows

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/uptrace/bun"

	"github.com/atrium-social/atrium/internal/errs"
)

// MaxNote is the longest private note on an account (Mastodon's limit).
const MaxNote = 2000

type accountNote struct {
	bun.BaseModel `bun:"table:account_notes"`
	AccountID     string    `bun:"account_id,pk"`
	TargetID      string    `bun:"target_id,pk"`
	Note          string    `bun:"note"`
	UpdatedAt     time.Time `bun:"updated_at"`
}

// SetNote keeps viewer's private note about target; an empty note removes it. Nobody but
// the viewer ever reads it (Relationship.note).
func (s *Service) SetNote(ctx context.Context, viewerID, targetID, note string) error {
	note = strings.TrimSpace(note)
	if utf8.RuneCountInString(note) > MaxNote {
		return errs.Field("comment", "a note has at most %d characters", MaxNote)
	}
	var err error
	if note == "" {
		_, err = s.DB.NewDelete().Model((*accountNote)(nil)).Where("account_id = ? AND target_id = ?", viewerID, targetID).Exec(ctx)
	} else {
		_, err = s.DB.NewInsert().Model(&accountNote{AccountID: viewerID, TargetID: targetID, Note: note, UpdatedAt: s.Clock.Now()}).
			On("CONFLICT (account_id, target_id) DO UPDATE").Set("note = EXCLUDED.note, updated_at = EXCLUDED.updated_at").Exec(ctx)
	}
	if err != nil {
		return fmt.Errorf("note of %s about %s: %w", viewerID, targetID, err)
	}
	return nil
}

// notes returns viewer's notes about ids.
func (s *Service) notes(ctx context.Context, viewerID string, ids []string) (map[string]string, error) {
	var rows []accountNote
	if err := s.DB.NewSelect().Model(&rows).Where("account_id = ? AND target_id IN (?)", viewerID, bun.In(ids)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("notes of %s: %w", viewerID, err)
	}
	out := make(map[string]string, len(rows))
	for _, r := range rows {
		out[r.TargetID] = r.Note
	}
	return out, nil
}

// Familiar lists, for each of ids, the people viewer follows who follow it (Mastodon's
// familiar followers), at most perAccount each, in one query.
func (s *Service) Familiar(ctx context.Context, viewerID string, ids []string, perAccount int) (map[string][]string, error) {
	out := make(map[string][]string, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	var rows []Follow
	err := s.DB.NewSelect().Model(&rows).ModelTableExpr("follows AS f2").ColumnExpr("f2.follower_id, f2.followee_id").
		Join("JOIN follows AS f1 ON f1.followee_id = f2.follower_id").
		Where("f1.follower_id = ? AND f2.followee_id IN (?) AND f2.follower_id <> ?", viewerID, bun.In(ids), viewerID).
		OrderExpr("f2.followee_id, f2.created_at DESC").Limit(int64(len(ids) * 200)).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("familiar followers for %s: %w", viewerID, err)
	}
	for _, r := range rows {
		if len(out[r.FolloweeID]) < perAccount {
			out[r.FolloweeID] = append(out[r.FolloweeID], r.FollowerID)
		}
	}
	return out, nil
}
