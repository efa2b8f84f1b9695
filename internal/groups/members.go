package groups

import (
	"context"
	"strings"

	"github.com/uptrace/bun"

	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/audit"
	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/posts"
)

// put writes m (insert or update) and tells the hooks.
func (s *Service) put(ctx context.Context, tx bun.IDB, g *Group, m *Membership, from State, by string) error {
	if _, err := tx.NewInsert().Model(m).On("CONFLICT (group_id, account_id) DO UPDATE").
		Set("role = EXCLUDED.role, state = EXCLUDED.state, invited_by = EXCLUDED.invited_by, activity_uri = EXCLUDED.activity_uri").
		Exec(ctx); err != nil {
		return err
	}
	return s.membershipChanged(ctx, tx, g, m, from, by)
}

// drop ends m and tells the hooks.
func (s *Service) drop(ctx context.Context, tx bun.IDB, g *Group, m *Membership, by string) error {
	if _, err := tx.NewDelete().Model(m).WherePK().Exec(ctx); err != nil {
		return err
	}
	from := m.State
	m.State = Gone
	return s.membershipChanged(ctx, tx, g, m, from, by)
}

// admits is the one partner rule for remote people in a group hosted here: an open group
// admits anyone the node federates with; a closed or secret group only people from partner
// nodes its admins confirmed (group_partners), because those nodes' administrators can read
// what their node receives.
func (s *Service) admits(ctx context.Context, tx bun.IDB, g *Group, u *accounts.User) error {
	if !u.IsRemote() {
		return nil
	}
	host := hostName(u.Remote.Domain)
	if s.PartnerAllowed != nil && !s.PartnerAllowed(ctx, host) {
		return errs.E(errs.Forbidden, "%s is not a partner of this node, so its people cannot join groups here", host)
	}
	if g.Visibility == Open {
		return nil
	}
	ok, err := tx.NewSelect().Model((*Partner)(nil)).Where("group_id = ? AND host = ?", g.ID, host).Exists(ctx)
	if err != nil || ok {
		return err
	}
	return errs.E(errs.Conflict, "%s admits nobody from %s yet: a group admin must first add %s as a partner of the group, "+
		"confirming that its administrators will be able to read everything their node receives from the group", g.DisplayName, host, host)
}

// Join is u asking to join: an open group (or one u is invited to) admits at once, a closed
// group records a request for its admins, a secret group without an invitation does not exist.
// For a group on another node the membership stays requested until that node accepts.
// activityURI is the Follow of a remote person (federation), "" otherwise.
func (s *Service) Join(ctx context.Context, u *accounts.User, id, activityURI string) (*Membership, error) {
	if !u.Active() {
		return nil, errs.E(errs.Forbidden, "your account is deactivated")
	}
	var m *Membership
	err := s.DB.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		g, old, err := s.view(ctx, tx, posts.ViewerOf(u), id)
		if err != nil {
			return err
		}
		if old.Active() {
			m = old
			return nil
		}
		from := Gone
		m = &Membership{GroupID: g.ID, AccountID: u.ID, Role: Member, CreatedAt: s.now(), ActivityURI: activityURI}
		if old != nil {
			from, m.InvitedBy, m.CreatedAt = old.State, old.InvitedBy, old.CreatedAt
		}
		invited := from == Invited
		switch {
		case g.IsRemote():
			m.State = Requested // the group's node answers with Accept or Reject
		case g.Visibility == Secret && !invited:
			return groupNotFound()
		case g.Visibility == Open || invited:
			if err := s.admits(ctx, tx, g, u); err != nil {
				return err
			}
			m.State = Joined
		default:
			if from == Requested {
				m = old
				return nil
			}
			m.State = Requested
		}
		return s.put(ctx, tx, g, m, from, u.ID)
	})
	return m, err
}

// Leave ends u's membership (or request, or invitation). The last admin of a group with other
// members must name another admin first.
func (s *Service) Leave(ctx context.Context, u *accounts.User, id string) error {
	return s.DB.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		g, m, err := s.view(ctx, tx, posts.ViewerOf(u), id)
		if err != nil {
			return err
		}
		if m == nil {
			return nil
		}
		if m.Administers() && !g.IsRemote() {
			admins, err := tx.NewSelect().Model((*Membership)(nil)).Where("group_id = ? AND state = ? AND role = ?", g.ID, Joined, Admin).Count(ctx)
			if err != nil {
				return err
			}
			if admins == 1 && g.MembersCount > 1 {
				return errs.E(errs.Conflict, "you are the only admin of %s: make another member an admin before you leave", g.DisplayName)
			}
		}
		return s.drop(ctx, tx, g, m, u.ID)
	})
}

