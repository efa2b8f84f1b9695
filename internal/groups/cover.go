package groups

import (
	"context"
	"io"
	"strings"

	"github.com/uptrace/bun"

	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/audit"
	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/media"
	"github.com/atrium-social/atrium/internal/posts"
)

// A group's cover is a wide picture: the banner of its page and, small, the picture of its
// card in the directory. The picture is processed by the media package (media.ProcessCover),
// the one implementation people's profile covers use too.
const (
	CoverWidth       = media.CoverWidth
	CoverHeight      = media.CoverHeight
	CoverThumbWidth  = media.CoverThumbWidth
	CoverThumbHeight = media.CoverThumbHeight
	// CoverMaxBytes is the largest upload read: a photo straight off a current phone.
	CoverMaxBytes = media.CoverMaxBytes
)

// coverPrefix starts every key SetCover stores. Only such keys are ever deleted: a cover key
// set some other way (NewGroup.CoverKey) may name a file something else also uses.
const coverPrefix = media.CoverPrefix

// CoverThumbKey is the key of the thumbnail stored beside the cover under key.
func CoverThumbKey(key string) string { return media.CoverThumbKey(key) }

// SetCover makes upload the cover of a group hosted here; only its admins may. The picture is
// sniffed from its bytes, re-encoded (which drops EXIF and all other metadata, location
// included), turned upright, cut to 3:1 around its centre and scaled down to CoverWidth ×
// CoverHeight, with a CoverThumbWidth × CoverThumbHeight thumbnail.
//
// Both files go to store under fresh random keys before the group points at them, and the
// previous cover's files are removed after, so the group never names a missing picture and a
// replaced cover leaves nothing behind. The store is the caller's (the pages and the API hold
// the node's), which keeps the service's construction as it is.
func (s *Service) SetCover(ctx context.Context, u *accounts.User, groupID string, store media.Store, upload io.Reader) (*Group, error) {
	// Rights first: a secret group stays hidden, and nobody waits for a photo to be decoded
	// only to be told they may not change the group.
	g, err := s.coverAdmin(ctx, s.DB, u, groupID)
	if err != nil {
		return nil, err
	}
	cover, err := media.ProcessCover(upload, "cover")
	if err != nil {
		return nil, err
	}
	key, err := media.StoreCover(ctx, store, g.ID, cover)
	if err != nil {
		return nil, err
	}
	var old string
	err = s.DB.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		// Again inside the transaction: the admin may have lost the role while the picture
		// was being processed.
		var err error
		if g, err = s.coverAdmin(ctx, tx, u, g.ID); err != nil {
			return err
		}
		old = g.CoverKey
		return s.coverChanged(ctx, tx, u, g, key, "group.cover", "new cover of "+g.DisplayName)
	})
	if err != nil {
		s.deleteCover(ctx, store, key)
		return nil, err
	}
	if old != key {
		s.deleteCover(ctx, store, old)
	}
	return g, nil
}

// ClearCover removes a group's cover; only its admins may. Removing a cover that is not there
// changes nothing and is not an error, so a repeated request succeeds.
func (s *Service) ClearCover(ctx context.Context, u *accounts.User, groupID string, store media.Store) (*Group, error) {
	var g *Group
	var old string
	err := s.DB.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		var err error
		if g, err = s.coverAdmin(ctx, tx, u, groupID); err != nil {
			return err
		}
		if old = g.CoverKey; old == "" {
			return nil
		}
		return s.coverChanged(ctx, tx, u, g, "", "group.cover_remove", "removed the cover of "+g.DisplayName)
	})
	if err != nil {
		return nil, err
	}
	s.deleteCover(ctx, store, old)
	return g, nil
}

// coverAdmin loads a group whose cover u may change: NotFound where the group is hidden from
// u (as everywhere), Forbidden where u sees it but does not administer it.
func (s *Service) coverAdmin(ctx context.Context, tx bun.IDB, u *accounts.User, groupID string) (*Group, error) {
	g, m, err := s.view(ctx, tx, posts.ViewerOf(u), groupID)
	if err != nil {
		return nil, err
	}
	if g.IsRemote() {
		return nil, errs.E(errs.Forbidden, "%s is hosted on %s; its cover is changed there", g.DisplayName, g.Domain)
	}
	if !m.Administers() {
		return nil, errs.E(errs.Forbidden, "only the admins of %s can change its cover", g.DisplayName)
	}
	return g, nil
}

// coverChanged points the group at key, tells the hooks (as Update does) and records the
// admin's action in the audit log.
func (s *Service) coverChanged(ctx context.Context, tx bun.IDB, u *accounts.User, g *Group, key, action, detail string) error {
	g.CoverKey, g.UpdatedAt = key, s.now()
	if _, err := tx.NewUpdate().Model(g).Column("cover_key", "updated_at").WherePK().Exec(ctx); err != nil {
		return err
	}
	for _, h := range s.hooks {
		if err := h.GroupChanged(ctx, tx, g); err != nil {
			return err
		}
	}
	return audit.Record(ctx, tx, audit.Entry{ActorID: u.ID, ActorName: u.Username, Action: action, Target: g.ID,
		Detail: detail, CreatedAt: g.UpdatedAt})
}

// deleteCover removes a cover and its thumbnail. A failure only leaves an orphan file behind,
// so it is logged rather than failing a change that has been made.
func (s *Service) deleteCover(ctx context.Context, store media.Store, key string) {
	if err := media.DeleteCover(ctx, store, key); err != nil {
		s.Log.Warn("could not delete a group cover file", "key", key, "err", err)
	}
}

// CoverThumb is the key of the cover's small copy: the thumbnail SetCover stored beside it,
// or the cover itself when it was set some other way and has none.
func (g *Group) CoverThumb() string {
	if !strings.HasPrefix(g.CoverKey, coverPrefix) {
		return g.CoverKey
	}
	return CoverThumbKey(g.CoverKey)
}
