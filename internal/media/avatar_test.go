package media

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"io"
	"runtime"
	"strings"
	"testing"

	"github.com/atrium-social/atrium/internal/errs"
)

// decodeAvatar decodes one square output of ProcessAvatar (see decodeOutput).
func decodeAvatar(t *testing.T, b []byte, contentType string, size int) image.Image {
	t.Helper()
	return decodeOutput(t, b, contentType, size, size)
}

func TestProcessAvatarStripsExifAndAppliesOrientation(t *testing.T) {
	// Stored sideways as an 800×600 landscape: left half red, right half blue. Orientation 6
	// says "turn a quarter clockwise", after which red is on top and blue below.
	src := withSegment(encJPEG(t, halves(800, 600, red, blue)), 0xE1, exifPayload(6, true))
	if !bytes.Contains(src, []byte("Exif")) || jpegOrientation(src) != 6 {
		t.Fatal("test input lacks the EXIF segment it is meant to exercise")
	}
	a, err := ProcessAvatar(bytes.NewReader(src), DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	if a.ContentType != "image/jpeg" {
		t.Errorf("ContentType = %q, want image/jpeg", a.ContentType)
	}
	for _, out := range []struct {
		name string
		b    []byte
		size int
	}{{"full", a.Full, AvatarSize}, {"thumb", a.Thumb, AvatarThumbSize}} {
		t.Run(out.name, func(t *testing.T) {
			for _, leak := range []string{"Exif", "MM\x00\x2a", "II\x2a\x00"} {
				if bytes.Contains(out.b, []byte(leak)) {
					t.Errorf("output contains %q: metadata survived", leak)
				}
			}
			img := decodeAvatar(t, out.b, a.ContentType, out.size)
			q := out.size / 4
			for _, p := range []struct {
				x, y int
				want string
			}{{2 * q, q, "red"}, {2 * q, 3 * q, "blue"}, {q, 2*q - q/2, "red"}, {3 * q, 2*q + q/2, "blue"}} {
				if got := nearest(img.At(p.x, p.y)); got != p.want {
					t.Errorf("pixel (%d,%d) is %s, want %s", p.x, p.y, got, p.want)
				}
			}
		})
	}
}

func TestProcessAvatarOrientations(t *testing.T) {
	// Stored: red green / blue yellow. Each row is what an upright viewer must see.
	tests := []struct {
		orientation uint16
		want        [4]string // top-left, top-right, bottom-left, bottom-right
	}{
		{0, [4]string{"red", "green", "blue", "yellow"}}, // no EXIF at all
		{1, [4]string{"red", "green", "blue", "yellow"}},
		{2, [4]string{"green", "red", "yellow", "blue"}},
		{3, [4]string{"yellow", "blue", "green", "red"}},
		{4, [4]string{"blue", "yellow", "red", "green"}},
		{5, [4]string{"red", "blue", "green", "yellow"}},
		{6, [4]string{"blue", "red", "yellow", "green"}},
		{7, [4]string{"yellow", "green", "blue", "red"}},
		{8, [4]string{"green", "yellow", "red", "blue"}},
		{9, [4]string{"red", "green", "blue", "yellow"}}, // out of range: ignored
	}
	base := encJPEG(t, quadrants(240))
	for _, tt := range tests {
		src := base
		if tt.orientation != 0 {
			src = withSegment(base, 0xE1, exifPayload(tt.orientation, false))
		}
		a, err := ProcessAvatar(bytes.NewReader(src), Limits{})
		if err != nil {
			t.Fatalf("orientation %d: %v", tt.orientation, err)
		}
		img := decodeAvatar(t, a.Full, a.ContentType, AvatarSize)
		lo, hi := AvatarSize/4, 3*AvatarSize/4
		got := [4]string{nearest(img.At(lo, lo)), nearest(img.At(hi, lo)), nearest(img.At(lo, hi)), nearest(img.At(hi, hi))}
		if got != tt.want {
			t.Errorf("orientation %d: quadrants %v, want %v", tt.orientation, got, tt.want)
		}
	}
}

func TestProcessAvatarFormats(t *testing.T) {
	transparentCentre := halves(300, 200, red, blue)
	fill(transparentCentre, image.Rect(140, 90, 160, 110), transparent)
	// Transparent only in margins that the square crop discards.
	transparentMargins := image.NewNRGBA(image.Rect(0, 0, 300, 100))
	fill(transparentMargins, image.Rect(100, 0, 200, 100), green)
	paletted := image.NewPaletted(image.Rect(0, 0, 50, 50), color.Palette{red, blue, transparent})
	for i := range paletted.Pix {
		paletted.Pix[i] = uint8(i % 2)
	}
	tests := []struct {
		name   string
		src    []byte
		want   string
		opaque bool
	}{
		{"jpeg", encJPEG(t, halves(640, 480, red, blue)), "image/jpeg", true},
		{"opaque png", encPNG(t, halves(300, 200, red, blue)), "image/jpeg", true},
		{"png with transparency", encPNG(t, transparentCentre), "image/png", false},
		{"png transparent outside crop", encPNG(t, transparentMargins), "image/jpeg", true},
		{"tiny png is upscaled", encPNG(t, halves(10, 7, red, blue)), "image/jpeg", true},
		{"gray jpeg", encJPEG(t, image.NewGray(image.Rect(0, 0, 123, 456))), "image/jpeg", true},
		{"opaque gif", encGIF(t, paletted), "image/jpeg", true},
		{"webp", solidWebP(120, 80, green), "image/jpeg", true},
		{"webp with alpha", solidWebP(120, 80, color.NRGBA{0, 255, 0, 128}), "image/png", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := ProcessAvatar(bytes.NewReader(tt.src), DefaultLimits())
			if err != nil {
				t.Fatal(err)
			}
			if a.ContentType != tt.want {
				t.Fatalf("ContentType = %q, want %q", a.ContentType, tt.want)
			}
			full := decodeAvatar(t, a.Full, a.ContentType, AvatarSize)
			decodeAvatar(t, a.Thumb, a.ContentType, AvatarThumbSize)
			if _, _, _, alpha := full.At(AvatarSize/2, AvatarSize/2).RGBA(); (alpha == 0xffff) != tt.opaque {
				t.Errorf("centre alpha = %#x, want opaque=%v", alpha, tt.opaque)
			}
		})
	}
}

