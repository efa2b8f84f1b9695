package previews

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParse(t *testing.T) {
	const page = "https://news.example/articles/42?x=1"
	tests := []struct {
		name string
		html string
		want Preview
	}{
		{
			name: "opengraph wins over fallbacks",
			html: `<!doctype html><html><head>
				<title>Plain title</title>
				<meta name="description" content="Plain description">
				<meta name="twitter:title" content="Twitter title">
				<meta property="og:title" content="OG title">
				<meta property="og:description" content="OG description">
				<meta property="og:image" content="https://cdn.example/a.png">
				<meta property="og:site_name" content="News Example">
				</head><body></body></html>`,
			want: Preview{Title: "OG title", Description: "OG description", ImageURL: "https://cdn.example/a.png", SiteName: "News Example", Status: StatusOK},
		},
		{
			name: "twitter card fallback",
			html: `<head><title>Plain</title>
				<meta name="twitter:title" content="TW title">
				<meta name="twitter:description" content="TW description">
				<meta name="twitter:image" content="/img/tw.jpg"></head>`,
			want: Preview{Title: "TW title", Description: "TW description", ImageURL: "https://news.example/img/tw.jpg", Status: StatusOK},
		},
		{
			name: "title and meta description only",
			html: `<html><head><title> Just   a
				title </title><meta name="Description" content="desc"></head></html>`,
			want: Preview{Title: "Just a title", Description: "desc", Status: StatusOK},
		},
		{
			name: "entities decoded once",
			html: `<head><title>Tom &amp; Jerry&#39;s &lt;show&gt; &amp;amp;</title>
				<meta property="og:description" content="caf&eacute; &quot;quoted&quot; &#x1F600;"></head>`,
			want: Preview{Title: "Tom & Jerry's <show> &amp;", Description: `café "quoted" 😀`, Status: StatusOK},
		},
		{
			name: "relative image resolved against page",
			html: `<head><meta property="og:title" content="t"><meta property="og:image" content="../img/a b.png"></head>`,
			want: Preview{Title: "t", ImageURL: "https://news.example/img/a%20b.png", Status: StatusOK},
		},
		{
			name: "protocol-relative image",
			html: `<head><meta property="og:image" content="//cdn.example/x.png"></head>`,
			want: Preview{ImageURL: "https://cdn.example/x.png", Status: StatusOK},
		},
		{
			name: "base href applies",
			html: `<head><base href="https://static.example/assets/"><base href="https://ignored.example/">
				<meta property="og:image" content="p.png"></head>`,
			want: Preview{ImageURL: "https://static.example/assets/p.png", Status: StatusOK},
		},
		{
			name: "javascript image dropped, twitter image used",
			html: `<head><meta property="og:title" content="t">
				<meta property="og:image" content="javascript:alert(1)">
				<meta property="og:image" content=" JaVaScRiPt:alert(2)">
				<meta name="twitter:image" content="https://cdn.example/ok.png"></head>`,
			want: Preview{Title: "t", ImageURL: "https://cdn.example/ok.png", Status: StatusOK},
		},
		{
			name: "only unsafe images",
			html: `<head><meta property="og:title" content="t">
				<meta property="og:image" content="javascript:alert(1)">
				<meta property="og:image:url" content="data:image/png;base64,AAAA">
				<meta property="og:image:secure_url" content="https://user:pw@cdn.example/x.png">
				<meta name="twitter:image" content="file:///etc/passwd"></head>`,
			want: Preview{Title: "t", Status: StatusOK},
		},
		{
			name: "og in name attribute, upper-case markup",
			html: `<HEAD><META NAME="OG:TITLE" CONTENT="Shouty"><META PROPERTY="og:site_name" CONTENT="Site"></HEAD>`,
			want: Preview{Title: "Shouty", SiteName: "Site", Status: StatusOK},
		},
		{
			name: "empty og title falls back",
			html: `<head><meta property="og:title" content="  "><title>Real</title></head>`,
			want: Preview{Title: "Real", Status: StatusOK},
		},
		{
			name: "stops at end of head",
			html: `<head><meta property="og:site_name" content="S"></head><body><title>Body title</title>
				<meta property="og:title" content="late"></body>`,
			want: Preview{SiteName: "S", Status: StatusNone},
		},
		{
			name: "stops at body without head end",
			html: `<html><body><svg><title>icon</title></svg><meta property="og:title" content="late">`,
			want: Preview{Status: StatusNone},
		},
		{
			name: "svg title in head ignored",
			html: `<head><svg><title>icon</title></svg><title>Page</title></head>`,
			want: Preview{Title: "Page", Status: StatusOK},
		},
		{
			name: "control characters, NUL and bidi overrides stripped",
			html: "<head><title>a\x00b\x01c\u202Ed\u2066e\u200Ff</title>" +
				"<meta property=\"og:description\" content=\"x\x7f\u0085y\tz\"></head>",
			want: Preview{Title: "abcde\u200Ff", Description: "x y z", Status: StatusOK},
		},
		{
			name: "invalid UTF-8 replaced",
			html: "<head><title>Caf\xe9</title></head>",
			want: Preview{Title: "Caf\uFFFD", Status: StatusOK},
		},
		{
			name: "nothing usable",
			html: `<html><head><meta charset="utf-8"><meta property="og:type" content="website"></head><body>hi</body></html>`,
			want: Preview{Status: StatusNone},
		},
		{
			name: "not html at all",
			html: `{"title": "json"}`,
			want: Preview{Status: StatusNone},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Parse(page, []byte(tt.html))
			tt.want.URL = page
			if got != tt.want {
				t.Errorf("Parse =\n %+v\nwant\n %+v", got, tt.want)
			}
		})
	}
}

