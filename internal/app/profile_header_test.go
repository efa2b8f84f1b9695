package app_test

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/atrium-social/atrium/internal/media"
	"github.com/atrium-social/atrium/internal/testutil/nodetest"
)

// widePNG is a w×h opaque PNG with a gradient, so that it is a real photo-like picture.
func widePNG(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), 120, 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// contentTypeOf fetches a served picture's address and answers its status and type.
func contentTypeOf(t *testing.T, n *nodetest.Node, rawURL string) (int, string) {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(n.HTTP.URL + u.RequestURI())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Content-Type")
}

// A person's profile cover through the API: update_credentials' header sets it, the Account
// shows it, a new one replaces it (the old files go), DELETE /api/v1/profile/header removes it.
func TestProfileHeaderAPI(t *testing.T) {
	eachEngine(t, func(t *testing.T, n *nodetest.Node) {
		c := caller{t}
		alice, bob := n.NewUser(t, "alice"), n.NewUser(t, "bob")
		base := n.URL(context.Background())
		missing := base + "/headers/missing.png"
		const path = "/api/v1/accounts/update_credentials"

		var acc map[string]any
		c.expect(alice.Call("GET", "/api/v1/accounts/verify_credentials", nil, &acc), 200, nil, "verify")
		if acc["header"] != missing || acc["header_static"] != missing {
			t.Fatalf("no cover yet: %v %v", acc["header"], acc["header_static"])
		}

		// Set: a wide PNG becomes a 1500×500 cover under covers/<id>/.
		resp, acc := patchForm(t, n, alice, path, nil, "header", widePNG(t, 3000, 1000))
		c.expect(resp, 200, acc, "upload header")
		first, _ := acc["header"].(string)
		if !strings.HasPrefix(first, base+"/media/covers/"+strings.ToLower(alice.User.ID)+"/") || acc["header_static"] != first {
			t.Fatalf("after a header: %v %v", acc["header"], acc["header_static"])
		}
		if code, ct := contentTypeOf(t, n, first); code != 200 || !strings.HasPrefix(ct, "image/") {
			t.Fatalf("header served: %d %q", code, ct)
		}
		if code, w, h := fetchImage(t, n, first); code != 200 || w != 1500 || h != 500 {
			t.Fatalf("header: %d %dx%d, want 1500x500", code, w, h)
		}
		thumb := base + "/media/" + media.CoverThumbKey(strings.TrimPrefix(first, base+"/media/"))
		if code, w, h := fetchImage(t, n, thumb); code != 200 || w != 600 || h != 200 {
			t.Fatalf("header thumbnail: %d %dx%d, want 600x200", code, w, h)
		}
		// Others see it on the account, as in statuses (no extra query: it is on the row).
		c.expect(bob.Call("GET", "/api/v1/accounts/"+alice.User.ID, nil, &acc), 200, nil, "account")
		if acc["header"] != first || acc["header_static"] != first {
			t.Fatalf("account's header: %v", acc["header"])
		}
		var st map[string]any
		c.expect(alice.Call("POST", "/api/v1/statuses", map[string]any{"status": "Cover day"}, &st), 200, nil, "post")
		if a, _ := st["account"].(map[string]any); a == nil || a["header"] != first {
			t.Fatalf("status account's header: %v", st["account"])
		}
		// A profile edit without a header keeps it.
		c.expect(alice.Call("PATCH", path, map[string]any{"note": "Hello"}, &acc), 200, nil, "edit note")
		if acc["header"] != first {
			t.Fatalf("a note edit moved the cover: %v", acc["header"])
		}

		// Replace: a new key, and the old files are gone.
		resp, acc = patchForm(t, n, alice, path, nil, "header", widePNG(t, 1800, 900))
		c.expect(resp, 200, acc, "replace header")
		second, _ := acc["header"].(string)
		if second == first || !strings.Contains(second, "/media/covers/") {
			t.Fatalf("replaced header: %v", acc["header"])
		}
		if code, _, _ := fetchImage(t, n, first); code != 404 {
			t.Fatalf("the replaced cover is still served: %d", code)
		}
		if code, _, _ := fetchImage(t, n, thumb); code != 404 {
			t.Fatalf("the replaced thumbnail is still served: %d", code)
		}
		if code, w, h := fetchImage(t, n, second); code != 200 || w != 1500 || h != 500 {
			t.Fatalf("second header: %d %dx%d, want 1500x500", code, w, h)
		}

		// Not a picture: 422 naming header, and nothing changes.
		resp, e := patchForm(t, n, alice, path, map[string]string{"display_name": "Not applied"}, "header", []byte("plain text, not a picture"))
		c.expect(resp, 422, e, "non-image header")
		if msg, _ := e["error"].(string); !strings.Contains(msg, "header") {
			t.Fatalf("non-image error does not name header: %v", e)
		}
		c.expect(alice.Call("GET", "/api/v1/accounts/verify_credentials", nil, &acc), 200, nil, "verify")
		if acc["header"] != second || acc["display_name"] == "Not applied" {
			t.Fatalf("a refused header changed the profile: %v %v", acc["header"], acc["display_name"])
		}

		// Delete: the placeholder again, the file gone, and a repeat succeeds.
		c.expect(alice.Call("DELETE", "/api/v1/profile/header", nil, &acc), 200, nil, "delete header")
		if acc["header"] != missing || acc["header_static"] != missing || acc["source"] == nil {
			t.Fatalf("after delete (want a CredentialAccount with the placeholder): %v", acc)
		}
		if code, _, _ := fetchImage(t, n, second); code != 404 {
			t.Fatalf("the removed cover is still served: %d", code)
		}
		c.expect(alice.Call("DELETE", "/api/v1/profile/header", nil, &acc), 200, nil, "delete again")
		c.expect(bob.Call("GET", "/api/v1/accounts/"+alice.User.ID, nil, &acc), 200, nil, "account after delete")
		if acc["header"] != missing {
			t.Fatalf("account's header after delete: %v", acc["header"])
		}
	})
}
