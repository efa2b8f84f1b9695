package signature

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-fed/httpsig"
)

const sigB64 = "c2lnbmF0dXJl" // "signature"

func TestParseSignatureHeader(t *testing.T) {
	good := `keyId="https://h.example/users/a#main-key",algorithm="rsa-sha256",headers="(request-target) host date digest",signature="` + sigB64 + `"`
	p, err := parseSignatureHeader(good)
	if err != nil {
		t.Fatal(err)
	}
	if p.keyID != "https://h.example/users/a#main-key" || p.algorithm != "rsa-sha256" || p.signature != sigB64 ||
		!slices.Equal(p.headers, []string{"(request-target)", "host", "date", "digest"}) {
		t.Fatalf("parsed %+v", p)
	}
	ok := []string{
		good,
		`keyId="https://h.example/users/a/main-key", headers="Date Host (Request-Target)" , signature="` + sigB64 + `"`,
		`keyId="https://h.example/k",signature="` + sigB64 + `"`, // headers default to date
		`keyId="https://h.example/k",created=1700000000,expires="1700000300",headers="(created) (expires)",signature="` + sigB64 + `"`,
		`keyId="https://h.example/k",signature="` + sigB64 + `",future="ignored",x=token`,
	}
	for _, s := range ok {
		if _, err := parseSignatureHeader(s); err != nil {
			t.Errorf("%s: %v", s, err)
		}
	}
	bad := map[string]string{
		"empty":               ``,
		"no keyId":            `signature="` + sigB64 + `"`,
		"no signature":        `keyId="https://h.example/k"`,
		"comma in keyId":      `keyId="https://h.example/k,x",signature="` + sigB64 + `"`,
		"quote games":         `keyId="https://h.example/k"",signature="` + sigB64 + `"`,
		"backslash":           `keyId="https://h.example/k\",signature="` + sigB64 + `"`,
		"space in keyId":      `keyId="https://h.example/ k",signature="` + sigB64 + `"`,
		"acct keyId":          `keyId="acct:a@h.example",signature="` + sigB64 + `"`,
		"relative keyId":      `keyId="/users/a/main-key",signature="` + sigB64 + `"`,
		"unquoted keyId":      `keyId=https://h.example/k,signature="` + sigB64 + `"`,
		"duplicate keyId":     `keyId="https://h.example/a",keyId="https://h.example/b",signature="` + sigB64 + `"`,
		"duplicate any case":  `keyId="https://h.example/a",KEYID="https://h.example/b",signature="` + sigB64 + `"`,
		"duplicate headers":   `keyId="https://h.example/a",headers="date",headers="host",signature="` + sigB64 + `"`,
		"duplicate unknown":   `keyId="https://h.example/a",x="1",x="2",signature="` + sigB64 + `"`,
		"header listed twice": `keyId="https://h.example/a",headers="date date",signature="` + sigB64 + `"`,
		"signs signature":     `keyId="https://h.example/a",headers="date signature",signature="` + sigB64 + `"`,
		"unknown pseudo":      `keyId="https://h.example/a",headers="(foo) date",signature="` + sigB64 + `"`,
		"empty headers":       `keyId="https://h.example/a",headers="",signature="` + sigB64 + `"`,
		"created missing":     `keyId="https://h.example/a",headers="(created)",signature="` + sigB64 + `"`,
		"bad created":         `keyId="https://h.example/a",created=-1,signature="` + sigB64 + `"`,
		"bad base64":          `keyId="https://h.example/a",signature="!!!"`,
		"unknown algorithm":   `keyId="https://h.example/a",algorithm="hmac-sha256",signature="` + sigB64 + `"`,
		"trailing comma":      `keyId="https://h.example/a",signature="` + sigB64 + `",`,
		"unterminated":        `keyId="https://h.example/a,signature="` + sigB64,
		"garbage":             `keyId="https://h.example/a" signature="` + sigB64 + `"`,
		"too long":            `keyId="https://h.example/a",x="` + strings.Repeat("a", maxHeaderLen) + `",signature="` + sigB64 + `"`,
		"too many params":     `keyId="https://h.example/a",` + strings.Repeat(`x=1,`, maxParams) + `signature="` + sigB64 + `"`,
		"signature too long":  `keyId="https://h.example/a",signature="` + strings.Repeat("AAAA", 400) + `"`,
	}
	for name, s := range bad {
		if _, err := parseSignatureHeader(s); err == nil {
			t.Errorf("%s: accepted %q", name, s)
		}
	}
}