func TestProcessAvatarGIFUsesFirstFrameOnItsScreen(t *testing.T) {
	// The first frame covers only the left half of a 100×100 screen; the rest must come
	// out transparent rather than the frame being stretched over the whole avatar.
	frame := image.NewPaletted(image.Rect(0, 0, 50, 100), color.Palette{red, transparent})
	src := encGIF(t, frame)
	src[6], src[8] = 100, 100 // widen the logical screen; the frame stays 50×100 at (0,0)
	a, err := ProcessAvatar(bytes.NewReader(src), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if a.ContentType != "image/png" {
		t.Fatalf("ContentType = %q, want image/png", a.ContentType)
	}
	img := decodeAvatar(t, a.Full, a.ContentType, AvatarSize)
	if got := nearest(img.At(100, 200)); got != "red" {
		t.Errorf("left is %s, want red", got)
	}
	if _, _, _, alpha := img.At(300, 200).RGBA(); alpha != 0 {
		t.Errorf("right alpha = %#x, want transparent", alpha)
	}
}

func TestProcessAvatarRejects(t *testing.T) {
	tests := []struct {
		name    string
		src     []byte
		lim     Limits
		want    error
		kind    errs.Kind
		message string
	}{
		{"text", []byte("hello, this is not an image\n"), Limits{}, ErrUnsupported, errs.Invalid, "not an image: upload a JPEG, PNG, GIF or WebP file"},
		{"pdf", []byte("%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\n%%EOF\n"), Limits{}, ErrUnsupported, errs.Invalid, "not an image"},
		{"html named .png", []byte("<!DOCTYPE html><script>alert(1)</script>"), Limits{}, ErrUnsupported, errs.Invalid, "not an image"},
		{"svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`), Limits{}, ErrUnsupported, errs.Invalid, "not an image"},
		{"bmp", []byte("BM" + strings.Repeat("\x00", 60)), Limits{}, ErrUnsupported, errs.Invalid, "not an image"},
		{"empty", nil, Limits{}, ErrUnsupported, errs.Invalid, "not an image"},
		{"truncated png", encPNG(t, halves(64, 64, red, blue))[:100], Limits{}, ErrUnsupported, errs.Invalid, "could not be read"},
		{"over MaxBytes", encPNG(t, halves(64, 64, red, blue)), Limits{MaxBytes: 100}, ErrTooLarge, errs.TooLarge, "image is larger than 100 bytes"},
		{"png bomb", pngHeaderOnly(100000, 100000), Limits{}, ErrTooLarge, errs.TooLarge, "image is 100000×100000 pixels, more than 40 megapixels"},
		{"jpeg bomb", jpegClaiming(t, 65000, 65000), Limits{}, ErrTooLarge, errs.TooLarge, "more than 40 megapixels"},
		{"gif bomb", gifClaiming(65535, 65535), Limits{}, ErrTooLarge, errs.TooLarge, "more than 40 megapixels"},
		{"over custom MaxPixels", encPNG(t, halves(64, 64, red, blue)), Limits{MaxPixels: 4095}, ErrTooLarge, errs.TooLarge, "more than 4095 pixels"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := ProcessAvatar(bytes.NewReader(tt.src), tt.lim)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if a != nil {
				t.Error("non-nil Avatar with an error")
			}
			if k := errs.KindOf(err); k != tt.kind {
				t.Errorf("kind = %v, want %v", k, tt.kind)
			}
			if msg := errs.Message(err); !strings.Contains(msg, tt.message) {
				t.Errorf("message %q does not contain %q", msg, tt.message)
			}
		})
	}
}

func TestProcessAvatarDefaultByteLimit(t *testing.T) {
	lim := DefaultLimits()
	if lim.MaxBytes != 8<<20 || lim.MaxPixels != 40_000_000 {
		t.Fatalf("DefaultLimits() = %+v", lim)
	}
	// A PNG signature so that only the size, not the content, can be the reason.
	r := io.MultiReader(strings.NewReader("\x89PNG\r\n\x1a\n"), zeros{})
	_, err := ProcessAvatar(r, Limits{})
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
	if got, want := errs.Message(err), "image is larger than 8 MiB"; got != want {
		t.Errorf("message = %q, want %q", got, want)
	}
}

// zeros is an endless upload: ProcessAvatar must stop reading at the limit.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func TestProcessAvatarAcceptsExactlyMaxBytes(t *testing.T) {
	src := encPNG(t, halves(64, 64, red, blue))
	if _, err := ProcessAvatar(bytes.NewReader(src), Limits{MaxBytes: int64(len(src))}); err != nil {
		t.Fatalf("upload of exactly MaxBytes: %v", err)
	}
}

