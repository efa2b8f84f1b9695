package media

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"math"
	"net/http"

	"golang.org/x/image/draw"
	"golang.org/x/image/webp"

	"github.com/atrium-social/atrium/internal/errs"
)

// ErrTooLarge is wrapped by ProcessAvatar and ProcessUpload when the upload exceeds their
// limits, in bytes or pixels. The returned error is also an *errs.Error of kind errs.TooLarge
// whose message tells the person what to do.
var ErrTooLarge = errors.New("media: upload too large")

// ErrUnsupported is wrapped by ProcessAvatar when the upload is not a JPEG, PNG, GIF or WebP
// image, or is one that cannot be decoded, and by ProcessUpload when it is neither such an
// image nor an accepted document. The returned error is also an *errs.Error of kind
// errs.Invalid whose message tells the person what to do.
var ErrUnsupported = errors.New("media: unsupported file type")

// The avatar edge lengths in pixels, exported so that pages can size <img> elements before
// the image loads.
const (
	AvatarSize      = 400
	AvatarThumbSize = 96
)

// jpegQuality is the usual point past which files grow quickly for little visible gain.
const jpegQuality = 85

// Limits bounds what ProcessAvatar accepts.
type Limits struct {
	MaxBytes  int64 // largest upload read; zero or less means the default
	MaxPixels int   // largest width×height decoded; zero or less means the default
}

// DefaultLimits returns 8 MiB and 40 megapixels: enough for a photo straight off a current
// phone, while one decode stays within a few hundred MB of memory.
func DefaultLimits() Limits {
	return Limits{MaxBytes: 8 << 20, MaxPixels: 40_000_000}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxBytes <= 0 {
		l.MaxBytes = d.MaxBytes
	}
	if l.MaxPixels <= 0 {
		l.MaxPixels = d.MaxPixels
	}
	return l
}

// Avatar is a processed avatar: EXIF and all metadata gone because pixels are re-encoded.
type Avatar struct {
	Full        []byte // AvatarSize×AvatarSize
	Thumb       []byte // AvatarThumbSize×AvatarThumbSize
	ContentType string // "image/jpeg" or "image/png", for both Full and Thumb
}

// ProcessAvatar turns an untrusted upload into a square avatar and thumbnail.
//
// The format is sniffed from the bytes; a declared type or file name is never consulted. JPEG
// EXIF orientation is applied, the image is centre-cropped to a square and scaled, up or
// down, to exactly AvatarSize and AvatarThumbSize pixels. The output is JPEG, or PNG when the
// cropped area has any pixel that is not fully opaque, so that transparency survives. A GIF
// contributes its first frame.
//
// Decoding at the pixel limit takes a few hundred MB for a moment; callers should bound how
// many uploads are processed at once.
func ProcessAvatar(r io.Reader, lim Limits) (*Avatar, error) {
	lim = lim.withDefaults()
	data, err := readLimited(r, lim.MaxBytes)
	if err != nil {
		return nil, err
	}
	format := sniff(data)
	if format == "" {
		return nil, errs.Wrap(errs.Invalid, ErrUnsupported, "not an image: upload a JPEG, PNG, GIF or WebP file")
	}
	img, err := decodeGuarded(format, data, lim.MaxPixels)
	if err != nil {
		return nil, err
	}
	orientation := 1
	if format == "jpeg" {
		orientation = jpegOrientation(data)
	}

	crop := centreSquare(img.Bounds())
	asPNG := !opaqueIn(img, crop)

	full := scaleSquare(img, crop, AvatarSize)
	// Orienting after the crop and scale gives the same picture, because the centre square
	// of a rotated or mirrored image is the rotated or mirrored centre square, but touches
	// 160 thousand pixels instead of up to MaxPixels.
	full = orient(full, orientation)
	thumb := image.NewRGBA(image.Rect(0, 0, AvatarThumbSize, AvatarThumbSize))
	draw.CatmullRom.Scale(thumb, thumb.Bounds(), full, full.Bounds(), draw.Src, nil)

	a := &Avatar{ContentType: "image/jpeg"}
	if asPNG {
		a.ContentType = "image/png"
	}
	if a.Full, err = encode(full, asPNG); err != nil {
		return nil, err
	}
	if a.Thumb, err = encode(thumb, asPNG); err != nil {
		return nil, err
	}
	return a, nil
}

// readLimited reads one byte past the limit so an upload of exactly MaxBytes is accepted and
// anything longer is caught without buffering the rest of it.
func readLimited(r io.Reader, limit int64) ([]byte, error) {
	n := limit
	if n < math.MaxInt64 {
		n++
	}
	data, err := io.ReadAll(io.LimitReader(r, n))
	if err != nil {
		return nil, fmt.Errorf("media: read upload: %w", err)
	}
	if int64(len(data)) > limit {
		return nil, errs.Wrap(errs.TooLarge, ErrTooLarge, "image is larger than %s", formatBytes(limit))
	}
	return data, nil
}

// unreadable covers files that look like a supported format but fail to decode: truncated
// uploads, and JPEG variants Go cannot read (12-bit, arithmetic coding).
func unreadable(cause error) error {
	if cause == nil {
		cause = errors.New("image has no pixels")
	}
	return errs.Wrap(errs.Invalid, fmt.Errorf("%w: %w", ErrUnsupported, cause),
		"this image could not be read: save it again as a JPEG or PNG file and upload that")
}

