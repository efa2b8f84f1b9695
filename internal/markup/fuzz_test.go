package markup

import (
	"errors"
	"testing"
	"unicode/utf8"
)

func FuzzRender(f *testing.F) {
	for _, s := range xssCorpus {
		f.Add(s)
	}
	f.Add(sampleMarkdown)
	f.Add("@alice @bob@partner.example #go #Café_2026 https://x.example/@a#b alice@example.com")
	f.Add("- [ ] *a **b** ~~c~~ `d`*\n> > ```\n1. x\n   2. y\n# h\n---\n![i](https://x/y)")
	r := testRenderer()
	f.Fuzz(func(t *testing.T, src string) {
		res, err := r.Render(src)
		if err != nil {
			if !errors.Is(err, ErrTooLong) || len(src) <= MaxSourceLen {
				t.Fatalf("Render(%q): unexpected error %v", src, err)
			}
			return
		}
		checkSafeHTML(t, src, res.HTML, false)
		if !utf8.ValidString(res.HTML) || !utf8.ValidString(res.Text) {
			t.Fatalf("Render(%q): invalid UTF-8 in output", src)
		}
		if len(res.Mentions) > MaxMentions || len(res.Tags) > MaxTags {
			t.Fatalf("Render(%q): over the caps", src)
		}
		r.Extract(src)
	})
}

func FuzzSanitizeRemote(f *testing.F) {
	for _, s := range xssCorpus {
		f.Add(s)
	}
	f.Add(sampleRemoteHTML)
	f.Add("<p>a\x00<h1>b</p></h1><ol start=-1 reversed><li value=x>c<a href=gemini://x>d")
	r := testRenderer()
	f.Fuzz(func(t *testing.T, in string) {
		out := r.SanitizeRemote(in)
		checkSafeHTML(t, in, out, false)
		if !utf8.ValidString(out) {
			t.Fatalf("SanitizeRemote(%q): invalid UTF-8", in)
		}
		// Stored HTML gets sanitised again when it comes back (re-fetches, edits,
		// boosts); a second pass must not change it.
		if again := r.SanitizeRemote(out); again != out {
			t.Fatalf("not idempotent for %q:\nonce:  %q\ntwice: %q", in, out, again)
		}
		PlainText(out)
	})
}
