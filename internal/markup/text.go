package markup

import (
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// PlainText converts sanitised HTML (from Render or SanitizeRemote) to plain text for search
// indexing, notifications and link previews: paragraphs separated by a blank line, <br> and
// list items on their own lines, entities decoded, whitespace collapsed outside <pre>.
// Mastodon's hidden URL parts (class="invisible") are kept, so URLs come out whole.
//
// It is derived from the HTML rather than from the Markdown so that local and remote posts
// get exactly the same treatment.
func PlainText(s string) string {
	z := html.NewTokenizer(strings.NewReader(s))
	var b []byte
	pre := 0  // depth of <pre>, where whitespace is kept
	skip := 0 // depth of elements whose content is not text (only in unsanitised input)
	lists := 0
	// breakTo ends the current line and makes sure at least n newlines end the output.
	breakTo := func(n int) {
		for len(b) > 0 && b[len(b)-1] == ' ' {
			b = b[:len(b)-1]
		}
		if len(b) == 0 {
			return
		}
		have := 0
		for i := len(b) - 1; i >= 0 && b[i] == '\n' && have < n; i-- {
			have++
		}
		for ; have < n; have++ {
			b = append(b, '\n')
		}
	}
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			// Leading spaces can only come from a <pre>, where they matter.
			return strings.TrimRight(strings.TrimLeft(string(b), "\n"), " \n")
		case html.TextToken:
			if skip > 0 {
				continue
			}
			t := z.Text()
			if pre > 0 {
				b = append(b, t...)
				continue
			}
			for _, c := range t { // HTML whitespace is ASCII, so bytes will do
				if c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' {
					if len(b) > 0 && b[len(b)-1] != ' ' && b[len(b)-1] != '\n' {
						b = append(b, ' ')
					}
					continue
				}
				b = append(b, c)
			}
		case html.StartTagToken, html.SelfClosingTagToken, html.EndTagToken:
			name, _ := z.TagName()
			start := tt != html.EndTagToken
			switch a := atom.Lookup(name); a {
			case atom.Br:
				if start {
					for len(b) > 0 && b[len(b)-1] == ' ' {
						b = b[:len(b)-1]
					}
					b = append(b, '\n')
				}
			case atom.Ul, atom.Ol:
				// A list nested in a list item continues it line by line.
				if !start && lists > 0 {
					lists--
				}
				if lists > 0 {
					breakTo(1)
				} else {
					breakTo(2)
				}
				if start && tt != html.SelfClosingTagToken {
					lists++
				}
			case atom.P, atom.Blockquote, atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6, atom.Div:
				breakTo(2)
			case atom.Pre:
				breakTo(2)
				if start && tt != html.SelfClosingTagToken {
					pre++
				} else if !start && pre > 0 {
					pre--
				}
			case atom.Li:
				breakTo(1)
			case atom.Script, atom.Style, atom.Template, atom.Title, atom.Textarea:
				if start && tt != html.SelfClosingTagToken {
					skip++
				} else if !start && skip > 0 {
					skip--
				}
			}
		}
	}
}
