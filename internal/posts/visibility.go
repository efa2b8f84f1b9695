package posts

import (
	"context"

	"github.com/uptrace/bun"

	"github.com/atrium-social/atrium/internal/accounts"
)

// Viewer is who is looking: a local person or (with federation) a remote account. A nil
// *Viewer is an anonymous visitor.
type Viewer struct {
	ID    string
	Local bool // signed in on this node
	Admin bool
}

// ViewerOf wraps a signed-in local user; nil stays anonymous.
func ViewerOf(u *accounts.User) *Viewer {
	if u == nil || !u.Active() {
		return nil
	}
	return &Viewer{ID: u.ID, Local: !u.IsRemote(), Admin: u.IsAdmin() && !u.IsRemote()}
}

// CanSee is the one visibility rule for a single post. For comments and shares the caller
// passes the thread root (see root); a share shows its original, which must be visible too.
//
//   - public: everyone.
//   - company: everyone signed in on this node.
//   - followers: the author, the author's followers, the people addressed.
//   - direct: the author and the people addressed.
//   - group: whoever the group lets read it (GroupAccess), its author included; being
//     mentioned or addressed never widens a group post's audience.
func (s *Service) CanSee(ctx context.Context, tx bun.IDB, v *Viewer, root *Post) (bool, error) {
	if root.DeletedAt != nil {
		return false, nil
	}
	switch root.Audience {
	case Public:
		return true, nil
	case Company:
		return v != nil && v.Local, nil
	}
	if v == nil {
		return false, nil
	}
	if root.Audience == Group {
		// The group alone decides, for authors too: someone removed from a group loses its
		// threads, their own posts included.
		if s.Groups == nil || root.GroupID == nil {
			return false, nil
		}
		return s.Groups.CanRead(ctx, tx, *root.GroupID, v)
	}
	if v.ID == root.AuthorID {
		return true, nil
	}
	addressed, err := tx.NewSelect().Model((*Recipient)(nil)).Where("post_id = ? AND account_id = ?", root.ID, v.ID).Exists(ctx)
	if err != nil || addressed {
		return addressed, err
	}
	switch root.Audience {
	case Followers:
		return s.Follows.Follows(ctx, tx, v.ID, root.AuthorID)
	}
	return false, nil
}

// visibleFilter restricts a query over posts aliased p to those a viewer may see, by the
// same rule as CanSee applied to the post's own audience (timelines list top-level posts and
// shares, whose audience is their own). Keep the two in step: a test compares them.
func visibleFilter(q *bun.SelectQuery, v *Viewer) *bun.SelectQuery {
	q = q.Where("p.deleted_at IS NULL")
	if v == nil {
		return q.Where("p.audience = ?", Public)
	}
	return q.WhereGroup(" AND ", func(q *bun.SelectQuery) *bun.SelectQuery {
		q = q.Where("p.audience = ?", Public).WhereOr("p.author_id = ? AND p.audience <> ?", v.ID, Group)
		if v.Local {
			q = q.WhereOr("p.audience = ?", Company)
		}
		q = q.WhereOr("p.audience IN (?) AND EXISTS (SELECT 1 FROM post_recipients r WHERE r.post_id = p.id AND r.account_id = ?)",
			bun.In([]Audience{Followers, Direct}), v.ID)
		q = q.WhereOr(groupReadable, v.ID, v.Local)
		return q.WhereOr("p.audience = ? AND EXISTS (SELECT 1 FROM follows f WHERE f.follower_id = ? AND f.followee_id = p.author_id)", Followers, v.ID)
	})
}
