package accounts

import (
	"context"
	"fmt"
	"strings"

	"github.com/uptrace/bun"

	"github.com/atrium-social/atrium/internal/db"
	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/ids"
	amail "github.com/atrium-social/atrium/internal/mail"
)

// Invite creates an invitation link. email is optional: when given, only that address can
// use the link and the link is e-mailed to it. Returns the plain token (shown once).
func (s *Service) Invite(ctx context.Context, a Actor, email, role string) (string, *Invitation, error) {
	if err := s.requireAdmin(a); err != nil {
		return "", nil, err
	}
	if role == "" {
		role = RoleMember
	}
	if role != RoleMember && role != RoleAdmin {
		return "", nil, errs.Field("role", "%q is not admin or member", role)
	}
	if email = strings.TrimSpace(email); email != "" {
		var err error
		if email, err = checkEmail(email); err != nil {
			return "", nil, err
		}
		n, err := s.DB.NewSelect().Model((*User)(nil)).Where("email_lower = ?", strings.ToLower(email)).Count(ctx)
		if err != nil {
			return "", nil, err
		}
		if n > 0 {
			return "", nil, &errs.Error{Kind: errs.Conflict, Field: "email", Msg: email + " has an account already"}
		}
	}
	plain := ids.Token()
	now := s.Clock.Now()
	inv := &Invitation{ID: newID(s.Clock), TokenHash: ids.Hash(plain), Email: email, Role: role,
		CreatedAt: now, ExpiresAt: now.Add(InvitationTTL)}
	if a.User != nil {
		inv.CreatedBy = &a.User.ID
	}
	err := s.DB.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewInsert().Model(inv).Exec(ctx); err != nil {
			return err
		}
		return s.audit(ctx, tx, a, "invitation.create", email, "role="+role)
	})
	if err != nil {
		return "", nil, err
	}
	if email != "" {
		org, _ := s.Orgs.Get(ctx)
		link := s.BaseURL(ctx) + "/signup?invite=" + plain
		err := s.Mail.Send(ctx, amail.Message{To: email, Subject: "You are invited to " + org.Name + " on Atrium",
			Body: fmt.Sprintf("%s invited you to join %s.\n\nCreate your account: %s\n\nThe link works once, for %d days.\n",
				a.name(), org.Name, link, int(InvitationTTL.Hours()/24))})
		if err != nil {
			s.Log.Warn("invitation e-mail failed; the admin still has the link", "to", email, "err", err)
		}
	}
	return plain, inv, nil
}

// Invitations lists invitations, newest first.
func (s *Service) Invitations(ctx context.Context, a Actor, limit int) ([]Invitation, error) {
	if err := s.requireAdmin(a); err != nil {
		return nil, err
	}
	var out []Invitation
	return out, s.DB.NewSelect().Model(&out).Order("id DESC").Limit(int64(limit)).Scan(ctx)
}

// RevokeInvitation makes an unused link unusable.
func (s *Service) RevokeInvitation(ctx context.Context, a Actor, id string) error {
	if err := s.requireAdmin(a); err != nil {
		return err
	}
	return s.DB.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		res, err := tx.NewUpdate().Model((*Invitation)(nil)).Set("revoked_at = ?", s.Clock.Now()).
			Where("id = ? AND used_at IS NULL AND revoked_at IS NULL", id).Exec(ctx)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errs.E(errs.NotFound, "no open invitation with that id")
		}
		return s.audit(ctx, tx, a, "invitation.revoke", id, "")
	})
}

// CheckInvitation returns the open invitation behind a link, or says why it cannot be used.
func (s *Service) CheckInvitation(ctx context.Context, plain string) (*Invitation, error) {
	return s.checkInvitation(ctx, s.DB, plain)
}

func (s *Service) checkInvitation(ctx context.Context, tx bun.IDB, plain string) (*Invitation, error) {
	inv := new(Invitation)
	if err := tx.NewSelect().Model(inv).Where("token_hash = ?", ids.Hash(plain)).Scan(ctx); err != nil {
		return nil, db.Err(err, "this invitation link is not valid; ask your administrator for a new one")
	}
	switch inv.Status(s.Clock.Now()) {
	case "used":
		return nil, errs.E(errs.Invalid, "this invitation link was used already; sign in, or ask for a new link")
	case "revoked":
		return nil, errs.E(errs.Invalid, "this invitation was withdrawn; ask your administrator for a new one")
	case "expired":
		return nil, errs.E(errs.Invalid, "this invitation expired; ask your administrator for a new one")
	}
	return inv, nil
}

