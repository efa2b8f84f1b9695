package markup

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	ext     = ` rel="nofollow noopener noreferrer" target="_blank"`
	aliceA  = `<span class="h-card" translate="no"><a href="https://acme.example/@alice" class="u-url mention"` + ext + `>@<span>alice</span></a></span>`
	bobA    = `<span class="h-card" translate="no"><a href="https://partner.example/@bob" class="u-url mention"` + ext + `>@<span>bob</span></a></span>`
	tagAttr = ` class="mention hashtag" rel="tag nofollow noopener noreferrer" target="_blank"`
)

func tagA(slug, shown string) string {
	return `<a href="https://acme.example/tags/` + slug + `"` + tagAttr + `>#<span>` + shown + `</span></a>`
}

func TestRender(t *testing.T) {
	r := testRenderer()
	tests := []struct {
		name, src, html string
	}{
		{"empty", "", ""},
		{"paragraph", "hello", "<p>hello</p>"},
		{"single newline is a line break", "one\ntwo\n\nthree", "<p>one<br>two</p><p>three</p>"},
		{"CRLF", "one\r\ntwo", "<p>one<br>two</p>"},
		{"hard break", "one  \ntwo", "<p>one<br>two</p>"},
		{"emphasis", "**b** *i* _i_ ~~s~~ `c`",
			"<p><strong>b</strong> <em>i</em> <em>i</em> <del>s</del> <code>c</code></p>"},
		{"code span escapes", "`<b>&amp;</b>`", "<p><code>&lt;b&gt;&amp;amp;&lt;/b&gt;</code></p>"},
		{"fenced code", "```go\nif a < b {\n\t@x #y\n}\n```",
			"<pre><code>if a &lt; b {\n\t@x #y\n}</code></pre>"},
		{"indented text is not code", "    just indented", "<p>just indented</p>"},
		{"quote", "> quoted\n> more\n\nafter", "<blockquote><p>quoted<br>more</p></blockquote><p>after</p>"},
		{"bullets", "- one\n- two", "<ul><li>one</li><li>two</li></ul>"},
		{"numbered", "1. one\n2. two", "<ol><li>one</li><li>two</li></ol>"},
		{"numbered from 3", "3. three\n4. four", `<ol start="3"><li>three</li><li>four</li></ol>`},
		{"nested list", "- a\n  - b", "<ul><li>a<ul><li>b</li></ul></li></ul>"},
		{"heading", "# Title\nbody", "<p><strong>Title</strong></p><p>body</p>"},
		{"heading levels", "### Small *it*", "<p><strong>Small <em>it</em></strong></p>"},
		{"empty heading", "#\n\ntext", "<p>text</p>"},
		{"setext heading", "Title\n===", "<p><strong>Title</strong></p>"},
		{"thematic break", "a\n\n***\n\nb", "<p>a</p><p>———</p><p>b</p>"},
		{"link", "[docs](https://atrium.example/docs?a=1&b=2)",
			`<p><a href="https://atrium.example/docs?a=1&amp;b=2"` + ext + `>docs</a></p>`},
		{"link title dropped", `[d](https://x.example "title")`,
			`<p><a href="https://x.example"` + ext + `>d</a></p>`},
		{"mailto link", "[mail me](mailto:me@acme.example)",
			`<p><a href="mailto:me@acme.example" rel="nofollow noreferrer">mail me</a></p>`},
		{"relative link is text", "[home](/home)", "<p>home</p>"},
		{"ftp link is text", "[f](ftp://x.example/f)", "<p>f</p>"},
		{"quote in link is encoded", `[x](https://x.example/"onmouseover=alert)`,
			`<p><a href="https://x.example/%22onmouseover=alert"` + ext + `>x</a></p>`},
		{"bare URL", "see https://example.com/page.",
			`<p>see <a href="https://example.com/page"` + ext + `><span class="invisible">https://</span><span>example.com/page</span><span class="invisible"></span></a>.</p>`},
		{"long bare URL", "https://www.example.com/a/very/long/path/that/keeps/going?q=1",
			`<p><a href="https://www.example.com/a/very/long/path/that/keeps/going?q=1"` + ext + `><span class="invisible">https://www.</span><span class="ellipsis">example.com/a/very/long/path/t</span><span class="invisible">hat/keeps/going?q=1</span></a></p>`},
		{"angle autolink", "<https://a.example>",
			`<p><a href="https://a.example"` + ext + `><span class="invisible">https://</span><span>a.example</span><span class="invisible"></span></a></p>`},
		{"image becomes link", "![the logo](https://x.example/l.png)",
			`<p><a href="https://x.example/l.png"` + ext + `>the logo</a></p>`},
		{"image without alt shows URL", "![](https://x.example/l.png)",
			`<p><a href="https://x.example/l.png"` + ext + `>https://x.example/l.png</a></p>`},
		{"image with bad URL is alt text", "![alt](javascript:alert(1))", "<p>alt</p>"},
		{"raw HTML is text", "<b>bold</b> <script>alert(1)</script>",
			"<p>&lt;b&gt;bold&lt;/b&gt; &lt;script&gt;alert(1)&lt;/script&gt;</p>"},
		{"HTML block is text", "<div>\n<img src=x onerror=alert(1)>\n</div>",
			"<p>&lt;div&gt;<br>&lt;img src=x onerror=alert(1)&gt;<br>&lt;/div&gt;</p>"},
		{"entities stay text", "a &amp; b &lt;i&gt; &copy;", "<p>a &amp; b &lt;i&gt; ©</p>"},
		{"backslash escapes", `\*not italic\* \#notag \@alice`, "<p>*not italic* #notag @alice</p>"},

		{"local mention", "hi @alice!", "<p>hi " + aliceA + "!</p>"},
		{"remote mention", "cc @bob@partner.example.", "<p>cc " + bobA + ".</p>"},
		{"local mention with our host", "@alice@ACME.example", "<p>" + aliceA + "</p>"},
		{"mention case-insensitive", "@Alice",
			`<p><span class="h-card" translate="no"><a href="https://acme.example/@alice" class="u-url mention"` + ext + `>@<span>Alice</span></a></span></p>`},
		{"unknown mention is text", "@nobody and @nobody@else.example", "<p>@nobody and @nobody@else.example</p>"},
		{"e-mail is not a mention", "mail alice@example.com", "<p>mail alice@example.com</p>"},
		{"mention in code span", "`@alice`", "<p><code>@alice</code></p>"},
		{"mention in URL", "https://social.example/@alice",
			`<p><a href="https://social.example/@alice"` + ext + `><span class="invisible">https://</span><span>social.example/@alice</span><span class="invisible"></span></a></p>`},
		{"mention after slash", "path/@alice", "<p>path/@alice</p>"},
		{"mention in link label", "[@alice](https://x.example)", `<p><a href="https://x.example"` + ext + `>@alice</a></p>`},
		{"mention with underscore", "@carol_x and @carol", `<p>@carol_x and <span class="h-card" translate="no"><a href="https://acme.example/@carol" class="u-url mention"` + ext + `>@<span>carol</span></a></span></p>`},
		{"mention in emphasis", "**@alice**", "<p><strong>" + aliceA + "</strong></p>"},
		{"mention running into a letter", "@alicé", "<p>@alicé</p>"},

		{"hashtag", "#go is fun", "<p>" + tagA("go", "go") + " is fun</p>"},
		{"hashtag unicode", "#Café_2026", "<p>" + tagA("caf%C3%A9_2026", "Café_2026") + "</p>"},
		{"hashtag CJK", "#日本語", "<p>" + tagA("%E6%97%A5%E6%9C%AC%E8%AA%9E", "日本語") + "</p>"},
		{"hashtag ends at punctuation", "(#go).", "<p>(" + tagA("go", "go") + ").</p>"},
		{"number is not a hashtag", "#2026 #1_000", "<p>#2026 #1_000</p>"},
		{"issue number is not a hashtag", "issue#12 x#go", "<p>issue#12 x#go</p>"},
		{"fragment is not a hashtag", "example.com/#top", "<p>example.com/#top</p>"},
		{"hashtag in code", "`#go`", "<p><code>#go</code></p>"},
		{"character reference is not a hashtag", "&#35;x41 &#x41;", "<p>#x41 A</p>"},
		{"heading is not a hashtag", "# go", "<p><strong>go</strong></p>"},
		{"hashtag in heading", "# #go", "<p><strong>" + tagA("go", "go") + "</strong></p>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := r.Render(tt.src)
			if err != nil {
				t.Fatal(err)
			}
			if res.HTML != tt.html {
				t.Errorf("Render(%q)\n got: %s\nwant: %s", tt.src, res.HTML, tt.html)
			}
			checkSafeHTML(t, tt.src, res.HTML, true)
			// The stored HTML must survive a later sanitising pass unchanged (e.g. when it
			// comes back to us over federation), or edits would show spurious differences.
			if again := r.SanitizeRemote(res.HTML); again != res.HTML && !strings.Contains(res.HTML, "mailto:") {
				t.Errorf("SanitizeRemote changed Render output\n got: %s\nwant: %s", again, res.HTML)
			}
		})
	}
}

