package markup

import "testing"

// sampleMarkdown is a 1 KB local post of the kind people write on an enterprise network:
// mentions, tags, a list, a link, some formatting.
var sampleMarkdown = `Hi @alice and @bob@partner.example, quick update on the **Q3 launch** #launch #Café_2026

We shipped the new onboarding flow yesterday. Highlights:

- sign-up time down from *4 minutes* to under one
- the invite link now works on mobile (thanks @carol!)
- ~~legacy SSO page~~ removed; see [the migration notes](https://wiki.acme.example/sso/migration)

> Can we keep the old page for a week?

No: it was the source of most tickets. Metrics are on the dashboard at
https://dash.acme.example/boards/onboarding?range=30d&team=growth and the raw numbers in
` + "`reports/q3/onboarding.csv`" + `.

Next steps:

1. roll out to the EU region on Monday
2. collect feedback in #onboarding-feedback
3. write the retro by Friday

If anything looks off, ping me or open an issue at https://git.acme.example/web/issues/new.
For the curious, the feature flag is still ` + "`onboarding_v2`" + ` and it stays on until the retro;
flipping it off restores the old flow for *new* sign-ups only.

Thanks all! 🎉 #teamwork`

// sampleRemoteHTML is a 2 KB Mastodon status as it arrives over ActivityPub.
var sampleRemoteHTML = `<p><span class="h-card" translate="no"><a href="https://mastodon.social/@Gargron" class="u-url mention">@<span>Gargron</span></a></span> <span class="h-card" translate="no"><a href="https://fosstodon.org/@alice" class="u-url mention">@<span>alice</span></a></span> here is the write-up I promised about federated moderation tooling <a href="https://mastodon.social/tags/fediverse" class="mention hashtag" rel="tag">#<span>fediverse</span></a> <a href="https://mastodon.social/tags/moderation" class="mention hashtag" rel="tag">#<span>moderation</span></a></p><p>Short version: shared blocklists help, but only if they carry reasons, and only if admins can see <em>why</em> a domain was limited before they import it. Long version on the blog: <a href="https://blog.example.org/2026/05/federated-moderation-tooling-notes" target="_blank" rel="nofollow noopener noreferrer" translate="no"><span class="invisible">https://</span><span class="ellipsis">blog.example.org/2026/05/feder</span><span class="invisible">ated-moderation-tooling-notes</span></a></p><p>Three things I would like to see:<br />1. reasons attached to every entry<br />2. an expiry date, so limits are reviewed<br />3. a way to subscribe to a list without trusting it blindly</p><blockquote><p>Moderation does not scale; trust does.</p></blockquote><p>Thoughts welcome, especially from people running small instances. cc <span class="h-card" translate="no"><a href="https://hachyderm.io/@bob" class="u-url mention">@<span>bob</span></a></span> <span class="h-card" translate="no"><a href="https://social.example/@carol" class="u-url mention">@<span>carol</span></a></span></p><p><a href="https://mastodon.social/tags/trustandsafety" class="mention hashtag" rel="tag">#<span>TrustAndSafety</span></a> <a href="https://mastodon.social/tags/mastodon" class="mention hashtag" rel="tag">#<span>mastodon</span></a> <a href="https://mastodon.social/tags/activitypub" class="mention hashtag" rel="tag">#<span>ActivityPub</span></a></p>`

func TestBenchmarkInputSizes(t *testing.T) {
	if n := len(sampleMarkdown); n < 900 || n > 1200 {
		t.Errorf("sampleMarkdown is %d bytes, want about 1 KB", n)
	}
	if n := len(sampleRemoteHTML); n < 1900 || n > 2300 {
		t.Errorf("sampleRemoteHTML is %d bytes, want about 2 KB", n)
	}
}

func BenchmarkRender(b *testing.B) {
	r := testRenderer()
	b.SetBytes(int64(len(sampleMarkdown)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Render(sampleMarkdown); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkExtract(b *testing.B) {
	r := testRenderer()
	b.SetBytes(int64(len(sampleMarkdown)))
	b.ReportAllocs()
	for b.Loop() {
		r.Extract(sampleMarkdown)
	}
}

func BenchmarkSanitizeRemote(b *testing.B) {
	r := testRenderer()
	b.SetBytes(int64(len(sampleRemoteHTML)))
	b.ReportAllocs()
	for b.Loop() {
		r.SanitizeRemote(sampleRemoteHTML)
	}
}