// SignUp creates an account for a person with an invitation link, or whose e-mail domain
// is one of the organisation's allowed domains. The invitation is consumed in the same
// transaction, so a link cannot be used twice even by two simultaneous requests.
func (s *Service) SignUp(ctx context.Context, invite string, in NewUser) (*User, error) {
	org, err := s.Orgs.Get(ctx)
	if err != nil {
		return nil, err
	}
	if !org.SetupDone {
		return nil, errs.E(errs.Invalid, "this node is not set up yet")
	}
	in.Role = RoleMember
	if invite != "" {
		inv, err := s.CheckInvitation(ctx, invite)
		if err != nil {
			return nil, err
		}
		if inv.Email != "" && !strings.EqualFold(inv.Email, strings.TrimSpace(in.Email)) {
			return nil, errs.Field("email", "this invitation is for %s", inv.Email)
		}
		in.Role = inv.Role
	} else {
		e, err := checkEmail(in.Email)
		if err != nil {
			return nil, err
		}
		if !contains(org.AllowedDomains, emailDomain(e)) {
			return nil, errs.E(errs.Forbidden, "sign-up needs an invitation link, or an e-mail address at one of your organisation's domains")
		}
	}
	u, err := s.prepare(ctx, in)
	if err != nil {
		return nil, err
	}
	err = s.DB.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if invite != "" {
			if _, err := s.checkInvitation(ctx, tx, invite); err != nil {
				return err
			}
		}
		if err := s.insert(ctx, tx, u); err != nil {
			return err
		}
		if invite == "" {
			return nil
		}
		res, err := tx.NewUpdate().Model((*Invitation)(nil)).Set("used_at = ?", s.Clock.Now()).Set("used_by = ?", u.ID).
			Where("token_hash = ? AND used_at IS NULL", ids.Hash(invite)).Exec(ctx)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return errs.E(errs.Invalid, "this invitation link was used already")
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// RequestReset e-mails a reset link if the address has an active account. It answers the
// same either way, so the form cannot be used to discover who has an account.
func (s *Service) RequestReset(ctx context.Context, email, ip string) error {
	if ok, wait := s.resetByIP.Allow(ip); !ok {
		return errs.E(errs.TooMany, "too many reset requests; try again in %d minutes", minutes(wait))
	}
	u := new(User)
	err := s.DB.NewSelect().Model(u).Where("email_lower = ?", strings.ToLower(strings.TrimSpace(email))).Scan(ctx)
	if db.IsNotFound(err) || (err == nil && !u.Active()) {
		return nil
	}
	if err != nil {
		return err
	}
	plain := ids.Token()
	now := s.Clock.Now()
	r := &passwordReset{TokenHash: ids.Hash(plain), UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(ResetTTL)}
	if _, err := s.DB.NewInsert().Model(r).Exec(ctx); err != nil {
		return err
	}
	link := s.BaseURL(ctx) + "/reset?token=" + plain
	return s.Mail.Send(ctx, amail.Message{To: u.Email, Subject: "Reset your Atrium password",
		Body: fmt.Sprintf("Hello %s,\n\nSomeone asked to reset your password. If it was you, choose a new one here:\n%s\n\nThe link works once, for one hour. If it was not you, ignore this e-mail.\n", u.Name(), link)})
}

// ResetPassword sets a new password with a reset link and ends every session of the person.
func (s *Service) ResetPassword(ctx context.Context, plain, password string) (*User, error) {
	if err := checkPassword("new_password", password); err != nil {
		return nil, err
	}
	r := new(passwordReset)
	if err := s.DB.NewSelect().Model(r).Where("token_hash = ?", ids.Hash(plain)).Scan(ctx); err != nil {
		return nil, db.Err(err, "this reset link is not valid; request a new one")
	}
	if r.UsedAt != nil {
		return nil, errs.E(errs.Invalid, "this reset link was used already; request a new one")
	}
	if s.Clock.Now().After(r.ExpiresAt) {
		return nil, errs.E(errs.Invalid, "this reset link expired; request a new one")
	}
	res, err := s.DB.NewUpdate().Model(r).Set("used_at = ?", s.Clock.Now()).Where("token_hash = ? AND used_at IS NULL", r.TokenHash).Exec(ctx)
	if err != nil {
		return nil, err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return nil, errs.E(errs.Invalid, "this reset link was used already; request a new one")
	}
	if err := s.setPassword(ctx, r.UserID, password, ""); err != nil {
		return nil, err
	}
	return s.Get(ctx, r.UserID)
}
