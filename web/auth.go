package web

import (
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/server"
)

type loginData struct {
	Login string
	Next  string
}

func (s *site) loginPage(c *fiber.Ctx) error {
	if done, err := s.setupDone(c); err != nil || !done {
		return orSetup(c, err)
	}
	next := safeNext(c.Query("next"))
	if server.CurrentUser(c) != nil {
		return c.Redirect(orHome(next), fiber.StatusSeeOther)
	}
	return s.render(c, fiber.StatusOK, "login", &page{Title: "Sign in", Data: loginData{Next: strings.Clone(next)}})
}

func (s *site) login(c *fiber.Ctx) error {
	d := loginData{Login: strings.TrimSpace(fv(c, "login")), Next: safeNext(fv(c, "next"))}
	p := &page{Title: "Sign in", Data: d}
	u, err := s.Accounts.Authenticate(c.UserContext(), d.Login, fv(c, "password"), server.ClientIP(c))
	if err != nil {
		return s.formError(c, err, "login", p)
	}
	if err := s.Server.StartSession(c, u); err != nil {
		return err
	}
	return c.Redirect(orHome(d.Next), fiber.StatusSeeOther)
}

func (s *site) logout(c *fiber.Ctx) error {
	if tok := server.SessionToken(c); tok != "" {
		if err := s.Accounts.EndSession(c.UserContext(), tok); err != nil {
			return err
		}
	}
	s.Server.ClearSession(c)
	return s.redirect(c, "/login", "signed_out")
}

// orSetup sends people to the setup wizard until the node is set up.
func orSetup(c *fiber.Ctx, err error) error {
	if err != nil {
		return err
	}
	return c.Redirect("/setup", fiber.StatusSeeOther)
}

type signupData struct {
	Invite      string
	InviteEmail string   // when set, the invitation is for this address only
	Domains     []string // domains that may sign up without an invitation
	CanSignUp   bool
	Username    string
	DisplayName string
	Email       string
}

// signupState works out which sign-up the visitor may do: by a valid invitation, or by an
// address at one of the allowed domains. A bad link is reported in the page, not as an
// error page, so the visitor still sees the way forward.
func (s *site) signupState(c *fiber.Ctx, invite string) (signupData, error) {
	d := signupData{Invite: invite}
	if invite != "" {
		inv, err := s.Accounts.CheckInvitation(c.UserContext(), invite)
		if err != nil {
			return d, err
		}
		d.InviteEmail, d.Email, d.CanSignUp = inv.Email, inv.Email, true
		return d, nil
	}
	org, err := s.Orgs.Get(c.UserContext())
	if err != nil {
		return d, err
	}
	d.Domains, d.CanSignUp = org.AllowedDomains, len(org.AllowedDomains) > 0
	return d, nil
}

func (s *site) signupPage(c *fiber.Ctx) error {
	if done, err := s.setupDone(c); err != nil || !done {
		return orSetup(c, err)
	}
	if server.CurrentUser(c) != nil {
		return c.Redirect("/", fiber.StatusSeeOther)
	}
	d, err := s.signupState(c, qv(c, "invite"))
	p := &page{Title: "Join", Data: d}
	if err != nil {
		return s.formError(c, err, "signup", p)
	}
	return s.render(c, fiber.StatusOK, "signup", p)
}

func (s *site) signup(c *fiber.Ctx) error {
	if done, err := s.setupDone(c); err != nil || !done {
		return orSetup(c, err)
	}
	d, err := s.signupState(c, fv(c, "invite"))
	p := &page{Title: "Join", Data: d}
	if err != nil {
		return s.formError(c, err, "signup", p)
	}
	d.Username, d.DisplayName = strings.TrimSpace(fv(c, "username")), strings.TrimSpace(fv(c, "display_name"))
	if d.InviteEmail == "" {
		d.Email = strings.TrimSpace(fv(c, "email"))
	}
	p.Data = d
	pw := fv(c, "password")
	if pw != fv(c, "password_confirm") {
		return s.formError(c, errs.Field("password_confirm", "the two passwords differ"), "signup", p)
	}
	u, err := s.Accounts.SignUp(c.UserContext(), d.Invite, accounts.NewUser{Username: d.Username, Email: d.Email,
		Password: pw, DisplayName: d.DisplayName})
	if err != nil {
		return s.formError(c, err, "signup", p)
	}
	if err := s.Server.StartSession(c, u); err != nil {
		return err
	}
	return s.redirect(c, "/settings/profile", "welcome")
}

type forgotData struct {
	Email string
	Sent  bool
}

func (s *site) forgotPage(c *fiber.Ctx) error {
	return s.render(c, fiber.StatusOK, "forgot", &page{Title: "Reset your password", Data: forgotData{}})
}

// forgot answers the same whether or not the address has an account, and whether or not
// the e-mail could be sent: anything else would tell a stranger who works here. Only the
// rate limit is reported, since it says nothing about the address.
func (s *site) forgot(c *fiber.Ctx) error {
	d := forgotData{Email: strings.TrimSpace(fv(c, "email"))}
	p := &page{Title: "Reset your password", Data: d}
	if err := s.Accounts.RequestReset(c.UserContext(), d.Email, server.ClientIP(c)); err != nil {
		if errs.KindOf(err) == errs.TooMany {
			return s.formError(c, err, "forgot", p)
		}
		s.Log.Error("password reset request failed", "err", err)
	}
	p.Data = forgotData{Sent: true}
	return s.render(c, fiber.StatusOK, "forgot", p)
}

type resetData struct{ Token string }

func (s *site) resetPage(c *fiber.Ctx) error {
	p := &page{Title: "Choose a new password", Data: resetData{Token: qv(c, "token")}}
	if c.Query("token") == "" {
		p.Error = "This reset link is incomplete. Copy the whole link from the e-mail, or request a new one."
		return s.render(c, fiber.StatusUnprocessableEntity, "reset", p)
	}
	return s.render(c, fiber.StatusOK, "reset", p)
}

func (s *site) reset(c *fiber.Ctx) error {
	d := resetData{Token: fv(c, "token")}
	p := &page{Title: "Choose a new password", Data: d}
	pw := fv(c, "new_password")
	if pw != fv(c, "new_password_confirm") {
		return s.formError(c, errs.Field("new_password_confirm", "the two passwords differ"), "reset", p)
	}
	if _, err := s.Accounts.ResetPassword(c.UserContext(), d.Token, pw); err != nil {
		return s.formError(c, err, "reset", p)
	}
	// Every session ended with the reset; signing in again proves the new password works.
	return s.redirect(c, "/login", "password_reset")
}
