package media

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"strings"
	"testing"

	"github.com/atrium-social/atrium/internal/errs"
)

// ProcessCover is shared by group covers and profile headers: one shape (3:1, 1500×500 and
// 600×200), errors naming the caller's field.
func TestProcessCover(t *testing.T) {
	c, err := ProcessCover(bytes.NewReader(encPNG(t, halves(3000, 1200, color.White, color.Black))), "header")
	if err != nil {
		t.Fatal(err)
	}
	if c.ContentType != "image/jpeg" {
		t.Fatalf("an opaque cover is %q", c.ContentType)
	}
	for _, f := range []struct {
		b    []byte
		w, h int
	}{{c.Full, CoverWidth, CoverHeight}, {c.Thumb, CoverThumbWidth, CoverThumbHeight}} {
		cfg, err := jpeg.DecodeConfig(bytes.NewReader(f.b))
		if err != nil || cfg.Width != f.w || cfg.Height != f.h {
			t.Fatalf("cover %dx%d (%v), want %dx%d", cfg.Width, cfg.Height, err, f.w, f.h)
		}
	}
	// A small picture is cropped, not scaled up.
	c, err = ProcessCover(bytes.NewReader(encJPEG(t, image.NewRGBA(image.Rect(0, 0, 300, 300)))), "cover")
	if err != nil {
		t.Fatal(err)
	}
	if cfg, _ := jpeg.DecodeConfig(bytes.NewReader(c.Full)); cfg.Width != 300 || cfg.Height != 100 {
		t.Fatalf("small cover %dx%d, want 300x100", cfg.Width, cfg.Height)
	}

	_, err = ProcessCover(strings.NewReader("plain text"), "header")
	var e *errs.Error
	if !errors.As(err, &e) || e.Field != "header" || e.Kind != errs.Invalid || !errors.Is(err, ErrUnsupported) {
		t.Fatalf("text as a cover: %#v", err)
	}
}

func TestStoreAndDeleteCover(t *testing.T) {
	ctx := context.Background()
	store, err := NewDiskStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	key, err := StoreCover(ctx, store, "U1", &Cover{Full: []byte("full"), Thumb: []byte("thumb"), ContentType: "image/png"})
	if err != nil || !strings.HasPrefix(key, "covers/u1/") || !strings.HasSuffix(key, ".png") {
		t.Fatalf("key %q, %v", key, err)
	}
	for _, k := range []string{key, CoverThumbKey(key)} {
		rc, _, err := store.Open(ctx, k)
		if err != nil {
			t.Fatalf("%s not stored: %v", k, err)
		}
		rc.Close()
	}
	if err := DeleteCover(ctx, store, key); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{key, CoverThumbKey(key)} {
		if _, _, err := store.Open(ctx, k); !errors.Is(err, ErrNotFound) {
			t.Fatalf("%s still there: %v", k, err)
		}
	}
	if err := DeleteCover(ctx, store, "avatars/u1/x.jpg"); err != nil {
		t.Fatalf("a key outside covers/: %v", err)
	}
}
