package markup_test

import (
	"fmt"
	"net/url"

	"github.com/atrium-social/atrium/internal/markup"
)

func ExampleRenderer_Render() {
	r := markup.New(markup.Options{
		LocalHost: "acme.example",
		TagURL:    func(tag string) string { return "https://acme.example/tags/" + url.PathEscape(tag) },
		ProfileURL: func(m markup.Mention) string {
			if m.Acct() == "alice" { // in the server: a lookup in the account cache
				return "https://acme.example/@alice"
			}
			return ""
		},
	})
	res, err := r.Render("**Hi** @alice and @nobody, see #Go\n<b>not HTML</b>")
	if err != nil {
		panic(err)
	}
	fmt.Println(res.HTML)
	fmt.Println(res.Text)
	fmt.Println(res.Mentions, res.Tags)
	// Output:
	// <p><strong>Hi</strong> <span class="h-card" translate="no"><a href="https://acme.example/@alice" class="u-url mention" rel="nofollow noopener noreferrer" target="_blank">@<span>alice</span></a></span> and @nobody, see <a href="https://acme.example/tags/go" class="mention hashtag" rel="tag nofollow noopener noreferrer" target="_blank">#<span>Go</span></a><br>&lt;b&gt;not HTML&lt;/b&gt;</p>
	// Hi @alice and @nobody, see #Go
	// <b>not HTML</b>
	// [{alice }] [go]
}

func ExampleRenderer_SanitizeRemote() {
	r := markup.New(markup.Options{LocalHost: "acme.example"})
	fmt.Println(r.SanitizeRemote(`<h2 class="title">News</h2><p onclick="x()">See <a href="https://example.org" class="btn u-url">this</a><script>alert(1)</script></p>`))
	// Output:
	// <p><strong>News</strong></p><p>See <a href="https://example.org" class="u-url" rel="nofollow noopener noreferrer" target="_blank">this</a></p>
}
