package media

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// ErrNotFound is wrapped by Store.Open when no blob is stored under the key.
var ErrNotFound = errors.New("media: not found")

// ErrInvalidKey is wrapped by every Store method, and by ValidateKey, when a key breaks the
// key rules.
var ErrInvalidKey = errors.New("media: invalid key")

// MaxKeyLen is the longest key a Store accepts. It stays well under the 1024-byte limit of S3
// and the 255-byte file name limit of common file systems, leaving room for a prefix.
const MaxKeyLen = 200

// defaultContentType is what a blob reads back as when its type was not given or was lost.
const defaultContentType = "application/octet-stream"

// The suffixes use '~', which ValidateKey refuses, so no key can ever name a temporary file or
// another key's content-type sidecar.
const (
	sidecarSuffix = ".~type"
	tempPattern   = ".~tmp-*"
)

// Store keeps media blobs under opaque keys.
//
// Keys are the same for every implementation (see ValidateKey), so that blobs can be moved
// between a DiskStore and an object store without renaming anything.
type Store interface {
	// Put stores everything read from r under key, replacing any existing blob. Readers of
	// the key see either the old blob or the complete new one, never a partial write.
	Put(ctx context.Context, key string, r io.Reader, contentType string) error
	// Open returns the blob under key and its metadata. The caller must close the reader.
	// A missing key gives an error wrapping ErrNotFound.
	Open(ctx context.Context, key string) (io.ReadCloser, Info, error)
	// Delete removes the blob under key. Deleting a missing key is not an error, as with
	// S3, so that retried deletions succeed.
	Delete(ctx context.Context, key string) error
}

// Info describes a stored blob.
type Info struct {
	ContentType string    // as given to Put; application/octet-stream if none was
	Size        int64     // in bytes
	ModTime     time.Time // when the blob was last written
}

// ValidateKey reports whether key may be used with a Store, returning an error wrapping
// ErrInvalidKey if not. Keys are 1 to MaxKeyLen characters of [a-z0-9/._-], "/"-separated,
// without "..", a leading or trailing "/", empty segments or "." segments.
//
// The rules are deliberately narrow: lower case avoids clashes on case-insensitive file
// systems, and refusing ".", ".." and empty segments means two different keys can never name
// the same file, nor a file outside the store.
func ValidateKey(key string) error {
	switch {
	case key == "":
		return fmt.Errorf("%w: empty", ErrInvalidKey)
	case len(key) > MaxKeyLen:
		return fmt.Errorf("%w: longer than %d characters", ErrInvalidKey, MaxKeyLen)
	case strings.Contains(key, ".."):
		return fmt.Errorf("%w: %q contains \"..\"", ErrInvalidKey, key)
	case strings.HasPrefix(key, "/"):
		return fmt.Errorf("%w: %q starts with \"/\"", ErrInvalidKey, key)
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '/' && c != '.' && c != '_' && c != '-' {
			return fmt.Errorf("%w: %q contains %q; use only a-z, 0-9, '/', '.', '_' and '-'", ErrInvalidKey, key, c)
		}
	}
	for _, seg := range strings.Split(key, "/") {
		if seg == "" || seg == "." {
			return fmt.Errorf("%w: %q has an empty or \".\" segment", ErrInvalidKey, key)
		}
	}
	return nil
}

// DiskStore is a Store that keeps each blob as a file under a directory, with its content type
// in a small sidecar file beside it. It is safe for concurrent use, including by several
// processes sharing the directory.
type DiskStore struct {
	dir string
}

var _ Store = (*DiskStore)(nil)

// NewDiskStore returns a DiskStore rooted at dir, creating the directory (mode 0750) if needed.
func NewDiskStore(dir string) (*DiskStore, error) {
	if dir == "" {
		return nil, errors.New("media: disk store directory is empty")
	}
	// Absolute, so that a later os.Chdir cannot move the store.
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("media: disk store directory: %w", err)
	}
	if err := os.MkdirAll(abs, 0o750); err != nil {
		return nil, fmt.Errorf("media: create disk store directory: %w", err)
	}
	return &DiskStore{dir: abs}, nil
}

func (s *DiskStore) path(key string) string {
	return filepath.Join(s.dir, filepath.FromSlash(key))
}

