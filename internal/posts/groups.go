package posts

import (
	"context"
	"strings"

	"github.com/uptrace/bun"

	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/db"
	"github.com/atrium-social/atrium/internal/errs"
)

// GroupRights are what a group allows one author.
type GroupRights struct {
	Announce bool // may mark posts in the group important (its admins and moderators)
	Moderate bool // may delete anyone's posts and comments in the group (the same people)
}

// GroupAccess answers the group rules (the groups package implements it). The social core
// never decides group visibility itself: a post with audience group is visible exactly when
// CanRead says so, and a mention never widens that.
type GroupAccess interface {
	CanRead(ctx context.Context, tx bun.IDB, groupID string, v *Viewer) (bool, error)
	// CanPost checks that author may start a post (comment=false) or comment in the group.
	CanPost(ctx context.Context, tx bun.IDB, groupID string, author *accounts.User, comment bool) (GroupRights, error)
}

// groupReadable is the SQL form of CanRead for timelines: the viewer is a current member, or
// the group is open and the viewer is signed in here. Keep in step with groups.ReadsContent.
const groupReadable = `(p.audience = 'group' AND EXISTS (SELECT 1 FROM groups g WHERE g.id = p.group_id AND g.deleted_at IS NULL) AND (
	EXISTS (SELECT 1 FROM group_members gm WHERE gm.group_id = p.group_id AND gm.account_id = ? AND gm.state = 'member')
	OR (? AND EXISTS (SELECT 1 FROM groups g WHERE g.id = p.group_id AND g.visibility = 'open'))))`

// GroupTimeline lists a group's top-level posts, newest first. The groups service has
// checked that v may read the group.
func (s *Service) GroupTimeline(ctx context.Context, v *Viewer, groupID string, pg Page) ([]*Post, error) {
	return s.timeline(ctx, v, pg, func(q *bun.SelectQuery) *bun.SelectQuery {
		return q.Where("p.group_id = ? AND p.in_reply_to_id IS NULL AND p.reblog_of_id IS NULL", groupID)
	})
}

// GroupFile is an attachment posted in a group.
type GroupFile struct {
	Attachment
	AuthorID string `bun:"author_id"`
}

// GroupFiles lists the attachments of a group's posts and comments, newest first; query
// filters by file name.
func (s *Service) GroupFiles(ctx context.Context, v *Viewer, groupID, query string, limit int) ([]GroupFile, error) {
	if limit <= 0 || limit > 200 {
		limit = 100
	}
	var out []GroupFile
	q := s.DB.NewSelect().TableExpr("attachments AS a").ColumnExpr("a.*, p.author_id").
		Join("JOIN posts AS p ON p.id = a.post_id").
		Where("p.group_id = ? AND p.deleted_at IS NULL", groupID).OrderExpr("a.id DESC").Limit(int64(limit))
	if query = strings.TrimSpace(query); query != "" {
		like := "%" + strings.NewReplacer("%", "", "_", "").Replace(strings.ToLower(query)) + "%"
		q = q.Where("LOWER(a.file_name) LIKE ?", like)
	}
	return out, q.Scan(ctx, &out)
}

// GroupJoined puts the group's recent posts into a new member's home feed.
func (s *Service) GroupJoined(ctx context.Context, tx bun.IDB, groupID, accountID string) error {
	_, err := tx.NewRaw(`INSERT INTO home_feed (account_id, post_id)
		SELECT u.id, p.id FROM posts p JOIN users u ON u.id = ? WHERE p.group_id = ? AND p.in_reply_to_id IS NULL
		AND p.deleted_at IS NULL AND p.audience = ? ORDER BY p.id DESC LIMIT 40 ON CONFLICT DO NOTHING`,
		accountID, groupID, Group).Exec(ctx)
	return err
}

// GroupLeft takes the group's posts, their own included, out of a former member's home feed.
func (s *Service) GroupLeft(ctx context.Context, tx bun.IDB, groupID, accountID string) error {
	_, err := tx.NewRaw(`DELETE FROM home_feed WHERE account_id = ? AND post_id IN (
		SELECT id FROM posts WHERE group_id = ?)`, accountID, groupID).Exec(ctx)
	return err
}

