package previews

import (
	"bytes"
	"net/url"
	"strings"
	"unicode"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// Limits on what is read and kept. The text caps keep a card readable and bound what a
// hostile page can make the node store and every timeline render.
const (
	// MaxPageBytes is how much of a page is read and parsed. <head> comes first, so the
	// metadata of any sane page is well inside it.
	MaxPageBytes = 512 << 10
	// MaxTitleRunes caps Preview.Title.
	MaxTitleRunes = 200
	// MaxDescriptionRunes caps Preview.Description.
	MaxDescriptionRunes = 500
	// MaxSiteNameRunes caps Preview.SiteName.
	MaxSiteNameRunes = 100
	// MaxURLBytes caps stored URLs (the link and the image). PostgreSQL cannot index a
	// btree key much over 2.7 kB, and no real preview needs a longer URL.
	MaxURLBytes = 2048

	// maxValuesPerKey bounds how many values of one meta key are remembered, so a page that
	// repeats og:image thousands of times costs no more than one that says it once.
	maxValuesPerKey = 4
)

// Meta keys in order of preference for each field. OpenGraph is what most sites maintain;
// the Twitter card tags are the common fallback, and the plain HTML <title> and meta
// description come last (the title is handled separately because it is an element).
var (
	titleKeys       = []string{"og:title", "twitter:title"}
	descriptionKeys = []string{"og:description", "twitter:description", "description"}
	imageKeys       = []string{"og:image", "og:image:url", "og:image:secure_url", "twitter:image", "twitter:image:src"}
	siteNameKeys    = []string{"og:site_name"}
)

// wanted is the set of meta keys Parse remembers; anything else is skipped.
var wanted = func() map[string]bool {
	m := map[string]bool{}
	for _, ks := range [][]string{titleKeys, descriptionKeys, imageKeys, siteNameKeys} {
		for _, k := range ks {
			m[k] = true
		}
	}
	return m
}()

// Parse extracts a preview from an HTML document. pageURL is the URL the document was
// finally served from (after redirects): relative image URLs resolve against it, or against
// the document's <base href> when it has one, as a browser would. It reads at most
// MaxPageBytes and stops at the end of <head> (or the start of <body>), because metadata
// elsewhere is not metadata: an <svg><title> in the body is an icon's tooltip, not the
// page's title.
//
// The result has Status StatusOK when a title, description or image was found, StatusNone
// otherwise, and URL set to pageURL. Parse never fails: garbage in gives a "none" preview.
func Parse(pageURL string, body []byte) Preview {
	if len(body) > MaxPageBytes {
		body = body[:MaxPageBytes]
	}
	if bytes.IndexByte(body, 0) >= 0 {
		// NUL is never meaningful in HTML, and the tokenizer would turn it into U+FFFD in
		// some places (inside <title>), where it could no longer be told from real text.
		body = bytes.ReplaceAll(body, []byte{0}, nil)
	}
	var (
		meta     = map[string][]string{}
		docTitle string
		haveDoc  bool
		baseHref string
		haveBase bool
		svgDepth int
	)
	z := html.NewTokenizer(bytes.NewReader(body))
scan:
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			break scan // io.EOF or a read error; either way the document is over
		case html.StartTagToken, html.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			switch atom.Lookup(name) {
			case atom.Body:
				break scan
			case atom.Svg:
				if tt == html.StartTagToken {
					svgDepth++
				}
			case atom.Title:
				if tt != html.StartTagToken || haveDoc || svgDepth > 0 {
					continue
				}
				// The tokenizer reads <title> as escapable raw text, so its whole content
				// is the next token, already entity-decoded.
				switch z.Next() {
				case html.TextToken:
					docTitle, haveDoc = string(z.Text()), true
				case html.ErrorToken:
					break scan
				}
			case atom.Meta:
				if hasAttr {
					readMeta(z, meta)
				}
			case atom.Base:
				if hasAttr && !haveBase {
					// Only the first <base href> counts, as in a browser.
					if href, ok := attr(z, "href"); ok {
						baseHref, haveBase = href, true
					}
				}
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			switch atom.Lookup(name) {
			case atom.Head:
				break scan
			case atom.Svg:
				if svgDepth > 0 {
					svgDepth--
				}
			}
		}
	}

	p := Preview{URL: pageURL}
	p.Title = firstText(meta, titleKeys, MaxTitleRunes)
	if p.Title == "" && haveDoc {
		p.Title = cleanText(docTitle, MaxTitleRunes)
	}
	p.Description = firstText(meta, descriptionKeys, MaxDescriptionRunes)
	p.SiteName = firstText(meta, siteNameKeys, MaxSiteNameRunes)

	base := httpURL(pageURL, nil)
	if haveBase {
		if b := httpURL(baseHref, base); b != nil {
			base = b
		}
	}
	for _, k := range imageKeys {
		for _, v := range meta[k] {
			if u := httpURL(v, base); u != nil {
				if s := u.String(); len(s) <= MaxURLBytes {
					p.ImageURL = s
					break
				}
			}
		}
		if p.ImageURL != "" {
			break
		}
	}

	p.Status = StatusNone
	if p.Title != "" || p.Description != "" || p.ImageURL != "" {
		p.Status = StatusOK
	}
	return p
}

