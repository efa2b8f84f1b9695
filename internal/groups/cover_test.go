package groups_test

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/uptrace/bun"

	"github.com/atrium-social/atrium/internal/audit"
	"github.com/atrium-social/atrium/internal/db"
	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/groups"
	"github.com/atrium-social/atrium/internal/media"
	"github.com/atrium-social/atrium/internal/testutil/dbtest"
)

// photo is a w×h JPEG, left half red and right half blue, so a crop shows in the colours.
func photo(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := color.RGBA{200, 30, 30, 255}
			if x >= w/2 {
				c = color.RGBA{30, 30, 200, 255}
			}
			img.SetRGBA(x, y, c)
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// withExif inserts an EXIF segment carrying a marker right after the JPEG's start, as a
// phone's location data would be.
func withExif(jpg []byte, marker string) []byte {
	tiff := append([]byte("Exif\x00\x00II*\x00\x08\x00\x00\x00\x00\x00"), marker...)
	n := len(tiff) + 2
	seg := append([]byte{0xFF, 0xE1, byte(n >> 8), byte(n)}, tiff...)
	out := append([]byte{}, jpg[:2]...)
	out = append(out, seg...)
	return append(out, jpg[2:]...)
}

type changes struct{ n int }

func (c *changes) MembershipChanged(context.Context, bun.IDB, *groups.Group, *groups.Membership, groups.State, string) error {
	return nil
}

func (c *changes) GroupChanged(context.Context, bun.IDB, *groups.Group) error { c.n++; return nil }

func readBlob(t *testing.T, store media.Store, key string) ([]byte, media.Info) {
	t.Helper()
	rc, info, err := store.Open(context.Background(), key)
	if err != nil {
		t.Fatalf("open %s: %v", key, err)
	}
	defer rc.Close()
	b, _ := io.ReadAll(rc)
	return b, info
}

func gone(t *testing.T, store media.Store, key string) {
	t.Helper()
	if _, _, err := store.Open(context.Background(), key); !errors.Is(err, media.ErrNotFound) {
		t.Fatalf("%s should be gone: %v", key, err)
	}
}

// files lists what the store holds, content-type sidecars aside.
func files(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && !strings.Contains(p, ".~") {
			out = append(out, p)
		}
		return nil
	})
	return out
}

// audited finds the audit entry of action on target (the fake clock gives every entry the
// same time, so the log's order says nothing here).
func audited(t *testing.T, d *db.DB, action, target string) audit.Entry {
	t.Helper()
	list, err := audit.List(context.Background(), d, "", 200)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range list {
		if e.Action == action && e.Target == target {
			return e
		}
	}
	t.Fatalf("no %s of %s in the audit log: %+v", action, target, list)
	return audit.Entry{}
}