func TestParseCaps(t *testing.T) {
	long := strings.Repeat("word ", 400)
	p := Parse("https://a.example/", []byte(`<head><title>`+long+`</title><meta name="description" content="`+long+`">`+
		`<meta property="og:site_name" content="`+long+`"></head>`))
	for _, c := range []struct {
		field, s string
		max      int
	}{{"Title", p.Title, MaxTitleRunes}, {"Description", p.Description, MaxDescriptionRunes}, {"SiteName", p.SiteName, MaxSiteNameRunes}} {
		if n := utf8.RuneCountInString(c.s); n > c.max {
			t.Errorf("%s has %d runes, cap %d", c.field, n, c.max)
		}
		if !strings.HasSuffix(c.s, "word…") && !strings.HasSuffix(c.s, "wor…") {
			t.Errorf("%s = %q, want a cut ending in an ellipsis", c.field, c.s)
		}
		if strings.Contains(c.s, " …") {
			t.Errorf("%s = %q: space before the ellipsis", c.field, c.s)
		}
	}
	// Exactly at the cap: kept whole.
	exact := strings.Repeat("é", MaxTitleRunes)
	if got := Parse("", []byte("<title>"+exact+"</title>")).Title; got != exact {
		t.Errorf("a %d-rune title was changed to %q", MaxTitleRunes, got)
	}

	long2 := "https://cdn.example/" + strings.Repeat("a", MaxURLBytes)
	if got := Parse("", []byte(`<meta property="og:image" content="`+long2+`">`)).ImageURL; got != "" {
		t.Errorf("over-long image URL kept: %d bytes", len(got))
	}
}

func TestParseReadsAtMostMaxPageBytes(t *testing.T) {
	head := `<head><title>Early</title>`
	pad := strings.Repeat("<!-- padding padding padding -->", MaxPageBytes/32+10)
	body := head + pad + `<meta property="og:title" content="Late"></head>`
	if got := Parse("https://a.example/", []byte(body)).Title; got != "Early" {
		t.Errorf("Title = %q, want the early <title>: metadata past MaxPageBytes must be ignored", got)
	}
	// The same metadata inside the budget is seen.
	if got := Parse("https://a.example/", []byte(head+`<meta property="og:title" content="Late"></head>`)).Title; got != "Late" {
		t.Errorf("Title = %q, want Late", got)
	}
}

func TestCleanText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{" \t\n ", ""},
		{"a\u00a0\u00a0b", "a b"},
		{"\x00\x00", ""},
		{"  lead and trail  ", "lead and trail"},
		{"ab cd", "ab cd"},
	}
	for _, tt := range tests {
		if got := cleanText(tt.in, 20); got != tt.want {
			t.Errorf("cleanText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if got := cleanText("abcd efghij", 5); got != "abcd…" {
		t.Errorf("cut = %q, want %q", got, "abcd…")
	}
	if got := cleanText("abc defghij", 5); got != "abc…" {
		t.Errorf("cut at a space = %q, want %q", got, "abc…")
	}
}
