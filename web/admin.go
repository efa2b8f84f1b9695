package web

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/uptrace/bun"

	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/audit"
	"github.com/atrium-social/atrium/internal/orgs"
	"github.com/atrium-social/atrium/internal/server"
)

// listLimit bounds the admin lists; search narrows them on larger nodes.
const listLimit = 200

type adminHomeData struct {
	People          int
	OpenInvitations int
}

func (s *site) adminHome(c *fiber.Ctx) error {
	n, err := s.Accounts.Count(c.UserContext())
	if err != nil {
		return err
	}
	invs, err := s.Accounts.Invitations(c.UserContext(), server.Actor(c), listLimit)
	if err != nil {
		return err
	}
	now, open := s.Accounts.Clock.Now(), 0
	for i := range invs {
		if invs[i].Status(now) == "open" {
			open++
		}
	}
	return s.render(c, fiber.StatusOK, "admin", &page{Title: "Administration", Nav: "admin",
		Data: adminHomeData{People: n, OpenInvitations: open}})
}

type newUserForm struct {
	Username, Email, DisplayName, Role string
}

type usersData struct {
	Q     string
	Users []*person
	MeID  string
	Form  newUserForm
}

// usersPage draws the user list, with a create form holding f and, when p carries one, an
// error from the last action.
func (s *site) usersPage(c *fiber.Ctx, p *page, f newUserForm, failure error) error {
	q := strings.TrimSpace(qv(c, "q"))
	list, err := s.Accounts.List(c.UserContext(), server.Actor(c), q, listLimit)
	if err != nil {
		return err
	}
	p.Title, p.Nav = "People and roles", "admin"
	p.Data = usersData{Q: q, Users: people(list), MeID: server.CurrentUser(c).ID, Form: f}
	if failure != nil {
		return s.formError(c, failure, "admin_users", p)
	}
	return s.render(c, fiber.StatusOK, "admin_users", p)
}

func (s *site) adminUsers(c *fiber.Ctx) error {
	return s.usersPage(c, &page{}, newUserForm{Role: accounts.RoleMember}, nil)
}

func (s *site) adminCreateUser(c *fiber.Ctx) error {
	f := newUserForm{Username: strings.TrimSpace(fv(c, "username")), Email: strings.TrimSpace(fv(c, "email")),
		DisplayName: strings.TrimSpace(fv(c, "display_name")), Role: fv(c, "role")}
	_, err := s.Accounts.Create(c.UserContext(), server.Actor(c), accounts.NewUser{Username: f.Username, Email: f.Email,
		Password: fv(c, "password"), DisplayName: f.DisplayName, Role: f.Role})
	if err != nil {
		return s.usersPage(c, &page{}, f, err)
	}
	return s.redirect(c, "/admin/users", "user_created")
}

func (s *site) adminSetRole(c *fiber.Ctx) error {
	if err := s.Accounts.SetRole(c.UserContext(), server.Actor(c), pv(c, "id"), fv(c, "role")); err != nil {
		return s.usersPage(c, &page{}, newUserForm{Role: accounts.RoleMember}, err)
	}
	return s.redirect(c, "/admin/users", "role_changed")
}

func (s *site) adminSetActive(c *fiber.Ctx) error {
	active := c.FormValue("active") == "true"
	if err := s.Accounts.SetActive(c.UserContext(), server.Actor(c), pv(c, "id"), active); err != nil {
		return s.usersPage(c, &page{}, newUserForm{Role: accounts.RoleMember}, err)
	}
	if active {
		return s.redirect(c, "/admin/users", "user_reactivated")
	}
	return s.redirect(c, "/admin/users", "user_deactivated")
}

type invitationRow struct {
	ID, Email, Role, Status string
	CreatedAt, ExpiresAt    time.Time
}

type invitationsData struct {
	Rows    []invitationRow
	Email   string
	Role    string
	NewLink string // shown once, right after creation: only its hash is stored
	NewFor  string
}

func (s *site) invitationsPage(c *fiber.Ctx, status int, p *page, d invitationsData, failure error) error {
	invs, err := s.Accounts.Invitations(c.UserContext(), server.Actor(c), listLimit)
	if err != nil {
		return err
	}
	now := s.Accounts.Clock.Now()
	for i := range invs {
		d.Rows = append(d.Rows, invitationRow{ID: invs[i].ID, Email: invs[i].Email, Role: invs[i].Role,
			Status: invs[i].Status(now), CreatedAt: invs[i].CreatedAt, ExpiresAt: invs[i].ExpiresAt})
	}
	p.Title, p.Nav, p.Data = "Invitations", "admin", d
	if failure != nil {
		return s.formError(c, failure, "admin_invitations", p)
	}
	return s.render(c, status, "admin_invitations", p)
}

func (s *site) adminInvitations(c *fiber.Ctx) error {
	return s.invitationsPage(c, fiber.StatusOK, &page{}, invitationsData{Role: accounts.RoleMember}, nil)
}

