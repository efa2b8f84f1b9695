package accounts

import (
	"context"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/atrium-social/atrium/internal/db"
	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/ids"
)

// errBadLogin is deliberately the same for an unknown name and a wrong password, so sign-in
// does not reveal who has an account.
var errBadLogin = errs.E(errs.Unauthorized, "that username or e-mail and password do not match")

// Authenticate checks a username-or-e-mail and password. Failures count against both the name
// and the address; the limit answers TooMany with the wait, so a person knows when to retry.
func (s *Service) Authenticate(ctx context.Context, login, password, ip string) (*User, error) {
	login = strings.ToLower(strings.TrimSpace(login))
	if login == "" || password == "" {
		return nil, errs.E(errs.Invalid, "enter your username or e-mail and your password")
	}
	if ok, wait := s.loginByName.Allow(login); !ok {
		return nil, errs.E(errs.TooMany, "too many sign-in attempts for this account; try again in %d minutes", minutes(wait))
	}
	if ok, wait := s.loginByIP.Allow(ip); !ok {
		return nil, errs.E(errs.TooMany, "too many sign-in attempts from your network; try again in %d minutes", minutes(wait))
	}
	u := new(User)
	col := "username_lower"
	if strings.Contains(login, "@") {
		col = "email_lower"
	}
	err := s.DB.NewSelect().Model(u).Where("? = ?", bun.Ident(col), login).Scan(ctx)
	if db.IsNotFound(err) {
		// Spend the same time as a real check so response timing does not reveal accounts.
		_, _ = s.Hasher.Verify(ctx, dummyHash, password)
		return nil, errBadLogin
	}
	if err != nil {
		return nil, err
	}
	ok, err := s.Hasher.Verify(ctx, u.PasswordHash, password)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errBadLogin
	}
	if !u.Active() {
		return nil, errs.E(errs.Forbidden, "this account is deactivated; ask an administrator of your organisation")
	}
	s.loginByName.Reset(login)
	return u, nil
}

// dummyHash is a valid hash of a random string with the default parameters.
const dummyHash = "$argon2id$v=19$m=65536,t=1,p=2$c29tZXNhbHRzb21lc2FsdA$YvDhJr1K0v8Z6jZt8dBPNnbe4yQ6Bg3W7wX9A0kU0sU"

func minutes(d time.Duration) int {
	m := int(d.Minutes() + 0.999)
	if m < 1 {
		m = 1
	}
	return m
}

// CreateSession starts a browser session for u and returns the cookie value.
func (s *Service) CreateSession(ctx context.Context, u *User, userAgent, ip string) (string, error) {
	tok := ids.Token()
	now := s.Clock.Now()
	if len(userAgent) > 300 {
		userAgent = userAgent[:300]
	}
	sess := &Session{IDHash: ids.Hash(tok), UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(SessionTTL),
		LastSeenAt: now, UserAgent: userAgent, IP: ip}
	active, err := s.wasActive(ctx, u.ID, now)
	if err != nil {
		return "", err
	}
	if _, err := s.DB.NewInsert().Model(sess).Exec(ctx); err != nil {
		return "", err
	}
	if !active {
		s.returned(ctx, u.ID)
	}
	return tok, nil
}

// SessionUser resolves a session cookie to its active user. Expired sessions and sessions of
// deactivated people resolve to Unauthorized.
func (s *Service) SessionUser(ctx context.Context, token string) (*User, error) {
	if token == "" {
		return nil, errs.E(errs.Unauthorized, "please sign in")
	}
	sess := new(Session)
	if err := s.DB.NewSelect().Model(sess).Where("id_hash = ?", ids.Hash(token)).Scan(ctx); err != nil {
		if db.IsNotFound(err) {
			return nil, errs.E(errs.Unauthorized, "your session has ended; please sign in again")
		}
		return nil, err
	}
	now := s.Clock.Now()
	if now.After(sess.ExpiresAt) {
		return nil, errs.E(errs.Unauthorized, "your session has expired; please sign in again")
	}
	u, err := s.Get(ctx, sess.UserID) // pages show and edit the person's skills
	if err != nil {
		return nil, err
	}
	if !u.Active() {
		return nil, errs.E(errs.Unauthorized, "this account is deactivated")
	}
	// Touch at most hourly: a write per request would serialise every page view on SQLite.
	if now.Sub(sess.LastSeenAt) > time.Hour {
		active, err := s.wasActive(ctx, u.ID, now)
		if err != nil {
			return nil, err
		}
		if _, err := s.DB.NewUpdate().Model(sess).Set("last_seen_at = ?", now).WherePK().Exec(ctx); err == nil && !active {
			s.returned(ctx, u.ID)
		}
	}
	return u, nil
}

// EndSession signs a browser out.
func (s *Service) EndSession(ctx context.Context, token string) error {
	_, err := s.DB.NewDelete().Model((*Session)(nil)).Where("id_hash = ?", ids.Hash(token)).Exec(ctx)
	return err
}

// ChangePassword lets a signed-in person set a new password after proving the old one; other
// sessions end.
func (s *Service) ChangePassword(ctx context.Context, u *User, current, next, keepSession string) error {
	ok, err := s.Hasher.Verify(ctx, u.PasswordHash, current)
	if err != nil {
		return err
	}
	if !ok {
		return errs.Field("current_password", "that is not your current password")
	}
	return s.setPassword(ctx, u.ID, next, keepSession)
}

func (s *Service) setPassword(ctx context.Context, userID, pw, keepSession string) error {
	if err := checkPassword("new_password", pw); err != nil {
		return err
	}
	hash, err := s.Hasher.Hash(ctx, pw)
	if err != nil {
		return err
	}
	return s.DB.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewUpdate().Model((*User)(nil)).Set("password_hash = ?", hash).
			Set("updated_at = ?", s.Clock.Now()).Where("id = ?", userID).Exec(ctx); err != nil {
			return err
		}
		q := tx.NewDelete().Model((*Session)(nil)).Where("user_id = ?", userID)
		if keepSession != "" {
			q = q.Where("id_hash <> ?", ids.Hash(keepSession))
		}
		_, err := q.Exec(ctx)
		return err
	})
}
