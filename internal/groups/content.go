package groups

import (
	"context"
	"fmt"
	"strings"

	"github.com/uptrace/bun"

	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/ids"
	"github.com/atrium-social/atrium/internal/posts"
)

// Timeline is the group's feed: its top-level posts, newest first, for those who may read it.
func (s *Service) Timeline(ctx context.Context, v *posts.Viewer, id string, pg posts.Page) ([]*posts.Post, error) {
	g, _, err := s.readable(ctx, s.DB, v, id)
	if err != nil {
		return nil, err
	}
	return s.Posts.GroupTimeline(ctx, v, g.ID, pg)
}

// Files lists the attachments posted in the group, newest first, optionally those whose
// name contains query.
func (s *Service) Files(ctx context.Context, v *posts.Viewer, id, query string, limit int) ([]posts.GroupFile, error) {
	g, _, err := s.readable(ctx, s.DB, v, id)
	if err != nil {
		return nil, err
	}
	return s.Posts.GroupFiles(ctx, v, g.ID, query, limit)
}

// Pins are the group's pinned posts, newest pin first.
func (s *Service) Pins(ctx context.Context, v *posts.Viewer, id string) ([]*posts.Post, error) {
	g, _, err := s.readable(ctx, s.DB, v, id)
	if err != nil {
		return nil, err
	}
	var idList []string
	if err := s.DB.NewSelect().Model((*pin)(nil)).Column("post_id").Where("group_id = ?", g.ID).
		OrderExpr("created_at DESC").Scan(ctx, &idList); err != nil {
		return nil, err
	}
	out := make([]*posts.Post, 0, len(idList))
	for _, pid := range idList {
		p, err := s.Posts.Get(ctx, v, pid)
		if err != nil {
			continue // deleted since, or no longer visible
		}
		out = append(out, p)
	}
	return out, nil
}

// Pin pins (or with on=false unpins) one of the group's posts; admins and moderators may.
func (s *Service) Pin(ctx context.Context, u *accounts.User, id, postID string, on bool) error {
	return s.DB.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		g, m, err := s.view(ctx, tx, posts.ViewerOf(u), id)
		if err != nil {
			return err
		}
		if !m.Moderates() {
			return errs.E(errs.Forbidden, "only the admins and moderators of %s can pin posts", g.DisplayName)
		}
		if !on {
			_, err := tx.NewDelete().Model((*pin)(nil)).Where("group_id = ? AND post_id = ?", g.ID, postID).Exec(ctx)
			return err
		}
		p, err := s.Posts.Get(ctx, posts.ViewerOf(u), postID)
		if err != nil {
			return err
		}
		if p.GroupID == nil || *p.GroupID != g.ID || p.IsComment() {
			return errs.E(errs.Invalid, "only posts made in %s can be pinned there", g.DisplayName)
		}
		_, err = tx.NewInsert().Model(&pin{GroupID: g.ID, PostID: p.ID, CreatedAt: s.now()}).On("CONFLICT DO NOTHING").Exec(ctx)
		return err
	})
}

// UpsertRemote stores or refreshes the mirror of a group hosted by another node (federation
// fetched its actor). Visibility and counts are what that node publishes.
func (s *Service) UpsertRemote(ctx context.Context, g *Group) (*Group, error) {
	if g.Domain == "" || g.URI == "" {
		return nil, errs.E(errs.Invalid, "a remote group needs its host and id")
	}
	g.HandleLower = strings.ToLower(g.Handle)
	now := s.now()
	existing, err := s.ByURI(ctx, g.URI)
	if err == nil {
		g.ID, g.CreatedAt = existing.ID, existing.CreatedAt
	} else if !errs.Is(err, errs.NotFound) {
		return nil, err
	} else {
		g.ID, g.CreatedAt = ids.New(now), now
	}
	g.UpdatedAt = now
	_, err = s.DB.NewInsert().Model(g).On("CONFLICT (uri) DO UPDATE").
		Set("handle = EXCLUDED.handle, handle_lower = EXCLUDED.handle_lower, display_name = EXCLUDED.display_name, note = EXCLUDED.note").
		Set("visibility = EXCLUDED.visibility, posting = EXCLUDED.posting, cover_url = EXCLUDED.cover_url, inbox = EXCLUDED.inbox").
		Set("shared_inbox = EXCLUDED.shared_inbox, followers_url = EXCLUDED.followers_url, key_id = EXCLUDED.key_id").
		Set("members_count = EXCLUDED.members_count, updated_at = EXCLUDED.updated_at, deleted_at = EXCLUDED.deleted_at").Exec(ctx)
	if err != nil {
		return nil, err
	}
	return g, nil
}

