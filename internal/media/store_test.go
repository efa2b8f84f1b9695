package media

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func newStore(t *testing.T) (*DiskStore, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "media")
	s, err := NewDiskStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	return s, dir
}

func get(t *testing.T, s Store, key string) (string, Info) {
	t.Helper()
	rc, info, err := s.Open(context.Background(), key)
	if err != nil {
		t.Fatalf("Open(%q): %v", key, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return string(b), info
}

func TestDiskStoreRoundTrip(t *testing.T) {
	s, dir := newStore(t)
	ctx := context.Background()
	if st, err := os.Stat(dir); err != nil || st.Mode().Perm()&^0o750 != 0 {
		t.Fatalf("store directory: %v, mode %v", err, st.Mode())
	}
	tests := []struct {
		key, body, contentType, wantType string
	}{
		{"avatars/01hx/full.jpg", "jpeg bytes", "image/jpeg", "image/jpeg"},
		{"avatars/01hx/thumb.png", "png bytes", "image/png", "image/png"},
		{"plain", "", "", "application/octet-stream"},
		{"doc_1-v2.txt", "text", "text/plain; charset=utf-8", "text/plain; charset=utf-8"},
	}
	for _, tt := range tests {
		before := time.Now().Add(-time.Second)
		if err := s.Put(ctx, tt.key, strings.NewReader(tt.body), tt.contentType); err != nil {
			t.Fatalf("Put(%q): %v", tt.key, err)
		}
		body, info := get(t, s, tt.key)
		if body != tt.body || info.ContentType != tt.wantType || info.Size != int64(len(tt.body)) || info.ModTime.Before(before) {
			t.Errorf("%q: got %q %+v, want %q type %q", tt.key, body, info, tt.body, tt.wantType)
		}
	}

	// Replacing a key swaps body and type together.
	if err := s.Put(ctx, "plain", strings.NewReader("v2"), "image/gif"); err != nil {
		t.Fatal(err)
	}
	if body, info := get(t, s, "plain"); body != "v2" || info.ContentType != "image/gif" {
		t.Errorf("after replace: %q %+v", body, info)
	}

	// No temporary files are left behind, and every blob has exactly one sidecar.
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch {
		case strings.Contains(d.Name(), ".~tmp"):
			t.Errorf("leftover temporary file %s", p)
		case !d.IsDir() && !strings.HasSuffix(p, sidecarSuffix):
			if _, err := os.Stat(p + sidecarSuffix); err != nil {
				t.Errorf("blob %s has no sidecar: %v", p, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	if err := s.Delete(ctx, "avatars/01hx/full.jpg"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Open(ctx, "avatars/01hx/full.jpg"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Open after Delete: %v, want ErrNotFound", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "avatars/01hx/full.jpg"+sidecarSuffix)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("sidecar survived Delete: %v", err)
	}
	if body, _ := get(t, s, "avatars/01hx/thumb.png"); body != "png bytes" {
		t.Errorf("Delete touched a neighbour: %q", body)
	}
}

func TestDiskStoreNotFound(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	if err := s.Put(ctx, "a/b", strings.NewReader("x"), "text/plain"); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, "f", strings.NewReader("x"), "text/plain"); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{
		"missing",
		"a",      // a directory, because a deeper key exists
		"f/g",    // under a blob
		"nope/x", // under a missing directory
	} {
		if _, _, err := s.Open(ctx, key); !errors.Is(err, ErrNotFound) {
			t.Errorf("Open(%q) = %v, want ErrNotFound", key, err)
		}
		// Deleting what is not there succeeds, so that retries are safe.
		if err := s.Delete(ctx, key); err != nil {
			t.Errorf("Delete(%q) = %v, want nil", key, err)
		}
	}
	if body, _ := get(t, s, "a/b"); body != "x" {
		t.Errorf("Delete(\"a\") removed a/b: %q", body)
	}
}

func TestDiskStoreInvalidKeys(t *testing.T) {
	s, dir := newStore(t)
	ctx := context.Background()
	for _, key := range []string{
		"../x", "/abs", "A B", "", "a/../b", "x..y", "a//b", "a/", "./a", "a/./b", ".",
		"Upper", "sp ace", "tab\t", "semi;colon", "back\\slash", "a~b", "é",
		strings.Repeat("k", MaxKeyLen+1),
	} {
		if err := ValidateKey(key); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("ValidateKey(%q) = %v, want ErrInvalidKey", key, err)
		}
		if err := s.Put(ctx, key, strings.NewReader("x"), "text/plain"); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("Put(%q) = %v, want ErrInvalidKey", key, err)
		}
		if _, _, err := s.Open(ctx, key); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("Open(%q) = %v, want ErrInvalidKey", key, err)
		}
		if err := s.Delete(ctx, key); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("Delete(%q) = %v, want ErrInvalidKey", key, err)
		}
	}
	for _, key := range []string{"a", "a/b/c", "x.jpg", ".hidden", "a-b_c.d/0", strings.Repeat("k", MaxKeyLen)} {
		if err := ValidateKey(key); err != nil {
			t.Errorf("ValidateKey(%q) = %v, want nil", key, err)
		}
	}
	if entries, _ := os.ReadDir(filepath.Dir(dir)); len(entries) != 1 {
		t.Errorf("invalid keys wrote outside the store: %v", entries)
	}
}

type failingReader struct{ n int }

func (r *failingReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, errors.New("connection reset")
	}
	r.n--
	return copy(p, "partial"), nil
}

func TestDiskStoreFailedPutLeavesNothing(t *testing.T) {
	s, dir := newStore(t)
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name        string
		ctx         context.Context
		r           io.Reader
		contentType string
	}{
		{"reader fails", context.Background(), &failingReader{n: 3}, "image/png"},
		{"context cancelled", cancelled, strings.NewReader("x"), "image/png"},
		{"content type with newline", context.Background(), strings.NewReader("x"), "image/png\nX-Evil: 1"},
		{"malformed content type", context.Background(), strings.NewReader("x"), "image/png; ="},
	}
	for _, tt := range tests {
		if err := s.Put(tt.ctx, "k", tt.r, tt.contentType); err == nil {
			t.Errorf("%s: Put succeeded", tt.name)
		}
		if _, _, err := s.Open(context.Background(), "k"); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s: Open = %v, want ErrNotFound", tt.name, err)
		}
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if strings.Contains(e.Name(), ".~tmp") {
				t.Errorf("%s: leftover %s", tt.name, e.Name())
			}
		}
	}
}

func TestDiskStoreLostSidecar(t *testing.T) {
	s, dir := newStore(t)
	if err := s.Put(context.Background(), "k", strings.NewReader("x"), "image/png"); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "k"+sidecarSuffix)); err != nil {
		t.Fatal(err)
	}
	if _, info := get(t, s, "k"); info.ContentType != "application/octet-stream" {
		t.Errorf("ContentType = %q, want the safe default", info.ContentType)
	}
}

func TestNewDiskStoreErrors(t *testing.T) {
	if _, err := NewDiskStore(""); err == nil {
		t.Error("NewDiskStore(\"\") succeeded")
	}
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := NewDiskStore(filepath.Join(file, "sub")); err == nil {
		t.Error("NewDiskStore under a file succeeded")
	}
}
