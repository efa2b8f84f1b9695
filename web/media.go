package web

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"

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

// saveAvatar processes an upload into a picture and thumbnail, stores both under fresh
// random keys, points the person at the new picture and removes the old files. The new
// files are written before the switch and the old ones deleted after it, so the profile
// never points at a missing picture.
func (s *site) saveAvatar(ctx context.Context, a accounts.Actor, userID string, upload []byte) error {
	av, err := media.ProcessAvatar(bytes.NewReader(upload), media.DefaultLimits())
	if err != nil {
		return avatarError(err)
	}
	full, thumb, err := avatarKeys(userID, av.ContentType)
	if err != nil {
		return err
	}
	if err := s.Media.Put(ctx, full, bytes.NewReader(av.Full), av.ContentType); err != nil {
		return err
	}
	if err := s.Media.Put(ctx, thumb, bytes.NewReader(av.Thumb), av.ContentType); err != nil {
		s.deleteAvatar(ctx, full)
		return err
	}
	old, err := s.Accounts.SetAvatar(ctx, a, userID, full)
	if err != nil {
		s.deleteAvatar(ctx, full)
		return err
	}
	if old != "" && old != full {
		s.deleteAvatar(ctx, old)
	}
	return nil
}

// deleteAvatar removes a picture and its thumbnail. A failure only leaves an orphan file
// behind, so it is logged rather than shown to the person.
func (s *site) deleteAvatar(ctx context.Context, full string) {
	for _, k := range []string{full, thumbKey(full)} {
		if err := s.Media.Delete(ctx, k); err != nil {
			s.Log.Warn("could not delete old avatar file", "key", k, "err", err)
		}
	}
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

// avatarKeys makes the keys for a new picture: avatars/<user>/<random>.<ext> and the same
// with -thumb. Keys must be lower case, hence the lowered ULID.
func avatarKeys(userID, contentType string) (full, thumb string, err error) {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		return "", "", err
	}
	ext := ".jpg"
	if contentType == "image/png" {
		ext = ".png"
	}
	base := "avatars/" + strings.ToLower(userID) + "/" + hex.EncodeToString(b)
	return base + ext, base + "-thumb" + ext, nil
}
