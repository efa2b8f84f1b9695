package accounts

import (
	"context"
	"fmt"
	"strings"

	"github.com/uptrace/bun"

	"github.com/atrium-social/atrium/internal/config"
	"github.com/atrium-social/atrium/internal/db"
	"github.com/atrium-social/atrium/internal/errs"
)

// NewUser is the input for creating an account.
type NewUser struct {
	Username    string
	Email       string
	Password    string
	DisplayName string
	Role        string // "" means member
}

func (s *Service) prepare(ctx context.Context, in NewUser) (*User, error) {
	in.Username = strings.TrimSpace(in.Username)
	if err := checkUsername(in.Username); err != nil {
		return nil, err
	}
	email, err := checkEmail(in.Email)
	if err != nil {
		return nil, err
	}
	if err := checkPassword("password", in.Password); err != nil {
		return nil, err
	}
	if in.Role == "" {
		in.Role = RoleMember
	}
	if in.Role != RoleAdmin && in.Role != RoleMember {
		return nil, errs.Field("role", "%q is not admin or member", in.Role)
	}
	if len(in.DisplayName) > 100 {
		return nil, errs.Field("display_name", "use at most 100 characters")
	}
	hash, err := s.Hasher.Hash(ctx, in.Password)
	if err != nil {
		return nil, err
	}
	now := s.Clock.Now()
	u := &User{
		ID: newID(s.Clock), Username: in.Username, UsernameLower: strings.ToLower(in.Username),
		Email: email, EmailLower: strings.ToLower(email), PasswordHash: hash, Role: in.Role,
		State: StateActive, DisplayName: strings.TrimSpace(in.DisplayName), CreatedAt: now, UpdatedAt: now,
	}
	u.SearchText = searchText(u)
	return u, nil
}

// insert stores u inside tx, turning unique violations into a message naming the field.
func (s *Service) insert(ctx context.Context, tx bun.IDB, u *User) error {
	for _, c := range []struct{ col, val, field, msg string }{
		{"username_lower", u.UsernameLower, "username", "the username %q is taken; choose another"},
		{"email_lower", u.EmailLower, "email", "an account with the e-mail %q exists already; sign in or reset its password"},
	} {
		n, err := tx.NewSelect().Model((*User)(nil)).Where("? = ?", bun.Ident(c.col), c.val).Count(ctx)
		if err != nil {
			return err
		}
		if n > 0 {
			v := u.Username
			if c.field == "email" {
				v = u.Email
			}
			return &errs.Error{Kind: errs.Conflict, Field: c.field, Msg: fmt.Sprintf(c.msg, v)}
		}
	}
	if _, err := tx.NewInsert().Model(u).Exec(ctx); err != nil {
		return db.Err(err, "that username or e-mail is taken")
	}
	if s.Created != nil {
		return s.Created(ctx, tx, u.ID)
	}
	return nil
}

// Create makes an account; only administrators (or the CLI) may.
func (s *Service) Create(ctx context.Context, a Actor, in NewUser) (*User, error) {
	if err := s.requireAdmin(a); err != nil {
		return nil, err
	}
	u, err := s.prepare(ctx, in)
	if err != nil {
		return nil, err
	}
	err = s.DB.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if err := s.insert(ctx, tx, u); err != nil {
			return err
		}
		return s.audit(ctx, tx, a, "user.create", u.Username, "role="+u.Role)
	})
	if err != nil {
		return nil, fmt.Errorf("accounts: create %s: %w", in.Username, err)
	}
	return u, nil
}

// Setup is what the first-run wizard (and `atrium admin setup`) does, once: name the
// organisation, fix the node's public URL and create the first administrator.
type Setup struct {
	OrgName        string
	URL            string
	AllowedDomains []string
	Admin          NewUser
}

