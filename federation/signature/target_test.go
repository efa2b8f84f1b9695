package signature

import (
	"net/http"
	"net/url"
	"testing"
	"time"
)

const rawPath = "/users/b%C3%B6b/inbox"

// Over a real server: the client sends the escaped path, Sign signed the escaped path, and the
// net/http server's RequestURI carries it verbatim.
func TestPercentEncodedPathOverHTTP(t *testing.T) {
	v, _ := aliceVerifier(t)
	in := newInbox(t, v)
	req := signed(t, http.MethodPost, in.srv.URL+rawPath, note, time.Now())
	if req.URL.Path != "/users/böb/inbox" {
		t.Fatalf("test premise: decoded path %q", req.URL.Path)
	}
	if _, err := in.do(t, req); err != nil {
		t.Fatal(err)
	}
}

// How the fiber inbox may build the request (doc.go), each verified against a Mastodon-style
// signature over the raw path: hand-made here, so go-fed's decoded-path habit cannot hide a bug.
func TestRawPathRequestShapes(t *testing.T) {
	a, _ := rsaKeys(t)
	now := time.Now()
	v, _ := aliceVerifier(t)
	v.Clock = fixedClock(now)

	build := func(raw string, shape func(r *http.Request)) *http.Request {
		r := &http.Request{Method: http.MethodPost, Host: "node.example", Header: http.Header{}}
		r.Header.Set("Date", now.UTC().Format(http.TimeFormat))
		r.Header.Set("Digest", bodyDigest(note))
		headers := []string{"(request-target)", "host", "date", "digest"}
		sig := handSign(t, a, r, raw, headers, 0, 0)
		r.Header.Set("Signature", `keyId="`+aliceKeyID+`",algorithm="rsa-sha256",headers="(request-target) host date digest",signature="`+sig+`"`)
		shape(r)
		return r
	}
	parsed := func(raw string) *url.URL {
		u, err := url.ParseRequestURI(raw)
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	const lower = "/users/b%c3%b6b/inbox" // some signers emit lower-case hex
	cases := []struct {
		name  string
		raw   string
		shape func(r *http.Request)
		ok    bool
	}{
		{"RequestURI (fasthttp RequestURI())", rawPath, func(r *http.Request) {
			r.RequestURI, r.URL = rawPath, &url.URL{Path: "/users/böb/inbox"}
		}, true},
		{"RequestURI with query", rawPath + "?x=1", func(r *http.Request) { r.RequestURI = rawPath + "?x=1" }, true},
		{"url.ParseRequestURI", rawPath, func(r *http.Request) { r.URL = parsed(rawPath) }, true},
		{"url.ParseRequestURI lower-case hex", lower, func(r *http.Request) { r.URL = parsed(lower) }, true},
		{"RequestURI lower-case hex", lower, func(r *http.Request) { r.RequestURI = lower }, true},
		{"URL.RawPath", rawPath, func(r *http.Request) {
			r.URL = &url.URL{Path: "/users/böb/inbox", RawPath: rawPath}
		}, true},
		{"URL.Opaque", rawPath, func(r *http.Request) { r.URL = &url.URL{Opaque: rawPath} }, true},
		{"URL.Opaque with authority", rawPath, func(r *http.Request) {
			r.URL = &url.URL{Scheme: "https", Opaque: "//node.example" + rawPath}
		}, true},
		{"absolute-form RequestURI", rawPath, func(r *http.Request) {
			r.RequestURI = "https://node.example" + rawPath
		}, true},
		// The documented pitfall: the raw path in URL.Path is escaped a second time.
		{"raw path in URL.Path (wrong)", rawPath, func(r *http.Request) { r.URL = &url.URL{Path: rawPath} }, false},
		// go-fed's own habit, the decoded path, does not match what Mastodon signs.
		{"signed decoded path", "/users/böb/inbox", func(r *http.Request) { r.URL = parsed(rawPath) }, false},
	}
	for _, c := range cases {
		_, err := v.Verify(t.Context(), build(c.raw, c.shape), note)
		if c.ok && err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
		if !c.ok && !errErrKind(err, ErrBadSignature) {
			t.Errorf("%s: error %v, want ErrBadSignature", c.name, err)
		}
	}
}

func TestRequestTarget(t *testing.T) {
	for _, c := range []struct {
		r           *http.Request
		path, query string
	}{
		{&http.Request{RequestURI: "/a%20b?q=1%202"}, "/a%20b", "q=1%202"},
		{&http.Request{URL: &url.URL{Path: "/a b", RawQuery: "q=1"}}, "/a%20b", "q=1"},
		{&http.Request{URL: &url.URL{}}, "/", ""},
		{&http.Request{}, "/", ""},
		{&http.Request{URL: &url.URL{Opaque: "//host"}}, "/", ""},
		{&http.Request{RequestURI: "*", URL: &url.URL{Path: "/x"}}, "/x", ""},
	} {
		p, q := requestTarget(c.r)
		if p != c.path || q != c.query {
			t.Errorf("%+v: got %q %q, want %q %q", c.r, p, q, c.path, c.query)
		}
	}
}