// groupFanOut inserts group posts into their groups' active local members' feeds.
func (s *Service) groupFanOut(ctx context.Context, tx bun.IDB, postIDs []string) error {
	_, err := tx.NewRaw(`INSERT INTO home_feed (account_id, post_id)
		SELECT m.account_id, p.id FROM posts p
		JOIN group_members m ON m.group_id = p.group_id AND m.state = 'member'
		JOIN users u ON u.id = m.account_id
		WHERE p.id IN (?) AND p.audience = ? AND u.state = 'active' AND p.deleted_at IS NULL
		ORDER BY m.account_id, p.id
		ON CONFLICT DO NOTHING`, bun.In(postIDs), Group).Exec(ctx)
	return err
}

// groupPost checks a new post or comment in a group: the group's rules for its author, and
// announcements only from the group's admins and moderators (or the node's admins).
func (s *Service) groupPost(ctx context.Context, tx bun.IDB, author *accounts.User, p *Post, in NewPost) error {
	if s.Groups == nil || p.GroupID == nil {
		return errs.E(errs.NotFound, "this group does not exist or you cannot see it")
	}
	rights, err := s.Groups.CanPost(ctx, tx, *p.GroupID, author, p.InReplyToID != nil)
	if err != nil {
		return err
	}
	if in.Important && !rights.Announce && !author.IsAdmin() {
		return errs.E(errs.Forbidden, "only the group's admins and moderators can mark a post as important")
	}
	if in.Audience == Group && len(in.Recipients) > 0 {
		return errs.Field("recipients", "a group post goes to the group; mention people instead of choosing recipients")
	}
	return nil
}

// mayRead keeps the mentioned people who may read p: mentioning someone in a group post tells
// them only if they can read the group (a notification must not carry what they cannot see).
func (s *Service) mayRead(ctx context.Context, tx bun.IDB, p *Post, ids []string) ([]string, error) {
	if p.Audience != Group {
		return ids, nil
	}
	out := ids[:0]
	for _, id := range ids {
		u, err := s.Accounts.Get(ctx, id)
		if err != nil {
			continue
		}
		ok, err := s.CanSee(ctx, tx, ViewerOf(u), &Post{ID: p.ThreadID, AuthorID: p.AuthorID, Audience: Group, GroupID: p.GroupID})
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, id)
		}
	}
	return out, nil
}

// inGroup finds a live post of the group by its URI. It is how a group's own word is applied
// on a member's node: the group checked that the person may act on its content, and people
// on third nodes are not members here, so the viewer rule cannot be asked.
func (s *Service) inGroup(groupID string) find {
	return func(ctx context.Context, tx bun.IDB, uri string) (*Post, error) {
		p := new(Post)
		err := tx.NewSelect().Model(p).Where("uri = ? AND group_id = ? AND deleted_at IS NULL", uri, groupID).Scan(ctx)
		if db.IsNotFound(err) {
			return nil, notFound()
		}
		return p, err
	}
}

// ReactViaGroup applies a reaction the group announced (see inGroup).
func (s *Service) ReactViaGroup(ctx context.Context, u *accounts.User, groupID, uri, emoji string) (*Post, error) {
	return s.react(ctx, u, uri, emoji, s.inGroup(groupID))
}

// UnreactViaGroup applies the withdrawal of a reaction the group announced.
func (s *Service) UnreactViaGroup(ctx context.Context, u *accounts.User, groupID, uri string) (*Post, error) {
	return s.unreact(ctx, u, uri, s.inGroup(groupID))
}

// DeleteViaGroup applies a deletion the group announced: its author's, or a group
// moderator's on the home node, which reaches the author's node too.
func (s *Service) DeleteViaGroup(ctx context.Context, groupID, uri string) error {
	// The same path as the author's own deletion: hooks, counts and live updates. Hooks that
	// federate see a group post of a group elsewhere: for an author here they send the
	// Delete to the group, which already has it and ignores it.
	_, err := s.delete(ctx, uri, s.inGroup(groupID))
	if errs.Is(err, errs.NotFound) {
		return nil // already gone: deliveries cross
	}
	return err
}
