package accounts

import (
	"context"

	"github.com/uptrace/bun"

	"github.com/atrium-social/atrium/internal/db"
	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/media"
)

// SetHeader makes cover the profile cover of a person (Mastodon's account header): people
// change their own, admins anyone's. The caller processes the upload with media.ProcessCover,
// the one implementation group covers use (sniffed, re-encoded without metadata, upright, cut
// to 3:1, 1500×500 with a 600×200 thumbnail), so that a form is checked whole before any of
// it is written.
//
// The new files are stored before the person points at them and the previous ones removed
// after, so a profile never names a missing picture and a replaced cover leaves nothing
// behind. The store is the caller's (the node's media store).
func (s *Service) SetHeader(ctx context.Context, a Actor, userID string, store media.Store, cover *media.Cover) (*User, error) {
	defer s.forgetUser(userID) // timelines show the change at once
	if err := s.headerAllowed(ctx, a, userID); err != nil {
		return nil, err
	}
	key, err := media.StoreCover(ctx, store, userID, cover)
	if err != nil {
		return nil, err
	}
	u, old, err := s.setHeaderKey(ctx, a, userID, key, "user.header", "new profile cover")
	if err != nil {
		s.deleteHeader(ctx, store, key)
		return nil, err
	}
	if old != key {
		s.deleteHeader(ctx, store, old)
	}
	return u, nil
}

// ClearHeader removes a person's profile cover (people their own, admins anyone's). Removing
// a cover that is not there changes nothing and is not an error, so a repeated request
// succeeds.
func (s *Service) ClearHeader(ctx context.Context, a Actor, userID string, store media.Store) (*User, error) {
	defer s.forgetUser(userID)
	if err := s.headerAllowed(ctx, a, userID); err != nil {
		return nil, err
	}
	u, old, err := s.setHeaderKey(ctx, a, userID, "", "user.header_remove", "removed the profile cover")
	if err != nil {
		return nil, err
	}
	s.deleteHeader(ctx, store, old)
	return u, nil
}

func (s *Service) headerAllowed(ctx context.Context, a Actor, userID string) error {
	if !a.isAdmin() && (a.User == nil || a.User.ID != userID) {
		return errs.E(errs.Forbidden, "you can only change your own cover picture")
	}
	return nil
}

// setHeaderKey points the person at key (or at none) and returns the key it replaced. An
// admin changing someone else's cover is recorded in the audit log.
func (s *Service) setHeaderKey(ctx context.Context, a Actor, userID, key, action, detail string) (u *User, old string, err error) {
	err = s.DB.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		u = new(User)
		if err := tx.NewSelect().Model(u).Where("id = ?", userID).Scan(ctx); err != nil {
			return db.Err(err, "no such person")
		}
		if old = u.HeaderKey; old == key {
			return nil
		}
		u.HeaderKey, u.UpdatedAt = key, s.Clock.Now()
		if _, err := tx.NewUpdate().Model(u).Column("header_key", "updated_at").WherePK().Exec(ctx); err != nil {
			return err
		}
		if err := s.changed(ctx, tx, u, false); err != nil {
			return err
		}
		if a.User == nil || a.User.ID != userID {
			return s.audit(ctx, tx, a, action, u.Username, detail)
		}
		return nil
	})
	return u, old, err
}

// deleteHeader removes a cover's files. A failure only leaves an orphan file behind, so it is
// logged rather than failing a change that has been made.
func (s *Service) deleteHeader(ctx context.Context, store media.Store, key string) {
	if key == "" {
		return
	}
	if err := media.DeleteCover(ctx, store, key); err != nil && s.Log != nil {
		s.Log.Warn("could not delete a profile cover file", "key", key, "err", err)
	}
}
