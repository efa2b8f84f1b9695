package web

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
)

var coverRE = regexp.MustCompile(`class="profile-cover[^"]*"><img src="(/media/covers/[^"]+)"`)

// The profile cover on the pages: set in the settings, shown as the profile's banner, replaced
// (the old file goes) and removed; admins may change anyone's, members only their own.
func TestProfileCoverPages(t *testing.T) {
	e := newEnv(t)
	admin := e.setup()
	e.member("bob", "Bob Builder")
	e.member("carol", "Carol Chen")
	bob := e.client()
	bob.login("bob", memberPass)

	resp, body := bob.get("/settings/profile")
	wantStatus(t, "settings", resp, body, 200)
	wantContains(t, "settings", body, "Cover picture", `name="header" type="file"`, `action="/settings/header"`)
	if strings.Contains(body, `action="/settings/header/remove"`) || coverRE.MatchString(body) {
		t.Fatal("a remove button or banner without a cover")
	}
	if _, body = bob.get("/people/bob"); coverRE.MatchString(body) {
		t.Fatal("a banner without a cover")
	}

	resp, _ = bob.upload("/settings/header", "header", "wide.png", testPNG(t, 900, 300), nil)
	wantRedirect(t, "cover", resp, "/settings/profile")
	_, body = bob.get("/people/bob")
	m := coverRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no cover banner on the profile:\n%s", body)
	}
	first := m[1]
	resp, _ = bob.get(first)
	wantStatus(t, "cover file", resp, "", 200)
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "image/") {
		t.Fatalf("cover content type %q", ct)
	}
	_, body = bob.get("/settings/profile")
	wantContains(t, "settings with a cover", body, `action="/settings/header/remove"`, first)

	// Replaced: the old file goes.
	resp, _ = bob.upload("/settings/header", "header", "wide2.png", testPNG(t, 600, 200), nil)
	wantRedirect(t, "second cover", resp, "/settings/profile")
	if resp, _ := bob.get(first); resp.StatusCode != 404 {
		t.Fatalf("old cover still served: %d", resp.StatusCode)
	}
	// Not an image: the form says so, on the header field.
	resp, body = bob.upload("/settings/header", "header", "x.png", []byte("<html>not an image</html>"), nil)
	wantStatus(t, "bad cover", resp, body, 422)
	wantContains(t, "bad cover", body, "not a picture", `id="header" name="header"`)

	// Removed.
	_, body = bob.get("/people/bob")
	second := coverRE.FindStringSubmatch(body)[1]
	resp, _ = bob.post("/settings/header/remove", nil)
	wantRedirect(t, "remove cover", resp, "/settings/profile")
	if resp, _ := bob.get(second); resp.StatusCode != 404 {
		t.Fatalf("removed cover still served: %d", resp.StatusCode)
	}
	if _, body = bob.get("/people/bob"); coverRE.MatchString(body) {
		t.Fatal("a banner after removal")
	}

	// Someone else's: admins may, members may not.
	resp, _ = admin.upload("/settings/header?user=carol", "header", "c.png", testPNG(t, 600, 200), nil)
	wantRedirect(t, "admin sets carol's cover", resp, "/settings/profile?user=carol")
	if u := mustUser(t, e, "carol"); !strings.HasPrefix(u.HeaderKey, "covers/"+strings.ToLower(u.ID)+"/") {
		t.Fatalf("carol's cover key %q", u.HeaderKey)
	}
	resp, _ = bob.upload("/settings/header?user=carol", "header", "c.png", testPNG(t, 600, 200), nil)
	wantStatus(t, "member sets another's cover", resp, "", http.StatusForbidden)
	resp, _ = bob.post("/settings/header/remove?user=carol", nil)
	wantStatus(t, "member removes another's cover", resp, "", http.StatusForbidden)
}