// readMeta records a <meta> tag's content under its property or name. Sites use both
// attributes for both vocabularies (name="og:title" is common), so either is accepted.
func readMeta(z *html.Tokenizer, meta map[string][]string) {
	var keys [2]string
	var content string
	var haveContent bool
	for {
		k, v, more := z.TagAttr()
		switch string(k) { // the tokenizer lower-cases attribute names
		case "property":
			keys[0] = strings.ToLower(strings.TrimSpace(string(v)))
		case "name":
			keys[1] = strings.ToLower(strings.TrimSpace(string(v)))
		case "content":
			if !haveContent {
				content, haveContent = string(v), true
			}
		}
		if !more {
			break
		}
	}
	if !haveContent {
		return
	}
	for i, k := range keys {
		if k == "" || !wanted[k] || (i == 1 && k == keys[0]) {
			continue
		}
		if len(meta[k]) < maxValuesPerKey {
			meta[k] = append(meta[k], content)
		}
	}
}

// attr returns the value of the named attribute of the current tag.
func attr(z *html.Tokenizer, name string) (string, bool) {
	for {
		k, v, more := z.TagAttr()
		if string(k) == name {
			return string(v), true
		}
		if !more {
			return "", false
		}
	}
}

// firstText returns the first value, in key order, that is not empty once cleaned.
func firstText(meta map[string][]string, keys []string, maxRunes int) string {
	for _, k := range keys {
		for _, v := range meta[k] {
			if s := cleanText(v, maxRunes); s != "" {
				return s
			}
		}
	}
	return ""
}

// httpURL parses raw (resolving it against base when it is relative) and returns it only
// when it is an absolute http(s) URL with a host and no userinfo. Everything else
// (javascript:, data:, file:, a relative URL with nothing to resolve against) is dropped:
// an image URL ends up in an <img src>, and userinfo only ever serves to disguise a host.
func httpURL(raw string, base *url.URL) *url.URL {
	raw = strings.TrimSpace(raw)
	if raw == "" || len(raw) > MaxURLBytes {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil
	}
	if !u.IsAbs() {
		if base == nil {
			return nil
		}
		u = base.ResolveReference(u)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return nil
	}
	return u
}

// cleanText makes page text safe and tidy to show: invalid UTF-8 is replaced, control
// characters (NUL included) and bidi embedding/override/isolate controls are removed (an
// unbalanced override would reverse the text around the card), runs of whitespace become
// one space, and the result is cut to maxRunes runes, ending in "…" when cut. Entities are
// already decoded by the tokenizer and are not decoded twice: "&amp;amp;" stays "&amp;".
func cleanText(s string, maxRunes int) string {
	out := make([]rune, 0, min(len(s), maxRunes+1))
	space := false
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		switch {
		case unicode.IsSpace(r):
			space = len(out) > 0
			continue
		case unicode.IsControl(r), isBidiControl(r):
			continue
		}
		if space {
			out = append(out, ' ')
			space = false
		}
		out = append(out, r)
		if len(out) > maxRunes {
			// One rune over is enough to know it must be cut.
			out = append(out[:maxRunes-1], '…')
			if maxRunes > 1 && out[maxRunes-2] == ' ' {
				out = append(out[:maxRunes-2], '…')
			}
			break
		}
	}
	return string(out)
}

// isBidiControl reports the explicit directional embedding, override and isolate
// characters (LRE, RLE, PDF, LRO, RLO, LRI, RLI, FSI, PDI). The implicit marks (LRM, RLM)
// are harmless and legitimately used in right-to-left titles, so they stay.
func isBidiControl(r rune) bool {
	return (r >= '\u202A' && r <= '\u202E') || (r >= '\u2066' && r <= '\u2069')
}
