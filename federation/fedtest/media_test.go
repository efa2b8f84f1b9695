package fedtest

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"strings"
	"testing"

	"github.com/atrium-social/atrium/internal/testutil/nodetest"
)

func testPNG(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 64, 48))
	for x := 0; x < 64; x++ {
		img.Set(x, x%48, color.RGBA{200, 30, 30, 255})
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestImagesAreCopiedToTheReadersNode: a partner's picture is fetched once by the reader's
// node, re-encoded, and then served from there (no browser ever loads it from the partner).
func TestImagesAreCopiedToTheReadersNode(t *testing.T) {
	acme, globex := pair(t)
	alice := acme.NewUser(t, "alice")
	bob := globex.NewUser(t, "bob")
	befriend(t, []*nodetest.Node{acme, globex}, alice, "@bob@"+globex.Host())

	var media struct {
		ID string `json:"id"`
	}
	if resp := bob.Upload("chart.png", testPNG(t), "Sales chart", &media); resp.StatusCode != 200 {
		t.Fatalf("upload: %d", resp.StatusCode)
	}
	post(t, bob, map[string]any{"status": "Q3 numbers", "visibility": "public", "media_ids": []string{media.ID}})
	nodetest.Settle(t, acme, globex)

	var feed []struct {
		Media []struct {
			Type        string `json:"type"`
			URL         string `json:"url"`
			Description string `json:"description"`
		} `json:"media_attachments"`
	}
	alice.Call("GET", "/api/v1/timelines/home", nil, &feed)
	if len(feed) != 1 || len(feed[0].Media) != 1 {
		t.Fatalf("alice's feed: %+v", feed)
	}
	m := feed[0].Media[0]
	base := acme.URL(t.Context())
	if m.Type != "image" || !strings.HasPrefix(m.URL, base+"/media/remote/") || m.Description != "Sales chart" {
		t.Fatalf("attachment on acme: %+v (want an image served by acme)", m)
	}
	resp, err := http.Get(acme.HTTP.URL + strings.TrimPrefix(m.URL, base))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "image/") {
		t.Fatalf("acme serves the copy with %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}
