package posts

import (
	"bytes"
	"context"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/db"
	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/ids"
	"github.com/atrium-social/atrium/internal/media"
)

// Upload processes and stores a file for a later post: images are re-encoded (metadata
// gone) with a thumbnail; documents are type-sniffed and kept as sent.
func (s *Service) Upload(ctx context.Context, u *accounts.User, r io.Reader, fileName, description string) (*Attachment, error) {
	if s.Media == nil {
		return nil, errs.E(errs.Unavailable, "uploads are not configured on this node")
	}
	if utf8.RuneCountInString(description) > 1500 {
		return nil, errs.Field("description", "keep the description under 1500 characters")
	}
	// Decoding a large photo can take a few hundred MB: bound how many run at once.
	select {
	case s.uploads <- struct{}{}:
		defer func() { <-s.uploads }()
	case <-ctx.Done():
		return nil, errs.Wrap(errs.Unavailable, ctx.Err(), "the server is busy; try the upload again")
	}
	p, err := media.ProcessUpload(r, fileName, media.DefaultUploadLimits())
	if err != nil {
		return nil, err
	}
	now := s.Clock.Now()
	a := &Attachment{ID: ids.New(now), OwnerID: u.ID, Kind: p.Kind, ContentType: p.ContentType, FileName: p.FileName,
		SizeBytes: int64(len(p.Data)), Width: p.Width, Height: p.Height, Description: strings.TrimSpace(description), CreatedAt: now}
	secret := strings.ToLower(ids.Token()[:16]) // unguessable keys: media URLs are capabilities
	a.FileKey = "attachments/" + strings.ToLower(a.ID) + "/" + secret + p.Ext
	if err := s.Media.Put(ctx, a.FileKey, bytes.NewReader(p.Data), p.ContentType); err != nil {
		return nil, err
	}
	if len(p.Thumb) > 0 {
		ext := ".jpg"
		if p.ThumbType == "image/png" {
			ext = ".png"
		}
		a.ThumbKey = "attachments/" + strings.ToLower(a.ID) + "/" + secret + "-small" + ext
		if err := s.Media.Put(ctx, a.ThumbKey, bytes.NewReader(p.Thumb), p.ThumbType); err != nil {
			return nil, err
		}
	}
	if _, err := s.DB.NewInsert().Model(a).Exec(ctx); err != nil {
		return nil, err
	}
	return a, nil
}

// Attachment returns one of the person's uploads.
func (s *Service) Attachment(ctx context.Context, u *accounts.User, id string) (*Attachment, error) {
	a := new(Attachment)
	if err := s.DB.NewSelect().Model(a).Where("id = ? AND owner_id = ?", id, u.ID).Scan(ctx); err != nil {
		return nil, db.Err(err, "Record not found")
	}
	return a, nil
}

// Describe changes an upload's description (alt text).
func (s *Service) Describe(ctx context.Context, u *accounts.User, id, description string) (*Attachment, error) {
	a, err := s.Attachment(ctx, u, id)
	if err != nil {
		return nil, err
	}
	if utf8.RuneCountInString(description) > 1500 {
		return nil, errs.Field("description", "keep the description under 1500 characters")
	}
	a.Description = strings.TrimSpace(description)
	_, err = s.DB.NewUpdate().Model(a).Column("description").WherePK().Exec(ctx)
	if a.PostID != nil {
		s.forgetPosts(*a.PostID) // an attached file's new description shows at once
	}
	return a, err
}
