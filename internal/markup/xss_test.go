package markup

import (
	"strings"
	"testing"
)

// xssCorpus mixes classic HTML injection, filter-evasion tricks and Markdown-specific ones.
// Every entry goes through both Render and SanitizeRemote.
var xssCorpus = []string{
	`<script>alert(1)</script>`,
	`<SCRIPT SRC=//xss.example/x.js></SCRIPT>`,
	`<scr<script>ipt>alert(1)</scr</script>ipt>`,
	`<<script>script>alert(1)<</script>/script>`,
	`"><script>alert(1)</script>`,
	`<img src=x onerror=alert(1)>`,
	`<img/src=x/onerror=alert(1)>`,
	`<IMG SRC="javascript:alert(1)">`,
	`<svg onload=alert(1)>`,
	`<svg><script>alert(1)</script></svg>`,
	`<svg><a xlink:href="javascript:alert(1)"><text x="20" y="20">XSS</text></a></svg>`,
	`<math><mi xlink:href="javascript:alert(1)">x</mi></math>`,
	`<a href="javascript:alert(1)">x</a>`,
	`<a href="JaVaScRiPt:alert(1)">x</a>`,
	`<a href=" javascript:alert(1)">x</a>`,
	`<a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)">x</a>`,
	`<a href="&#x6A;avascript:alert(1)">x</a>`,
	`<a href="java&#x09;script:alert(1)">x</a>`,
	`<a href="javascript&colon;alert(1)">x</a>`,
	`<a href="vbscript:msgbox(1)">x</a>`,
	`<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>`,
	`<a href="https://ok.example" onclick="alert(1)">x</a>`,
	`<a href="https://ok.example/"onclick="alert(1)">x</a>`,
	`<a href="https://ok.example" class="mention" style="position:fixed;top:0">x</a>`,
	`<p style="background:url(javascript:alert(1))">x</p>`,
	`<span class="h-card" style="x" onmouseover="alert(1)">x</span>`,
	`<iframe src="javascript:alert(1)"></iframe>`,
	`<object data="javascript:alert(1)"></object><embed src="javascript:alert(1)">`,
	`<form action="javascript:alert(1)"><button>x</button></form>`,
	`<details open ontoggle=alert(1)>`,
	`<body onload=alert(1)>`,
	`<meta http-equiv="refresh" content="0;url=javascript:alert(1)">`,
	`<base href="javascript:alert(1)//">`,
	`<link rel=stylesheet href="https://evil.example/x.css">`,
	`<style>@import 'https://evil.example/x.css';</style>`,
	`<noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript>`,
	`<textarea><script>alert(1)</script></textarea>`,
	`<!--<img src="--><img src=x onerror=alert(1)//">`,
	`<div style="width: expression(alert(1))">x</div>`,
	`<a href="https://ok.example" target="_self" rel="opener">x</a>`,
	`<blockquote cite="javascript:alert(1)">x</blockquote>`,

	"[x](javascript:alert(1))",
	"[x](JAVASCRIPT:alert(1))",
	"[x](javascript&#58;alert(1))",
	"[x](&#x6A;avascript:alert(1))",
	"[x](  javascript:alert(1)  )",
	"[x](<javascript:alert(1)>)",
	"[x](vbscript:msgbox(1))",
	"[x](data:text/html,<script>alert(1)</script>)",
	"![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
	"![x\" onerror=\"alert(1)](https://ok.example/i.png)",
	"<javascript:alert(1)>",
	"[x][ref]\n\n[ref]: javascript:alert(1)",
	`[a](https://ok.example "t\" onmouseover=\"alert(1)")`,
	"[x](https://ok.example/\"onmouseover=\"alert(1))",
	"```\n</code></pre><script>alert(1)</script>\n```",
	"`</code><script>alert(1)</script>`",
	"**<img src=x onerror=alert(1)>**",
	"@alice<script>alert(1)</script> #go<img src=x onerror=alert(1)>",
}

func TestXSSRender(t *testing.T) {
	r := testRenderer()
	for _, in := range xssCorpus {
		res, err := r.Render(in)
		if err != nil {
			t.Fatalf("Render(%q): %v", in, err)
		}
		checkSafeHTML(t, in, res.HTML, true)
	}
}

func TestXSSSanitizeRemote(t *testing.T) {
	r := testRenderer()
	for _, in := range xssCorpus {
		out := r.SanitizeRemote(in)
		checkSafeHTML(t, in, out, true)
		// Entity-encoded and mixed-case schemes must not survive as text inside an href
		// either; checkSafeHTML parses hrefs, this also catches them anywhere in a tag.
		if strings.Contains(strings.ToLower(out), "href=\"javascript") {
			t.Errorf("javascript href in %q", out)
		}
	}
}

// TestRawHTMLIsVisibleText checks the other half of escaping: what people type is shown,
// not silently dropped (goldmark's default would replace it with an HTML comment).
func TestRawHTMLIsVisibleText(t *testing.T) {
	r := testRenderer()
	for _, in := range []string{`<script>alert(1)</script>`, `<img src=x onerror=alert(1)>`} {
		res, err := r.Render(in)
		if err != nil {
			t.Fatal(err)
		}
		if res.Text != in {
			t.Errorf("Render(%q).Text = %q, want the source back", in, res.Text)
		}
	}
}
