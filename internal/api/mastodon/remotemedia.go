package mastodon

import (
	"context"

	"github.com/atrium-social/atrium/internal/posts"
)

// unreadyMedia asks, once per page, which attachments of ps are partners' images not copied
// here yet (nil when the node does not cache remote media).
func (a *api) unreadyMedia(ctx context.Context, ps []*posts.Post) (map[string]string, error) {
	if a.RemoteMedia == nil {
		return nil, nil
	}
	var keys []string
	for _, p := range ps {
		for _, at := range p.Attachments {
			keys = append(keys, at.FileKey)
		}
	}
	if len(keys) == 0 {
		return nil, nil
	}
	return a.RemoteMedia(ctx, keys)
}

// pendingMedia renders a partner's image that is not copied here (yet, or because it was
// refused) the way Mastodon renders remote media it has not downloaded: type "unknown", url
// and remote_url at the origin, no preview, so apps show a link instead of a broken picture.
// The declared size is kept in meta so a client can still reserve the space.
func pendingMedia(at posts.Attachment, origin string) MediaAttachment {
	m := MediaAttachment{ID: at.ID, Type: "unknown", URL: origin, Meta: map[string]any{}}
	if origin != "" {
		m.RemoteURL = &origin
	}
	if at.Width > 0 && at.Height > 0 {
		m.Meta["original"] = map[string]any{"width": at.Width, "height": at.Height}
	}
	if at.Description != "" {
		d := at.Description
		m.Description = &d
	}
	return m
}