// Invite asks target into the group. Members may invite to open and closed groups; only
// admins and moderators to secret ones. An invitation is the only way into a secret group.
func (s *Service) Invite(ctx context.Context, u *accounts.User, id string, target *accounts.User) (*Membership, error) {
	var m *Membership
	err := s.DB.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		g, mine, err := s.view(ctx, tx, posts.ViewerOf(u), id)
		if err != nil {
			return err
		}
		if !mine.Active() {
			return errs.E(errs.Forbidden, "join %s before inviting people to it", g.DisplayName)
		}
		if g.IsRemote() {
			return errs.E(errs.Forbidden, "%s is hosted on %s: invitations to it are sent from there", g.DisplayName, g.Domain)
		}
		if g.Visibility == Secret && !mine.Moderates() {
			return errs.E(errs.Forbidden, "only the admins and moderators of %s can invite people", g.DisplayName)
		}
		if target == nil || !target.Active() {
			return errs.Field("acct", "that person does not exist or their account is deactivated")
		}
		if err := s.admits(ctx, tx, g, target); err != nil {
			return err
		}
		old, err := s.membership(ctx, tx, g.ID, target.ID)
		if err != nil {
			return err
		}
		switch {
		case old.Active():
			return errs.E(errs.Conflict, "%s is already a member", target.Acct())
		case old != nil && old.State == Invited:
			m = old
			return nil
		case old != nil && old.State == Requested && mine.Moderates():
			// An admin inviting someone who asked to join is an approval.
			m = old
			m.State = Joined
			return s.put(ctx, tx, g, m, Requested, u.ID)
		}
		m = &Membership{GroupID: g.ID, AccountID: target.ID, Role: Member, State: Invited, InvitedBy: u.ID, CreatedAt: s.now()}
		from := Gone
		if old != nil {
			from = old.State
		}
		return s.put(ctx, tx, g, m, from, u.ID)
	})
	return m, err
}

// moderated loads a group u moderates, with target's membership.
func (s *Service) moderated(ctx context.Context, tx bun.IDB, u *accounts.User, id, targetID string) (*Group, *Membership, *Membership, error) {
	g, mine, err := s.view(ctx, tx, posts.ViewerOf(u), id)
	if err != nil {
		return nil, nil, nil, err
	}
	if !mine.Moderates() {
		return nil, nil, nil, errs.E(errs.Forbidden, "only the admins and moderators of %s can do this", g.DisplayName)
	}
	if g.IsRemote() {
		return nil, nil, nil, errs.E(errs.Forbidden, "%s is hosted on %s: its admins there manage it", g.DisplayName, g.Domain)
	}
	target, err := s.membership(ctx, tx, g.ID, targetID)
	if err != nil {
		return nil, nil, nil, err
	}
	if target == nil {
		return nil, nil, nil, errs.E(errs.NotFound, "that person has no membership, request or invitation in %s", g.DisplayName)
	}
	return g, mine, target, nil
}

func (s *Service) audit(ctx context.Context, tx bun.IDB, u *accounts.User, action string, g *Group, detail string) error {
	return audit.Record(ctx, tx, audit.Entry{ActorID: u.ID, ActorName: u.Username, Action: action, Target: g.ID,
		Detail: detail, CreatedAt: s.now()})
}

// Authorize admits someone who asked to join.
func (s *Service) Authorize(ctx context.Context, u *accounts.User, id, accountID string) (*Membership, error) {
	var m *Membership
	err := s.DB.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		g, _, target, err := s.moderated(ctx, tx, u, id, accountID)
		if err != nil {
			return err
		}
		if target.State != Requested {
			return errs.E(errs.Conflict, "there is no request to approve")
		}
		who, err := s.Accounts.Lookup(ctx, accountID)
		if err != nil {
			return err
		}
		if err := s.admits(ctx, tx, g, who); err != nil {
			return err
		}
		m = target
		m.State = Joined
		if err := s.put(ctx, tx, g, m, Requested, u.ID); err != nil {
			return err
		}
		return s.audit(ctx, tx, u, "group.approve", g, who.Acct())
	})
	return m, err
}

