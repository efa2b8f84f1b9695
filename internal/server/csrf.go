package server

import (
	"crypto/subtle"
	"net/url"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/ids"
)

// csrf protects cookie-authenticated writes with a double-submit token: the browser holds it
// in an HttpOnly cookie and each form (or fetch, as X-CSRF-Token) repeats it. A cross-site
// page can make the browser send the cookie but cannot read it to repeat it. Bearer-token
// requests carry no ambient credentials and are exempt, as are federation inboxes, which
// authenticate by HTTP signature.
func (s *Server) csrf(c *fiber.Ctx) error {
	if CurrentToken(c) != nil {
		return c.Next() // apps carry no cookies: nothing to protect, and no cookie to mint
	}
	tok := c.Cookies(CSRFCookie)
	if tok == "" {
		tok = s.newCSRF(c)
	}
	c.Locals("csrf", tok)
	switch c.Method() {
	case fiber.MethodGet, fiber.MethodHead, fiber.MethodOptions:
		return c.Next()
	}
	if CurrentToken(c) != nil || isInbox(c.Path()) || strings.HasPrefix(c.Path(), "/oauth/token") || strings.HasPrefix(c.Path(), "/oauth/revoke") {
		return c.Next()
	}
	// Apps without a token that POST to the JSON API (e.g. app registration) send no cookies
	// we trust; only cookie-bearing requests need the check.
	if c.Cookies(SessionCookie) == "" && strings.HasPrefix(c.Path(), "/api/") {
		return c.Next()
	}
	if o := c.Get("Origin"); o != "" && o != "null" {
		if u, err := url.Parse(o); err != nil || !strings.EqualFold(u.Host, string(c.Request().Host())) {
			return errs.E(errs.Forbidden, "this form was sent from another site; reload the page and try again")
		}
	}
	sent := c.Get("X-CSRF-Token")
	if sent == "" {
		sent = c.FormValue("csrf")
	}
	if sent == "" || subtle.ConstantTimeCompare([]byte(sent), []byte(c.Cookies(CSRFCookie))) != 1 {
		return errs.E(errs.Forbidden, "the form expired or came from another site; reload the page and try again")
	}
	return c.Next()
}

func (s *Server) newCSRF(c *fiber.Ctx) string {
	tok := ids.Token()
	c.Cookie(&fiber.Cookie{Name: CSRFCookie, Value: tok, Path: "/", HTTPOnly: true, Secure: s.Secure(),
		SameSite: fiber.CookieSameSiteLaxMode, Expires: time.Now().Add(365 * 24 * time.Hour)})
	c.Locals("csrf", tok)
	return tok
}

// CSRFToken is the token to embed in forms and the page's meta tag.
func CSRFToken(c *fiber.Ctx) string { v, _ := c.Locals("csrf").(string); return v }

func isInbox(p string) bool { return p == "/inbox" || strings.HasSuffix(p, "/inbox") }
