package markup

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/microcosm-cc/bluemonday"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/renderer"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
)

// Limits on local posts.
const (
	// MaxSourceLen is the longest Markdown source Render accepts, in bytes. It bounds the
	// parser's work per request; the product limit on post length is far lower.
	MaxSourceLen = 50_000
	// MaxMentions and MaxTags are how many distinct mentions and hashtags one post may
	// carry; later ones stay plain text. A post mentioning hundreds of accounts is spam,
	// and each mention costs a lookup and a delivery.
	MaxMentions = 50
	MaxTags     = 50
)

// ErrTooLong is wrapped by Render's error for source over MaxSourceLen.
var ErrTooLong = errors.New("markup: text too long")

// Options configures a Renderer. The functions are called during Render and must be safe
// for concurrent use.
type Options struct {
	// LocalHost is this node's host, e.g. "acme.example". A mention written
	// @alice@acme.example is treated as the local @alice.
	LocalHost string
	// TagURL returns the link for a hashtag, given the lower-cased tag exactly as typed
	// (not URL-escaped: escape it when building the URL). Nil means
	// https://LocalHost/tags/<escaped tag>; if LocalHost is empty too, tags stay text.
	TagURL func(tag string) string
	// ProfileURL returns the profile link for a mention. "" means the account is not
	// known, and the mention stays plain text and out of Result.Mentions. Nil means no
	// mention is linked. It is called once per distinct mention (case-insensitively),
	// for at most MaxMentions of them, and should not block on the network: resolve
	// unknown accounts beforehand with the list from Extract.
	ProfileURL func(m Mention) string
}

// Mention is an account named in a post.
type Mention struct {
	Username string
	Host     string // "" for this node; otherwise lower-case
}

// Acct is the WebFinger-style account name: "user" locally, "user@host" otherwise.
func (m Mention) Acct() string {
	if m.Host == "" {
		return m.Username
	}
	return m.Username + "@" + m.Host
}

// Result is a rendered local post.
type Result struct {
	HTML     string    // sanitised HTML in Mastodon's shape (<p>, <br>, <a>, <span class="h-card">…)
	Text     string    // the same content as plain text, for search and notifications
	Mentions []Mention // linked mentions, in order of appearance, deduplicated case-insensitively
	Tags     []string  // lower-cased hashtags, in order, deduplicated
	Links    []string  // http(s) URLs the author linked, in order, deduplicated, for previews
}

// Renderer renders local posts and sanitises remote HTML. Build it once with New; it is safe
// for concurrent use.
type Renderer struct {
	opts     Options
	parser   parser.Parser
	renderer renderer.Renderer
	local    *bluemonday.Policy // output of Render: http, https, mailto
	remote   *bluemonday.Policy // SanitizeRemote: Mastodon's scheme list
}

// neverMatch disables linkify's bare e-mail detection. Mastodon does not link addresses
// typed in a post, and an address should not become a mailto: link nobody asked for.
var neverMatch = regexp.MustCompile(`^\b\B`)