func TestRenderExtracts(t *testing.T) {
	r := testRenderer()
	src := "Hi @alice, @bob@partner.example and @ALICE; @nobody won't be linked.\n" +
		"#Go #go #Café_2026 https://example.com/a [docs](https://docs.example/x) " +
		"https://example.com/a ![img](https://img.example/p.png) [m](mailto:x@y.example) `https://code.example`"
	res, err := r.Render(src)
	if err != nil {
		t.Fatal(err)
	}
	wantMentions := []Mention{{Username: "alice"}, {Username: "bob", Host: "partner.example"}}
	if !reflect.DeepEqual(res.Mentions, wantMentions) {
		t.Errorf("Mentions = %v, want %v", res.Mentions, wantMentions)
	}
	if want := []string{"go", "café_2026"}; !reflect.DeepEqual(res.Tags, want) {
		t.Errorf("Tags = %q, want %q", res.Tags, want)
	}
	wantLinks := []string{"https://example.com/a", "https://docs.example/x", "https://img.example/p.png"}
	if !reflect.DeepEqual(res.Links, wantLinks) {
		t.Errorf("Links = %q, want %q", res.Links, wantLinks)
	}
	wantText := "Hi @alice, @bob and @ALICE; @nobody won't be linked.\n" +
		"#Go #go #Café_2026 https://example.com/a docs https://example.com/a img m https://code.example"
	if res.Text != wantText {
		t.Errorf("Text =\n%q\nwant\n%q", res.Text, wantText)
	}
}

