package accounts

import (
	"context"
	"strings"
	"time"

	"github.com/atrium-social/atrium/internal/db"
	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/ids"
)

// knownScopes are the top-level Mastodon scopes a personal token may carry; granular forms
// (read:statuses) are accepted when their parent is known.
var knownScopes = map[string]bool{"read": true, "write": true, "follow": true, "push": true,
	"admin:read": true, "admin:write": true, "profile": true}

// NormalizeScopes validates a space-separated scope list and returns it deduplicated.
func NormalizeScopes(v string) (string, error) {
	seen := map[string]bool{}
	var out []string
	for _, sc := range strings.Fields(strings.ReplaceAll(v, ",", " ")) {
		base := sc
		if i := strings.IndexByte(sc, ':'); i > 0 && !strings.HasPrefix(sc, "admin:") {
			base = sc[:i]
		} else if strings.HasPrefix(sc, "admin:") && strings.Count(sc, ":") == 2 {
			base = sc[:strings.LastIndexByte(sc, ':')]
		}
		if !knownScopes[base] {
			return "", errs.Field("scopes", "%q is not a scope; use read, write, follow, push or their granular forms", sc)
		}
		if !seen[sc] {
			seen[sc] = true
			out = append(out, sc)
		}
	}
	if len(out) == 0 {
		return "", errs.Field("scopes", "choose at least one scope, e.g. read")
	}
	return strings.Join(out, " "), nil
}

// followScopes are what Mastodon's legacy "follow" scope grants: it predates the granular
// scopes, and apps still ask for it to manage follows, blocks and mutes.
var followScopes = map[string]bool{"read:follows": true, "write:follows": true, "read:blocks": true,
	"write:blocks": true, "read:mutes": true, "write:mutes": true}

// HasScope reports whether granted (space-separated) covers want, following Mastodon's
// hierarchy: "read" covers "read:statuses", "admin:read" covers "admin:read:accounts", and
// "follow" covers the follow, block and mute scopes.
func HasScope(granted, want string) bool {
	for _, g := range strings.Fields(granted) {
		if g == want || strings.HasPrefix(want, g+":") || g == "follow" && followScopes[want] {
			return true
		}
	}
	return false
}

// CreateToken issues a personal access token for owner; the plain token is returned once and
// only its hash is stored. A person may create tokens for themselves; admins (and the CLI)
// for anyone.
func (s *Service) CreateToken(ctx context.Context, a Actor, ownerID, name, scopes string) (string, *Token, error) {
	if !a.isAdmin() && (a.User == nil || a.User.ID != ownerID) {
		return "", nil, errs.E(errs.Forbidden, "you can only create tokens for yourself")
	}
	name = strings.TrimSpace(name)
	if name == "" {
		name = "personal token"
	}
	if len(name) > 100 {
		return "", nil, errs.Field("name", "use at most 100 characters")
	}
	sc, err := NormalizeScopes(scopes)
	if err != nil {
		return "", nil, err
	}
	owner, err := s.Get(ctx, ownerID)
	if err != nil {
		return "", nil, err
	}
	if !owner.Active() {
		return "", nil, errs.E(errs.Invalid, "%s is deactivated", owner.Username)
	}
	plain := ids.Token()
	t := &Token{ID: newID(s.Clock), UserID: ownerID, Name: name, TokenHash: ids.Hash(plain), Scopes: sc, CreatedAt: s.Clock.Now()}
	if _, err := s.DB.NewInsert().Model(t).Exec(ctx); err != nil {
		return "", nil, err
	}
	return plain, t, nil
}

// TokenUser resolves a bearer token to its active user and scopes. Every API request asks,
// so valid tokens are cached for a few seconds (tokenCacheTTL); revoking a token or changing
// its owner in this process clears the entry at once, and the TTL bounds how long another
// process's revocation or deactivation takes to be seen here.
func (s *Service) TokenUser(ctx context.Context, plain string) (*User, *Token, error) {
	hash := ids.Hash(plain)
	now := s.Clock.Now()
	if e, ok := s.tokens.Get(hash, now); ok {
		u, t := e.user, e.token // copies: callers may change what they get
		if t.UserID == "" {
			return nil, &t, nil
		}
		return &u, &t, nil
	}
	gen := s.tokens.Generation()
	t := new(Token)
	if err := s.DB.NewSelect().Model(t).Where("token_hash = ?", hash).Scan(ctx); err != nil {
		if db.IsNotFound(err) {
			return nil, nil, errs.E(errs.Unauthorized, "The access token is invalid")
		}
		return nil, nil, err
	}
	if t.RevokedAt != nil {
		return nil, nil, errs.E(errs.Unauthorized, "The access token was revoked")
	}
	if t.UserID == "" {
		// An app-level OAuth token (client_credentials) acts for no one: the caller gets the
		// token and no user, so every route that needs a person answers 401.
		s.tokens.Put(gen, hash, tokenOwner{token: *t}, now)
		return nil, t, nil
	}
	u, err := s.bare(ctx, t.UserID)
	if err != nil {
		return nil, nil, err
	}
	if !u.Active() {
		return nil, nil, errs.E(errs.Unauthorized, "Your login is currently disabled")
	}
	if t.LastUsedAt == nil || now.Sub(*t.LastUsedAt) > time.Hour {
		active, err := s.wasActive(ctx, u.ID, now)
		if err != nil {
			return nil, nil, err
		}
		if _, err := s.DB.NewUpdate().Model(t).Set("last_used_at = ?", now).WherePK().Exec(ctx); err == nil {
			t.LastUsedAt = &now
			if !active {
				s.returned(ctx, u.ID)
			}
		}
	}
	s.tokens.Put(gen, hash, tokenOwner{token: *t, user: *u}, now)
	return u, t, nil
}

// Tokens lists a person's personal tokens, newest first; tokens held by OAuth apps are listed
// per app under Settings → Authorised apps (internal/oauth).
func (s *Service) Tokens(ctx context.Context, userID string) ([]Token, error) {
	var out []Token
	return out, s.DB.NewSelect().Model(&out).Where("user_id = ?", userID).Where("app_id IS NULL").
		Where("revoked_at IS NULL").Order("id DESC").Scan(ctx)
}

// ForgetToken drops a token from the lookup cache after another package (internal/oauth)
// revoked it, so the revocation applies at once in this process.
func (s *Service) ForgetToken(hash string) { s.tokens.Forget(hash) }

// RevokeToken ends a token; only its owner or an admin may.
func (s *Service) RevokeToken(ctx context.Context, a Actor, tokenID string) error {
	t := new(Token)
	if err := s.DB.NewSelect().Model(t).Where("id = ?", tokenID).Scan(ctx); err != nil {
		return db.Err(err, "no such token")
	}
	if !a.isAdmin() && (a.User == nil || a.User.ID != t.UserID) {
		return errs.E(errs.NotFound, "no such token")
	}
	_, err := s.DB.NewUpdate().Model(t).Set("revoked_at = ?", s.Clock.Now()).WherePK().Exec(ctx)
	s.tokens.Forget(t.TokenHash) // after the update, so no request can cache it again
	return err
}