// New builds a Renderer. Building the parser and the two sanitiser policies is the
// expensive part, which is why it happens once here and not per call.
func New(o Options) *Renderer {
	o.LocalHost = strings.ToLower(o.LocalHost)
	if o.TagURL == nil && o.LocalHost != "" {
		base := "https://" + o.LocalHost + "/tags/"
		o.TagURL = func(tag string) string { return base + url.PathEscape(tag) }
	}

	// CommonMark's block parsers minus two. HTML blocks: raw HTML is shown as typed, never
	// interpreted. Indented code blocks: people indent text in a post for other reasons,
	// and fenced blocks are the explicit way to write code; indented lines become ordinary
	// paragraphs instead.
	blocks := []util.PrioritizedValue{
		util.Prioritized(parser.NewSetextHeadingParser(), 100),
		util.Prioritized(parser.NewThematicBreakParser(), 200),
		util.Prioritized(nestingLimit{parser.NewListParser(), ast.KindList}, 300),
		util.Prioritized(parser.NewListItemParser(), 400),
		util.Prioritized(parser.NewATXHeadingParser(), 600),
		util.Prioritized(parser.NewFencedCodeBlockParser(), 700),
		util.Prioritized(nestingLimit{parser.NewBlockquoteParser(), ast.KindBlockquote}, 800),
		util.Prioritized(indentedParagraphParser{parser.NewParagraphParser()}, 1000),
	}
	// CommonMark's inline parsers minus raw HTML, so "<b>" is text, plus ours.
	inlines := []util.PrioritizedValue{
		util.Prioritized(parser.NewCodeSpanParser(), 100),
		util.Prioritized(parser.NewLinkParser(), 200),
		util.Prioritized(parser.NewAutoLinkParser(), 300),
		util.Prioritized(parser.NewEmphasisParser(), 500),
		util.Prioritized(extension.NewStrikethroughParser(), 500),
		util.Prioritized(mentionParser{}, 600),
		util.Prioritized(hashtagParser{}, 600),
		util.Prioritized(extension.NewLinkifyParser(
			extension.WithLinkifyAllowedProtocols([]string{"http:", "https:"}),
			extension.WithLinkifyEmailRegexp(neverMatch),
		), 999),
	}
	return &Renderer{
		opts: o,
		parser: parser.NewParser(
			parser.WithBlockParsers(blocks...),
			parser.WithInlineParsers(inlines...),
			parser.WithParagraphTransformers(parser.DefaultParagraphTransformers()...),
			parser.WithASTTransformers(util.Prioritized(textMerger{}, 100)),
		),
		renderer: renderer.NewRenderer(renderer.WithNodeRenderers(util.Prioritized(htmlRenderer{}, 100))),
		local:    newPolicy(localSchemes()),
		remote:   newPolicy(remoteSchemes()),
	}
}

// prepare cleans source the way every entry point needs: no NUL (PostgreSQL text cannot hold
// it), valid UTF-8 (the same), and \n line endings so that a post typed on Windows breaks
// lines the same way.
func prepare(src string) []byte {
	src = strings.ReplaceAll(src, "\x00", "")
	src = strings.ToValidUTF8(src, "\uFFFD")
	src = strings.ReplaceAll(src, "\r\n", "\n")
	return []byte(strings.ReplaceAll(src, "\r", "\n"))
}

// Render turns a local post's Markdown into sanitised HTML and extracts what the post refers
// to. It fails only for source over MaxSourceLen (the error wraps ErrTooLong).
func (r *Renderer) Render(src string) (Result, error) {
	if len(src) > MaxSourceLen {
		return Result{}, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLong, len(src), MaxSourceLen)
	}
	source := prepare(src)
	doc := r.parser.Parse(text.NewReader(source))
	res := r.collect(doc, source, true)

	var buf bytes.Buffer
	buf.Grow(2 * len(source))
	if err := r.renderer.Render(&buf, source, doc); err != nil {
		return Result{}, fmt.Errorf("markup: render: %w", err)
	}
	// Defense in depth: the renderer above only writes allowed markup, but it is code we
	// own and may get wrong; the sanitiser is the single authority on what is allowed.
	res.HTML = r.local.Sanitize(buf.String())
	res.Text = PlainText(res.HTML)
	return res, nil
}

// Extract lists the mentions and hashtags in src without rendering, e.g. to resolve remote
// accounts before calling Render. It reports every syntactic mention (up to MaxMentions),
// whether or not the account exists. Source that Render would reject yields nothing.
func (r *Renderer) Extract(src string) (mentions []Mention, tags []string) {
	if len(src) > MaxSourceLen {
		return nil, nil
	}
	source := prepare(src)
	res := r.collect(r.parser.Parse(text.NewReader(source)), source, false)
	return res.Mentions, res.Tags
}

