package markup

import (
	"bytes"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/yuin/goldmark/ast"
	east "github.com/yuin/goldmark/extension/ast"
	"github.com/yuin/goldmark/renderer"
	"github.com/yuin/goldmark/renderer/html"
	"github.com/yuin/goldmark/util"
)

// htmlRenderer renders every node kind the parser can produce. It replaces goldmark's HTML
// renderer outright instead of patching it, because almost every default differs from what
// a status needs: Mastodon puts no newlines between tags (clients that style content with
// white-space: pre-wrap would show them as blank lines), turns line breaks into <br>, has no
// headings, images or <hr>, and never lets raw HTML through. Writing each case down keeps
// what we emit reviewable in one file.
type htmlRenderer struct{}

// Rel values on links we generate. They match what the sanitiser would force anyway, in the
// same order, so the sanitiser leaves them alone and re-sanitising is a no-op.
const (
	linkAttrs    = ` rel="nofollow noopener noreferrer" target="_blank"`
	hashtagAttrs = ` class="mention hashtag" rel="tag nofollow noopener noreferrer" target="_blank"`
	mentionAttrs = ` class="u-url mention" rel="nofollow noopener noreferrer" target="_blank"`
)

// thematicBreak stands in for <hr>, which no Mastodon client displays.
const thematicBreak = "<p>———</p>"

// textWriter resolves backslash escapes and entity references and HTML-escapes the result;
// it holds no state, so one value serves every goroutine.
var textWriter = html.NewWriter()

func (htmlRenderer) RegisterFuncs(reg renderer.NodeRendererFuncRegisterer) {
	reg.Register(ast.KindDocument, renderNothing)
	reg.Register(ast.KindParagraph, renderTag("<p>", "</p>"))
	reg.Register(ast.KindHeading, renderHeading)
	reg.Register(ast.KindBlockquote, renderTag("<blockquote>", "</blockquote>"))
	reg.Register(ast.KindList, renderList)
	reg.Register(ast.KindListItem, renderTag("<li>", "</li>"))
	reg.Register(ast.KindTextBlock, renderNothing)
	reg.Register(ast.KindThematicBreak, renderTag(thematicBreak, ""))
	reg.Register(ast.KindCodeBlock, renderCodeBlock)
	reg.Register(ast.KindFencedCodeBlock, renderCodeBlock)
	reg.Register(ast.KindHTMLBlock, renderHTMLBlock)
	reg.Register(ast.KindLinkReferenceDefinition, renderSkip)

	reg.Register(ast.KindText, renderText)
	reg.Register(ast.KindString, renderString)
	reg.Register(ast.KindCodeSpan, renderCodeSpan)
	reg.Register(ast.KindEmphasis, renderEmphasis)
	reg.Register(east.KindStrikethrough, renderTag("<del>", "</del>"))
	reg.Register(ast.KindLink, renderLink)
	reg.Register(ast.KindAutoLink, renderAutoLink)
	reg.Register(ast.KindImage, renderImage)
	reg.Register(ast.KindRawHTML, renderRawHTML)
	reg.Register(kindMention, renderMention)
	reg.Register(kindHashtag, renderHashtag)
}

func renderNothing(util.BufWriter, []byte, ast.Node, bool) (ast.WalkStatus, error) {
	return ast.WalkContinue, nil
}

func renderSkip(util.BufWriter, []byte, ast.Node, bool) (ast.WalkStatus, error) {
	return ast.WalkSkipChildren, nil
}

func renderTag(open, close string) renderer.NodeRendererFunc {
	return func(w util.BufWriter, _ []byte, _ ast.Node, entering bool) (ast.WalkStatus, error) {
		if entering {
			_, _ = w.WriteString(open)
		} else {
			_, _ = w.WriteString(close)
		}
		return ast.WalkContinue, nil
	}
}

