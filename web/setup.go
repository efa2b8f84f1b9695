package web

import (
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/orgs"
	"github.com/atrium-social/atrium/internal/server"
)

type setupData struct {
	OrgName     string
	URL         string
	Domains     string
	Username    string
	DisplayName string
	Email       string
}

// setupPage is the first-run wizard. Once setup is done it is gone for good: the page
// redirects to sign-in, and accounts.RunSetup refuses a second run even if two people race.
func (s *site) setupPage(c *fiber.Ctx) error {
	if done, err := s.setupDone(c); err != nil {
		return err
	} else if done {
		return c.Redirect("/login", fiber.StatusSeeOther)
	}
	return s.render(c, fiber.StatusOK, "setup", &page{Title: "Set up your node", Data: setupData{URL: s.DefaultURL}})
}

func (s *site) setup(c *fiber.Ctx) error {
	if done, err := s.setupDone(c); err != nil {
		return err
	} else if done {
		return c.Redirect("/login", fiber.StatusSeeOther)
	}
	d := setupData{OrgName: strings.TrimSpace(fv(c, "org_name")), URL: strings.TrimSpace(fv(c, "url")),
		Domains: strings.TrimSpace(fv(c, "allowed_domains")), Username: strings.TrimSpace(fv(c, "username")),
		DisplayName: strings.TrimSpace(fv(c, "display_name")), Email: strings.TrimSpace(fv(c, "email"))}
	p := &page{Title: "Set up your node", Data: d}
	pw := fv(c, "password")
	if pw != fv(c, "password_confirm") {
		return s.formError(c, errs.Field("password_confirm", "the two passwords differ"), "setup", p)
	}
	u, err := s.Accounts.RunSetup(c.UserContext(), accounts.Setup{OrgName: d.OrgName, URL: d.URL,
		AllowedDomains: orgs.SplitDomains(d.Domains),
		Admin:          accounts.NewUser{Username: d.Username, Email: d.Email, Password: pw, DisplayName: d.DisplayName}},
		server.ClientIP(c))
	if err != nil {
		return s.formError(c, err, "setup", p)
	}
	if err := s.Server.StartSession(c, u); err != nil {
		return err
	}
	return s.redirect(c, "/admin/invitations", "setup_done")
}
