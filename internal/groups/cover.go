package groups

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"net/http"
	"strings"

	"github.com/uptrace/bun"
	"golang.org/x/image/draw"

	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/audit"
	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/ids"
	"github.com/atrium-social/atrium/internal/media"
	"github.com/atrium-social/atrium/internal/posts"
)

// A group's cover is a wide picture: the banner of its page and, small, the picture of its
// card in the directory. It is stored cut to one shape, 3:1 like a Mastodon header, so that
// every place that shows it (pages, apps) crops the same way, or not at all.
const (
	CoverWidth       = 1500
	CoverHeight      = 500
	CoverThumbWidth  = 600 // twice the width of a directory card, for sharp high-density screens
	CoverThumbHeight = 200
	// CoverMaxBytes is the largest upload read: a photo straight off a current phone.
	CoverMaxBytes = 8 << 20
)

// coverPrefix starts every key SetCover stores. Only such keys are ever deleted: a cover key
// set some other way (NewGroup.CoverKey) may name a file something else also uses.
const coverPrefix = "covers/"

// coverQuality is the usual point past which JPEG files grow quickly for little visible gain.
const coverQuality = 85

// CoverThumbKey is the key of the thumbnail stored beside the cover under key.
func CoverThumbKey(key string) string {
	if key == "" {
		return ""
	}
	dot := strings.LastIndexByte(key, '.')
	if dot <= strings.LastIndexByte(key, '/') {
		return key + "-thumb"
	}
	return key[:dot] + "-thumb" + key[dot:]
}

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
	full, thumb, contentType, err := processCover(upload)
	if err != nil {
		return nil, err
	}
	key := newCoverKey(g.ID, contentType)
	if err := store.Put(ctx, key, bytes.NewReader(full), contentType); err != nil {
		return nil, err
	}
	if err := store.Put(ctx, CoverThumbKey(key), bytes.NewReader(thumb), contentType); err != nil {
		s.deleteCover(ctx, store, key)
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
	if !strings.HasPrefix(key, coverPrefix) {
		return
	}
	for _, k := range []string{key, CoverThumbKey(key)} {
		if err := store.Delete(ctx, k); err != nil {
			s.Log.Warn("could not delete a group cover file", "key", k, "err", err)
		}
	}
}

// newCoverKey makes covers/<group>/<random>.<ext>: random and never reused, because /media
// answers are cached for good, and a cover's address must not be guessable from the group's.
// Keys are lower case, hence the lowered id.
func newCoverKey(groupID, contentType string) string {
	ext := ".jpg"
	if contentType == "image/png" {
		ext = ".png"
	}
	return coverPrefix + strings.ToLower(groupID) + "/" + strings.ToLower(ids.Token()[:16]) + ext
}

// coverTypes are the pictures a cover may be made from, as the media package reads them.
var coverTypes = map[string]bool{"image/jpeg": true, "image/png": true, "image/gif": true, "image/webp": true}