func TestCover(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		w := newWorld(t, d)
		hook := &changes{}
		w.g.AddHook(hook)
		dir := t.TempDir()
		store, err := media.NewDiskStore(dir)
		if err != nil {
			t.Fatal(err)
		}
		g := w.group(t, groups.Closed)

		// The admin sets a cover: cut to 3:1, scaled to 1500×500, a 600×200 thumbnail, the
		// location data gone, the change heard by the hooks and in the audit log.
		before := hook.n
		up, err := w.g.SetCover(ctx, w.u["owner"], g.ID, store, bytes.NewReader(withExif(photo(t, 3000, 2000), "GPS-52.37-4.89")))
		if err != nil {
			t.Fatal(err)
		}
		first := up.CoverKey
		if !strings.HasPrefix(first, "covers/"+strings.ToLower(g.ID)+"/") || !strings.HasSuffix(first, ".jpg") {
			t.Fatalf("cover key %q", first)
		}
		if hook.n != before+1 {
			t.Fatalf("GroupChanged heard %d times, want 1", hook.n-before)
		}
		if e := audited(t, d, "group.cover", g.ID); e.ActorID != w.u["owner"].ID || !strings.Contains(e.Detail, g.DisplayName) {
			t.Fatalf("audit %+v", e)
		}
		gv, err := w.g.Get(ctx, w.v("member"), g.ID)
		if err != nil || gv.Group.CoverKey != first {
			t.Fatalf("stored cover %q, want %q (%v)", gv.Group.CoverKey, first, err)
		}
		data, info := readBlob(t, store, first)
		if info.ContentType != "image/jpeg" || bytes.Contains(data, []byte("GPS-52.37")) || bytes.Contains(data, []byte("Exif")) {
			t.Fatalf("cover %s keeps metadata or has the wrong type", info.ContentType)
		}
		cfg, err := jpeg.DecodeConfig(bytes.NewReader(data))
		if err != nil || cfg.Width != groups.CoverWidth || cfg.Height != groups.CoverHeight {
			t.Fatalf("cover is %dx%d (%v), want %dx%d", cfg.Width, cfg.Height, err, groups.CoverWidth, groups.CoverHeight)
		}
		// Cut around the centre: the red and blue halves stay halves.
		img, _ := jpeg.Decode(bytes.NewReader(data))
		if r, _, b, _ := img.At(100, 250).RGBA(); r < b {
			t.Fatal("the cover's left side should be red")
		}
		if r, _, b, _ := img.At(1400, 250).RGBA(); r > b {
			t.Fatal("the cover's right side should be blue")
		}
		thumb, _ := readBlob(t, store, groups.CoverThumbKey(first))
		if cfg, err := jpeg.DecodeConfig(bytes.NewReader(thumb)); err != nil || cfg.Width != groups.CoverThumbWidth || cfg.Height != groups.CoverThumbHeight {
			t.Fatalf("thumbnail is %dx%d (%v)", cfg.Width, cfg.Height, err)
		}

		// A small picture is cut but not blown up; a transparent one stays PNG.
		pic := image.NewNRGBA(image.Rect(0, 0, 300, 300))
		var buf bytes.Buffer
		png.Encode(&buf, pic)
		up, err = w.g.SetCover(ctx, w.u["owner"], g.ID, store, &buf)
		if err != nil {
			t.Fatal(err)
		}
		second := up.CoverKey
		data, info = readBlob(t, store, second)
		cfg, err = png.DecodeConfig(bytes.NewReader(data))
		if info.ContentType != "image/png" || !strings.HasSuffix(second, ".png") || err != nil || cfg.Width != 300 || cfg.Height != 100 {
			t.Fatalf("transparent cover %s %s %dx%d %v", second, info.ContentType, cfg.Width, cfg.Height, err)
		}
		// Replacing a cover removes the old files.
		gone(t, store, first)
		gone(t, store, groups.CoverThumbKey(first))
		if got := files(t, dir); len(got) != 2 {
			t.Fatalf("the store should hold one cover and its thumbnail, holds %v", got)
		}

		// Members and moderators may not; nothing is stored for them.
		for _, who := range []string{"member", "mod", "outsider"} {
			_, err := w.g.SetCover(ctx, w.u[who], g.ID, store, bytes.NewReader(photo(t, 600, 200)))
			wantKind(t, err, errs.Forbidden, "only the admins")
			_, err = w.g.ClearCover(ctx, w.u[who], g.ID, store)
			wantKind(t, err, errs.Forbidden, "only the admins")
		}
		if got := files(t, dir); len(got) != 2 {
			t.Fatalf("refused uploads left files: %v", got)
		}

		// Files that are no picture, or too large, are refused with what to do instead.
		for name, bad := range map[string]io.Reader{
			"text":  strings.NewReader("just some words, not a picture"),
			"pdf":   strings.NewReader("%PDF-1.7\n1 0 obj\n"),
			"empty": strings.NewReader(""),
		} {
			_, err := w.g.SetCover(ctx, w.u["owner"], g.ID, store, bad)
			wantKind(t, err, errs.Invalid, "upload a JPEG, PNG, GIF or WebP image")
			if errs.FieldOf(err) != "cover" {
				t.Fatalf("%s: field %q", name, errs.FieldOf(err))
			}
		}
		pngHead := photoPNGHead(t)
		_, err = w.g.SetCover(ctx, w.u["owner"], g.ID, store, io.MultiReader(bytes.NewReader(pngHead), io.LimitReader(zeros{}, groups.CoverMaxBytes)))
		wantKind(t, err, errs.TooLarge, "larger than 8 MiB")
		_, err = w.g.SetCover(ctx, w.u["owner"], g.ID, store, bytes.NewReader(pngHead[:40]))
		wantKind(t, err, errs.Invalid, "could not be read")
		if gv, _ := w.g.Get(ctx, w.v("owner"), g.ID); gv.Group.CoverKey != second {
			t.Fatalf("a refused upload changed the cover to %q", gv.Group.CoverKey)
		}

		// Removing: the files go, the hooks and the audit log hear of it; again is no error.
		before = hook.n
		up, err = w.g.ClearCover(ctx, w.u["owner"], g.ID, store)
		if err != nil || up.CoverKey != "" {
			t.Fatalf("clear: %+v %v", up, err)
		}
		if hook.n != before+1 {
			t.Fatalf("GroupChanged heard %d times on removal", hook.n-before)
		}
		if e := audited(t, d, "group.cover_remove", g.ID); e.ActorID != w.u["owner"].ID {
			t.Fatalf("audit %+v", e)
		}
		gone(t, store, second)
		gone(t, store, groups.CoverThumbKey(second))
		if _, err := w.g.ClearCover(ctx, w.u["owner"], g.ID, store); err != nil {
			t.Fatalf("clearing again: %v", err)
		}
		if hook.n != before+1 {
			t.Fatal("clearing an absent cover should change nothing")
		}
	})
}

