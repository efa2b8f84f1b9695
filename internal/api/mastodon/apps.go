package mastodon

import (
	"encoding/base64"
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/oauth"
	"github.com/atrium-social/atrium/internal/server"
)

// oauthRoutes mounts app registration and the machine side of OAuth: the token and revocation
// endpoints and the metadata document. The consent page is the web package's (web/oauth.go).
func (a *api) oauthRoutes(app *fiber.App) {
	if a.OAuth == nil {
		return
	}
	app.Post("/api/v1/apps", a.createApp)
	app.Get("/api/v1/apps/verify_credentials", a.verifyApp)
	app.Post("/oauth/token", a.oauthToken)
	app.Post("/oauth/revoke", a.oauthRevoke)
	app.Get("/.well-known/oauth-authorization-server", a.oauthMetadata)
}

// appJSON is Mastodon's Application entity; the secret only in the registration answer.
func appJSON(app *oauth.App, secret string) fiber.Map {
	uris := app.RedirectList()
	m := fiber.Map{"id": app.ID, "name": app.Name, "website": nilIfEmpty(app.Website), "scopes": strings.Fields(app.Scopes),
		"redirect_uri": strings.Join(uris, "\n"), "redirect_uris": uris, "vapid_key": ""}
	if secret != "" {
		m["client_id"] = app.ClientID
		m["client_secret"] = secret
		m["client_secret_expires_at"] = 0
	}
	return m
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (a *api) createApp(c *fiber.Ctx) error {
	p, err := readParams(c)
	if err != nil {
		return err
	}
	uris := p.strs("redirect_uris")
	if len(uris) == 0 {
		uris = []string{p.str("redirect_uris")} // a JSON string, or one form value
	}
	scopes := p.str("scopes")
	if scopes == "" {
		scopes = strings.Join(p.strs("scopes"), " ") // some libraries send an array
	}
	app, secret, err := a.OAuth.RegisterApp(c.UserContext(), oauth.NewApp{Name: strings.Clone(p.str("client_name")),
		RedirectURIs: cloneAll(uris), Scopes: strings.Clone(scopes), Website: strings.Clone(p.str("website"))})
	if err != nil {
		return err
	}
	m := appJSON(app, secret)
	m["vapid_key"] = a.vapidKey(c.UserContext()) // what browsers subscribe with (push.go)
	return c.JSON(m)
}

func cloneAll(v []string) []string {
	out := make([]string, len(v))
	for i, s := range v {
		out[i] = strings.Clone(s)
	}
	return out
}

// verifyApp answers which app holds the bearer token (an app token or a person's).
func (a *api) verifyApp(c *fiber.Ctx) error {
	app, err := a.OAuth.TokenApp(c.UserContext(), server.CurrentToken(c))
	if err != nil {
		return err
	}
	m := appJSON(app, "")
	m["vapid_key"] = a.vapidKey(c.UserContext())
	return c.JSON(m)
}

// clientCredentials reads the client's id and secret from HTTP Basic (RFC 6749 2.3.1: each
// form-urlencoded first) or else from the parameters.
func clientCredentials(c *fiber.Ctx, p *params) (id, secret string, basic bool) {
	if v, ok := strings.CutPrefix(c.Get("Authorization"), "Basic "); ok {
		if raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(v)); err == nil {
			if i, s, ok := strings.Cut(string(raw), ":"); ok {
				return unescape(i), unescape(s), true
			}
		}
		return "", "", true
	}
	return strings.Clone(p.str("client_id")), strings.Clone(p.str("client_secret")), false
}

func unescape(v string) string {
	if u, err := url.QueryUnescape(v); err == nil {
		return u
	}
	return v
}

// oauthError answers in RFC 6749's shape, which apps parse instead of Mastodon's.
func oauthError(c *fiber.Ctx, err error, basic bool) error {
	status := oauth.Status(err)
	if status >= 500 {
		return err // logged, and answered as a plain 500 by the server
	}
	if status == fiber.StatusUnauthorized && basic {
		c.Set("WWW-Authenticate", `Basic realm="atrium"`)
	}
	if status == fiber.StatusTooManyRequests {
		c.Set("Retry-After", "60")
	}
	c.Set("Cache-Control", "no-store")
	return c.Status(status).JSON(fiber.Map{"error": string(oauth.CodeOf(err)), "error_description": errs.Message(err)})
}

func (a *api) oauthToken(c *fiber.Ctx) error {
	p, err := readParams(c)
	if err != nil {
		return oauthError(c, err, false)
	}
	id, secret, basic := clientCredentials(c, p)
	res, err := a.OAuth.Token(c.UserContext(), oauth.TokenRequest{GrantType: strings.Clone(p.str("grant_type")),
		ClientID: id, ClientSecret: secret, Code: strings.Clone(p.str("code")), RedirectURI: strings.Clone(p.str("redirect_uri")),
		CodeVerifier: strings.Clone(p.str("code_verifier")), RefreshToken: strings.Clone(p.str("refresh_token")),
		Scope: strings.Clone(p.str("scope")), IP: server.ClientIP(c)})
	if err != nil {
		return oauthError(c, err, basic)
	}
	c.Set("Cache-Control", "no-store")
	return c.JSON(res)
}

func (a *api) oauthRevoke(c *fiber.Ctx) error {
	p, err := readParams(c)
	if err != nil {
		return oauthError(c, err, false)
	}
	id, secret, basic := clientCredentials(c, p)
	if err := a.OAuth.Revoke(c.UserContext(), id, secret, strings.Clone(p.str("token"))); err != nil {
		return oauthError(c, err, basic)
	}
	return c.JSON(fiber.Map{})
}

// oauthMetadata is RFC 8414's document, which newer Mastodon clients read to find the
// endpoints and whether PKCE is supported.
func (a *api) oauthMetadata(c *fiber.Ctx) error {
	base := a.BaseURL(c.UserContext())
	return c.JSON(fiber.Map{
		"issuer":                                base + "/",
		"authorization_endpoint":                base + "/oauth/authorize",
		"token_endpoint":                        base + "/oauth/token",
		"revocation_endpoint":                   base + "/oauth/revoke",
		"app_registration_endpoint":             base + "/api/v1/apps",
		"scopes_supported":                      oauth.Scopes(),
		"response_types_supported":              []string{"code"},
		"response_modes_supported":              []string{"query"},
		"grant_types_supported":                 []string{"authorization_code", "client_credentials", "refresh_token"},
		"code_challenge_methods_supported":      []string{"S256"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post"},
		"service_documentation":                 base + "/",
	})
}