// collect walks the parsed post in document order, applying the per-post limits and
// deduplication, and (when resolve is set) deciding which mentions and tags become links.
// The decisions are stored on the nodes, so rendering itself needs no per-call state.
func (r *Renderer) collect(doc ast.Node, source []byte, resolve bool) Result {
	var res Result
	mentionHref := map[string]string{} // lower-case acct -> href ("" = stays text)
	tagHref := map[string]string{}
	seenLink := map[string]bool{}
	addLink := func(dest []byte, decode bool) {
		if u, kind := safeURL(dest, decode); kind == linkWeb && !seenLink[u] {
			seenLink[u] = true
			res.Links = append(res.Links, u)
		}
	}
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch n := n.(type) {
		case *mentionNode:
			if n.Host == r.opts.LocalHost {
				n.Host = ""
			}
			key := strings.ToLower(n.Acct())
			href, seen := mentionHref[key]
			if !seen && len(mentionHref) < MaxMentions {
				if resolve && r.opts.ProfileURL != nil {
					href = r.opts.ProfileURL(n.Mention)
				}
				mentionHref[key] = href
				if href != "" || !resolve {
					res.Mentions = append(res.Mentions, n.Mention)
				}
			}
			n.Href = href
		case *hashtagNode:
			tag := strings.ToLower(string(n.Name))
			href, seen := tagHref[tag]
			if !seen && len(tagHref) < MaxTags {
				if resolve && r.opts.TagURL != nil {
					href = r.opts.TagURL(tag)
				}
				tagHref[tag] = href
				res.Tags = append(res.Tags, tag)
			}
			n.Href = href
		case *ast.Link:
			addLink(n.Destination, true)
		case *ast.Image:
			addLink(n.Destination, true)
		case *ast.AutoLink:
			if n.AutoLinkType == ast.AutoLinkURL {
				addLink(n.URL(source), false)
			}
		}
		return ast.WalkContinue, nil
	})
	return res
}

// indentedParagraphParser is goldmark's paragraph parser, also accepting lines indented by
// four or more spaces. Without the indented code block parser nothing else would accept
// such a line, and goldmark would silently drop it.
type indentedParagraphParser struct{ parser.BlockParser }

func (indentedParagraphParser) CanAcceptIndentedLine() bool { return true }

// maxNesting bounds how deep lists and quotes may nest. Goldmark's cost grows with the
// square of the depth, and 50 KB of ">" or "1. " would otherwise nest tens of thousands of
// levels and take most of a second to render; nobody quotes or indents ten levels deep.
const maxNesting = 10

// nestingLimit wraps a container block parser so that it does not open inside maxNesting
// containers of its own kind; deeper markers are left as text.
type nestingLimit struct {
	parser.BlockParser
	kind ast.NodeKind
}

func (p nestingLimit) Open(parent ast.Node, reader text.Reader, pc parser.Context) (ast.Node, parser.State) {
	depth := 0
	for n := parent; n != nil; n = n.Parent() {
		if n.Kind() == p.kind {
			depth++
		}
	}
	if depth >= maxNesting {
		return nil, parser.NoChildren
	}
	return p.BlockParser.Open(parent, reader, pc)
}

// textMerger joins adjacent text nodes that cover contiguous source. Goldmark splits text
// at every character an inline parser triggers on, and the hashtag parser triggers on "#":
// without merging, "&#x41;" would be rendered as "&" and "#x41;" separately and the
// character reference would never be decoded.
type textMerger struct{}

func (textMerger) Transform(doc *ast.Document, reader text.Reader, _ parser.Context) {
	source := reader.Source()
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		if n.Kind() == ast.KindCodeSpan {
			return ast.WalkSkipChildren, nil // rendered from its children verbatim anyway
		}
		for c := n.FirstChild(); c != nil; {
			next := c.NextSibling()
			t, ok := c.(*ast.Text)
			if ok && next != nil && !t.SoftLineBreak() && !t.HardLineBreak() && t.Merge(next, source) {
				n.RemoveChild(n, next)
				continue // try the new next sibling too
			}
			c = next
		}
		return ast.WalkContinue, nil
	})
}
