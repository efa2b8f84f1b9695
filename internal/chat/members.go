package chat

import (
	"context"

	"github.com/uptrace/bun"

	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/errs"
)

// manages checks that u may change the member list of c: a group chat kept here, of which
// u is an admin.
func manages(c *Conversation, me *Member, what string) error {
	if c.Kind == Direct {
		return errs.E(errs.Invalid, "a direct chat is between two people and cannot change; start a group chat with everyone instead")
	}
	if c.IsRemote() {
		return errs.E(errs.Forbidden, "this chat is kept by %s, where it was started; its members are managed there", c.Domain)
	}
	if me.Role != RoleAdmin {
		return errs.E(errs.Forbidden, "only the chat's admins can %s", what)
	}
	return nil
}

// AddMembers adds people to a group chat; only its admins may. People already in it are
// skipped. Those added read the messages from now on, not the history.
func (s *Service) AddMembers(ctx context.Context, u *accounts.User, chatID string, people []*accounts.User) (*View, error) {
	if len(people) == 0 {
		return nil, errs.Field("participants", "choose at least one person to add")
	}
	for _, p := range people {
		if p == nil {
			return nil, errs.Field("participants", "nobody by that name is known here")
		}
		if err := s.reachable(ctx, p); err != nil {
			return nil, err
		}
	}
	err := s.DB.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		c, me, _, err := s.acting(ctx, tx, u, chatID)
		if err != nil {
			return err
		}
		if err := manages(c, me, "add people"); err != nil {
			return err
		}
		n, err := tx.NewSelect().Model((*Member)(nil)).Where("conversation_id = ?", c.ID).Count(ctx)
		if err != nil {
			return err
		}
		fresh := 0
		for _, p := range people {
			if m, err := s.memberOf(ctx, tx, c.ID, p.ID); err != nil {
				return err
			} else if m == nil {
				fresh++
			}
		}
		if int(n)+fresh > MaxMembers {
			return errs.Field("participants", "a chat holds at most %d people", MaxMembers)
		}
		now := s.Clock.Now()
		added, err := s.insertMembers(ctx, tx, c, u.ID, historyFloor(now), people, now)
		if err != nil {
			return err
		}
		return s.membersChanged(ctx, tx, c, MembersChange{Added: added, By: u.ID}, "members")
	})
	if err != nil {
		return nil, err
	}
	return s.Get(ctx, u, chatID)
}

// RemoveMember takes someone out of a group chat; only its admins may, except that anyone may
// remove themselves (Leave). The person removed loses the chat at once.
func (s *Service) RemoveMember(ctx context.Context, u *accounts.User, chatID, accountID string) error {
	if u != nil && accountID == u.ID {
		return s.Leave(ctx, u, chatID)
	}
	return s.DB.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		c, me, _, err := s.acting(ctx, tx, u, chatID)
		if err != nil {
			return err
		}
		if err := manages(c, me, "remove people"); err != nil {
			return err
		}
		m, err := s.memberOf(ctx, tx, c.ID, accountID)
		if err != nil {
			return err
		}
		if m == nil {
			return errs.E(errs.NotFound, "this person is not in the chat")
		}
		return s.drop(ctx, tx, c, m, u.ID)
	})
}

// Leave takes u out of a chat. A direct chat cannot be left (the other person could always
// write again), so leaving one hides it until its next message, as Hide does.
func (s *Service) Leave(ctx context.Context, u *accounts.User, chatID string) error {
	return s.DB.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		c, me, _, err := s.acting(ctx, tx, u, chatID)
		if err != nil {
			return err
		}
		if c.Kind == Direct {
			_, err := tx.NewUpdate().Model(me).Set("hidden = TRUE").WherePK().Exec(ctx)
			return err
		}
		return s.drop(ctx, tx, c, me, u.ID)
	})
}

// drop removes m from c. A group chat kept here never stays without an admin while someone
// here is in it: the member who joined first among this node's people takes over.
func (s *Service) drop(ctx context.Context, tx bun.IDB, c *Conversation, m *Member, by string) error {
	if _, err := tx.NewDelete().Model(m).WherePK().Exec(ctx); err != nil {
		return err
	}
	if m.Role == RoleAdmin && !c.IsRemote() {
		admins, err := tx.NewSelect().Model((*Member)(nil)).Where("conversation_id = ? AND role = ?", c.ID, RoleAdmin).Count(ctx)
		if err != nil {
			return err
		}
		if admins == 0 {
			if _, err := tx.NewRaw(`UPDATE chat_members SET role = ? WHERE conversation_id = ? AND account_id =
				(SELECT account_id FROM chat_members WHERE conversation_id = ? AND local ORDER BY joined_at, account_id LIMIT 1)`,
				RoleAdmin, c.ID, c.ID).Exec(ctx); err != nil {
				return err
			}
		}
	}
	c.UpdatedAt = s.Clock.Now()
	if _, err := tx.NewUpdate().Model(c).Column("updated_at").WherePK().Exec(ctx); err != nil {
		return err
	}
	return s.membersChanged(ctx, tx, c, MembersChange{Removed: []string{m.AccountID}, By: by}, "members")
}

// SetRole makes a member of a group chat an admin or a plain member; only its admins may.
// The last admin cannot step down while others remain: they name another admin first.
func (s *Service) SetRole(ctx context.Context, u *accounts.User, chatID, accountID string, role Role) error {
	if role != RoleAdmin && role != RoleMember {
		return errs.Field("role", "%q is not a role: use admin or member", role)
	}
	return s.DB.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		c, me, _, err := s.acting(ctx, tx, u, chatID)
		if err != nil {
			return err
		}
		if err := manages(c, me, "change roles"); err != nil {
			return err
		}
		m, err := s.memberOf(ctx, tx, c.ID, accountID)
		if err != nil {
			return err
		}
		if m == nil {
			return errs.E(errs.NotFound, "this person is not in the chat")
		}
		if m.Role == role {
			return nil
		}
		if role == RoleAdmin && !m.Local {
			return errs.E(errs.Invalid, "only people of this node can administer a chat kept here")
		}
		if role == RoleMember {
			admins, err := tx.NewSelect().Model((*Member)(nil)).Where("conversation_id = ? AND role = ?", c.ID, RoleAdmin).Count(ctx)
			if err != nil {
				return err
			}
			if admins == 1 {
				return errs.E(errs.Conflict, "a group chat needs an admin: make someone else an admin first")
			}
		}
		if _, err := tx.NewUpdate().Model(m).Set("role = ?", role).WherePK().Exec(ctx); err != nil {
			return err
		}
		s.liveChat(ctx, tx, c, "members", nil)
		return nil
	})
}