// Put implements Store. The sidecar is written first and the blob last, so the blob's rename
// is the commit point: a new key never appears without its content type. A crash while
// replacing an existing key can leave the new type beside the old blob; keys are meant to be
// written once, which makes that window harmless in practice.
func (s *DiskStore) Put(ctx context.Context, key string, r io.Reader, contentType string) error {
	if err := ValidateKey(key); err != nil {
		return err
	}
	ct, err := cleanContentType(contentType)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	p := s.path(key)
	dir := filepath.Dir(p)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("media: put %q: %w", key, err)
	}
	if err := writeAtomic(p+sidecarSuffix, strings.NewReader(ct+"\n")); err != nil {
		return fmt.Errorf("media: put %q: content type: %w", key, err)
	}
	if err := writeAtomic(p, ctxReader{ctx: ctx, r: r}); err != nil {
		return fmt.Errorf("media: put %q: %w", key, err)
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("media: put %q: sync directory: %w", key, err)
	}
	return nil
}

// Open implements Store.
func (s *DiskStore) Open(ctx context.Context, key string) (io.ReadCloser, Info, error) {
	if err := ValidateKey(key); err != nil {
		return nil, Info{}, err
	}
	if err := ctx.Err(); err != nil {
		return nil, Info{}, err
	}
	p := s.path(key)
	f, err := os.Open(p)
	if err != nil {
		if isNotExist(err) {
			return nil, Info{}, fmt.Errorf("media: open %q: %w", key, ErrNotFound)
		}
		return nil, Info{}, fmt.Errorf("media: open %q: %w", key, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, Info{}, fmt.Errorf("media: open %q: %w", key, err)
	}
	// Key "a" is a directory when only "a/b" was stored; that is not a blob.
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, Info{}, fmt.Errorf("media: open %q: %w", key, ErrNotFound)
	}
	return f, Info{ContentType: readContentType(p + sidecarSuffix), Size: st.Size(), ModTime: st.ModTime()}, nil
}

// Delete implements Store. The blob goes first so that the key reads as missing as soon as
// anything has been removed.
func (s *DiskStore) Delete(ctx context.Context, key string) error {
	if err := ValidateKey(key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	p := s.path(key)
	if st, err := os.Lstat(p); err == nil && st.IsDir() {
		return nil // only deeper keys exist; this one does not
	}
	for _, name := range []string{p, p + sidecarSuffix} {
		if err := os.Remove(name); err != nil && !isNotExist(err) {
			return fmt.Errorf("media: delete %q: %w", key, err)
		}
	}
	return nil
}

// cleanContentType rejects types that could not round-trip through the one-line sidecar or
// that a browser would misread when the type is sent back as a header.
func cleanContentType(ct string) (string, error) {
	ct = strings.TrimSpace(ct)
	if ct == "" {
		return defaultContentType, nil
	}
	if strings.ContainsAny(ct, "\r\n") {
		return "", fmt.Errorf("media: content type %q contains a line break", ct)
	}
	if _, _, err := mime.ParseMediaType(ct); err != nil {
		return "", fmt.Errorf("media: content type %q: %w", ct, err)
	}
	return ct, nil
}

// readContentType falls back to the default rather than failing Open: the blob itself is
// intact, and octet-stream is the safe way to serve bytes of unknown type.
func readContentType(name string) string {
	f, err := os.Open(name)
	if err != nil {
		return defaultContentType
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 512))
	if err != nil {
		return defaultContentType
	}
	ct, err := cleanContentType(string(b))
	if err != nil {
		return defaultContentType
	}
	return ct
}

// writeAtomic writes r to name through a temporary file in the same directory, so the rename
// cannot cross file systems and readers never see a partial file. The data is synced before
// the rename; otherwise a crash could leave a complete-looking name with empty contents.
func writeAtomic(name string, r io.Reader) (err error) {
	f, err := os.CreateTemp(filepath.Dir(name), tempPattern)
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err = io.Copy(f, r); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, name)
}

// syncDir makes the renames durable. Windows cannot sync a directory handle, and NTFS
// journals renames anyway, so it is skipped there.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// isNotExist also treats ENOTDIR as missing: opening key "a/b" when "a" is a blob fails that
// way, and the key "a/b" is simply absent.
func isNotExist(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}

// ctxReader stops a long upload copy once the request is cancelled, instead of writing a blob
// nobody is waiting for.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
