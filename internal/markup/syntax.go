package markup

import (
	"unicode"
	"unicode/utf8"

	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/text"
)

// Mentions and hashtags are goldmark inline parsers rather than a pass over the rendered
// HTML: goldmark only calls inline parsers on inline text, so code spans, fenced blocks, link
// destinations and autolinked URLs never reach them, and a username containing "_" is taken
// whole before the emphasis parser can split it.

var (
	kindMention = ast.NewNodeKind("Mention")
	kindHashtag = ast.NewNodeKind("Hashtag")
)

// maxUsernameLen bounds a username so a pathological "@aaaa…" cannot make a huge node;
// no fediverse server allows anything close to it.
const maxUsernameLen = 64

// mentionNode is one @user or @user@host. Href is filled in by Renderer.collect before
// rendering; an empty Href renders the original text unchanged.
type mentionNode struct {
	ast.BaseInline
	Mention              // Host already lower-cased; not yet compared with LocalHost
	Raw     text.Segment // the text as typed, used when the mention is not linked
	Href    string
}

func (n *mentionNode) Kind() ast.NodeKind { return kindMention }

func (n *mentionNode) Dump(source []byte, level int) {
	ast.DumpHelper(n, source, level, map[string]string{"Acct": n.Acct(), "Href": n.Href}, nil)
}

// hashtagNode is one #tag. Name is the tag as typed (case kept for display).
type hashtagNode struct {
	ast.BaseInline
	Name []byte
	Raw  text.Segment
	Href string
}

func (n *hashtagNode) Kind() ast.NodeKind { return kindHashtag }

func (n *hashtagNode) Dump(source []byte, level int) {
	ast.DumpHelper(n, source, level, map[string]string{"Name": string(n.Name), "Href": n.Href}, nil)
}

// isWordRune is Mastodon's [[:word:]]: letters, marks, digits and the underscore. A mention
// or hashtag may not start right after one (alice@example.com, issue#12).
func isWordRune(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.M, r)
}

// continuesLatinWord reports whether r, right after an ASCII username or host, means the
// word goes on: a Latin letter (é in @alicé) or a combining mark. Other scripts end the
// mention, because Japanese and Chinese put no space after a name: "@aliceさん" mentions
// @alice, as on Mastodon.
func continuesLatinWord(r rune) bool {
	return unicode.Is(unicode.Latin, r) || unicode.Is(unicode.M, r) || r == '_' || unicode.IsDigit(r)
}

func isUsernameByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func isHostByte(c byte) bool {
	return c == '-' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// runeAt decodes the rune starting at line[i], or returns -1 past the end.
func runeAt(line []byte, i int) rune {
	if i >= len(line) {
		return -1
	}
	r, _ := utf8.DecodeRune(line[i:])
	return r
}

type mentionParser struct{}

func (mentionParser) Trigger() []byte { return []byte{'@'} }

func (mentionParser) Parse(parent ast.Node, block text.Reader, pc parser.Context) ast.Node {
	// Inside [label](url) a mention would become a link inside a link.
	if pc.IsInLinkLabel() {
		return nil
	}
	// Mastodon's (?<![=/[:word:]])@: not in e-mail addresses, not in URL paths like /@alice,
	// not in key=@value.
	if prev := block.PrecendingCharacter(); isWordRune(prev) || prev == '/' || prev == '=' {
		return nil
	}
	line, seg := block.PeekLine()
	i := 1
	for i < len(line) && isUsernameByte(line[i]) {
		i++
	}
	if i == 1 || i-1 > maxUsernameLen {
		return nil
	}
	m := Mention{Username: string(line[1:i])}
	end := i
	if i < len(line) && line[i] == '@' {
		hEnd := scanHost(line, i+1)
		if hEnd < 0 {
			// "@bob@" followed by something that is not a host: rather than guess
			// that a local @bob was meant, leave the whole thing as text.
			return nil
		}
		m.Host = asciiLower(string(line[i+1 : hEnd]))
		end = hEnd
	}
	if r := runeAt(line, end); r >= 0 && continuesLatinWord(r) {
		return nil // @alicé, @bob@münchen.example: not something we can address
	}
	block.Advance(end)
	return &mentionNode{Mention: m, Raw: text.NewSegment(seg.Start, seg.Start+end)}
}

// scanHost returns the end of a DNS name starting at line[start], or -1 if there is none.
// Labels are ASCII letters, digits and inner hyphens; a trailing dot is left out so that
// "ask @bob@partner.example." ends the sentence. A ":port" is kept (see withPort).
func scanHost(line []byte, start int) int {
	pos := start
	for {
		j := pos
		for j < len(line) && isHostByte(line[j]) {
			j++
		}
		label := line[pos:j]
		if len(label) == 0 || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return -1
		}
		if j-start > 253 {
			return -1
		}
		if j+1 < len(line) && line[j] == '.' && isHostByte(line[j+1]) {
			pos = j + 1
			continue
		}
		return withPort(line, j)
	}
}

// withPort extends a host ending at j over a ":port" (1-5 digits not followed by a letter or
// digit), as nodes on test networks and behind non-standard ports are addressed
// (@bob@globex.test:8080). "@bob@host: see" keeps its colon as punctuation.
func withPort(line []byte, j int) int {
	if j >= len(line) || line[j] != ':' {
		return j
	}
	k := j + 1
	for k < len(line) && k-j <= 5 && line[k] >= '0' && line[k] <= '9' {
		k++
	}
	if k == j+1 || k-j > 6 || (k < len(line) && isHostByte(line[k])) {
		return j
	}
	return k
}

type hashtagParser struct{}

func (hashtagParser) Trigger() []byte { return []byte{'#'} }

// isTagSeparator lists the characters Mastodon accepts inside, but not at the ends of, a
// hashtag: middle dots and the zero-width non-joiner that Persian words need.
func isTagSeparator(r rune) bool {
	return r == '\u00b7' || r == '\u30fb' || r == '\u200c'
}

func (hashtagParser) Parse(parent ast.Node, block text.Reader, pc parser.Context) ast.Node {
	if pc.IsInLinkLabel() {
		return nil
	}
	// Not issue#12 or a URL fragment (example.com/#top, (…)#x); not the "&#" of a numeric
	// character reference, which goldmark decodes only at render time.
	if prev := block.PrecendingCharacter(); isWordRune(prev) || prev == '/' || prev == ')' || prev == '&' {
		return nil
	}
	line, seg := block.PeekLine()
	i, end := 1, 1
	letter := false
	for i < len(line) {
		r, size := utf8.DecodeRune(line[i:])
		switch {
		case isWordRune(r):
			i += size
			end = i
			// A tag needs a letter: #2026 and #1_000 are numbers, not topics.
			if r != '_' && !unicode.IsDigit(r) {
				letter = true
			}
			continue
		case isTagSeparator(r) && end > 1:
			i += size // kept only if more word runes follow
			continue
		}
		break
	}
	if !letter {
		return nil
	}
	block.Advance(end)
	return &hashtagNode{Name: line[1:end], Raw: text.NewSegment(seg.Start, seg.Start+end)}
}

// asciiLower lower-cases ASCII only; hosts here are ASCII by construction.
func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if b[j] >= 'A' && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}