// The worst 8 KiB inputs parse in linear time; this also guards against a future regex.
func TestParseBoundedTime(t *testing.T) {
	inputs := []string{
		strings.Repeat(",", maxHeaderLen),
		strings.Repeat(`"`, maxHeaderLen),
		`keyId="` + strings.Repeat("a", maxHeaderLen-8) + `"`,
		`headers="` + strings.Repeat("a ", maxHeaderLen/2-6) + `"`,
		strings.Repeat("a=", maxHeaderLen/2),
	}
	start := time.Now()
	for range 200 {
		for _, s := range inputs {
			_, _ = parseSignatureHeader(s)
		}
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("1000 worst-case parses took %s", d)
	}
}

func TestCheckDigest(t *testing.T) {
	body := []byte("hello")
	s256 := bodyDigest(body)
	s512 := "SHA-512=m3HSJL1i83hdltRq0+o9czGb+8KJDKra4t/3JRlnPKcjI8PZm6XBHXx6zG4UuMXaDEZjR1wuXDre9G9zvN7AQw=="
	for _, ok := range [][]string{
		{s256},
		{strings.Replace(s256, "SHA-256", "sha-256", 1)},
		{s512},
		{s256 + ", " + s512},
		{s256, s512}, // two header lines
		{"MD5=XUFAKrxLKna5cZ2REBfFkg==," + s256},
	} {
		if err := checkDigest(ok, body); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range [][]string{
		nil,
		{bodyDigest([]byte("other"))},
		{"MD5=XUFAKrxLKna5cZ2REBfFkg=="},
		{s512 + "," + bodyDigest([]byte("other"))}, // a right SHA-512 does not excuse a wrong SHA-256
		{"SHA-256"},
		{"SHA-256=***"},
		{strings.Repeat(s256+",", maxDigestItems) + s256},
	} {
		if err := checkDigest(bad, body); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// FuzzParseSignatureHeader: no panics, and whatever we accept, go-fed reads the same way from
// the canonical form we hand it (the property Verify relies on).
func FuzzParseSignatureHeader(f *testing.F) {
	for _, s := range []string{
		`keyId="https://h.example/users/a#main-key",algorithm="rsa-sha256",headers="(request-target) host date digest",signature="` + sigB64 + `"`,
		`keyId="https://h.example/k",created=1700000000,expires=1700000300,headers="(created) (expires) host",signature="` + sigB64 + `"`,
		`keyId="https://h.example/k",signature="` + sigB64 + `",x=y`,
		`keyId="a,b",signature=""`,
		`,,,="""`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := parseSignatureHeader(s)
		if err != nil {
			return
		}
		canon := p.canonical()
		q, err := parseSignatureHeader(canon)
		if err != nil {
			t.Fatalf("canonical form %q of %q rejected: %v", canon, s, err)
		}
		if q.keyID != p.keyID || q.signature != p.signature || !slices.Equal(q.headers, p.headers) {
			t.Fatalf("canonical round trip changed %+v to %+v", p, q)
		}
		r := &http.Request{Header: http.Header{"Signature": {canon}}}
		if gv, err := httpsig.NewVerifier(r); err == nil && gv.KeyId() != p.keyID {
			t.Fatalf("go-fed reads keyId %q, we read %q", gv.KeyId(), p.keyID)
		}
	})
}
