package web

import (
	"errors"
	"net/url"

	"github.com/gofiber/fiber/v2"

	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/oauth"
	"github.com/atrium-social/atrium/internal/server"
)

// oauthRoutes adds the pages people see when an app asks to act for them (the consent page)
// and Settings → Authorised apps. The machine endpoints (/oauth/token, /api/v1/apps) are the
// Mastodon API's (internal/api/mastodon/apps.go).
func (s *site) oauthRoutes(app *fiber.App) {
	if s.OAuth == nil {
		return
	}
	app.Get("/oauth/authorize", s.authorizePage)
	app.Post("/oauth/authorize", s.authorizeDecide)
	app.Get("/settings/apps", server.RequireUser, s.appsPage)
	app.Post("/settings/apps/:id/revoke", server.RequireUser, s.revokeApp)
}

// authRequest reads an authorization request from the query (GET) or the consent form
// (POST), which repeats it in hidden fields.
func authRequest(get func(string) string) oauth.AuthRequest {
	return oauth.AuthRequest{ResponseType: get("response_type"), ClientID: get("client_id"), RedirectURI: get("redirect_uri"),
		Scope: get("scope"), State: get("state"), CodeChallenge: get("code_challenge"), CodeChallengeMethod: get("code_challenge_method")}
}

type consentData struct {
	Req     oauth.AuthRequest
	App     *oauth.App
	Scopes  []oauth.Scope
	OOB     bool
	Website string
}

type codeData struct {
	App     string
	Code    string
	Denied  bool
	Problem string
}

func (s *site) authorizePage(c *fiber.Ctx) error {
	if done, err := s.setupDone(c); err != nil || !done {
		return orSetup(c, err)
	}
	r := authRequest(func(k string) string { return qv(c, k) })
	g, err := s.OAuth.CheckAuthorize(c.UserContext(), r)
	if err != nil {
		return s.authorizeFailed(c, r, err)
	}
	if c.Query("force_login") == "true" || c.Query("force_login") == "1" {
		// The app wants the person to choose the account afresh (e.g. adding a second one):
		// end this session and sign in again, coming back here without the flag.
		if tok := server.SessionToken(c); tok != "" {
			if err := s.Accounts.EndSession(c.UserContext(), tok); err != nil {
				return err
			}
			s.Server.ClearSession(c)
		}
		q := c.Context().QueryArgs()
		q.Del("force_login")
		return c.Redirect("/login?next="+url.QueryEscape("/oauth/authorize?"+string(q.QueryString())), fiber.StatusSeeOther)
	}
	if server.CurrentUser(c) == nil || server.SessionToken(c) == "" {
		return c.Redirect("/login?next="+url.QueryEscape(string(c.Request().RequestURI())), fiber.StatusSeeOther)
	}
	if err := oauth.MayGrant(server.CurrentUser(c), g.Scopes); err != nil {
		// Said here, before any Approve button: the person cannot give what they do not have.
		return s.render(c, fiber.StatusForbidden, "oauth_code", &page{Title: "This app cannot sign in",
			Data: codeData{Problem: errs.Message(err)}})
	}
	d := consentData{Req: r, App: g.App, Scopes: oauth.Describe(g.Scopes), OOB: g.RedirectURI == oauth.OOB, Website: g.App.Website}
	d.Req.RedirectURI, d.Req.Scope = g.RedirectURI, g.Scopes
	return s.render(c, fiber.StatusOK, "oauth_authorize", &page{Title: "Authorise " + g.App.Name, Data: d})
}

// authorizeDecide handles Approve and Deny. The form is CSRF-protected by the server, so no
// other site can approve an app in someone's name.
func (s *site) authorizeDecide(c *fiber.Ctx) error {
	r := authRequest(func(k string) string { return fv(c, k) })
	u := server.CurrentUser(c)
	if u == nil || server.SessionToken(c) == "" {
		return c.Redirect("/login?next="+url.QueryEscape("/oauth/authorize?"+authQuery(r).Encode()), fiber.StatusSeeOther)
	}
	if fv(c, "decision") != "approve" {
		g, err := s.OAuth.CheckAuthorize(c.UserContext(), r)
		if err != nil {
			return s.authorizeFailed(c, r, err)
		}
		if g.RedirectURI == oauth.OOB {
			return s.render(c, fiber.StatusOK, "oauth_code", &page{Title: "Access denied", Data: codeData{App: g.App.Name, Denied: true}})
		}
		return c.Redirect(oauth.RedirectWith(g.RedirectURI, url.Values{"error": {string(oauth.AccessDenied)},
			"error_description": {"The person denied the request"}, "state": {r.State}}), fiber.StatusSeeOther)
	}
	code, g, err := s.OAuth.Approve(c.UserContext(), u, r)
	if err != nil {
		return s.authorizeFailed(c, r, err)
	}
	if g.RedirectURI == oauth.OOB {
		return s.render(c, fiber.StatusOK, "oauth_code", &page{Title: "Authorisation code", Data: codeData{App: g.App.Name, Code: code}})
	}
	return c.Redirect(oauth.RedirectWith(g.RedirectURI, url.Values{"code": {code}, "state": {r.State}}), fiber.StatusSeeOther)
}

func authQuery(r oauth.AuthRequest) url.Values {
	v := url.Values{}
	for k, x := range map[string]string{"response_type": r.ResponseType, "client_id": r.ClientID, "redirect_uri": r.RedirectURI,
		"scope": r.Scope, "state": r.State, "code_challenge": r.CodeChallenge, "code_challenge_method": r.CodeChallengeMethod} {
		if x != "" {
			v.Set(k, x)
		}
	}
	return v
}

// authorizeFailed sends an error back to the app when its redirect URI is known good, and
// otherwise explains it on a page: an unchecked redirect would make this node an open
// redirector.
func (s *site) authorizeFailed(c *fiber.Ctx, r oauth.AuthRequest, err error) error {
	var re *oauth.RedirectError
	if errors.As(err, &re) && re.RedirectURI != oauth.OOB {
		return c.Redirect(oauth.RedirectWith(re.RedirectURI, url.Values{"error": {string(oauth.CodeOf(err))},
			"error_description": {errs.Message(err)}, "state": {r.State}}), fiber.StatusSeeOther)
	}
	if errs.KindOf(err) == errs.Internal {
		return err
	}
	return s.render(c, fiber.StatusBadRequest, "oauth_code", &page{Title: "This app cannot sign in",
		Data: codeData{Problem: errs.Message(err)}})
}

type appsData struct {
	Apps []oauth.AuthorisedApp
}

func (s *site) appsPage(c *fiber.Ctx) error {
	list, err := s.OAuth.AuthorisedApps(c.UserContext(), server.CurrentUser(c).ID)
	if err != nil {
		return err
	}
	return s.render(c, fiber.StatusOK, "settings_apps", &page{Title: "Authorised apps", Nav: "settings", Data: appsData{Apps: list}})
}

func (s *site) revokeApp(c *fiber.Ctx) error {
	if err := s.OAuth.RevokeApp(c.UserContext(), server.Actor(c), pv(c, "id")); err != nil {
		return err
	}
	return s.redirect(c, "/settings/apps", "app_revoked")
}