// sniff names the format from the leading bytes. The decoders are then called directly
// rather than through image.Decode, so the sniffed type and the decoder can never disagree
// and nothing depends on which formats some other package has registered.
func sniff(data []byte) string {
	switch http.DetectContentType(data) {
	case "image/jpeg":
		return "jpeg"
	case "image/png":
		return "png"
	case "image/gif":
		return "gif"
	case "image/webp":
		return "webp"
	}
	return ""
}

func decodeConfig(format string, data []byte) (image.Config, error) {
	r := bytes.NewReader(data)
	switch format {
	case "jpeg":
		return jpeg.DecodeConfig(r)
	case "png":
		return png.DecodeConfig(r)
	case "gif":
		return gif.DecodeConfig(r)
	case "webp":
		return webp.DecodeConfig(r)
	}
	return image.Config{}, fmt.Errorf("media: no decoder for %q", format)
}

func decode(format string, data []byte, cfg image.Config) (image.Image, error) {
	r := bytes.NewReader(data)
	switch format {
	case "jpeg":
		return jpeg.Decode(r)
	case "png":
		return png.Decode(r)
	case "webp":
		return webp.Decode(r)
	case "gif":
		m, err := gif.Decode(r)
		if err != nil {
			return nil, err
		}
		// A frame may cover only part of the logical screen; the rest shows as transparent,
		// which is how browsers render it. The decoder has checked the frame lies inside.
		screen := image.Rect(0, 0, cfg.Width, cfg.Height)
		if m.Bounds() == screen {
			return m, nil
		}
		canvas := image.NewRGBA(screen)
		draw.Draw(canvas, m.Bounds(), m, m.Bounds().Min, draw.Src)
		return canvas, nil
	}
	return nil, fmt.Errorf("media: no decoder for %q", format)
}

// centreSquare returns the largest square centred in b.
func centreSquare(b image.Rectangle) image.Rectangle {
	w, h := b.Dx(), b.Dy()
	if w > h {
		x := b.Min.X + (w-h)/2
		return image.Rect(x, b.Min.Y, x+h, b.Max.Y)
	}
	y := b.Min.Y + (h-w)/2
	return image.Rect(b.Min.X, y, b.Max.X, y+w)
}

// scaleSquare scales the square r of src to size×size.
func scaleSquare(src image.Image, r image.Rectangle, size int) *image.RGBA {
	return scaleTo(src, r, size, size)
}

// scaleTo scales the rectangle r of src to w×h, up or down. CatmullRom is sharp and free of
// aliasing but its cost grows with the source, and converting a JPEG's YCbCr at every tap
// made it most of the time spent on a phone photo. So large sources are first halved, each
// halving an exact 2×2 average (ApproxBiLinear sampling midway between pixels), which is a
// proper anti-aliasing filter for that step; CatmullRom then does at most a 2× reduction.
func scaleTo(src image.Image, r image.Rectangle, w, h int) *image.RGBA {
	for r.Dx()/2 >= w && r.Dy()/2 >= h {
		hw, hh := r.Dx()/2, r.Dy()/2
		mid := image.NewRGBA(image.Rect(0, 0, hw, hh))
		even := image.Rectangle{Min: r.Min, Max: r.Min.Add(image.Pt(2*hw, 2*hh))}
		draw.ApproxBiLinear.Scale(mid, mid.Bounds(), src, even, draw.Src, nil)
		src, r = mid, mid.Bounds()
	}
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.CatmullRom.Scale(dst, dst.Bounds(), src, r, draw.Src, nil)
	return dst
}

// opaqueIn looks only at the part that will be shown: a transparent margin that the crop cuts
// away does not justify a PNG several times the size of the JPEG.
func opaqueIn(img image.Image, r image.Rectangle) bool {
	if s, ok := img.(interface {
		SubImage(image.Rectangle) image.Image
	}); ok {
		if o, ok := s.SubImage(r).(interface{ Opaque() bool }); ok {
			return o.Opaque()
		}
	}
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if _, _, _, a := img.At(x, y).RGBA(); a != 0xffff {
				return false
			}
		}
	}
	return true
}

func encode(img image.Image, asPNG bool) ([]byte, error) {
	var buf bytes.Buffer
	var err error
	if asPNG {
		err = png.Encode(&buf, img)
	} else {
		err = jpeg.Encode(&buf, img, &jpeg.Options{Quality: jpegQuality})
	}
	if err != nil {
		return nil, fmt.Errorf("media: encode image: %w", err)
	}
	return buf.Bytes(), nil
}

// formatBytes renders a limit the way people read file sizes, so the error message can be
// compared with what their file manager shows.
func formatBytes(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%d bytes", n)
}

func formatPixels(n int) string {
	if n >= 1_000_000 && n%1_000_000 == 0 {
		return fmt.Sprintf("%d megapixels", n/1_000_000)
	}
	return fmt.Sprintf("%d pixels", n)
}

// decodeGuarded decodes an image after checking the size its header declares: the header
// alone is checked, before any pixel buffer exists, because a small file can declare a canvas
// whose buffer would exhaust memory.
func decodeGuarded(format string, data []byte, maxPixels int) (image.Image, error) {
	cfg, err := decodeConfig(format, data)
	if err != nil || cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, unreadable(err)
	}
	if int64(cfg.Width)*int64(cfg.Height) > int64(maxPixels) {
		return nil, errs.Wrap(errs.TooLarge, ErrTooLarge,
			"image is %d×%d pixels, more than %s: scale it down and try again",
			cfg.Width, cfg.Height, formatPixels(maxPixels))
	}
	img, err := decode(format, data, cfg)
	if err != nil {
		return nil, unreadable(err)
	}
	return img, nil
}
