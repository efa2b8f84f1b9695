package mastodon

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/atrium-social/atrium/internal/posts"
)

// TestRemoteMediaAttachments: a partner's image is served from /media once copied, and until
// then (or when it was refused) shows as Mastodon shows remote media it has not downloaded.
func TestRemoteMediaAttachments(t *testing.T) {
	pr := presenter{base: "https://globex.example", unready: map[string]string{
		"remote/ab/cd": "https://acme.example/photo.jpg",
		"remote/ef/01": "",
	}}
	pending := pr.media(posts.Attachment{ID: "1", Kind: "image", FileKey: "remote/ab/cd", ThumbKey: "remote/ab/cd-small",
		Description: "Team photo", Width: 600, Height: 400})
	b, _ := json.Marshal(pending)
	for _, want := range []string{`"type":"unknown"`, `"url":"https://acme.example/photo.jpg"`, `"preview_url":null`,
		`"remote_url":"https://acme.example/photo.jpg"`, `"description":"Team photo"`, `"width":600`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("pending: missing %s in %s", want, b)
		}
	}
	unknown := pr.media(posts.Attachment{ID: "2", Kind: "image", FileKey: "remote/ef/01"})
	if unknown.Type != "unknown" || unknown.URL != "" || unknown.RemoteURL != nil || unknown.PreviewURL != nil {
		t.Errorf("unknown: %+v", unknown)
	}
	ready := pr.media(posts.Attachment{ID: "3", Kind: "image", FileKey: "remote/23/45", ThumbKey: "remote/23/45-small", Width: 600, Height: 400})
	if ready.Type != "image" || ready.URL != "https://globex.example/media/remote/23/45" || ready.PreviewURL == nil ||
		*ready.PreviewURL != "https://globex.example/media/remote/23/45-small" {
		t.Errorf("cached: %+v", ready)
	}
}