// processCover turns an untrusted upload into the cover and its thumbnail, both JPEG, or PNG
// when the picture has transparent parts (so that they stay transparent).
//
// The media package does the untrusted part as it does for every upload: the type from the
// bytes, the size in bytes and pixels checked before decoding, EXIF orientation applied and
// the pixels re-encoded, scaled to fit media.MaxImageSide. That result, a JPEG or PNG of
// known size, is then cut and scaled here.
func processCover(upload io.Reader) (full, thumb []byte, contentType string, err error) {
	head := make([]byte, 512)
	n, err := io.ReadFull(upload, head)
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return nil, nil, "", fmt.Errorf("groups: read cover: %w", err)
	}
	head = head[:n]
	// Checked here, before the media package, whose answer to a document would be to list
	// the document types posts accept: no help for a cover.
	if !coverTypes[http.DetectContentType(head)] {
		return nil, nil, "", coverError(errs.Wrap(errs.Invalid, media.ErrUnsupported,
			"this file is not a picture: upload a JPEG, PNG, GIF or WebP image, ideally at least %d×%d pixels", CoverWidth, CoverHeight))
	}
	p, err := media.ProcessUpload(io.MultiReader(bytes.NewReader(head), upload), "cover",
		media.UploadLimits{MaxImageBytes: CoverMaxBytes, MaxDocumentBytes: CoverMaxBytes})
	if err != nil {
		return nil, nil, "", coverError(err)
	}
	if p.Kind != media.KindImage {
		return nil, nil, "", coverError(errs.Wrap(errs.Invalid, media.ErrUnsupported, "this file is not a picture: upload a JPEG, PNG, GIF or WebP image"))
	}
	var img image.Image
	if p.ContentType == "image/png" {
		img, err = png.Decode(bytes.NewReader(p.Data))
	} else {
		img, err = jpeg.Decode(bytes.NewReader(p.Data))
	}
	if err != nil {
		// The media package has just encoded these bytes; failing to read them back is a bug.
		return nil, nil, "", fmt.Errorf("groups: decode processed cover: %w", err)
	}
	crop := coverCrop(img.Bounds())
	w, h := fitWithin(crop.Dx(), crop.Dy(), CoverWidth, CoverHeight)
	big := scale(img, crop, w, h)
	w, h = fitWithin(crop.Dx(), crop.Dy(), CoverThumbWidth, CoverThumbHeight)
	small := scale(big, big.Bounds(), w, h)
	asPNG := !big.Opaque()
	if full, err = encodeCover(big, asPNG); err != nil {
		return nil, nil, "", err
	}
	if thumb, err = encodeCover(small, asPNG); err != nil {
		return nil, nil, "", err
	}
	contentType = "image/jpeg"
	if asPNG {
		contentType = "image/png"
	}
	return full, thumb, contentType, nil
}

// coverError names the form field and keeps the media package's message, which tells the
// person what to do (a smaller file, fewer pixels, another format).
func coverError(err error) error {
	var e *errs.Error
	switch {
	case errors.Is(err, media.ErrTooLarge):
		return &errs.Error{Kind: errs.TooLarge, Field: "cover", Msg: "the cover " + errs.Message(err), Err: err}
	case errors.Is(err, media.ErrUnsupported), errors.As(err, &e) && e.Kind == errs.Invalid:
		return &errs.Error{Kind: errs.Invalid, Field: "cover", Msg: errs.Message(err), Err: err}
	}
	return err
}

// coverCrop is the largest 3:1 rectangle centred in b.
func coverCrop(b image.Rectangle) image.Rectangle {
	w, h := b.Dx(), b.Dy()
	if w >= h*CoverWidth/CoverHeight {
		cw := h * CoverWidth / CoverHeight
		x := b.Min.X + (w-cw)/2
		return image.Rect(x, b.Min.Y, x+cw, b.Max.Y)
	}
	ch := max((w*CoverHeight+CoverWidth/2)/CoverWidth, 1)
	y := b.Min.Y + (h-ch)/2
	return image.Rect(b.Min.X, y, b.Max.X, y+ch)
}

// fitWithin is the size to draw a 3:1 crop of w×h at: the box maxW×maxH (also 3:1) when the
// crop is larger, as it is, a rounding pixel aside, the same shape; the crop's own size
// otherwise, because scaling up only adds bytes.
func fitWithin(w, h, maxW, maxH int) (int, int) {
	if w <= maxW && h <= maxH {
		return w, h
	}
	return maxW, maxH
}

// scale draws the rectangle r of src at w×h. CatmullRom is sharp without aliasing; the
// source is at most media.MaxImageSide on its long side, so its cost stays small.
func scale(src image.Image, r image.Rectangle, w, h int) *image.RGBA {
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.CatmullRom.Scale(dst, dst.Bounds(), src, r, draw.Src, nil)
	return dst
}

func encodeCover(img image.Image, asPNG bool) ([]byte, error) {
	var buf bytes.Buffer
	var err error
	if asPNG {
		err = png.Encode(&buf, img)
	} else {
		err = jpeg.Encode(&buf, img, &jpeg.Options{Quality: coverQuality})
	}
	if err != nil {
		return nil, fmt.Errorf("groups: encode cover: %w", err)
	}
	return buf.Bytes(), nil
}

// CoverThumb is the key of the cover's small copy: the thumbnail SetCover stored beside it,
// or the cover itself when it was set some other way and has none.
func (g *Group) CoverThumb() string {
	if !strings.HasPrefix(g.CoverKey, coverPrefix) {
		return g.CoverKey
	}
	return CoverThumbKey(g.CoverKey)
}