// Reject declines a request to join (or withdraws an invitation).
func (s *Service) Reject(ctx context.Context, u *accounts.User, id, accountID string) error {
	return s.DB.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		g, _, target, err := s.moderated(ctx, tx, u, id, accountID)
		if err != nil {
			return err
		}
		if target.State == Joined {
			return errs.E(errs.Conflict, "that person is a member: remove them instead")
		}
		if err := s.drop(ctx, tx, g, target, u.ID); err != nil {
			return err
		}
		return s.audit(ctx, tx, u, "group.reject", g, accountID)
	})
}

// Remove takes a member out of the group at once: they stop seeing its content, and their
// node stops receiving it. Only admins remove admins.
func (s *Service) Remove(ctx context.Context, u *accounts.User, id, accountID string) error {
	return s.DB.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		g, mine, target, err := s.moderated(ctx, tx, u, id, accountID)
		if err != nil {
			return err
		}
		if accountID == u.ID {
			return errs.E(errs.Invalid, "to leave the group, use Leave")
		}
		if target.Role == Admin && !mine.Administers() {
			return errs.E(errs.Forbidden, "only admins can remove an admin")
		}
		if err := s.drop(ctx, tx, g, target, u.ID); err != nil {
			return err
		}
		return s.audit(ctx, tx, u, "group.remove", g, accountID)
	})
}

// SetRole promotes or demotes a member; only admins may, and a group keeps one admin.
func (s *Service) SetRole(ctx context.Context, u *accounts.User, id, accountID string, role Role) error {
	if !role.Valid() {
		return errs.Field("role", "%q is not a role: use admin, moderator or member", role)
	}
	return s.DB.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		g, mine, target, err := s.moderated(ctx, tx, u, id, accountID)
		if err != nil {
			return err
		}
		if !mine.Administers() {
			return errs.E(errs.Forbidden, "only the admins of %s can change roles", g.DisplayName)
		}
		if !target.Active() {
			return errs.E(errs.Conflict, "only members have roles")
		}
		if target.Role == Admin && role != Admin {
			admins, err := tx.NewSelect().Model((*Membership)(nil)).Where("group_id = ? AND state = ? AND role = ?", g.ID, Joined, Admin).Count(ctx)
			if err != nil {
				return err
			}
			if admins == 1 {
				return errs.E(errs.Conflict, "%s needs at least one admin", g.DisplayName)
			}
		}
		target.Role = role
		if _, err := tx.NewUpdate().Model(target).Column("role").WherePK().Exec(ctx); err != nil {
			return err
		}
		if err := s.membershipChanged(ctx, tx, g, target, Joined, u.ID); err != nil {
			return err
		}
		return s.audit(ctx, tx, u, "group.role", g, accountID+" "+string(role))
	})
}

// SetNotify turns "follow closely" (a notification for each new post) on or off.
func (s *Service) SetNotify(ctx context.Context, u *accounts.User, id string, on bool) error {
	res, err := s.DB.NewUpdate().Model((*Membership)(nil)).Set("notify = ?", on).
		Where("group_id = ? AND account_id = ? AND state = ?", id, u.ID, Joined).Exec(ctx)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errs.E(errs.NotFound, "you are not a member of this group")
	}
	return nil
}

// MemberView is a membership with the person.
type MemberView struct {
	*Membership
	Account *accounts.User
}

// Members lists a group's members (state Joined, for anyone who may read the group),
// requests (Requested) or invitations (Invited; both for admins and moderators), in account
// id order (a stable keyset for paging).
// after is the account id of the last entry of the previous page.
func (s *Service) Members(ctx context.Context, v *posts.Viewer, id string, state State, after string, limit int) ([]*MemberView, error) {
	if state == "" {
		state = Joined
	}
	if limit <= 0 {
		limit = 40
	}
	limit = min(limit, 80)
	g, m, err := s.readable(ctx, s.DB, v, id)
	if err != nil {
		return nil, err
	}
	if state != Joined && !m.Moderates() {
		return nil, errs.E(errs.Forbidden, "only the admins and moderators of %s can see requests and invitations", g.DisplayName)
	}
	var ms []*Membership
	q := s.DB.NewSelect().Model(&ms).Where("group_id = ? AND state = ?", g.ID, state).OrderExpr("account_id").Limit(int64(limit))
	if after != "" {
		q = q.Where("account_id > ?", after)
	}
	if err := q.Scan(ctx); err != nil {
		return nil, err
	}
	idList := make([]string, len(ms))
	for i, m := range ms {
		idList[i] = m.AccountID
	}
	people, err := s.Accounts.GetMany(ctx, idList)
	if err != nil {
		return nil, err
	}
	out := make([]*MemberView, 0, len(ms))
	for _, m := range ms {
		if p := people[m.AccountID]; p != nil {
			out = append(out, &MemberView{Membership: m, Account: p})
		}
	}
	return out, nil
}

