// Package oauth is the node's OAuth 2 authorization server, the subset Mastodon apps use:
// dynamic app registration, the authorization-code grant with PKCE (S256), client_credentials,
// refresh_token, and revocation (RFC 7009). Tokens never expire until revoked.
//
// It is written by hand rather than on go-oauth2/oauth2 (LIBRARIES.md §6): nine of that
// library's defaults had to be replaced, most of them unsafe, and its token store does not fit
// the one tokens table the server already looks bearer tokens up in. What is left is small:
// every secret is 32 random bytes stored as its SHA-256 (like sessions and personal tokens),
// redirect URIs match exactly, and client secrets are compared in constant time.
//
// The HTTP side lives in internal/api/mastodon (apps.go: JSON endpoints) and web (oauth.go:
// the consent page and Settings → Authorised apps); this package never sees fiber.
package oauth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/clock"
	"github.com/atrium-social/atrium/internal/db"
	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/ids"
	"github.com/atrium-social/atrium/internal/ratelimit"
)

// OOB is the redirect URI of apps that cannot receive a redirect: the code is shown on a page
// for the person to paste into the app.
const OOB = "urn:ietf:wg:oauth:2.0:oob"

// CodeTTL is how long an authorization code may wait to be exchanged.
const CodeTTL = 10 * time.Minute

// Limits on what an app may register.
const (
	maxNameLen      = 100
	maxRedirectURIs = 10
	maxURILen       = 2000
)

// ErrorCode is an OAuth 2 error code ("invalid_grant"). It rides in an *errs.Error's chain,
// so the transport can answer {"error": code, "error_description": message}.
type ErrorCode string

func (c ErrorCode) Error() string { return string(c) }

// The OAuth error codes this server answers with (RFC 6749 4.1.2.1, 5.2; RFC 7009).
const (
	InvalidRequest          ErrorCode = "invalid_request"
	InvalidClient           ErrorCode = "invalid_client"
	InvalidGrant            ErrorCode = "invalid_grant"
	InvalidScope            ErrorCode = "invalid_scope"
	UnsupportedGrantType    ErrorCode = "unsupported_grant_type"
	UnsupportedResponseType ErrorCode = "unsupported_response_type"
	AccessDenied            ErrorCode = "access_denied"
	ServerError             ErrorCode = "server_error"
	SlowDown                ErrorCode = "slow_down"
)

func oauthErr(code ErrorCode, k errs.Kind, format string, args ...any) error {
	e := errs.E(k, format, args...)
	e.Err = code
	return e
}

// CodeOf is the OAuth error code for err: the one the service chose, else one derived from
// its kind.
func CodeOf(err error) ErrorCode {
	var c ErrorCode
	if errors.As(err, &c) {
		return c
	}
	switch errs.KindOf(err) {
	case errs.Internal, errs.Unavailable:
		return ServerError
	case errs.Unauthorized:
		return InvalidClient
	case errs.TooMany:
		return SlowDown
	}
	return InvalidRequest
}

// Status is the HTTP status of an OAuth error: 401 for a failed client authentication
// (RFC 6749 5.2), 429 when rate limited, 500 for faults, 400 for everything else.
func Status(err error) int {
	switch CodeOf(err) {
	case InvalidClient:
		return 401
	case SlowDown:
		return 429
	case ServerError:
		return 500
	}
	return 400
}

// App is a registered client.
type App struct {
	bun.BaseModel `bun:"table:oauth_apps"`
	ID            string    `bun:"id,pk"`
	ClientID      string    `bun:"client_id"`
	SecretHash    string    `bun:"secret_hash"`
	Name          string    `bun:"name"`
	Website       string    `bun:"website"`
	RedirectURIs  string    `bun:"redirect_uris"` // one per line
	Scopes        string    `bun:"scopes"`
	CreatedAt     time.Time `bun:"created_at"`
}

// RedirectList is the app's redirect URIs.
func (a *App) RedirectList() []string { return strings.Split(a.RedirectURIs, "\n") }

// code is a pending authorization code.
type code struct {
	bun.BaseModel `bun:"table:oauth_codes"`
	CodeHash      string     `bun:"code_hash,pk"`
	AppID         string     `bun:"app_id"`
	UserID        string     `bun:"user_id"`
	RedirectURI   string     `bun:"redirect_uri"`
	Scopes        string     `bun:"scopes"`
	CodeChallenge string     `bun:"code_challenge"`
	CreatedAt     time.Time  `bun:"created_at"`
	ExpiresAt     time.Time  `bun:"expires_at"`
	UsedAt        *time.Time `bun:"used_at"`
	TokenID       string     `bun:"token_id,nullzero"`
}

