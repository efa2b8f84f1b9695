package web

import (
	"context"
	"net/url"
	"strings"

	"github.com/atrium-social/atrium/internal/posts"
)

// unreadyMedia asks, once per page, which attachments of ps are partners' images not
// copied here yet. A failed lookup is cosmetic: the page is drawn as if all were there.
func (s *site) unreadyMedia(ctx context.Context, ps []*posts.Post) map[string]string {
	if s.RemoteMedia == nil {
		return nil
	}
	var keys []string
	for _, p := range ps {
		for _, a := range p.Attachments {
			keys = append(keys, a.FileKey)
		}
	}
	if len(keys) == 0 {
		return nil
	}
	m, err := s.RemoteMedia(ctx, keys)
	if err != nil {
		s.Log.Warn("remote media state unavailable", "err", err)
		return nil
	}
	return m
}

// attachmentViews splits a post's attachments into pictures and documents for the
// templates. A partner's image that is not copied here is never loaded from its origin (the
// CSP forbids it, and it would tell the partner who reads what): it becomes a link there.
func attachmentViews(as []posts.Attachment, unready map[string]string) (images, docs []attView) {
	for _, a := range as {
		av := attView{URL: "/media/" + a.FileKey, Name: a.FileName, Alt: a.Description, Size: a.SizeBytes, Width: a.Width, Height: a.Height}
		if a.ThumbKey != "" {
			av.Thumb = "/media/" + a.ThumbKey
		} else {
			av.Thumb = av.URL
		}
		if origin, pending := unready[a.FileKey]; pending {
			av.Pending, av.URL, av.Thumb = true, "", ""
			if u, err := url.Parse(origin); err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" {
				av.URL, av.Origin = origin, strings.ToLower(u.Hostname())
			}
		}
		if a.Kind == "image" {
			images = append(images, av)
		} else {
			docs = append(docs, av)
		}
	}
	return images, docs
}
