package previews

import (
	"net/url"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// FuzzParse feeds arbitrary documents and page URLs to Parse. Beyond not panicking, it
// checks the promises the rest of the node relies on when it renders a stored preview.
func FuzzParse(f *testing.F) {
	seeds := []struct{ url, body string }{
		{"https://a.example/x", `<head><meta property="og:title" content="T"><meta property="og:image" content="i.png"></head>`},
		{"https://a.example/", `<title>a &amp; b</title><meta name="description" content="d">`},
		{"", `<base href="//cdn.example/"><meta property="og:image" content="x">`},
		{"http://[::1]:80/", "<svg><title>x</title></svg><title>\x00\u202e</title>"},
		{"https://a.example/", `<meta property="og:image" content="javascript:alert(1)">`},
		{"not a url", "<title>" + strings.Repeat("é", 300) + "</title>"},
		{"https://a.example/", "<head><title>unterminated"},
		{"https://a.example/", "\xff\xfe<\x00t\x00i\x00t\x00l\x00e\x00>"},
	}
	for _, s := range seeds {
		f.Add(s.url, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, pageURL string, body []byte) {
		p := Parse(pageURL, body)
		if p.URL != pageURL {
			t.Fatalf("URL = %q, want %q", p.URL, pageURL)
		}
		if p.Status != StatusOK && p.Status != StatusNone {
			t.Fatalf("Status = %q", p.Status)
		}
		if (p.Status == StatusOK) != (p.Title != "" || p.Description != "" || p.ImageURL != "") {
			t.Fatalf("Status %q does not match content %+v", p.Status, p)
		}
		for _, c := range []struct {
			name, s string
			max     int
		}{{"Title", p.Title, MaxTitleRunes}, {"Description", p.Description, MaxDescriptionRunes}, {"SiteName", p.SiteName, MaxSiteNameRunes}} {
			if !utf8.ValidString(c.s) {
				t.Fatalf("%s is not valid UTF-8: %q", c.name, c.s)
			}
			if n := utf8.RuneCountInString(c.s); n > c.max {
				t.Fatalf("%s has %d runes, over %d", c.name, n, c.max)
			}
			if c.s != strings.TrimSpace(c.s) || strings.Contains(c.s, "  ") {
				t.Fatalf("%s whitespace not collapsed: %q", c.name, c.s)
			}
			for _, r := range c.s {
				if unicode.IsControl(r) || isBidiControl(r) || (unicode.IsSpace(r) && r != ' ') {
					t.Fatalf("%s contains %U: %q", c.name, r, c.s)
				}
			}
		}
		if p.ImageURL != "" {
			u, err := url.Parse(p.ImageURL)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || len(p.ImageURL) > MaxURLBytes {
				t.Fatalf("unsafe image URL %q", p.ImageURL)
			}
		}
	})
}
