package web

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"path"

	"github.com/gofiber/fiber/v2"

	"github.com/atrium-social/atrium/internal/errs"
)

//go:embed static
var staticFS embed.FS

// asset is one embedded static file with its version: a hash of its content, put in the
// URL's query so a new release is fetched at once while browsers cache the old one.
type asset struct {
	body        []byte
	contentType string
	version     string
	url         string
}

func loadAssets() (map[string]asset, error) {
	files, err := fs.ReadDir(staticFS, "static")
	if err != nil {
		return nil, err
	}
	out := map[string]asset{}
	for _, f := range files {
		body, err := staticFS.ReadFile("static/" + f.Name())
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(body)
		v := hex.EncodeToString(sum[:5])
		out[f.Name()] = asset{body: body, contentType: contentTypeOf(f.Name()), version: v,
			url: "/static/" + f.Name() + "?v=" + v}
	}
	for _, need := range []string{"app.css", "app.js", "favicon.svg"} {
		if _, ok := out[need]; !ok {
			return nil, fmt.Errorf("web: static/%s is missing", need)
		}
	}
	return out, nil
}

func contentTypeOf(name string) string {
	switch path.Ext(name) {
	case ".css":
		return "text/css; charset=utf-8"
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	}
	return "application/octet-stream"
}

// static serves the embedded assets. An hour of caching bounds how long a browser that
// requests the URL without its version (or with an old one) can hold a stale file.
func (s *site) static(c *fiber.Ctx) error {
	a, ok := s.assets[c.Params("name")]
	if !ok {
		return errs.E(errs.NotFound, "there is no such file")
	}
	etag := `"` + a.version + `"`
	c.Set("Cache-Control", "public, max-age=3600")
	c.Set("ETag", etag)
	if c.Get("If-None-Match") == etag {
		return c.SendStatus(fiber.StatusNotModified)
	}
	c.Set(fiber.HeaderContentType, a.contentType)
	return c.Send(a.body)
}
