package markup

import (
	"bytes"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/microcosm-cc/bluemonday"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// MaxRemoteHTMLLen caps the remote HTML SanitizeRemote looks at. Mastodon's own limit on a
// status is 500 characters; 100 KiB leaves room for long-form servers while bounding the
// ~60 µs/KB the sanitiser costs.
const MaxRemoteHTMLLen = 100 << 10

// remoteSchemes are Mastodon 4.2's LINK_PROTOCOLS. mailto is deliberately absent, as there.
// (Functions rather than package variables, so that nothing can change them at run time.)
func remoteSchemes() []string {
	return []string{"http", "https", "dat", "dweb", "ipfs", "ipns", "ssb", "gopher", "xmpp", "magnet", "gemini"}
}

// localSchemes are what Render links. Local posts may link e-mail addresses; everything else
// a person might type in [x](…) is refused by the renderer before the sanitiser sees it.
func localSchemes() []string { return []string{"http", "https", "mailto"} }

// allowedClass is Mastodon's class whitelist: microformats prefixes plus the semantic and
// link-shortening classes clients style. Anything else (a server's own styling hooks, or
// classes chosen to mimic our UI) is dropped.
func allowedClass(c string) bool {
	switch c {
	case "mention", "hashtag", "ellipsis", "invisible":
		return true
	}
	rest, ok := "", false
	for _, p := range []string{"h-", "p-", "u-", "dt-", "e-"} {
		if strings.HasPrefix(c, p) {
			rest, ok = c[len(p):], true
			break
		}
	}
	if !ok {
		return false
	}
	for i := 0; i < len(rest); i++ {
		if b := rest[i]; !(b == '-' || b == '_' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9') {
			return false
		}
	}
	return true
}

// The regular expressions below repeat allowedClass and the rel normalisation for
// bluemonday. The pre-pass already produces only these values; the policy checks again so
// that a bug in the pre-pass cannot widen what gets through.
var (
	classListRe = regexp.MustCompile(`^(?:(?:h|p|u|dt|e)-[A-Za-z0-9_-]*|mention|hashtag|ellipsis|invisible)(?: (?:(?:h|p|u|dt|e)-[A-Za-z0-9_-]*|mention|hashtag|ellipsis|invisible))*$`)
	relRe       = regexp.MustCompile(`^(?:tag )?nofollow noopener noreferrer$`)
	translateRe = regexp.MustCompile(`^(?:yes|no)$`)
	reversedRe  = regexp.MustCompile(`^(?:|reversed)$`)
)

// newPolicy builds the output policy shared by local and remote content; only the link
// schemes differ.
func newPolicy(schemes []string) *bluemonday.Policy {
	p := bluemonday.NewPolicy()
	p.AllowElements("p", "br", "span", "del", "s", "pre", "code", "em", "strong", "b", "i", "u",
		"ul", "ol", "li", "blockquote")
	p.AllowAttrs("href").OnElements("a")
	p.AllowAttrs("rel").Matching(relRe).OnElements("a")
	p.AllowAttrs("class").Matching(classListRe).OnElements("a", "span")
	p.AllowAttrs("translate").Matching(translateRe).OnElements("a", "span")
	p.AllowAttrs("start").Matching(bluemonday.Integer).OnElements("ol")
	p.AllowAttrs("reversed").Matching(reversedRe).OnElements("ol")
	p.AllowAttrs("value").Matching(bluemonday.Integer).OnElements("li")
	p.AllowURLSchemes(schemes...)
	p.RequireParseableURLs(true)
	p.AllowRelativeURLs(false)
	p.RequireNoFollowOnLinks(true)
	p.RequireNoReferrerOnLinks(true)
	// bluemonday only adds noopener together with target="_blank"; asking for the target
	// is how noopener gets forced on every external link.
	p.AddTargetBlankToFullyQualifiedLinks(true)
	return p
}

// SanitizeRemote makes HTML from another server safe to store and display, following
// Mastodon 4.2's policy so that content looks the same here as on Mastodon. Use it on a
// remote object's content, summary and PropertyValue values, once, when they arrive.
//
// NUL bytes are removed and input beyond MaxRemoteHTMLLen is cut (at a character boundary
// and outside any tag) before anything else, so over-long input still yields clean,
// truncated HTML rather than an error.
func (r *Renderer) SanitizeRemote(s string) string {
	s = strings.ReplaceAll(s, "\x00", "")
	s = truncateHTML(s, MaxRemoteHTMLLen)
	s = strings.ToValidUTF8(s, "\uFFFD")
	return r.remote.Sanitize(normalizeRemote(s))
}

// truncateHTML cuts s to at most n bytes without splitting a UTF-8 sequence or leaving half
// a tag at the end (normalizeRemote closes whatever elements the cut left open).
func truncateHTML(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	s = s[:n]
	if lt := strings.LastIndexByte(s, '<'); lt > strings.LastIndexByte(s, '>') {
		s = s[:lt]
	}
	return s
}

// openElem is an element normalizeRemote has opened. emit is false for an <a> that was
// unwrapped: its end tag must disappear with it.
type openElem struct {
	name atom.Atom
	emit bool
}

// maxRemoteNesting bounds element depth in remote HTML. Real statuses nest four or five
// levels; thousands of nested <blockquote>s are only there to make browsers struggle.
const maxRemoteNesting = 32

// tracked reports whether the policy keeps element a. normalizeRemote balances these so
// that stored HTML can be pasted into any page without a stray </blockquote> or </li>
// closing an element of the page around it, or an unclosed <a> swallowing the rest of a
// timeline.
func tracked(a atom.Atom) bool {
	switch a {
	case atom.P, atom.Span, atom.A, atom.Del, atom.S, atom.Pre, atom.Code, atom.Em, atom.Strong,
		atom.B, atom.I, atom.U, atom.Ul, atom.Ol, atom.Li, atom.Blockquote:
		return true
	}
	return isHeading(a)
}

func isHeading(a atom.Atom) bool {
	switch a {
	case atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6:
		return true
	}
	return false
}

// normalizeRemote applies the parts of Mastodon's sanitiser that are rewrites rather than
// filters, which bluemonday cannot express:
//   - h1–h6 become <p><strong> (no client styles headings inside a status);
//   - class lists keep only the allowed classes instead of losing the whole attribute, so
//     class="u-url mention custom" stays a mention;
//   - rel keeps only "tag" and gains "nofollow noopener noreferrer";
//   - <a> with a scheme we do not link (or a relative href) is unwrapped, keeping its text;
//   - tracked elements are balanced: stray end tags dropped, unclosed ones closed at the end;
//   - tracked elements nested deeper than maxRemoteNesting are dropped, keeping their text;
//   - raw text elements (script, style, textarea, …) are removed here, see rawTextElement.
//
// Everything else is passed through for bluemonday to judge. Both use the same tokenizer,
// so they cannot disagree about where a tag starts or ends.
func normalizeRemote(s string) string {
	z := html.NewTokenizer(strings.NewReader(s))
	var b strings.Builder
	b.Grow(len(s) + len(s)/8)
	var stack []openElem
	var inRaw atom.Atom // the raw text element (script, style, …) being skipped, if any
	closeElem := func(e openElem) {
		switch {
		case !e.emit:
		case isHeading(e.name):
			b.WriteString("</strong></p>")
		default:
			b.WriteString("</" + e.name.String() + ">")
		}
	}
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			// io.EOF, or a tokenizer limit: either way, close what is open and stop.
			for i := len(stack) - 1; i >= 0; i-- {
				closeElem(stack[i])
			}
			return b.String()
		case html.CommentToken, html.DoctypeToken:
			// Dropped here as bluemonday would drop them.
		case html.TextToken:
			if inRaw != 0 {
				if keepsText(inRaw) {
					b.WriteString(html.EscapeString(string(z.Text())))
				}
				continue
			}
			// Most text has nothing to decode or escape; copying it saves a decode and an
			// encode per text run, a good part of this pass's cost.
			if raw := z.Raw(); bytes.IndexAny(raw, "&<>") < 0 {
				b.Write(raw)
			} else {
				b.WriteString(html.EscapeString(string(z.Text())))
			}
		case html.EndTagToken:
			if inRaw != 0 {
				inRaw = 0 // the tokenizer ends raw text only at its own end tag
				continue
			}
			name, _ := z.TagName()
			a := atom.Lookup(name)
			if !tracked(a) {
				b.WriteString("</")
				b.Write(name)
				b.WriteByte('>')
				continue
			}
			i := len(stack) - 1
			for i >= 0 && stack[i].name != a {
				i--
			}
			if i < 0 {
				continue // stray end tag
			}
			for j := len(stack) - 1; j >= i; j-- {
				closeElem(stack[j])
			}
			stack = stack[:i]
		case html.StartTagToken, html.SelfClosingTagToken:
			tok := z.Token()
			if rawTextElement(tok.DataAtom) {
				inRaw = tok.DataAtom
				continue
			}
			if tok.DataAtom == atom.Br {
				b.WriteString("<br>")
				continue
			}
			if !tracked(tok.DataAtom) {
				writeStartTag(&b, tok.Data, tok.Attr)
				continue
			}
			e := openElem{name: tok.DataAtom, emit: true}
			switch {
			case len(stack) >= maxRemoteNesting:
				e.emit = false // too deep: keep the text, drop the element
			case isHeading(tok.DataAtom):
				b.WriteString("<p><strong>")
			case tok.DataAtom == atom.A && !remoteHrefOK(tok.Attr):
				e.emit = false
			default:
				writeStartTag(&b, tok.Data, normalizeAttrs(tok.DataAtom, tok.Attr))
			}
			if tt == html.SelfClosingTagToken {
				closeElem(e) // <p/> means nothing in HTML; keep it empty rather than open
				continue
			}
			stack = append(stack, e)
		}
	}
}