// Deps are what the service needs.
type Deps struct {
	DB       *db.DB
	Clock    clock.Clock
	Accounts *accounts.Service // who approves, and the token cache to clear on revocation
}

// Service is the authorization server.
type Service struct {
	Deps
	// tokenByIP bounds guessing at the token endpoint (codes, secrets, refresh tokens).
	tokenByIP *ratelimit.Limiter
}

// New makes the service: at most 60 token requests per address a minute.
func New(d Deps) *Service {
	return &Service{Deps: d, tokenByIP: ratelimit.New(d.Clock, 60, time.Minute)}
}

// NewApp is a registration request.
type NewApp struct {
	Name         string
	RedirectURIs []string // each entry may hold several, separated by spaces or newlines
	Scopes       string
	Website      string
}

// RegisterApp records an app and returns it with its client secret, which is shown only now.
func (s *Service) RegisterApp(ctx context.Context, n NewApp) (*App, string, error) {
	name := strings.TrimSpace(n.Name)
	if name == "" {
		return nil, "", errs.Field("client_name", "can't be blank")
	}
	if len([]rune(name)) > maxNameLen {
		return nil, "", errs.Field("client_name", "is too long (maximum is %d characters)", maxNameLen)
	}
	var uris []string
	for _, v := range n.RedirectURIs {
		for _, u := range strings.Fields(v) {
			if err := checkRedirectURI(u); err != nil {
				return nil, "", err
			}
			if !contains(uris, u) {
				uris = append(uris, u)
			}
		}
	}
	if len(uris) == 0 {
		return nil, "", errs.Field("redirect_uris", "can't be blank")
	}
	if len(uris) > maxRedirectURIs {
		return nil, "", errs.Field("redirect_uris", "register at most %d redirect URIs", maxRedirectURIs)
	}
	scopes, err := parseScopes(n.Scopes, "read")
	if err != nil {
		return nil, "", errs.Field("scopes", "%s", errs.Message(err))
	}
	website := strings.TrimSpace(n.Website)
	if website != "" {
		if u, err := url.Parse(website); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || len(website) > maxURILen {
			return nil, "", errs.Field("website", "must be an http or https address")
		}
	}
	secret := ids.Token()
	now := s.Clock.Now()
	a := &App{ID: ids.New(now), ClientID: ids.Token(), SecretHash: ids.Hash(secret), Name: name, Website: website,
		RedirectURIs: strings.Join(uris, "\n"), Scopes: scopes, CreatedAt: now}
	if _, err := s.DB.NewInsert().Model(a).Exec(ctx); err != nil {
		return nil, "", err
	}
	return a, secret, nil
}