// TestCoverOfSecretGroup: people who may not see a secret group get the NotFound of a group
// that does not exist, word for word, and not the admins-only refusal.
func TestCoverOfSecretGroup(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		w := newWorld(t, d)
		store, err := media.NewDiskStore(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		g := w.group(t, groups.Secret)
		_, missing := w.g.SetCover(ctx, w.u["outsider"], "01JNOSUCHGROUP0000000000000", store, bytes.NewReader(photo(t, 600, 200)))
		wantKind(t, missing, errs.NotFound, "does not exist")
		for _, who := range []string{"outsider", "admin"} {
			_, err := w.g.SetCover(ctx, w.u[who], g.ID, store, bytes.NewReader(photo(t, 600, 200)))
			if !errs.Is(err, errs.NotFound) || errs.Message(err) != errs.Message(missing) {
				t.Fatalf("%s: %v, want the message of a missing group %q", who, err, errs.Message(missing))
			}
			// A bad file does not tell them more than a good one.
			_, err = w.g.SetCover(ctx, w.u[who], g.ID, store, strings.NewReader("no picture"))
			wantKind(t, err, errs.NotFound, "does not exist")
			_, err = w.g.ClearCover(ctx, w.u[who], g.ID, store)
			wantKind(t, err, errs.NotFound, "does not exist")
		}
		// A member sees the group but does not administer it.
		_, err = w.g.SetCover(ctx, w.u["member"], g.ID, store, bytes.NewReader(photo(t, 600, 200)))
		wantKind(t, err, errs.Forbidden, "only the admins")
		// Its admin may.
		if up, err := w.g.SetCover(ctx, w.u["owner"], g.ID, store, bytes.NewReader(photo(t, 600, 200))); err != nil || up.CoverKey == "" {
			t.Fatalf("admin of a secret group: %+v %v", up, err)
		}
	})
}

func photoPNGHead(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, 10, 10))); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func TestCoverThumbKey(t *testing.T) {
	for in, want := range map[string]string{"covers/g/abc.jpg": "covers/g/abc-thumb.jpg", "covers/g.x/abc": "covers/g.x/abc-thumb", "": ""} {
		if got := groups.CoverThumbKey(in); got != want {
			t.Errorf("CoverThumbKey(%q) = %q, want %q", in, got, want)
		}
	}
}