// rawTextElement reports whether the tokenizer reads a's content as text up to its end tag
// (or to the end of input). normalizeRemote removes these elements itself instead of
// leaving them to bluemonday: a <script> left open would swallow the end tags appended to
// balance the document, and bluemonday would then drop them with the script's content.
func rawTextElement(a atom.Atom) bool {
	switch a {
	case atom.Script, atom.Style, atom.Iframe, atom.Noembed, atom.Noframes, atom.Noscript,
		atom.Title, atom.Textarea, atom.Xmp, atom.Plaintext:
		return true
	}
	return false
}

// keepsText reports whether a raw text element's content is shown to readers and so kept
// as text; the others hold code, styles, or fallbacks for features we do not offer.
func keepsText(a atom.Atom) bool {
	return a == atom.Textarea || a == atom.Xmp || a == atom.Plaintext
}

// writeStartTag is html.Token.String for a start tag, without its intermediate copies.
// Self-closing tags are written as start tags: normalizeRemote closes them itself.
func writeStartTag(b *strings.Builder, name string, attrs []html.Attribute) {
	b.WriteByte('<')
	b.WriteString(name)
	for _, a := range attrs {
		b.WriteByte(' ')
		b.WriteString(a.Key)
		b.WriteString(`="`)
		b.WriteString(html.EscapeString(a.Val))
		b.WriteByte('"')
	}
	b.WriteByte('>')
}

