package web

import (
	"strings"
	"testing"

	"github.com/atrium-social/atrium/internal/posts"
)

// TestPendingRemoteImages: a partner's image not copied here is drawn as a link to its
// origin, never as an <img> (which the CSP would block and which would leak readers to the
// partner); once copied it is drawn from /media like an upload.
func TestPendingRemoteImages(t *testing.T) {
	atts := []posts.Attachment{
		{Kind: "image", FileKey: "remote/ab/cd", ThumbKey: "remote/ab/cd-small", Description: "Team photo"},
		{Kind: "image", FileKey: "remote/ef/01", ThumbKey: "remote/ef/01-small"},
		{Kind: "image", FileKey: "remote/23/45", ThumbKey: "remote/23/45-small"},
		{Kind: "image", FileKey: "attachments/01x/secret.jpg", ThumbKey: "attachments/01x/secret-small.jpg"},
	}
	unready := map[string]string{
		"remote/ab/cd": "https://Media.Acme.example/photo.jpg",
		"remote/ef/01": "",                    // unknown row
		"remote/99/99": "javascript:alert(1)", // never queued like this, but never linked either
	}
	images, docs := attachmentViews(atts, unready)
	if len(images) != 4 || len(docs) != 0 {
		t.Fatalf("images %d, docs %d", len(images), len(docs))
	}
	if a := images[0]; !a.Pending || a.URL != "https://Media.Acme.example/photo.jpg" || a.Origin != "media.acme.example" || a.Thumb != "" {
		t.Errorf("pending: %+v", a)
	}
	if a := images[1]; !a.Pending || a.URL != "" || a.Origin != "" {
		t.Errorf("unknown: %+v", a)
	}
	if a := images[2]; a.Pending || a.URL != "/media/remote/23/45" || a.Thumb != "/media/remote/23/45-small" {
		t.Errorf("cached: %+v", a)
	}
	if a := images[3]; a.Pending || a.URL != "/media/attachments/01x/secret.jpg" {
		t.Errorf("local: %+v", a)
	}
	if _, d := attachmentViews([]posts.Attachment{{Kind: "image", FileKey: "remote/99/99"}}, unready); len(d) != 0 {
		t.Fatal("an image became a document")
	} else if img, _ := attachmentViews([]posts.Attachment{{Kind: "image", FileKey: "remote/99/99"}}, unready); img[0].URL != "" {
		t.Errorf("a non-http origin was linked: %+v", img[0])
	}

	s := &site{}
	ps, err := s.parseTemplates()
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if err := ps.base.ExecuteTemplate(&out, "attachments", &postView{Images: images}); err != nil {
		t.Fatal(err)
	}
	html := out.String()
	for _, want := range []string{
		`<a class="image pending" href="https://Media.Acme.example/photo.jpg" rel="noopener nofollow noreferrer ugc" target="_blank"><span>Team photo</span><span class="muted small">on media.acme.example</span></a>`,
		`<span class="image pending"><span>Image</span><span class="muted small">not available yet</span></span>`,
		`<img src="/media/remote/23/45-small"`,
		`<img src="/media/attachments/01x/secret-small.jpg"`,
	} {
		if !strings.Contains(html, want) {
			t.Errorf("missing %s in\n%s", want, html)
		}
	}
	if strings.Contains(html, `src="https://`) || strings.Contains(html, "/media/remote/ab/cd") {
		t.Errorf("a pending image is loaded:\n%s", html)
	}
}
