package media

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"net/http"
	"strings"

	"golang.org/x/image/draw"

	"github.com/atrium-social/atrium/internal/errs"
)

// A cover is a wide picture: the banner of a group's or a person's page (Mastodon's account
// header) and, small, the picture of a group's card in the directory. It is stored cut to one
// shape, 3:1 like a Mastodon header, so that every place that shows it (pages, apps) crops the
// same way, or not at all. Groups and people share this one implementation.
const (
	CoverWidth       = 1500
	CoverHeight      = 500
	CoverThumbWidth  = 600 // twice the width of a directory card, for sharp high-density screens
	CoverThumbHeight = 200
	// CoverMaxBytes is the largest upload read: a photo straight off a current phone.
	CoverMaxBytes = 8 << 20
)

// CoverPrefix starts every key a cover is stored under by NewCoverKey. Only such keys are ever
// deleted by DeleteCover: a key set some other way may name a file something else also uses.
const CoverPrefix = "covers/"

// coverQuality is the usual point past which JPEG files grow quickly for little visible gain.
const coverQuality = 85

// Cover is a processed cover: the full picture and its thumbnail, of one content type.
type Cover struct {
	Full, Thumb []byte
	ContentType string // image/jpeg, or image/png when the picture has transparent parts
}

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

// NewCoverKey makes covers/<owner>/<random>.<ext>: random and never reused, because /media
// answers are cached for good, and a cover's address must not be guessable from its owner's.
// Keys are lower case, hence the lowered id.
func NewCoverKey(ownerID, contentType string) string {
	ext := ".jpg"
	if contentType == "image/png" {
		ext = ".png"
	}
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return CoverPrefix + strings.ToLower(ownerID) + "/" + hex.EncodeToString(b) + ext
}

// StoreCover writes a processed cover and its thumbnail under a fresh key for owner and
// returns the key. On failure nothing new is left in store.
func StoreCover(ctx context.Context, store Store, ownerID string, c *Cover) (string, error) {
	key := NewCoverKey(ownerID, c.ContentType)
	if err := store.Put(ctx, key, bytes.NewReader(c.Full), c.ContentType); err != nil {
		return "", err
	}
	if err := store.Put(ctx, CoverThumbKey(key), bytes.NewReader(c.Thumb), c.ContentType); err != nil {
		_ = DeleteCover(ctx, store, key)
		return "", err
	}
	return key, nil
}

// DeleteCover removes a cover and its thumbnail, reporting what could not be removed. Keys
// not under CoverPrefix are left alone.
func DeleteCover(ctx context.Context, store Store, key string) error {
	if !strings.HasPrefix(key, CoverPrefix) {
		return nil
	}
	var out []error
	for _, k := range []string{key, CoverThumbKey(key)} {
		if err := store.Delete(ctx, k); err != nil && !errors.Is(err, ErrNotFound) {
			out = append(out, err)
		}
	}
	return errors.Join(out...)
}

// coverTypes are the pictures a cover may be made from.
var coverTypes = map[string]bool{"image/jpeg": true, "image/png": true, "image/gif": true, "image/webp": true}

// ProcessCover turns an untrusted upload into a cover and its thumbnail, both JPEG, or PNG
// when the picture has transparent parts (so that they stay transparent). field names the
// form field in the errors people see ("cover" for groups, "header" for the API).
//
// The picture is sniffed from its bytes, re-encoded (which drops EXIF and all other metadata,
// location included), turned upright, cut to 3:1 around its centre and scaled down to
// CoverWidth × CoverHeight, with a CoverThumbWidth × CoverThumbHeight thumbnail. The untrusted
// part is ProcessUpload's, as for every upload: the type from the bytes, the size in bytes and
// pixels checked before decoding, EXIF orientation applied and the pixels re-encoded.
func ProcessCover(upload io.Reader, field string) (*Cover, error) {
	head := make([]byte, 512)
	n, err := io.ReadFull(upload, head)
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return nil, fmt.Errorf("media: read cover: %w", err)
	}
	head = head[:n]
	// Checked here, before ProcessUpload, whose answer to a document would be to list the
	// document types posts accept: no help for a cover.
	if !coverTypes[http.DetectContentType(head)] {
		return nil, coverError(field, errs.Wrap(errs.Invalid, ErrUnsupported,
			"this file is not a picture: upload a JPEG, PNG, GIF or WebP image, ideally at least %d×%d pixels", CoverWidth, CoverHeight))
	}
	p, err := ProcessUpload(io.MultiReader(bytes.NewReader(head), upload), field,
		UploadLimits{MaxImageBytes: CoverMaxBytes, MaxDocumentBytes: CoverMaxBytes})
	if err != nil {
		return nil, coverError(field, err)
	}
	if p.Kind != KindImage {
		return nil, coverError(field, errs.Wrap(errs.Invalid, ErrUnsupported, "this file is not a picture: upload a JPEG, PNG, GIF or WebP image"))
	}
	var img image.Image
	if p.ContentType == "image/png" {
		img, err = png.Decode(bytes.NewReader(p.Data))
	} else {
		img, err = jpeg.Decode(bytes.NewReader(p.Data))
	}
	if err != nil {
		// ProcessUpload has just encoded these bytes; failing to read them back is a bug.
		return nil, fmt.Errorf("media: decode processed cover: %w", err)
	}
	crop := coverCrop(img.Bounds())
	w, h := coverFit(crop.Dx(), crop.Dy(), CoverWidth, CoverHeight)
	big := coverScale(img, crop, w, h)
	w, h = coverFit(crop.Dx(), crop.Dy(), CoverThumbWidth, CoverThumbHeight)
	small := coverScale(big, big.Bounds(), w, h)
	asPNG := !big.Opaque()
	c := &Cover{ContentType: "image/jpeg"}
	if asPNG {
		c.ContentType = "image/png"
	}
	if c.Full, err = encodeCover(big, asPNG); err != nil {
		return nil, err
	}
	if c.Thumb, err = encodeCover(small, asPNG); err != nil {
		return nil, err
	}
	return c, nil
}

// coverError names the form field and keeps the message, which tells the person what to do
// (a smaller file, fewer pixels, another format).
func coverError(field string, err error) error {
	var e *errs.Error
	switch {
	case errors.Is(err, ErrTooLarge):
		return &errs.Error{Kind: errs.TooLarge, Field: field, Msg: "the " + field + " " + errs.Message(err), Err: err}
	case errors.Is(err, ErrUnsupported), errors.As(err, &e) && e.Kind == errs.Invalid:
		return &errs.Error{Kind: errs.Invalid, Field: field, Msg: errs.Message(err), Err: err}
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

// coverFit is the size to draw a 3:1 crop of w×h at: the box maxW×maxH (also 3:1) when the
// crop is larger, as it is, a rounding pixel aside, the same shape; the crop's own size
// otherwise, because scaling up only adds bytes.
func coverFit(w, h, maxW, maxH int) (int, int) {
	if w <= maxW && h <= maxH {
		return w, h
	}
	return maxW, maxH
}

// coverScale draws the rectangle r of src at w×h. CatmullRom is sharp without aliasing; the
// source is at most MaxImageSide on its long side, so its cost stays small.
func coverScale(src image.Image, r image.Rectangle, w, h int) *image.RGBA {
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
		return nil, fmt.Errorf("media: encode cover: %w", err)
	}
	return buf.Bytes(), nil
}