// Partners lists the partner nodes a closed or secret group admits members from.
func (s *Service) Partners(ctx context.Context, v *posts.Viewer, id string) ([]*Partner, error) {
	g, _, err := s.readable(ctx, s.DB, v, id)
	if err != nil {
		return nil, err
	}
	var out []*Partner
	return out, s.DB.NewSelect().Model(&out).Where("group_id = ?", g.ID).OrderExpr("host").Scan(ctx)
}

// AddPartner lets a closed or secret group admit members from host. The admin must confirm
// that they know the partner's administrators can read what their node receives.
func (s *Service) AddPartner(ctx context.Context, u *accounts.User, id, host string, confirmed bool) error {
	host = hostName(host)
	if host == "" || strings.ContainsAny(host, "/@ ") {
		return errs.Field("host", "give the partner node's host name, like partner.example")
	}
	return s.DB.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		g, mine, err := s.view(ctx, tx, posts.ViewerOf(u), id)
		if err != nil {
			return err
		}
		if g.IsRemote() || !mine.Administers() {
			return errs.E(errs.Forbidden, "only the admins of %s can choose its partner nodes", g.DisplayName)
		}
		if s.PartnerAllowed != nil && !s.PartnerAllowed(ctx, host) {
			return errs.Field("host", "%s is not a partner of this node: an administrator adds it under Admin → Partners first", host)
		}
		if !confirmed {
			return errs.Field("confirm", "the administrators of %s will be able to read everything their node receives from %s; confirm to continue",
				host, g.DisplayName)
		}
		if _, err := tx.NewInsert().Model(&Partner{GroupID: g.ID, Host: host, ConfirmedBy: u.ID, CreatedAt: s.now()}).
			On("CONFLICT DO NOTHING").Exec(ctx); err != nil {
			return err
		}
		return s.audit(ctx, tx, u, "group.partner.add", g, host)
	})
}

// RemovePartner stops a closed or secret group admitting people from host, and removes the
// members it has from there at once.
func (s *Service) RemovePartner(ctx context.Context, u *accounts.User, id, host string) error {
	host = hostName(host)
	return s.DB.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		g, mine, err := s.view(ctx, tx, posts.ViewerOf(u), id)
		if err != nil {
			return err
		}
		if g.IsRemote() || !mine.Administers() {
			return errs.E(errs.Forbidden, "only the admins of %s can choose its partner nodes", g.DisplayName)
		}
		if _, err := tx.NewDelete().Model((*Partner)(nil)).Where("group_id = ? AND host = ?", g.ID, host).Exec(ctx); err != nil {
			return err
		}
		if err := s.dropHost(ctx, tx, g, host, u.ID); err != nil {
			return err
		}
		return s.audit(ctx, tx, u, "group.partner.remove", g, host)
	})
}

// dropHost ends every membership of people from host in g.
func (s *Service) dropHost(ctx context.Context, tx bun.IDB, g *Group, host, by string) error {
	var ms []*Membership
	if err := tx.NewSelect().Model(&ms).Where("group_id = ?", g.ID).
		Where("account_id IN (SELECT id FROM remote_accounts WHERE domain = ? OR domain LIKE ?)", host, host+":%").Scan(ctx); err != nil {
		return err
	}
	for _, m := range ms {
		if err := s.drop(ctx, tx, g, m, by); err != nil {
			return err
		}
	}
	return nil
}

// HostRemoved ends every membership from host in every group here: the node's admins removed
// the partner (or blocked it), which takes effect at once.
func (s *Service) HostRemoved(ctx context.Context, tx bun.IDB, host string) error {
	var gs []*Group
	host = hostName(host)
	if err := tx.NewSelect().Model(&gs).Where("domain = '' AND id IN (SELECT group_id FROM group_members WHERE account_id IN (SELECT id FROM remote_accounts WHERE domain = ? OR domain LIKE ?))", host, host+":%").Scan(ctx); err != nil {
		return err
	}
	for _, g := range gs {
		if err := s.dropHost(ctx, tx, g, host, ""); err != nil {
			return err
		}
	}
	return nil
}

// hostName is a host without its port: partner policy is by name (test and devnet nodes
// differ by port on one address).
func hostName(host string) string {
	host = strings.ToLower(strings.TrimSpace(host))
	if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.Contains(host[i:], "]") {
		host = host[:i]
	}
	return host
}
