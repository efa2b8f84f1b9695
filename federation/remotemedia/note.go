package remotemedia

import (
	"context"
	"errors"
	"strings"

	"github.com/uptrace/bun"

	"github.com/atrium-social/atrium/federation/activity"
	"github.com/atrium-social/atrium/internal/media"
	"github.com/atrium-social/atrium/internal/posts"
)

// maxDeclaredSide bounds the width and height a note may declare; they only size
// placeholders, and a silly value must not break a page's layout.
const maxDeclaredSide = 20000

// Attachments splits a note's attachments into the images to copy here, queued in tx and
// ready for posts.RemoteNote.Attachments, and the rest, which the caller keeps as links to
// their origin (documents, video, audio, SVG, URLs that are not http(s), and images beyond
// posts.MaxAttachments).
//
// Mastodon sends images as Document with an image/* mediaType, so the media type counts as
// much as the type; what the bytes really are is decided when they are fetched.
func (c *Cache) Attachments(ctx context.Context, tx bun.IDB, in []activity.Attachment) ([]posts.RemoteAttachment, []activity.Attachment, error) {
	var images []posts.RemoteAttachment
	var links []activity.Attachment
	for _, a := range in {
		if len(images) == posts.MaxAttachments || !looksLikeImage(a) {
			links = append(links, a)
			continue
		}
		key, err := c.Queue(ctx, tx, a.URL)
		if errors.Is(err, ErrURL) {
			links = append(links, a)
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		ct := strings.ToLower(a.MediaType)
		if !strings.HasPrefix(ct, "image/") {
			ct = ""
		}
		w, h := a.Width, a.Height
		if w <= 0 || h <= 0 || w > maxDeclaredSide || h > maxDeclaredSide {
			w, h = 0, 0
		}
		images = append(images, posts.RemoteAttachment{FileKey: key, ThumbKey: ThumbKey(a.URL), ContentType: ct,
			Description: a.Name, Width: w, Height: h, Kind: media.KindImage})
	}
	return images, links, nil
}

// looksLikeImage reports whether a note calls the attachment a raster image.
func looksLikeImage(a activity.Attachment) bool {
	mt := strings.ToLower(strings.TrimSpace(a.MediaType))
	if strings.HasPrefix(mt, "image/svg") {
		return false // a document format in disguise; never decoded here
	}
	if mt != "" {
		return strings.HasPrefix(mt, "image/")
	}
	return a.Type == "Image"
}