// renderHeading writes headings as bold paragraphs, as Mastodon shows them; "# " alone
// renders nothing rather than an empty bold paragraph.
func renderHeading(w util.BufWriter, _ []byte, n ast.Node, entering bool) (ast.WalkStatus, error) {
	switch {
	case !n.HasChildren():
		return ast.WalkSkipChildren, nil
	case entering:
		_, _ = w.WriteString("<p><strong>")
	default:
		_, _ = w.WriteString("</strong></p>")
	}
	return ast.WalkContinue, nil
}

func renderList(w util.BufWriter, _ []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
	n := node.(*ast.List)
	switch {
	case !n.IsOrdered() && entering:
		_, _ = w.WriteString("<ul>")
	case !n.IsOrdered():
		_, _ = w.WriteString("</ul>")
	case entering && n.Start != 1:
		_, _ = w.WriteString(`<ol start="` + strconv.Itoa(n.Start) + `">`)
	case entering:
		_, _ = w.WriteString("<ol>")
	default:
		_, _ = w.WriteString("</ol>")
	}
	return ast.WalkContinue, nil
}

func renderCodeBlock(w util.BufWriter, source []byte, n ast.Node, entering bool) (ast.WalkStatus, error) {
	if !entering {
		return ast.WalkContinue, nil
	}
	// No language class: "language-go" is not a class Mastodon keeps, so it would only be
	// stripped again.
	var code []byte
	lines := n.Lines()
	for i := 0; i < lines.Len(); i++ {
		seg := lines.At(i)
		code = append(code, seg.Value(source)...)
	}
	code = bytes.TrimSuffix(code, []byte("\n"))
	_, _ = w.WriteString("<pre><code>")
	textWriter.RawWrite(w, code)
	_, _ = w.WriteString("</code></pre>")
	return ast.WalkSkipChildren, nil
}

// renderHTMLBlock shows raw HTML as the text that was typed. The parser is built without the
// HTML block and raw HTML parsers, so these nodes do not occur; the functions exist so that
// a future parser change cannot fall back to a renderer that passes HTML through.
func renderHTMLBlock(w util.BufWriter, source []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
	if !entering {
		return ast.WalkContinue, nil
	}
	n := node.(*ast.HTMLBlock)
	_, _ = w.WriteString("<p>")
	lines := n.Lines()
	for i := 0; i < lines.Len(); i++ {
		if i > 0 {
			_, _ = w.WriteString("<br>")
		}
		seg := lines.At(i)
		textWriter.RawWrite(w, bytes.TrimRight(seg.Value(source), "\r\n"))
	}
	if n.HasClosure() {
		_, _ = w.WriteString("<br>")
		textWriter.RawWrite(w, bytes.TrimRight(n.ClosureLine.Value(source), "\r\n"))
	}
	_, _ = w.WriteString("</p>")
	return ast.WalkSkipChildren, nil
}

func renderRawHTML(w util.BufWriter, source []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
	if entering {
		n := node.(*ast.RawHTML)
		for i := 0; i < n.Segments.Len(); i++ {
			seg := n.Segments.At(i)
			textWriter.RawWrite(w, seg.Value(source))
		}
	}
	return ast.WalkSkipChildren, nil
}

func renderText(w util.BufWriter, source []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
	if !entering {
		return ast.WalkContinue, nil
	}
	n := node.(*ast.Text)
	if n.IsRaw() {
		textWriter.RawWrite(w, n.Value(source))
	} else {
		textWriter.Write(w, n.Value(source))
	}
	// Like Mastodon, every newline the author typed is a line break.
	if n.SoftLineBreak() || n.HardLineBreak() {
		_, _ = w.WriteString("<br>")
	}
	return ast.WalkContinue, nil
}

func renderString(w util.BufWriter, _ []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
	if !entering {
		return ast.WalkContinue, nil
	}
	n := node.(*ast.String)
	if n.IsCode() || n.IsRaw() {
		textWriter.RawWrite(w, n.Value)
	} else {
		textWriter.Write(w, n.Value)
	}
	return ast.WalkContinue, nil
}