func TestRenderText(t *testing.T) {
	r := testRenderer()
	res, err := r.Render("# Title\n\nfirst\nsecond &amp; <b>\n\n- a\n- b\n\n> q\n\n```\n  code\n```")
	if err != nil {
		t.Fatal(err)
	}
	want := "Title\n\nfirst\nsecond & <b>\n\na\nb\n\nq\n\n  code"
	if res.Text != want {
		t.Errorf("Text = %q, want %q", res.Text, want)
	}
}

func TestRenderTooLong(t *testing.T) {
	r := testRenderer()
	if _, err := r.Render(strings.Repeat("a", MaxSourceLen)); err != nil {
		t.Fatalf("at the limit: %v", err)
	}
	_, err := r.Render(strings.Repeat("a", MaxSourceLen+1))
	if !errors.Is(err, ErrTooLong) {
		t.Fatalf("over the limit: err = %v, want ErrTooLong", err)
	}
	if m, tags := r.Extract(strings.Repeat("@a ", MaxSourceLen)); m != nil || tags != nil {
		t.Errorf("Extract of over-long source = %v %v, want nothing", m, tags)
	}
}

func TestRenderCaps(t *testing.T) {
	calls := 0
	r := New(Options{
		LocalHost: "acme.example",
		ProfileURL: func(m Mention) string {
			calls++ // Render is single-goroutine here
			return "https://acme.example/@" + m.Username
		},
	})
	var b strings.Builder
	for i := range MaxMentions + 10 {
		fmt.Fprintf(&b, "@u%d @U%d #t%d #T%d ", i, i, i, i)
	}
	res, err := r.Render(b.String())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Mentions) != MaxMentions || len(res.Tags) != MaxTags {
		t.Fatalf("kept %d mentions and %d tags, want %d and %d", len(res.Mentions), len(res.Tags), MaxMentions, MaxTags)
	}
	if calls != MaxMentions {
		t.Errorf("ProfileURL called %d times, want once per kept mention (%d)", calls, MaxMentions)
	}
	last := fmt.Sprintf("u%d", MaxMentions-1)
	if res.Mentions[MaxMentions-1].Username != last || res.Tags[MaxTags-1] != fmt.Sprintf("t%d", MaxTags-1) {
		t.Errorf("did not keep the first ones: last kept %v, %q", res.Mentions[MaxMentions-1], res.Tags[MaxTags-1])
	}
	over := fmt.Sprintf("@u%d @U%d #t%d #T%d", MaxMentions, MaxMentions, MaxTags, MaxTags)
	if !strings.Contains(res.HTML, over) {
		t.Errorf("mentions and tags over the cap should stay text (%q)", over)
	}
	// The default TagURL uses LocalHost.
	if !strings.Contains(res.HTML, `<a href="https://acme.example/tags/t0"`) {
		t.Errorf("default TagURL not used: %.300s", res.HTML)
	}
}

func TestRenderNilFuncs(t *testing.T) {
	r := New(Options{})
	res, err := r.Render("@alice #go")
	if err != nil {
		t.Fatal(err)
	}
	if res.HTML != "<p>@alice #go</p>" {
		t.Errorf("HTML = %s", res.HTML)
	}
	if len(res.Mentions) != 0 || !reflect.DeepEqual(res.Tags, []string{"go"}) {
		t.Errorf("Mentions = %v, Tags = %v", res.Mentions, res.Tags)
	}
}