func (s *site) adminInvite(c *fiber.Ctx) error {
	d := invitationsData{Email: strings.TrimSpace(fv(c, "email")), Role: fv(c, "role")}
	plain, inv, err := s.Accounts.Invite(c.UserContext(), server.Actor(c), d.Email, d.Role)
	if err != nil {
		return s.invitationsPage(c, 0, &page{}, d, err)
	}
	// The link is drawn into this response only; reloading the page will not show it again.
	out := invitationsData{Role: accounts.RoleMember, NewFor: inv.Email,
		NewLink: s.Server.BaseURL(c.UserContext()) + "/signup?invite=" + plain}
	return s.invitationsPage(c, fiber.StatusCreated, &page{}, out, nil)
}

func (s *site) adminRevokeInvitation(c *fiber.Ctx) error {
	if err := s.Accounts.RevokeInvitation(c.UserContext(), server.Actor(c), pv(c, "id")); err != nil {
		return s.invitationsPage(c, 0, &page{}, invitationsData{Role: accounts.RoleMember}, err)
	}
	return s.redirect(c, "/admin/invitations", "invitation_revoked")
}

type orgSettingsData struct {
	Name, Description, Domains, URL string
	// Federation: which profile fields partners see, and whether NodeInfo shows counts.
	Fields       []partnerFieldChoice
	PublishUsage bool
}

type partnerFieldChoice struct {
	Key, Label string
	On         bool
}

func partnerChoices(on []string) []partnerFieldChoice {
	o := orgs.Org{PartnerFields: on}
	var out []partnerFieldChoice
	for _, c := range orgs.PartnerFieldChoices() {
		out = append(out, partnerFieldChoice{Key: c.Key, Label: c.Label, On: o.Shows(c.Key)})
	}
	return out
}

func (s *site) adminSettingsPage(c *fiber.Ctx) error {
	org, err := s.Orgs.Get(c.UserContext())
	if err != nil {
		return err
	}
	d := orgSettingsData{Name: org.Name, Description: org.Description, Domains: strings.Join(org.AllowedDomains, ", "), URL: org.URL,
		Fields: partnerChoices(org.PartnerFields), PublishUsage: org.PublishUsage}
	return s.render(c, fiber.StatusOK, "admin_settings", &page{Title: "Organisation settings", Nav: "admin", Data: d})
}

// adminSaveSettings changes the organisation and records it in the audit log in the same
// transaction, so the log cannot miss a change that took effect.
func (s *site) adminSaveSettings(c *fiber.Ctx) error {
	org, err := s.Orgs.Get(c.UserContext())
	if err != nil {
		return err
	}
	var picked []string
	c.Request().PostArgs().VisitAll(func(k, v []byte) {
		if string(k) == "partner_fields" {
			picked = append(picked, string(v))
		}
	})
	picked = orgs.CleanPartnerFields(picked)
	d := orgSettingsData{Name: strings.TrimSpace(fv(c, "org_name")), Description: strings.TrimSpace(fv(c, "description")),
		Domains: strings.TrimSpace(fv(c, "allowed_domains")), URL: org.URL,
		Fields: partnerChoices(picked), PublishUsage: fv(c, "publish_usage") == "on"}
	p := &page{Title: "Organisation settings", Nav: "admin", Data: d}
	me := server.CurrentUser(c)
	domains := orgs.SplitDomains(d.Domains)
	err = s.DB.RunInTx(c.UserContext(), nil, func(ctx context.Context, tx bun.Tx) error {
		if err := s.Orgs.Update(ctx, tx, d.Name, d.Description, domains); err != nil {
			return err
		}
		if err := s.Orgs.Set(ctx, tx, map[string]string{"federation.partner_fields": strings.Join(picked, ","),
			"federation.publish_usage": strconv.FormatBool(d.PublishUsage)}); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Entry{ActorID: me.ID, ActorName: me.Username, Action: "org.update",
			Target: d.Name, Detail: "domains=" + strings.Join(domains, ",") + " partner_fields=" + strings.Join(picked, ",") +
				" publish_usage=" + strconv.FormatBool(d.PublishUsage), IP: server.ClientIP(c),
			CreatedAt: s.Accounts.Clock.Now()})
	})
	// Update clears the cache before the commit; clearing again after it stops a read in
	// between from caching the old values for the cache's lifetime.
	s.Orgs.Invalidate()
	if err != nil {
		return s.formError(c, err, "admin_settings", p)
	}
	return s.redirect(c, "/admin/settings", "settings_saved")
}

const auditPage = 50

type auditData struct {
	Entries []audit.Entry
	Older   string // URL of the next (older) page
}

func (s *site) adminAudit(c *fiber.Ctx) error {
	list, err := audit.List(c.UserContext(), s.DB, qv(c, "before"), auditPage+1)
	if err != nil {
		return err
	}
	d := auditData{Entries: list}
	if len(list) > auditPage {
		d.Entries = list[:auditPage]
		d.Older = "/admin/audit?before=" + list[auditPage-1].ID
	}
	return s.render(c, fiber.StatusOK, "admin_audit", &page{Title: "Audit log", Nav: "admin", Data: d})
}
