package markup

import (
	"net/url"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// testRenderer knows three accounts, like a node whose account cache has them: local alice
// and carol, remote bob@partner.example. Everyone else is unknown.
func testRenderer() *Renderer {
	return New(Options{
		LocalHost: "acme.example",
		TagURL:    func(tag string) string { return "https://acme.example/tags/" + url.PathEscape(tag) },
		ProfileURL: func(m Mention) string {
			switch strings.ToLower(m.Acct()) {
			case "alice", "carol":
				return "https://acme.example/@" + strings.ToLower(m.Username)
			case "bob@partner.example":
				return "https://partner.example/@bob"
			}
			return ""
		},
	})
}

// Elements and attributes the output may contain. This restates the policy independently of
// sanitize.go, so a mistake there shows up here.
var allowedOutput = map[string]map[string]bool{
	"p": {}, "br": {}, "del": {}, "s": {}, "pre": {}, "code": {}, "em": {}, "strong": {},
	"b": {}, "i": {}, "u": {}, "ul": {}, "blockquote": {},
	"span": {"class": true, "translate": true},
	"a":    {"href": true, "rel": true, "class": true, "translate": true, "target": true},
	"ol":   {"start": true, "reversed": true},
	"li":   {"value": true},
}

var allowedSchemes = map[string]bool{
	"http": true, "https": true, "mailto": true, "dat": true, "dweb": true, "ipfs": true,
	"ipns": true, "ssb": true, "gopher": true, "xmpp": true, "magnet": true, "gemini": true,
}

// Patterns that must never appear inside a tag. They are checked on tags only, not on the
// whole output: a post that says "<img onerror=…>" must show exactly that text, escaped, and
// escaped text is harmless.
var tagDanger = regexp.MustCompile(`(?i)javascript:|vbscript:|data:|\son[a-z]+\s*=|style\s*=`)

// checkSafeHTML fails t unless out is made only of allowed elements and attributes, with
// links in allowed schemes, and contains no "<script" anywhere. With strict, tags must also
// not contain tagDanger; fuzzing leaves that out because a harmless
// href="https://x.example/data:" would match it.
func checkSafeHTML(t testing.TB, in, out string, strict bool) {
	t.Helper()
	if strings.Contains(strings.ToLower(out), "<script") {
		t.Fatalf("<script in output\nin:  %q\nout: %q", in, out)
	}
	z := html.NewTokenizer(strings.NewReader(out))
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return
		case html.CommentToken, html.DoctypeToken:
			t.Fatalf("comment or doctype in output\nin:  %q\nout: %q", in, out)
		case html.StartTagToken, html.SelfClosingTagToken, html.EndTagToken:
			raw := string(z.Raw())
			tok := z.Token()
			attrs, ok := allowedOutput[tok.Data]
			if tok.Data == "a" {
				ok = true
			}
			if !ok {
				t.Fatalf("element %q in output\nin:  %q\nout: %q", tok.Data, in, out)
			}
			if tt == html.EndTagToken {
				continue
			}
			if m := tagDanger.FindString(raw); strict && m != "" {
				t.Fatalf("%q inside tag %s\nin:  %q\nout: %q", m, raw, in, out)
			}
			for _, a := range tok.Attr {
				if !attrs[a.Key] {
					t.Fatalf("attribute %s on <%s> in output\nin:  %q\nout: %q", a.Key, tok.Data, in, out)
				}
				if a.Key == "href" {
					u, err := url.Parse(a.Val)
					if err != nil || !allowedSchemes[u.Scheme] {
						t.Fatalf("href %q in output\nin:  %q\nout: %q", a.Val, in, out)
					}
				}
			}
		}
	}
}