// remoteHrefOK mirrors Mastodon's UNSUPPORTED_HREF_TRANSFORMER: a link is kept only if its
// href parses (as bluemonday will parse it) and uses one of the remote schemes.
func remoteHrefOK(attrs []html.Attribute) bool {
	for _, a := range attrs {
		if a.Key != "href" {
			continue
		}
		v := strings.TrimSpace(a.Val)
		if strings.ContainsAny(v, " \t\n") {
			return false
		}
		u, err := url.Parse(v)
		if err != nil || u.Scheme == "" {
			return false
		}
		return slices.Contains(remoteSchemes(), u.Scheme)
	}
	return false
}

// normalizeAttrs filters class lists and rewrites rel; bluemonday removes what remains
// disallowed.
func normalizeAttrs(el atom.Atom, attrs []html.Attribute) []html.Attribute {
	tag := false
	for _, a := range attrs {
		if a.Key == "rel" && hasToken(a.Val, "tag") {
			tag = true
		}
	}
	out := attrs[:0] // filtering in place: attrs is not read again
	for _, a := range attrs {
		switch a.Key {
		case "rel":
			continue // rewritten below, once
		case "class":
			var keep []string
			for _, c := range strings.Fields(a.Val) {
				if allowedClass(c) {
					keep = append(keep, c)
				}
			}
			if len(keep) == 0 {
				continue
			}
			a.Val = strings.Join(keep, " ")
		}
		out = append(out, a)
	}
	if el == atom.A {
		rel := "nofollow noopener noreferrer"
		if tag {
			rel = "tag " + rel
		}
		out = append(out, html.Attribute{Key: "rel", Val: rel})
	}
	return out
}

// hasToken reports whether the space-separated list v contains t (case-insensitively, as
// rel values are).
func hasToken(v, t string) bool {
	for _, f := range strings.Fields(v) {
		if strings.EqualFold(f, t) {
			return true
		}
	}
	return false
}
