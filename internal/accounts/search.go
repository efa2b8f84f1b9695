package accounts

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/atrium-social/atrium/internal/db"
	"github.com/atrium-social/atrium/internal/errs"
)

// MaxSearchLen is the longest account search (Mastodon apps send what is typed).
const MaxSearchLen = 200

// SearchQuery is Mastodon's GET /api/v1/accounts/search.
type SearchQuery struct {
	Q             string
	Offset, Limit int
	// FollowedBy keeps only accounts this person follows ("" for everyone).
	FollowedBy string
}

// Search finds people by name, handle and work profile (title, department, location,
// skills): colleagues first, by username, then the partner accounts this node knows, by
// handle. Everyone here is a colleague, so the viewer may see everyone it returns.
func (s *Service) Search(ctx context.Context, q SearchQuery) ([]*User, error) {
	text := strings.ToLower(strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(q.Q), "@")))
	if text == "" {
		return nil, errs.Field("q", "say whom to search for")
	}
	if utf8.RuneCountInString(text) > MaxSearchLen {
		return nil, errs.Field("q", "search with at most %d characters", MaxSearchLen)
	}
	if q.Limit <= 0 || q.Limit > 80 {
		q.Limit = 40
	}
	want := q.Offset + q.Limit
	var locals []User
	sel := s.DB.NewSelect().Model(&locals).Where("?TableAlias.state = ?", StateActive).OrderExpr("?TableAlias.username_lower").Limit(int64(want))
	for _, word := range strings.Fields(text) {
		sel = sel.Where("?TableAlias.search_text LIKE ? ESCAPE '\\'", "%"+db.LikeEscape(word)+"%")
	}
	if q.FollowedBy != "" {
		sel = sel.Where("EXISTS (SELECT 1 FROM follows f WHERE f.follower_id = ? AND f.followee_id = ?TableAlias.id)", q.FollowedBy)
	}
	if err := sel.Scan(ctx); err != nil {
		return nil, fmt.Errorf("search people for %q: %w", text, err)
	}
	if err := s.loadSkillsMany(ctx, locals); err != nil {
		return nil, err
	}
	out := make([]*User, 0, want)
	for i := range locals {
		out = append(out, &locals[i])
	}
	if len(out) < want && !strings.Contains(text, " ") {
		var remotes []remoteRow
		like := "%" + db.LikeEscape(text) + "%"
		rq := s.DB.NewSelect().Model(&remotes).Where("deleted_at IS NULL AND kind <> 'Group'").
			Where("(acct_lower LIKE ? ESCAPE '\\' OR LOWER(display_name) LIKE ? ESCAPE '\\')", like, like).
			OrderExpr("acct_lower").Limit(int64(want - len(out)))
		if q.FollowedBy != "" {
			rq = rq.Where("EXISTS (SELECT 1 FROM follows f WHERE f.follower_id = ? AND f.followee_id = ?TableAlias.id)", q.FollowedBy)
		}
		if err := rq.Scan(ctx); err != nil {
			return nil, fmt.Errorf("search partner accounts for %q: %w", text, err)
		}
		for i := range remotes {
			out = append(out, remotes[i].user())
		}
	}
	if q.Offset >= len(out) {
		return []*User{}, nil
	}
	return out[q.Offset:], nil
}

// DirectoryOrder is how the profile directory sorts.
type DirectoryOrder string

// The orders of Mastodon's directory.
const (
	DirectoryActive DirectoryOrder = "active" // latest post first
	DirectoryNew    DirectoryOrder = "new"    // newest member first
)

// ProfileDirectory is Mastodon's profile directory for a company: the node's active people
// (partners' people are not listed: they never chose to be in this company's directory).
func (s *Service) ProfileDirectory(ctx context.Context, order DirectoryOrder, offset, limit int) ([]User, error) {
	if limit <= 0 || limit > 80 {
		limit = 40
	}
	var out []User
	sel := s.DB.NewSelect().Model(&out).Where("?TableAlias.state = ?", StateActive).Offset(int64(offset)).Limit(int64(limit))
	switch order {
	case DirectoryNew:
		sel = sel.OrderExpr("?TableAlias.created_at DESC, ?TableAlias.id DESC")
	case DirectoryActive, "":
		// The latest post's id (a ULID, so its time) through the posts (author_id, id) index.
		sel = sel.OrderExpr("COALESCE((SELECT p.id FROM posts p WHERE p.author_id = ?TableAlias.id ORDER BY p.id DESC LIMIT 1), '') DESC, ?TableAlias.username_lower")
	default:
		return nil, errs.Field("order", "%q is not active or new", order)
	}
	if err := sel.Scan(ctx); err != nil {
		return nil, fmt.Errorf("profile directory: %w", err)
	}
	return out, s.loadSkillsMany(ctx, out)
}
