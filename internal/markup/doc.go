// Package markup turns what people type into the HTML Atrium stores and federates, and cleans
// the HTML that other servers send us.
//
// Both directions end in the same place: a short list of elements and attributes that
// Mastodon 4.2+ also accepts (p, br, span, a, del, s, pre, code, em, strong, b, i, u, ul, ol,
// li, blockquote), so that a post written here looks the same in every Mastodon-compatible
// client, and a post arriving from elsewhere cannot carry script, styles or tracking pixels
// into our pages.
//
// Local posts are written in a small Markdown subset (Render). Markdown is parsed by goldmark
// with raw HTML switched off, so typing <script> produces the text "<script>", not an element.
// Mentions (@alice, @bob@partner.example) and hashtags (#go) are goldmark inline parsers, not
// regular expressions over HTML, so they are never found inside code, URLs or e-mail
// addresses. The generated HTML then goes through bluemonday anyway: the renderer is ours and
// could have bugs, and the sanitiser is the one place that decides what is allowed.
//
// Remote HTML (SanitizeRemote) is first normalised with the x/net/html tokenizer (headings
// become <p><strong>, unknown classes and rel values are dropped as Mastodon does, links with
// unsupported schemes are unwrapped, tags are balanced) and then sanitised by bluemonday.
//
// Sanitising is expensive (about 125 µs per 2 KB, see LIBRARIES.md §5), so callers sanitise
// once, when content enters the system, store the result, and never sanitise per render.
//
// A Renderer has no mutable state after New and is safe for concurrent use; the package has
// no package-level mutable state.
package markup
