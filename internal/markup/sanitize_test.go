package markup

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSanitizeRemote(t *testing.T) {
	r := testRenderer()
	const (
		ext    = ` rel="nofollow noopener noreferrer" target="_blank"`
		tagExt = ` rel="tag nofollow noopener noreferrer" target="_blank"`
	)
	tests := []struct {
		name, in, want string
	}{
		{
			"mastodon mention and hashtag",
			`<p><span class="h-card" translate="no"><a href="https://mastodon.social/@Gargron" class="u-url mention">@<span>Gargron</span></a></span> hello <a href="https://mastodon.social/tags/test" class="mention hashtag" rel="tag">#<span>test</span></a></p>`,
			`<p><span class="h-card" translate="no"><a href="https://mastodon.social/@Gargron" class="u-url mention"` + ext + `>@<span>Gargron</span></a></span> hello <a href="https://mastodon.social/tags/test" class="mention hashtag"` + tagExt + `>#<span>test</span></a></p>`,
		},
		{
			"mastodon shortened link and line break",
			`<p>look <a href="https://joinmastodon.org/apps" target="_blank" rel="nofollow noopener noreferrer" translate="no"><span class="invisible">https://</span><span class="">joinmastodon.org/apps</span><span class="invisible"></span></a></p><p>two<br />lines</p>`,
			`<p>look <a href="https://joinmastodon.org/apps" translate="no"` + ext + `><span class="invisible">https://</span><span>joinmastodon.org/apps</span><span class="invisible"></span></a></p><p>two<br>lines</p>`,
		},
		{
			"gotosocial",
			`<p>hi <span class="h-card"><a href="https://gts.example/@alice" class="u-url mention" rel="nofollow noreferrer noopener" target="_blank">@<span>alice</span></a></span>! <a href="https://gts.example/tags/gotosocial" class="mention hashtag" rel="tag nofollow noreferrer noopener" target="_blank">#<span>GoToSocial</span></a></p><pre><code class="language-go">x := 1</code></pre>`,
			`<p>hi <span class="h-card"><a href="https://gts.example/@alice" class="u-url mention"` + ext + `>@<span>alice</span></a></span>! <a href="https://gts.example/tags/gotosocial" class="mention hashtag"` + tagExt + `>#<span>GoToSocial</span></a></p><pre><code>x := 1</code></pre>`,
		},
		{
			"pleroma",
			`<span class="h-card"><a class="u-url mention" data-user="9xYz" href="https://pleroma.example/users/lain" rel="ugc">@<span>lain</span></a></span> test <a class="hashtag" data-tag="pleroma" href="https://pleroma.example/tag/pleroma" rel="tag ugc">#pleroma</a><br/>line two`,
			`<span class="h-card"><a class="u-url mention" href="https://pleroma.example/users/lain"` + ext + `>@<span>lain</span></a></span> test <a class="hashtag" href="https://pleroma.example/tag/pleroma"` + tagExt + `>#pleroma</a><br>line two`,
		},
		{
			"disallowed classes dropped, allowed kept",
			`<p class="status-body"><span class="h-card custom-style">x</span> <a href="https://x.example" class="u-url mention btn btn-primary">y</a> <span class="evil">z</span></p>`,
			`<p><span class="h-card">x</span> <a href="https://x.example" class="u-url mention"` + ext + `>y</a> <span>z</span></p>`,
		},
		{
			"headings become p strong",
			`<h1>Release notes</h1><h3 id="x" style="color:red">More <em>soon</em></h3>`,
			`<p><strong>Release notes</strong></p><p><strong>More <em>soon</em></strong></p>`,
		},
		{
			"lists keep start reversed value",
			`<ol start="3" reversed><li value="7">a</li><li>b</li></ol><ul type="disc"><li>c</li></ul>`,
			`<ol start="3" reversed=""><li value="7">a</li><li>b</li></ol><ul><li>c</li></ul>`,
		},
		{
			"formatting elements",
			`<p><b>b</b><i>i</i><u>u</u><s>s</s><del>d</del><em>e</em><strong>s</strong><code>c</code></p><blockquote cite="https://x.example"><p>q</p></blockquote>`,
			`<p><b>b</b><i>i</i><u>u</u><s>s</s><del>d</del><em>e</em><strong>s</strong><code>c</code></p><blockquote><p>q</p></blockquote>`,
		},
		{
			"unsupported elements dropped, text kept",
			`<div><p>a<img src="https://x.example/i.png" alt="pic"><sup>2</sup></p><table><tr><td>cell</td></tr></table><hr></div>`,
			`<p>a2</p>cell`,
		},
		{
			"other link schemes",
			`<a href="gemini://g.example/">g</a> <a href="xmpp:room@muc.example?join">x</a> <a href="magnet:?xt=urn:btih:abc">m</a>`,
			`<a href="gemini://g.example/"` + ext + `>g</a> <a href="xmpp:room@muc.example?join" rel="nofollow noopener noreferrer">x</a> <a href="magnet:?xt=urn:btih:abc" rel="nofollow noopener noreferrer">m</a>`,
		},
		{
			"unsupported links unwrapped",
			`<a href="javascript:alert(1)" class="mention">js</a> <a href="/users/x">rel</a> <a href="mailto:a@b.example">mail</a> <a>none</a> <a href="ftp://f.example/">ftp</a>`,
			`js rel mail none ftp`,
		},
		{
			"rel me and other rel values dropped",
			`<a href="https://x.example" rel="me noopener ugc external">x</a>`,
			`<a href="https://x.example"` + ext + `>x</a>`,
		},
		{
			"translate values restricted",
			`<span translate="no">a</span><span translate="maybe">b</span>`,
			`<span translate="no">a</span><span>b</span>`,
		},
		{
			"stray end tags dropped, unclosed closed",
			`<p>a</blockquote></li></p></div><blockquote><p>open <a href="https://x.example">link <strong>bold`,
			`<p>a</p><blockquote><p>open <a href="https://x.example"` + ext + `>link <strong>bold</strong></a></p></blockquote>`,
		},
		{
			"misnested repaired",
			`<b><i>x</b>y</i>`,
			`<b><i>x</i></b>y`,
		},
		{
			"NUL bytes removed",
			"<p>a\x00b</p><scr\x00ipt>alert(1)</script>",
			`<p>ab</p>`,
		},
		{
			"invalid UTF-8 replaced",
			"<p>a\xffb</p>",
			"<p>a\uFFFDb</p>",
		},
		{"unclosed script swallows nothing", `<code>x<script>alert(1)`, `<code>x</code>`},
		{"script and style content dropped", `a<script>b</script>c<style>p{}</style>d<title>t</title>`, `acd`},
		{"textarea content kept as text", `<textarea><b>x</b></textarea>`, `&lt;b&gt;x&lt;/b&gt;`},
		{"plain text escaped", `1 < 2 & 3 > 2`, `1 &lt; 2 &amp; 3 &gt; 2`},
		{"comments dropped", `a<!-- <script>alert(1)</script> -->b`, `ab`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := r.SanitizeRemote(tt.in)
			if got != tt.want {
				t.Errorf("SanitizeRemote(%q)\n got: %s\nwant: %s", tt.in, got, tt.want)
			}
			checkSafeHTML(t, tt.in, got, true)
			// Stored content may be sanitised again (re-fetches, edits); that must be a no-op.
			if again := r.SanitizeRemote(got); again != got {
				t.Errorf("not idempotent:\nonce:  %s\ntwice: %s", got, again)
			}
		})
	}
}