func renderCodeSpan(w util.BufWriter, source []byte, n ast.Node, entering bool) (ast.WalkStatus, error) {
	if !entering {
		return ast.WalkContinue, nil
	}
	_, _ = w.WriteString("<code>")
	for c := n.FirstChild(); c != nil; c = c.NextSibling() {
		var v []byte
		switch t := c.(type) {
		case *ast.Text:
			v = t.Value(source)
		case *ast.String:
			v = t.Value
		}
		if bytes.HasSuffix(v, []byte("\n")) {
			textWriter.RawWrite(w, v[:len(v)-1])
			_ = w.WriteByte(' ')
		} else {
			textWriter.RawWrite(w, v)
		}
	}
	_, _ = w.WriteString("</code>")
	return ast.WalkSkipChildren, nil
}

func renderEmphasis(w util.BufWriter, _ []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
	tag := "em"
	if node.(*ast.Emphasis).Level >= 2 {
		tag = "strong"
	}
	if entering {
		_, _ = w.WriteString("<" + tag + ">")
	} else {
		_, _ = w.WriteString("</" + tag + ">")
	}
	return ast.WalkContinue, nil
}

// linkKind says what safeURL made of a destination.
type linkKind int

const (
	linkNone   linkKind = iota // not a scheme we link: render the text only
	linkWeb                    // http or https with a host
	linkMailto                 // mailto:
)

// safeURL decodes a link destination the way goldmark would (backslash escapes and entity
// references if decode is set, as for [x](dest); percent-encoding of the rest) and decides whether we may link it. The
// decision is made on the decoded form, so &#106;avascript: and JAVASCRIPT: are both seen as
// javascript: and refused. Relative URLs are refused too: they would resolve against
// whichever server displays the post.
func safeURL(dest []byte, decode bool) (string, linkKind) {
	u := string(util.URLEscape(dest, decode))
	p, err := url.Parse(u)
	if err != nil {
		return "", linkNone
	}
	switch p.Scheme { // url.Parse lower-cases the scheme
	case "http", "https":
		if p.Host == "" {
			return "", linkNone
		}
		return u, linkWeb
	case "mailto":
		if p.Opaque == "" {
			return "", linkNone
		}
		return u, linkMailto
	}
	return "", linkNone
}

func openLink(w util.BufWriter, href string, kind linkKind) {
	_, _ = w.WriteString(`<a href="`)
	_, _ = w.Write(util.EscapeHTML([]byte(href)))
	_ = w.WriteByte('"')
	if kind == linkWeb {
		_, _ = w.WriteString(linkAttrs)
	}
	_ = w.WriteByte('>')
}

func renderLink(w util.BufWriter, _ []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
	n := node.(*ast.Link)
	href, kind := safeURL(n.Destination, true)
	if kind == linkNone {
		return ast.WalkContinue, nil // the label survives as text
	}
	if entering {
		openLink(w, href, kind)
	} else {
		_, _ = w.WriteString("</a>")
	}
	return ast.WalkContinue, nil
}

// renderImage links the image instead of embedding it: an <img> would be stripped by every
// Mastodon-compatible server, and embedding lets the author track who reads the post.
func renderImage(w util.BufWriter, source []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
	n := node.(*ast.Image)
	href, kind := safeURL(n.Destination, true)
	if kind == linkNone {
		return ast.WalkContinue, nil // alt text only
	}
	if entering {
		openLink(w, href, kind)
		if n.FirstChild() == nil {
			textWriter.RawWrite(w, []byte(href))
		}
	} else {
		_, _ = w.WriteString("</a>")
	}
	return ast.WalkContinue, nil
}

