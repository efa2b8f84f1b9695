package web

import (
	"bytes"
	"context"
	"errors"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/media"
)

// media serves stored blobs. Keys are random and never reused, so a response may be cached
// for good; the sandbox policy keeps a blob that a browser might render as a document from
// running anything even if a future uploader stores something other than an image.
func (s *site) media(c *fiber.Ctx) error {
	key := c.Params("*")
	rc, info, err := s.Media.Open(c.UserContext(), key)
	if err != nil {
		if errors.Is(err, media.ErrNotFound) || errors.Is(err, media.ErrInvalidKey) {
			return errs.E(errs.NotFound, "there is no such file")
		}
		return err
	}
	c.Set(fiber.HeaderContentType, info.ContentType)
	c.Set("Cache-Control", "public, max-age=31536000, immutable")
	c.Set("X-Content-Type-Options", "nosniff")
	c.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	c.Set(fiber.HeaderContentLength, strconv.FormatInt(info.Size, 10))
	// The stream is closed by fasthttp once sent.
	return c.SendStream(rc, int(info.Size))
}

// saveAvatar processes an upload into a picture and thumbnail and makes it the person's
// avatar (media.SaveAvatar: the new files are written before the switch and the old ones
// removed after it).
func (s *site) saveAvatar(ctx context.Context, a accounts.Actor, userID string, upload []byte) error {
	av, err := media.ProcessAvatar(bytes.NewReader(upload), media.DefaultLimits())
	if err != nil {
		return avatarError(err)
	}
	leftover, err := media.SaveAvatar(ctx, s.Media, userID, av, func(ctx context.Context, key string) (string, error) {
		return s.Accounts.SetAvatar(ctx, a, userID, key)
	})
	if leftover != nil {
		// Only an orphan file is left behind: logged rather than shown to the person.
		s.Log.Warn("could not delete avatar files", "user", userID, "err", leftover)
	}
	return err
}

// avatarError keeps the media package's message for people but makes sure the kind is the
// one the page should answer with, even if media returns a bare sentinel.
func avatarError(err error) error {
	switch {
	case errors.Is(err, media.ErrTooLarge):
		return &errs.Error{Kind: errs.TooLarge, Field: "avatar", Msg: errs.Message(err), Err: err}
	case errors.Is(err, media.ErrUnsupported):
		return &errs.Error{Kind: errs.Invalid, Field: "avatar", Msg: errs.Message(err), Err: err}
	}
	return err
}