func TestSanitizeRemoteTruncates(t *testing.T) {
	r := testRenderer()
	// A long paragraph of multi-byte text whose cut point falls inside a tag and inside
	// a UTF-8 sequence: the result must be valid UTF-8, balanced, and contain no half tag.
	unit := `<a href="https://x.example/é">é</a>`
	in := "<p>" + strings.Repeat(unit, MaxRemoteHTMLLen/len(unit)+10) + "</p>"
	out := r.SanitizeRemote(in)
	if !utf8.ValidString(out) {
		t.Fatal("output is not valid UTF-8")
	}
	if n, max := strings.Count(out, "</a>"), MaxRemoteHTMLLen/len(unit)+1; n > max {
		t.Fatalf("%d links in output, at most %d fit in the cap", n, max)
	}
	if !strings.HasPrefix(out, `<p><a href="https://x.example/%C3%A9"`) || !strings.HasSuffix(out, "</p>") {
		t.Fatalf("unexpected shape: %.80s … %s", out, out[len(out)-80:])
	}
	if strings.Count(out, "<a ") != strings.Count(out, "</a>") {
		t.Error("unbalanced <a> after truncation")
	}
	checkSafeHTML(t, "truncated", out, true)

	for _, n := range []int{1, 5, 6, 7, 20} {
		s := `<p>é<a href="x">`
		got := truncateHTML(s, n)
		if len(got) > n || !utf8.ValidString(got) || strings.Contains(got[strings.LastIndexByte(got, '>')+1:], "<") {
			t.Errorf("truncateHTML(%q, %d) = %q", s, n, got)
		}
	}
}

func TestSanitizeRemoteNesting(t *testing.T) {
	r := testRenderer()
	in := strings.Repeat("<blockquote>", 1000) + "deep" + strings.Repeat("</blockquote>", 1000)
	out := r.SanitizeRemote(in)
	if n := strings.Count(out, "<blockquote>"); n != maxRemoteNesting || n != strings.Count(out, "</blockquote>") {
		t.Errorf("%d levels kept, want %d, balanced", n, maxRemoteNesting)
	}
	if !strings.Contains(out, "deep") {
		t.Error("text lost")
	}
}

func TestPlainText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"<p>a</p><p>b</p>", "a\n\nb"},
		{"<p>a<br>b<br/>c</p>", "a\nb\nc"},
		{"<p>  lots \n of   space </p>", "lots of space"},
		{"<ul><li>a</li><li>b</li></ul><p>after</p>", "a\nb\n\nafter"},
		{"<p>x</p><ol><li>a<ul><li>b</li></ul></li><li>c</li></ol>after", "x\n\na\nb\nc\n\nafter"},
		{"<pre><code>  x\n    y</code></pre>", "  x\n    y"},
		{"<p>&lt;b&gt; &amp; &eacute;</p>", "<b> & é"},
		{`<a href="https://x"><span class="invisible">https://</span><span class="ellipsis">x.example/ab</span><span class="invisible">cd</span></a>`, "https://x.example/abcd"},
		{"<p>a</p><script>alert(1)</script><style>p{}</style>b", "a\n\nb"},
		{"<h1>T</h1>body", "T\n\nbody"},
	}
	for _, tt := range tests {
		if got := PlainText(tt.in); got != tt.want {
			t.Errorf("PlainText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