// autoLinkURL is the URL an autolink points to: linkify adds "http://" to bare www. links.
func autoLinkURL(n *ast.AutoLink, source []byte) []byte {
	if n.AutoLinkType == ast.AutoLinkEmail {
		u := n.URL(source)
		if !bytes.HasPrefix(bytes.ToLower(u), []byte("mailto:")) {
			u = append([]byte("mailto:"), u...)
		}
		return u
	}
	return n.URL(source)
}

func renderAutoLink(w util.BufWriter, source []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
	if !entering {
		return ast.WalkContinue, nil
	}
	n := node.(*ast.AutoLink)
	label := n.Label(source)
	href, kind := safeURL(autoLinkURL(n, source), false)
	switch kind {
	case linkNone:
		textWriter.RawWrite(w, label)
	case linkMailto:
		openLink(w, href, kind)
		textWriter.RawWrite(w, label)
		_, _ = w.WriteString("</a>")
	case linkWeb:
		openLink(w, href, kind)
		writeShortURL(w, string(label))
		_, _ = w.WriteString("</a>")
	}
	return ast.WalkSkipChildren, nil
}

// displayURLLen is how many characters of a bare URL Mastodon shows before the ellipsis.
const displayURLLen = 30

// writeShortURL writes a bare URL the way Mastodon's TextFormatter does: the scheme and
// "www." hidden, the first 30 characters shown, the rest hidden behind an ellipsis. The
// whole URL stays in the text, so copying it or indexing it loses nothing.
func writeShortURL(w util.BufWriter, label string) {
	prefix := ""
	lower := strings.ToLower(label)
	for _, p := range []string{"https://www.", "http://www.", "https://", "http://"} {
		if strings.HasPrefix(lower, p) {
			prefix = label[:len(p)]
			break
		}
	}
	rest := label[len(prefix):]
	display, suffix := rest, ""
	if utf8.RuneCountInString(rest) > displayURLLen {
		cut, count := 0, 0
		for cut = range rest {
			if count == displayURLLen {
				break
			}
			count++
		}
		display, suffix = rest[:cut], rest[cut:]
	}
	_, _ = w.WriteString(`<span class="invisible">`)
	textWriter.RawWrite(w, []byte(prefix))
	if suffix != "" {
		_, _ = w.WriteString(`</span><span class="ellipsis">`)
	} else {
		_, _ = w.WriteString(`</span><span>`)
	}
	textWriter.RawWrite(w, []byte(display))
	_, _ = w.WriteString(`</span><span class="invisible">`)
	textWriter.RawWrite(w, []byte(suffix))
	_, _ = w.WriteString(`</span>`)
}

func renderMention(w util.BufWriter, source []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
	if !entering {
		return ast.WalkContinue, nil
	}
	n := node.(*mentionNode)
	if n.Href == "" {
		textWriter.RawWrite(w, n.Raw.Value(source))
		return ast.WalkSkipChildren, nil
	}
	// Mastodon shows only the username, even for remote accounts; the link carries the rest.
	_, _ = w.WriteString(`<span class="h-card" translate="no"><a href="`)
	_, _ = w.Write(util.EscapeHTML([]byte(n.Href)))
	_, _ = w.WriteString(`"` + mentionAttrs + `>@<span>`)
	textWriter.RawWrite(w, []byte(n.Username))
	_, _ = w.WriteString(`</span></a></span>`)
	return ast.WalkSkipChildren, nil
}

func renderHashtag(w util.BufWriter, source []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
	if !entering {
		return ast.WalkContinue, nil
	}
	n := node.(*hashtagNode)
	if n.Href == "" {
		textWriter.RawWrite(w, n.Raw.Value(source))
		return ast.WalkSkipChildren, nil
	}
	_, _ = w.WriteString(`<a href="`)
	_, _ = w.Write(util.EscapeHTML([]byte(n.Href)))
	_, _ = w.WriteString(`"` + hashtagAttrs + `>#<span>`)
	textWriter.RawWrite(w, n.Name)
	_, _ = w.WriteString(`</span></a>`)
	return ast.WalkSkipChildren, nil
}