// RunSetup completes first-run setup. It fails with Conflict if setup was done before, so a
// second visitor to /setup cannot make themselves an admin.
func (s *Service) RunSetup(ctx context.Context, in Setup, ip string) (*User, error) {
	url, err := config.NormalizeURL(in.URL)
	if err != nil {
		return nil, errs.Field("url", "%v", err)
	}
	in.Admin.Role = RoleAdmin
	u, err := s.prepare(ctx, in.Admin)
	if err != nil {
		return nil, err
	}
	err = s.DB.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		n, err := tx.NewSelect().Table("settings").Where("key = 'org.setup_done' AND value = 'true'").Count(ctx)
		if err != nil {
			return err
		}
		if n > 0 {
			return errs.E(errs.Conflict, "this node is set up already; sign in instead")
		}
		if err := s.Orgs.Update(ctx, tx, in.OrgName, "", in.AllowedDomains); err != nil {
			return err
		}
		if err := s.Orgs.Set(ctx, tx, map[string]string{"org.url": url, "org.setup_done": "true"}); err != nil {
			return err
		}
		if err := s.insert(ctx, tx, u); err != nil {
			return err
		}
		return s.audit(ctx, tx, Actor{User: u, IP: ip}, "node.setup", in.OrgName, "url="+url)
	})
	if err != nil {
		return nil, err
	}
	s.Orgs.Invalidate()
	return u, nil
}

// SetRole changes a person's role. An admin cannot demote themselves, so a node always
// keeps at least the admin who acted.
func (s *Service) SetRole(ctx context.Context, a Actor, userID, role string) error {
	defer s.forgetUser(userID) // timelines show the change at once
	if err := s.requireAdmin(a); err != nil {
		return err
	}
	if role != RoleAdmin && role != RoleMember {
		return errs.Field("role", "%q is not admin or member", role)
	}
	if a.User != nil && a.User.ID == userID && role != RoleAdmin {
		return errs.E(errs.Invalid, "you cannot remove your own admin role; ask another admin")
	}
	return s.DB.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		u := new(User)
		if err := tx.NewSelect().Model(u).Where("id = ?", userID).Scan(ctx); err != nil {
			return db.Err(err, "no such person")
		}
		if u.Role == role {
			return nil
		}
		if _, err := tx.NewUpdate().Model(u).Set("role = ?", role).Set("updated_at = ?", s.Clock.Now()).WherePK().Exec(ctx); err != nil {
			return err
		}
		return s.audit(ctx, tx, a, "user.set_role", u.Username, u.Role+" -> "+role)
	})
}

// SetActive deactivates or reactivates a person. Deactivation ends their sessions and makes
// their tokens stop working at once (both are checked against the user's state).
func (s *Service) SetActive(ctx context.Context, a Actor, userID string, active bool) error {
	defer s.forgetUser(userID) // timelines show the change at once
	if err := s.requireAdmin(a); err != nil {
		return err
	}
	if a.User != nil && a.User.ID == userID && !active {
		return errs.E(errs.Invalid, "you cannot deactivate yourself")
	}
	return s.DB.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		u := new(User)
		if err := tx.NewSelect().Model(u).Where("id = ?", userID).Scan(ctx); err != nil {
			return db.Err(err, "no such person")
		}
		now := s.Clock.Now()
		q := tx.NewUpdate().Model(u).Set("updated_at = ?", now).WherePK()
		action := "user.reactivate"
		if active {
			q = q.Set("state = ?", StateActive).Set("deactivated_at = NULL")
		} else {
			action = "user.deactivate"
			q = q.Set("state = ?", StateDeactivated).Set("deactivated_at = ?", now)
			if _, err := tx.NewDelete().Model((*Session)(nil)).Where("user_id = ?", userID).Exec(ctx); err != nil {
				return err
			}
		}
		if _, err := q.Exec(ctx); err != nil {
			return err
		}
		if err := s.changed(ctx, tx, u, !active); err != nil {
			return err
		}
		return s.audit(ctx, tx, a, action, u.Username, "")
	})
}

// List returns users for the admin page, by username, optionally only those matching q.
func (s *Service) List(ctx context.Context, a Actor, q string, limit int) ([]User, error) {
	if err := s.requireAdmin(a); err != nil {
		return nil, err
	}
	var out []User
	sel := s.DB.NewSelect().Model(&out).Order("username_lower").Limit(int64(limit))
	if q = strings.TrimSpace(strings.ToLower(q)); q != "" {
		sel = sel.Where("search_text LIKE ? ESCAPE '\\'", "%"+db.LikeEscape(q)+"%")
	}
	return out, sel.Scan(ctx)
}