func TestProcessAvatarBombDoesNotAllocate(t *testing.T) {
	src := pngHeaderOnly(100000, 100000)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for range 10 {
		if _, err := ProcessAvatar(bytes.NewReader(src), Limits{}); !errors.Is(err, ErrTooLarge) {
			t.Fatalf("err = %v, want ErrTooLarge", err)
		}
	}
	runtime.ReadMemStats(&after)
	// Decoding would need 30 GB; the header check itself needs a few kilobytes.
	if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
		t.Errorf("10 rejections allocated %d bytes", n)
	}
}

func TestScaleSquareDoesNotAlias(t *testing.T) {
	// A one-pixel checkerboard has no detail that survives scaling down; anything but even
	// grey in the output is aliasing, which the halving steps must prevent.
	for _, n := range []int{401, 1000, 2001, 3333} {
		src := image.NewGray(image.Rect(0, 0, n+7, n))
		for y := range n {
			for x := range n + 7 {
				if (x+y)%2 == 0 {
					src.Pix[y*src.Stride+x] = 0xff
				}
			}
		}
		dst := scaleSquare(src, centreSquare(src.Bounds()), AvatarThumbSize)
		for i := 0; i < len(dst.Pix); i += 4 {
			if v := int(dst.Pix[i]); v < 100 || v > 156 {
				t.Fatalf("n=%d: pixel %d is %d, want about 128", n, i/4, v)
			}
		}
	}
}

func BenchmarkProcessAvatar(b *testing.B) {
	// A gradient with noise, so the JPEG is as costly to decode as a photo of that size.
	img := image.NewRGBA(image.Rect(0, 0, 2000, 1500))
	seed := uint32(1)
	for i := 0; i < len(img.Pix); i += 4 {
		seed = seed*1664525 + 1013904223
		x, y := (i/4)%2000, (i/4)/2000
		img.Pix[i] = uint8(x/8) ^ uint8(seed>>24)&0x1f
		img.Pix[i+1] = uint8(y/6) ^ uint8(seed>>16)&0x1f
		img.Pix[i+2] = uint8((x+y)/14) ^ uint8(seed>>8)&0x1f
		img.Pix[i+3] = 0xff
	}
	src := withSegment(encJPEG(b, img), 0xE1, exifPayload(6, true))
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ProcessAvatar(bytes.NewReader(src), DefaultLimits()); err != nil {
			b.Fatal(err)
		}
	}
}

func FuzzProcessAvatar(f *testing.F) {
	f.Add(withSegment(encJPEG(f, quadrants(32)), 0xE1, exifPayload(6, true)))
	f.Add(encPNG(f, halves(20, 10, red, transparent)))
	f.Add(encGIF(f, image.NewPaletted(image.Rect(0, 0, 8, 8), color.Palette{red, transparent})))
	f.Add(solidWebP(9, 7, color.NRGBA{1, 2, 3, 4}))
	f.Add(pngHeaderOnly(100000, 100000))
	f.Add(gifClaiming(300, 300))
	f.Add([]byte("%PDF-1.7"))
	// Small limits keep each run fast; the code paths are the same as with the defaults.
	lim := Limits{MaxBytes: 1 << 20, MaxPixels: 1 << 20}
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := ProcessAvatar(bytes.NewReader(data), lim)
		if err != nil {
			if a != nil {
				t.Fatal("non-nil Avatar with an error")
			}
			if !errors.Is(err, ErrUnsupported) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("unclassified error: %v", err)
			}
			return
		}
		if len(a.Full) == 0 || len(a.Thumb) == 0 || (a.ContentType != "image/jpeg" && a.ContentType != "image/png") {
			t.Fatalf("bad avatar: %d, %d bytes, %q", len(a.Full), len(a.Thumb), a.ContentType)
		}
	})
}