func TestExtract(t *testing.T) {
	r := testRenderer()
	tests := []struct {
		src      string
		mentions []Mention
		tags     []string
	}{
		{"@alice @bob@Partner.Example @nobody", []Mention{{"alice", ""}, {"bob", "partner.example"}, {"nobody", ""}}, nil},
		{"@alice @ALICE @alice@acme.example", []Mention{{"alice", ""}}, nil},
		{"alice@example.com x@y", nil, nil},
		{"key=@v url/@u", nil, nil},
		{"@bob@localhost", []Mention{{"bob", "localhost"}}, nil},
		{"@bob@host.example:8080", []Mention{{"bob", "host.example:8080"}}, nil}, // test networks and odd ports
		{"@bob@host.example: hi", []Mention{{"bob", "host.example"}}, nil},
		{"@bob@host.example:80a", []Mention{{"bob", "host.example"}}, nil},
		{"@bob@", nil, nil},
		{"@bob@-bad.example @bob@bad-.example", nil, nil},
		{"@bob@münchen.example @alicé", nil, nil},
		{"@aliceさん @bob@partner.exampleへ", []Mention{{"alice", ""}, {"bob", "partner.example"}}, nil},
		{"@" + strings.Repeat("a", 65), nil, nil},
		{"`@alice #go`", nil, nil},
		{"```\n@alice #go\n```", nil, nil},
		{"<@alice> (@alice) \"@alice\"", []Mention{{"alice", ""}}, nil},
		{"#Go #GO #go_lang #2026 #a·b #a· #ab\u200ccd", nil, []string{"go", "go_lang", "a·b", "a", "ab\u200ccd"}},
		{"#हिन्दी", nil, []string{"हिन्दी"}},
		{"https://x.example/#frag https://x.example/@u", nil, nil},
	}
	for _, tt := range tests {
		m, tags := r.Extract(tt.src)
		if !reflect.DeepEqual(m, tt.mentions) || !reflect.DeepEqual(tags, tt.tags) {
			t.Errorf("Extract(%q) = %v %q, want %v %q", tt.src, m, tags, tt.mentions, tt.tags)
		}
	}
}

func TestMentionAcct(t *testing.T) {
	if got := (Mention{Username: "a"}).Acct(); got != "a" {
		t.Errorf("local Acct = %q", got)
	}
	if got := (Mention{Username: "a", Host: "h.example"}).Acct(); got != "a@h.example" {
		t.Errorf("remote Acct = %q", got)
	}
}

// TestConcurrentUse runs one Renderer from many goroutines; run with -race.
func TestConcurrentUse(t *testing.T) {
	r := testRenderer()
	want, err := r.Render(sampleMarkdown)
	if err != nil {
		t.Fatal(err)
	}
	wantRemote := r.SanitizeRemote(sampleRemoteHTML)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				got, err := r.Render(sampleMarkdown)
				if err != nil || got.HTML != want.HTML || !reflect.DeepEqual(got.Mentions, want.Mentions) {
					t.Errorf("concurrent Render differs: %v", err)
					return
				}
				if r.SanitizeRemote(sampleRemoteHTML) != wantRemote {
					t.Error("concurrent SanitizeRemote differs")
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestRenderNestingLimit(t *testing.T) {
	r := testRenderer()
	for _, tt := range []struct{ src, tag string }{
		{strings.Repeat(">", 30) + " deep", "<blockquote>"},
		{strings.Repeat("1. ", 30) + "deep", "<ol>"},
		{strings.Repeat("- + ", 15) + "deep", "<ul>"},
	} {
		res, err := r.Render(tt.src)
		if err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(res.HTML, tt.tag); n != maxNesting {
			t.Errorf("%q: %d levels of %s, want %d", tt.src, n, tt.tag, maxNesting)
		}
		if !strings.Contains(res.Text, "deep") {
			t.Errorf("%q: text lost: %q", tt.src, res.Text)
		}
	}
}

// TestRenderPathological guards against inputs that once took seconds: each of these
// rendered in 3–11 s (quadratic work in an unanchored regexp or in deep nesting) and now
// takes milliseconds. The bound is loose so that slow CI machines and -race pass; a
// regression to quadratic behaviour blows far past it.
func TestRenderPathological(t *testing.T) {
	if testing.Short() {
		t.Skip("takes a few seconds; skipped in -short mode")
	}
	r := testRenderer()
	n := MaxSourceLen
	inputs := map[string]string{
		"emphasis":      strings.Repeat("*a", n/2),
		"underscores":   strings.Repeat("_a", n/2),
		"strikethrough": strings.Repeat("~~a", n/3),
		"backticks":     strings.Repeat("`a", n/2),
		"e-mails":       strings.Repeat("a@b.c ", n/6),
		"quotes":        strings.Repeat(">", n),
		"ordered lists": strings.Repeat("1. ", n/3),
		"mentions":      strings.Repeat("@a ", n/3),
		"hashtags":      strings.Repeat("#a ", n/3),
	}
	for name, src := range inputs {
		start := time.Now()
		if _, err := r.Render(src); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("%s: Render took %v", name, d)
		}
	}
}
