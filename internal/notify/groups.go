package notify

import (
	"context"

	"github.com/uptrace/bun"

	"github.com/atrium-social/atrium/internal/groups"
	"github.com/atrium-social/atrium/internal/posts"
)

// Kinds of notification about groups. Mastodon has none of these; apps show unknown types
// generically or not at all, and Atrium's clients know them.
const (
	GroupRequest  = "group_request"  // someone asked to join a group you moderate
	GroupInvite   = "group_invite"   // you were invited to a group
	GroupApproved = "group_approved" // your request to join was approved
	GroupPost     = "group_post"     // a new post in a group you follow closely
)

var _ groups.Hook = (*Service)(nil)

// MembershipChanged tells a group's admins and moderators of a request to join, the invitee
// of an invitation, and the person who asked of the approval. A request or invitation that
// is settled takes its notifications with it: nothing is left to act on, and an invitation
// withdrawn from a secret group must not keep naming it.
func (s *Service) MembershipChanged(ctx context.Context, tx bun.IDB, g *groups.Group, m *groups.Membership, from groups.State, by string) error {
	if from == groups.Requested && m.State != groups.Requested {
		if _, err := tx.NewDelete().Model((*Notification)(nil)).
			Where("kind = ? AND group_id = ? AND from_id = ?", GroupRequest, g.ID, m.AccountID).Exec(ctx); err != nil {
			return err
		}
	}
	if from == groups.Invited && m.State != groups.Invited {
		if _, err := tx.NewDelete().Model((*Notification)(nil)).
			Where("kind = ? AND group_id = ? AND account_id = ?", GroupInvite, g.ID, m.AccountID).Exec(ctx); err != nil {
			return err
		}
	}
	gid := &g.ID
	switch {
	case m.State == groups.Requested && from != groups.Requested:
		if g.IsRemote() {
			return nil // the group's own node tells its admins
		}
		var staff []string
		if err := tx.NewSelect().Model((*groups.Membership)(nil)).Column("account_id").
			Where("group_id = ? AND state = ? AND role IN (?)", g.ID, groups.Joined, bun.In([]groups.Role{groups.Admin, groups.Moderator})).
			Scan(ctx, &staff); err != nil {
			return err
		}
		for _, id := range staff {
			if err := s.insert(ctx, tx, &Notification{AccountID: id, Kind: GroupRequest, FromID: m.AccountID, GroupID: gid}); err != nil {
				return err
			}
		}
	case m.State == groups.Invited && from != groups.Invited:
		inviter := m.InvitedBy
		if inviter == "" {
			inviter = by
		}
		return s.insert(ctx, tx, &Notification{AccountID: m.AccountID, Kind: GroupInvite, FromID: inviter, GroupID: gid})
	case m.State == groups.Joined && from == groups.Requested:
		// by is the approving admin, or "" when a remote group's node accepted.
		return s.insert(ctx, tx, &Notification{AccountID: m.AccountID, Kind: GroupApproved, FromID: by, GroupID: gid})
	}
	return nil
}

// GroupChanged withdraws a deleted group's notifications.
func (s *Service) GroupChanged(ctx context.Context, tx bun.IDB, g *groups.Group) error {
	if g.DeletedAt == nil {
		return nil
	}
	_, err := tx.NewDelete().Model((*Notification)(nil)).Where("group_id = ?", g.ID).Exec(ctx)
	return err
}

// groupPost tells the members who follow p's group closely, except those told already
// (mentioned, or notified of an announcement) and those who block the author.
func (s *Service) groupPost(ctx context.Context, tx bun.IDB, p *posts.Post, told map[string]bool) error {
	followers, err := s.GroupCloseFollowers(ctx, tx, *p.GroupID)
	if err != nil || len(followers) == 0 {
		return err
	}
	// The author's blockers are few; the followers of a large group are many.
	var blocking []string
	if err := tx.NewSelect().Table("blocks").Column("blocker_id").Where("blocked_id = ?", p.AuthorID).Scan(ctx, &blocking); err != nil {
		return err
	}
	skip := make(map[string]bool, len(blocking))
	for _, id := range blocking {
		skip[id] = true
	}
	var to []string
	for _, id := range followers {
		if !told[id] && !skip[id] {
			told[id] = true
			to = append(to, id)
		}
	}
	return s.addMany(ctx, tx, to, GroupPost, p.AuthorID, &p.ID, p.GroupID)
}
