package groups

import (
	"context"
	"strings"

	"github.com/uptrace/bun"

	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/db"
	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/posts"
)

// The rules, in one place. A viewer is a local person, a remote account (a signed fetch by a
// member's actor, or a member's node acting for its people), or nil (anonymous).
//
//	             profile (name, note, count)    content (posts, members, files)
//	open         anyone                         local people, members; remote viewers only
//	                                            reach it through partner-checked signed fetches
//	closed       anyone                         members
//	secret       members and the invited        members
//
// Everything else answers NotFound with one message, so a secret group's existence is never
// confirmed; closed groups answer Forbidden for content (their existence is public).

func groupNotFound() error {
	return errs.E(errs.NotFound, "this group does not exist or you cannot see it")
}

// SeesProfile reports whether v may know the group exists and read its profile.
func SeesProfile(g *Group, m *Membership) bool {
	if g.DeletedAt != nil {
		return false
	}
	if g.Visibility != Secret {
		return true
	}
	return m != nil && (m.State == Joined || m.State == Invited)
}

// ReadsContent reports whether v may read the group's posts, members and files.
func ReadsContent(g *Group, m *Membership, v *posts.Viewer) bool {
	if g.DeletedAt != nil || v == nil {
		return false
	}
	if m.Active() {
		return true
	}
	return g.Visibility == Open
}

// membership loads v's membership of group id (nil when there is none).
func (s *Service) membership(ctx context.Context, tx bun.IDB, groupID, accountID string) (*Membership, error) {
	if accountID == "" {
		return nil, nil
	}
	m := new(Membership)
	err := tx.NewSelect().Model(m).Where("group_id = ? AND account_id = ?", groupID, accountID).Scan(ctx)
	if err != nil {
		if db.IsNotFound(err) {
			return nil, nil
		}
		return nil, err
	}
	return m, nil
}

// load reads a group by id (deleted or not).
func (s *Service) load(ctx context.Context, tx bun.IDB, id string) (*Group, error) {
	g := new(Group)
	if err := tx.NewSelect().Model(g).Where("id = ?", id).Scan(ctx); err != nil {
		if db.IsNotFound(err) {
			return nil, groupNotFound()
		}
		return nil, err
	}
	return g, nil
}

// view loads a group v may know of, with v's membership; anything else is NotFound.
func (s *Service) view(ctx context.Context, tx bun.IDB, v *posts.Viewer, id string) (*Group, *Membership, error) {
	g, err := s.load(ctx, tx, id)
	if err != nil {
		return nil, nil, err
	}
	var m *Membership
	if v != nil {
		if m, err = s.membership(ctx, tx, g.ID, v.ID); err != nil {
			return nil, nil, err
		}
	}
	if !SeesProfile(g, m) {
		return nil, nil, groupNotFound()
	}
	return g, m, nil
}

// readable loads a group whose content v may read: NotFound where the group is hidden,
// Forbidden where only its profile is public.
func (s *Service) readable(ctx context.Context, tx bun.IDB, v *posts.Viewer, id string) (*Group, *Membership, error) {
	g, m, err := s.view(ctx, tx, v, id)
	if err != nil {
		return nil, nil, err
	}
	if !ReadsContent(g, m, v) {
		return nil, nil, errs.E(errs.Forbidden, "only members of %s can see what is posted there", g.DisplayName)
	}
	return g, m, nil
}

// CanRead is posts.GroupAccess: may v read posts of group groupID?
func (s *Service) CanRead(ctx context.Context, tx bun.IDB, groupID string, v *posts.Viewer) (bool, error) {
	g, err := s.load(ctx, tx, groupID)
	if err != nil {
		if errs.Is(err, errs.NotFound) {
			return false, nil
		}
		return false, err
	}
	var m *Membership
	if v != nil {
		if m, err = s.membership(ctx, tx, groupID, v.ID); err != nil {
			return false, err
		}
	}
	return ReadsContent(g, m, v), nil
}

// CanPost is posts.GroupAccess: may author start a post (or, with comment, comment) in the
// group, and may the post be an announcement? Non-members of a group they cannot see get
// NotFound, as for any hidden group.
func (s *Service) CanPost(ctx context.Context, tx bun.IDB, groupID string, author *accounts.User, comment bool) (posts.GroupRights, error) {
	var r posts.GroupRights
	g, m, err := s.view(ctx, tx, posts.ViewerOf(author), groupID)
	if err != nil {
		return r, err
	}
	if !m.Active() {
		if g.Visibility == Open && comment && !author.IsRemote() {
			return r, nil // anyone here may read an open group, and so comment on it
		}
		return r, errs.E(errs.Forbidden, "join %s to post in it", g.DisplayName)
	}
	if !comment && g.Posting == AdminsOnly && !m.Moderates() {
		return r, errs.E(errs.Forbidden, "only the admins of %s can post in it; you can comment", g.DisplayName)
	}
	r.Announce = m.Moderates()
	// Roles of a group elsewhere are its home node's to apply: here they are only mirrored.
	r.Moderate = m.Moderates() && !g.IsRemote()
	return r, nil
}

// Readers lists the local people who may read the group's posts, for notifications of
// announcements (members; for open groups every active person here).
func (s *Service) Readers(ctx context.Context, tx bun.IDB, groupID string) ([]string, error) {
	g, err := s.load(ctx, tx, groupID)
	if err != nil {
		return nil, err
	}
	var out []string
	q := tx.NewSelect().Table("users").Column("id").Where("state = 'active'")
	if g.Visibility != Open {
		q = q.Where("id IN (SELECT account_id FROM group_members WHERE group_id = ? AND state = ?)", groupID, Joined)
	}
	return out, q.Scan(ctx, &out)
}

// CloseFollowers lists the local members who follow the group closely (a notification for
// every new post).
func (s *Service) CloseFollowers(ctx context.Context, tx bun.IDB, groupID string) ([]string, error) {
	var out []string
	err := tx.NewRaw(`SELECT m.account_id FROM group_members m JOIN users u ON u.id = m.account_id
		WHERE m.group_id = ? AND m.state = ? AND m.notify AND u.state = 'active'`, groupID, Joined).Scan(ctx, &out)
	return out, err
}

// HostHasMember reports whether host has at least one current member of the group: the rule
// for signed fetches by a member's node (FEDERATION.md §3.3).
func (s *Service) HostHasMember(ctx context.Context, groupID, host string) (bool, error) {
	host = strings.ToLower(host)
	return s.DB.NewSelect().Table("group_members").Where("group_id = ? AND state = ?", groupID, Joined).
		Where("account_id IN (SELECT id FROM remote_accounts WHERE domain = ? AND deleted_at IS NULL)", host).Exists(ctx)
}