// checkRedirectURI accepts an absolute URI without a fragment (RFC 6749 3.1.2): https or http
// for web apps, a private scheme (tusky://oauth) for native ones, or the out-of-band URN.
func checkRedirectURI(v string) error {
	if v == OOB {
		return nil
	}
	u, err := url.Parse(v)
	if err != nil || u.Scheme == "" || len(v) > maxURILen || u.Fragment != "" || strings.ContainsAny(v, "\r\n\t") {
		return errs.Field("redirect_uris", "%q must be an absolute URI without a fragment", v)
	}
	if (u.Scheme == "http" || u.Scheme == "https") && u.Host == "" {
		return errs.Field("redirect_uris", "%q has no host", v)
	}
	if strings.EqualFold(u.Scheme, "javascript") || strings.EqualFold(u.Scheme, "data") {
		return errs.Field("redirect_uris", "%q is not allowed", v)
	}
	return nil
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// App finds an app by client_id.
func (s *Service) App(ctx context.Context, clientID string) (*App, error) {
	a := new(App)
	if clientID == "" {
		return nil, oauthErr(InvalidClient, errs.Unauthorized, "client_id is missing")
	}
	if err := s.DB.NewSelect().Model(a).Where("client_id = ?", clientID).Scan(ctx); err != nil {
		if db.IsNotFound(err) {
			return nil, oauthErr(InvalidClient, errs.Unauthorized, "Client authentication failed due to unknown client")
		}
		return nil, err
	}
	return a, nil
}

// AppByID finds an app by its id.
func (s *Service) AppByID(ctx context.Context, id string) (*App, error) {
	a := new(App)
	if err := s.DB.NewSelect().Model(a).Where("id = ?", id).Scan(ctx); err != nil {
		return nil, db.Err(err, "Record not found")
	}
	return a, nil
}

// Authenticate checks a client's credentials. The hashes are compared in constant time, and
// an empty secret never matches: every app has one.
func (s *Service) Authenticate(ctx context.Context, clientID, secret string) (*App, error) {
	a, err := s.App(ctx, clientID)
	if err != nil {
		return nil, err
	}
	if secret == "" || subtle.ConstantTimeCompare([]byte(ids.Hash(secret)), []byte(a.SecretHash)) != 1 {
		return nil, oauthErr(InvalidClient, errs.Unauthorized, "Client authentication failed due to a wrong client secret")
	}
	return a, nil
}

// AuthRequest is an authorization request (GET /oauth/authorize), as the app sent it.
type AuthRequest struct {
	ResponseType        string
	ClientID            string
	RedirectURI         string
	Scope               string
	State               string
	CodeChallenge       string
	CodeChallengeMethod string
}

// Grant is a checked authorization request: what the consent page shows and Approve issues.
type Grant struct {
	App         *App
	RedirectURI string
	Scopes      string
}

// RedirectError is an authorization failure that may go back to the app: its redirect URI is
// known to be registered, so the error travels there as error=...&state=... (RFC 6749
// 4.1.2.1). Failures about client_id or redirect_uri themselves are shown on a page instead,
// so nobody can be bounced to an unregistered address.
type RedirectError struct {
	RedirectURI string
	Err         error
}

func (e *RedirectError) Error() string { return e.Err.Error() }

// Unwrap exposes the OAuth error.
func (e *RedirectError) Unwrap() error { return e.Err }

// CheckAuthorize validates an authorization request.
func (s *Service) CheckAuthorize(ctx context.Context, r AuthRequest) (*Grant, error) {
	a, err := s.App(ctx, r.ClientID)
	if err != nil {
		return nil, oauthErr(InvalidClient, errs.Invalid, "This app is not registered here (unknown client_id)")
	}
	redirect := r.RedirectURI
	list := a.RedirectList()
	if redirect == "" && len(list) == 1 {
		redirect = list[0] // RFC 6749 3.1.2.3: optional when only one is registered
	}
	// Exact string match: no prefix, host-suffix or case folding, which is what let
	// evilexample.com pass for example.com in the library's default.
	if !contains(list, redirect) {
		return nil, oauthErr(InvalidRequest, errs.Invalid, "The redirect URI is not one this app registered")
	}
	fail := func(err error) error { return &RedirectError{RedirectURI: redirect, Err: err} }
	if r.ResponseType != "code" {
		return nil, fail(oauthErr(UnsupportedResponseType, errs.Invalid, "Only response_type=code is supported"))
	}
	scopes, err := parseScopes(r.Scope, "read")
	if err != nil {
		return nil, fail(err)
	}
	if sc, ok := within(scopes, a.Scopes); !ok {
		return nil, fail(oauthErr(InvalidScope, errs.Invalid, "The app did not register the scope %q", sc))
	}
	if r.CodeChallenge != "" || r.CodeChallengeMethod != "" {
		if r.CodeChallengeMethod != "S256" {
			return nil, fail(oauthErr(InvalidRequest, errs.Invalid, "code_challenge_method must be S256"))
		}
		if n := len(r.CodeChallenge); n != 43 {
			return nil, fail(oauthErr(InvalidRequest, errs.Invalid, "code_challenge must be a base64url SHA-256 (43 characters)"))
		}
	}
	return &Grant{App: a, RedirectURI: redirect, Scopes: scopes}, nil
}

// Approve records that u lets the app act for them and returns the authorization code.
func (s *Service) Approve(ctx context.Context, u *accounts.User, r AuthRequest) (string, *Grant, error) {
	g, err := s.CheckAuthorize(ctx, r)
	if err != nil {
		return "", nil, err
	}
	if u == nil || !u.Active() {
		return "", nil, errs.E(errs.Unauthorized, "sign in first")
	}
	if err := MayGrant(u, g.Scopes); err != nil {
		return "", nil, err
	}
	plain := ids.Token()
	now := s.Clock.Now()
	c := &code{CodeHash: ids.Hash(plain), AppID: g.App.ID, UserID: u.ID, RedirectURI: g.RedirectURI, Scopes: g.Scopes,
		CodeChallenge: r.CodeChallenge, CreatedAt: now, ExpiresAt: now.Add(CodeTTL)}
	if _, err := s.DB.NewInsert().Model(c).Exec(ctx); err != nil {
		return "", nil, err
	}
	// Expired codes are useless; sweeping here keeps the table small without a job.
	_, _ = s.DB.NewDelete().Model((*code)(nil)).Where("expires_at < ?", now.Add(-24*time.Hour)).Exec(ctx)
	return plain, g, nil
}

// MayGrant refuses to let someone hand an app rights they do not hold themselves: only
// administrators may approve admin scopes. (The admin API checks the role anyway; refusing
// here tells the person why, instead of handing the app a token that fails later.)
func MayGrant(u *accounts.User, scopes string) error {
	if u.IsAdmin() {
		return nil
	}
	for _, sc := range strings.Fields(scopes) {
		if sc == "admin" || strings.HasPrefix(sc, "admin:") {
			return oauthErr(AccessDenied, errs.Forbidden, "This app asks for administrator rights (%s), and only administrators can give them", sc)
		}
	}
	return nil
}

// RedirectWith adds parameters to a redirect URI, keeping its own query.
func RedirectWith(redirect string, params url.Values) string {
	u, err := url.Parse(redirect)
	if err != nil {
		return redirect
	}
	q := u.Query()
	for k, v := range params {
		if len(v) > 0 && v[0] != "" {
			q.Set(k, v[0])
		}
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// TokenRequest is a POST /oauth/token, with the client's credentials from the form or from
// HTTP Basic.
type TokenRequest struct {
	GrantType    string
	ClientID     string
	ClientSecret string
	Code         string
	RedirectURI  string
	CodeVerifier string
	RefreshToken string
	Scope        string
	IP           string
}

// TokenResponse is the token endpoint's answer, in Mastodon's shape.
type TokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	Scope        string `json:"scope"`
	CreatedAt    int64  `json:"created_at"`
	RefreshToken string `json:"refresh_token,omitempty"`
}

// Token runs the token endpoint.
func (s *Service) Token(ctx context.Context, r TokenRequest) (*TokenResponse, error) {
	if ok, _ := s.tokenByIP.Allow(r.IP); !ok {
		return nil, oauthErr(SlowDown, errs.TooMany, "Too many requests; try again in a minute")
	}
	switch r.GrantType {
	case "authorization_code", "client_credentials", "refresh_token":
	case "":
		return nil, oauthErr(InvalidRequest, errs.Invalid, "grant_type is missing")
	default:
		return nil, oauthErr(UnsupportedGrantType, errs.Invalid, "The grant type %q is not supported", r.GrantType)
	}
	a, err := s.Authenticate(ctx, r.ClientID, r.ClientSecret)
	if err != nil {
		return nil, err
	}
	switch r.GrantType {
	case "authorization_code":
		return s.exchangeCode(ctx, a, r)
	case "client_credentials":
		scopes, err := parseScopes(r.Scope, "read")
		if err != nil {
			return nil, err
		}
		if sc, ok := within(scopes, a.Scopes); !ok {
			return nil, oauthErr(InvalidScope, errs.Invalid, "The app did not register the scope %q", sc)
		}
		out, _, err := s.issue(ctx, s.DB, a, "", scopes, false)
		return out, err
	}
	return s.refresh(ctx, a, r)
}

// exchangeCode turns a code into a token: once, within CodeTTL, for the app and redirect URI
// it was issued to, and with the PKCE verifier when the request carried a challenge.
func (s *Service) exchangeCode(ctx context.Context, a *App, r TokenRequest) (*TokenResponse, error) {
	bad := oauthErr(InvalidGrant, errs.Invalid, "The authorization code is invalid, expired, already used, or was issued to another client")
	if r.Code == "" {
		return nil, oauthErr(InvalidRequest, errs.Invalid, "code is missing")
	}
	c := new(code)
	if err := s.DB.NewSelect().Model(c).Where("code_hash = ?", ids.Hash(r.Code)).Scan(ctx); err != nil {
		if db.IsNotFound(err) {
			return nil, bad
		}
		return nil, err
	}
	if c.AppID != a.ID {
		return nil, bad
	}
	if c.UsedAt != nil {
		// A code presented twice has leaked: the token it became is no longer trusted.
		if c.TokenID != "" {
			if err := s.revokeWhere(ctx, func(q *bun.UpdateQuery) *bun.UpdateQuery { return q.Where("id = ?", c.TokenID) }); err != nil {
				return nil, err
			}
		}
		return nil, bad
	}
	if !s.Clock.Now().Before(c.ExpiresAt) {
		return nil, bad
	}
	if r.RedirectURI != c.RedirectURI {
		return nil, oauthErr(InvalidGrant, errs.Invalid, "redirect_uri does not match the one the code was issued for")
	}
	if c.CodeChallenge != "" {
		sum := sha256.Sum256([]byte(r.CodeVerifier))
		if r.CodeVerifier == "" || subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(sum[:])), []byte(c.CodeChallenge)) != 1 {
			return nil, oauthErr(InvalidGrant, errs.Invalid, "The code_verifier does not match the code_challenge")
		}
	}
	u, err := s.Accounts.Get(ctx, c.UserID)
	if err != nil || !u.Active() {
		return nil, bad
	}
	var out *TokenResponse
	err = s.DB.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		// The used_at condition makes the exchange single-use even when two requests race.
		res, err := tx.NewUpdate().Model(c).Set("used_at = ?", s.Clock.Now()).WherePK().Where("used_at IS NULL").Exec(ctx)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return bad
		}
		var id string
		if out, id, err = s.issue(ctx, tx, a, c.UserID, c.Scopes, true); err != nil {
			return err
		}
		_, err = tx.NewUpdate().Model(c).Set("token_id = ?", id).WherePK().Exec(ctx)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// refresh rotates a refresh token: the old access and refresh tokens stop working and a new