// RemoteAnswered applies a remote group's answer to one of our people's requests: accepted
// makes them a member, otherwise the request (or membership: the group removed them) ends.
func (s *Service) RemoteAnswered(ctx context.Context, tx bun.IDB, g *Group, accountID string, accepted bool) error {
	m, err := s.membership(ctx, tx, g.ID, accountID)
	if err != nil || m == nil {
		return err
	}
	if !accepted {
		return s.drop(ctx, tx, g, m, "")
	}
	if m.Active() {
		return nil
	}
	from := m.State
	m.State = Joined
	return s.put(ctx, tx, g, m, from, "")
}

// RemoteInvited records that a remote group invited one of our people (its Invite).
func (s *Service) RemoteInvited(ctx context.Context, tx bun.IDB, g *Group, accountID, inviterID, activityURI string) error {
	m, err := s.membership(ctx, tx, g.ID, accountID)
	if err != nil || m != nil {
		return err
	}
	m = &Membership{GroupID: g.ID, AccountID: accountID, Role: Member, State: Invited, InvitedBy: inviterID,
		ActivityURI: activityURI, CreatedAt: s.now()}
	return s.put(ctx, tx, g, m, Gone, "")
}

// RemoteLeft ends a remote person's membership of a group here (their Undo{Follow}).
func (s *Service) RemoteLeft(ctx context.Context, tx bun.IDB, g *Group, accountID string) error {
	m, err := s.membership(ctx, tx, g.ID, accountID)
	if err != nil || m == nil {
		return err
	}
	return s.drop(ctx, tx, g, m, accountID)
}

// RemoteGone applies a remote group's deletion: the mirror is marked deleted, so its
// content leaves every feed, page and API here (all of them ask groupReadable, which checks
// deleted_at), and its posts leave the home feeds at once.
func (s *Service) RemoteGone(ctx context.Context, tx bun.IDB, g *Group) error {
	if !g.IsRemote() || g.DeletedAt != nil {
		return nil
	}
	now := s.now()
	if _, err := tx.NewUpdate().Model((*Group)(nil)).Set("deleted_at = ?", now).Set("updated_at = ?", now).
		Where("id = ?", g.ID).Exec(ctx); err != nil {
		return fmt.Errorf("groups: mark %s deleted: %w", g.URI, err)
	}
	if _, err := tx.NewRaw(`DELETE FROM home_feed WHERE post_id IN (SELECT id FROM posts WHERE group_id = ?)`, g.ID).Exec(ctx); err != nil {
		return fmt.Errorf("groups: clear feeds of %s: %w", g.URI, err)
	}
	g.DeletedAt = &now
	return nil
}

// MemberHosts lists the hosts of the group's current remote members (where its activities go).
func (s *Service) MemberHosts(ctx context.Context, tx bun.IDB, groupID string) ([]string, error) {
	var out []string
	err := tx.NewRaw(`SELECT DISTINCT r.domain FROM group_members m JOIN remote_accounts r ON r.id = m.account_id
		WHERE m.group_id = ? AND m.state = ? AND r.deleted_at IS NULL ORDER BY r.domain`, groupID, Joined).Scan(ctx, &out)
	return out, err
}

// MemberInboxes is where a group hosted here delivers: one inbox per node hosting a current
// member (its shared inbox, else the member's own), in one query whatever the member count.
func (s *Service) MemberInboxes(ctx context.Context, tx bun.IDB, groupID string) ([]string, error) {
	var out []string
	err := tx.NewRaw(`SELECT DISTINCT CASE WHEN r.shared_inbox <> '' THEN r.shared_inbox ELSE r.inbox END
		FROM group_members m JOIN remote_accounts r ON r.id = m.account_id
		WHERE m.group_id = ? AND m.state = ? AND r.deleted_at IS NULL`, groupID, Joined).Scan(ctx, &out)
	return out, err
}