// pair is issued with the same scopes, or fewer when the request names a subset.
func (s *Service) refresh(ctx context.Context, a *App, r TokenRequest) (*TokenResponse, error) {
	bad := oauthErr(InvalidGrant, errs.Invalid, "The refresh token is invalid, revoked, or was issued to another client")
	if r.RefreshToken == "" {
		return nil, oauthErr(InvalidRequest, errs.Invalid, "refresh_token is missing")
	}
	var out *TokenResponse
	var oldHash string
	err := s.DB.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		t := new(accounts.Token)
		if err := tx.NewSelect().Model(t).Where("refresh_hash = ?", ids.Hash(r.RefreshToken)).Scan(ctx); err != nil {
			if db.IsNotFound(err) {
				return bad
			}
			return err
		}
		if t.AppID != a.ID || t.RevokedAt != nil || t.UserID == "" {
			return bad
		}
		scopes := t.Scopes
		if r.Scope != "" {
			want, err := parseScopes(r.Scope, "")
			if err != nil {
				return err
			}
			if sc, ok := within(want, t.Scopes); !ok {
				return oauthErr(InvalidScope, errs.Invalid, "The scope %q was not granted", sc)
			}
			scopes = want
		}
		res, err := tx.NewUpdate().Model(t).Set("revoked_at = ?", s.Clock.Now()).WherePK().Where("revoked_at IS NULL").Exec(ctx)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return bad
		}
		oldHash = t.TokenHash
		out, _, err = s.issue(ctx, tx, a, t.UserID, scopes, true)
		return err
	})
	if oldHash != "" {
		s.Accounts.ForgetToken(oldHash)
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

// issue stores a new token for the app (and person, unless userID is "") and returns it with
// its row id. Tokens do not expire: they work until revoked, as Mastodon's do.
func (s *Service) issue(ctx context.Context, idb bun.IDB, a *App, userID, scopes string, withRefresh bool) (*TokenResponse, string, error) {
	plain := ids.Token()
	now := s.Clock.Now()
	t := &accounts.Token{ID: ids.New(now), UserID: userID, AppID: a.ID, Name: a.Name, TokenHash: ids.Hash(plain),
		Scopes: scopes, CreatedAt: now}
	out := &TokenResponse{AccessToken: plain, TokenType: "Bearer", Scope: scopes, CreatedAt: now.Unix()}
	if withRefresh {
		out.RefreshToken = ids.Token()
		t.RefreshHash = ids.Hash(out.RefreshToken)
	}
	if _, err := idb.NewInsert().Model(t).Exec(ctx); err != nil {
		return nil, "", err
	}
	return out, t.ID, nil
}

// Revoke ends a token (access or refresh) held by the authenticated client (RFC 7009). A
// token that is unknown, already revoked or another client's is ignored: the answer is the
// same, so the endpoint tells nobody which tokens exist.
func (s *Service) Revoke(ctx context.Context, clientID, secret, token string) error {
	a, err := s.Authenticate(ctx, clientID, secret)
	if err != nil {
		return err
	}
	if token == "" {
		return oauthErr(InvalidRequest, errs.Invalid, "token is missing")
	}
	h := ids.Hash(token)
	return s.revokeWhere(ctx, func(q *bun.UpdateQuery) *bun.UpdateQuery {
		return q.Where("app_id = ?", a.ID).WhereGroup(" AND ", func(q *bun.UpdateQuery) *bun.UpdateQuery {
			return q.Where("token_hash = ?", h).WhereOr("refresh_hash = ?", h)
		})
	})
}

// revokeWhere revokes the live tokens the filter selects and clears them from the lookup
// cache once the change is stored.
func (s *Service) revokeWhere(ctx context.Context, filter func(q *bun.UpdateQuery) *bun.UpdateQuery) error {
	var hashes []string
	q := s.DB.NewUpdate().Model((*accounts.Token)(nil)).Set("revoked_at = ?", s.Clock.Now()).Where("revoked_at IS NULL")
	if err := filter(q).Returning("token_hash").Scan(ctx, &hashes); err != nil && !db.IsNotFound(err) {
		return err
	}
	for _, h := range hashes {
		s.Accounts.ForgetToken(h)
	}
	return nil
}

// AuthorisedApp is an app holding live tokens for a person, for Settings → Authorised apps.
type AuthorisedApp struct {
	App        App
	Scopes     []Scope // every scope any of its tokens carries
	Since      time.Time
	LastUsedAt *time.Time
}

// AuthorisedApps lists the apps that can act for userID, most recently authorised first.
func (s *Service) AuthorisedApps(ctx context.Context, userID string) ([]AuthorisedApp, error) {
	var toks []accounts.Token
	if err := s.DB.NewSelect().Model(&toks).Where("user_id = ?", userID).Where("app_id IS NOT NULL").
		Where("revoked_at IS NULL").Order("id DESC").Scan(ctx); err != nil {
		return nil, err
	}
	var out []AuthorisedApp
	index := map[string]int{}
	scopes := map[string][]string{}
	for _, t := range toks {
		i, ok := index[t.AppID]
		if !ok {
			a, err := s.AppByID(ctx, t.AppID)
			if err != nil {
				return nil, err
			}
			i = len(out)
			index[t.AppID] = i
			out = append(out, AuthorisedApp{App: *a, Since: t.CreatedAt})
		}
		e := &out[i]
		if t.CreatedAt.Before(e.Since) {
			e.Since = t.CreatedAt
		}
		if t.LastUsedAt != nil && (e.LastUsedAt == nil || t.LastUsedAt.After(*e.LastUsedAt)) {
			lu := *t.LastUsedAt
			e.LastUsedAt = &lu
		}
		for _, sc := range strings.Fields(t.Scopes) {
			if !contains(scopes[t.AppID], sc) {
				scopes[t.AppID] = append(scopes[t.AppID], sc)
			}
		}
	}
	for i := range out {
		out[i].Scopes = Describe(strings.Join(scopes[out[i].App.ID], " "))
	}
	return out, nil
}

// RevokeApp ends every token the app holds for the person acting: the app can no longer act
// for them until they approve it again.
func (s *Service) RevokeApp(ctx context.Context, a accounts.Actor, appID string) error {
	if a.User == nil {
		return errs.E(errs.Unauthorized, "sign in first")
	}
	n, err := s.DB.NewSelect().Model((*accounts.Token)(nil)).Where("app_id = ?", appID).Where("user_id = ?", a.User.ID).
		Where("revoked_at IS NULL").Count(ctx)
	if err != nil {
		return err
	}
	if n == 0 {
		return errs.E(errs.NotFound, "this app has no access to your account")
	}
	return s.revokeWhere(ctx, func(q *bun.UpdateQuery) *bun.UpdateQuery {
		return q.Where("app_id = ?", appID).Where("user_id = ?", a.User.ID)
	})
}

// TokenApp is the app holding a token, for GET /api/v1/apps/verify_credentials.
func (s *Service) TokenApp(ctx context.Context, t *accounts.Token) (*App, error) {
	if t == nil || t.AppID == "" {
		return nil, errs.E(errs.Unauthorized, "The access token is invalid")
	}
	return s.AppByID(ctx, t.AppID)
}
