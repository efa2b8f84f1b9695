package signature

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// inbox is a real HTTP server that verifies every request, like the federation inbox will.
type inbox struct {
	srv     *httptest.Server
	mu      sync.Mutex
	last    *Verified
	lastErr error
}

func newInbox(t *testing.T, v *Verifier) *inbox {
	in := &inbox{}
	in.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		got, err := v.Verify(r.Context(), r, body)
		in.mu.Lock()
		in.last, in.lastErr = got, err
		in.mu.Unlock()
		if err != nil {
			http.Error(w, "invalid signature", http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(in.srv.Close)
	return in
}

func (in *inbox) do(t *testing.T, req *http.Request) (*Verified, error) {
	t.Helper()
	resp, err := in.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	in.mu.Lock()
	defer in.mu.Unlock()
	if (in.lastErr == nil) != (resp.StatusCode == http.StatusAccepted) {
		t.Fatalf("status %d with error %v", resp.StatusCode, in.lastErr)
	}
	return in.last, in.lastErr
}

func newRequest(t testing.TB, method, url string, body []byte) *http.Request {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func signed(t testing.TB, method, url string, body []byte, now time.Time) *http.Request {
	t.Helper()
	a, _ := rsaKeys(t)
	req := newRequest(t, method, url, body)
	if err := Sign(req, body, a, aliceKeyID, now); err != nil {
		t.Fatal(err)
	}
	return req
}

func aliceVerifier(t testing.TB) (*Verifier, *stubResolver) {
	a, _ := rsaKeys(t)
	res := resolverFor(aliceKeyID, aliceID, &a.PublicKey)
	return &Verifier{Resolver: res}, res
}

var note = []byte(`{"@context":"https://www.w3.org/ns/activitystreams","type":"Create","actor":"https://social.example/users/alice"}`)

func TestRoundTripGET(t *testing.T) {
	v, _ := aliceVerifier(t)
	in := newInbox(t, v)
	req := signed(t, http.MethodGet, in.srv.URL+"/users/bob", nil, time.Now())
	if req.Header.Get("Digest") != "" {
		t.Fatal("GET got a Digest")
	}
	got, err := in.do(t, req)
	if err != nil {
		t.Fatal(err)
	}
	if got.KeyID != aliceKeyID || got.Owner != aliceID {
		t.Fatalf("verified %+v", got)
	}
	if want := []string{"(request-target)", "host", "date"}; !slices.Equal(got.Headers, want) {
		t.Fatalf("headers %v, want %v", got.Headers, want)
	}
}

func TestRoundTripPOST(t *testing.T) {
	v, _ := aliceVerifier(t)
	in := newInbox(t, v)
	req := signed(t, http.MethodPost, in.srv.URL+"/users/bob/inbox", note, time.Now())
	sig := req.Header.Get("Signature")
	if !strings.Contains(sig, `algorithm="rsa-sha256"`) || strings.Contains(sig, "hs2019") {
		t.Fatalf("algorithm label not rewritten: %s", sig)
	}
	if req.Header.Get("Digest") != bodyDigest(note) {
		t.Fatalf("Digest %q", req.Header.Get("Digest"))
	}
	got, err := in.do(t, req)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"(request-target)", "host", "date", "digest"}; !slices.Equal(got.Headers, want) {
		t.Fatalf("headers %v, want %v", got.Headers, want)
	}
}

// A retry re-signs the same request object; the old Digest and Signature must not linger.
func TestSignTwiceReplaces(t *testing.T) {
	v, _ := aliceVerifier(t)
	in := newInbox(t, v)
	a, _ := rsaKeys(t)
	req := signed(t, http.MethodPost, in.srv.URL+"/inbox", note, time.Now().Add(-3*time.Hour))
	if err := Sign(req, note, a, aliceKeyID, time.Now()); err != nil {
		t.Fatal(err)
	}
	if n := len(req.Header.Values("Signature")); n != 1 {
		t.Fatalf("%d Signature headers", n)
	}
	req.Body = io.NopCloser(bytes.NewReader(note))
	if _, err := in.do(t, req); err != nil {
		t.Fatal(err)
	}
}

func TestTamperedBody(t *testing.T) {
	v, res := aliceVerifier(t)
	in := newInbox(t, v)
	req := signed(t, http.MethodPost, in.srv.URL+"/users/bob/inbox", note, time.Now())
	evil := bytes.Replace(note, []byte("alice"), []byte("mallory"), 1)
	req.Body, req.ContentLength = io.NopCloser(bytes.NewReader(evil)), int64(len(evil))
	_, err := in.do(t, req)
	wantKind(t, err, ErrDigestMismatch)
	if len(res.callLog()) != 0 {
		t.Fatal("a digest mismatch must not cost a key lookup")
	}
}

func TestPOSTWithoutDigest(t *testing.T) {
	v, _ := aliceVerifier(t)
	in := newInbox(t, v)
	a, _ := rsaKeys(t)
	req := newRequest(t, http.MethodPost, in.srv.URL+"/users/bob/inbox", note)
	if err := Sign(req, nil, a, aliceKeyID, time.Now()); err != nil { // body left out of the signature
		t.Fatal(err)
	}
	_, err := in.do(t, req)
	wantKind(t, err, ErrHeadersNotSigned)
}

func TestWrongKeyRefreshesOnce(t *testing.T) {
	_, b := rsaKeys(t)
	res := resolverFor(aliceKeyID, aliceID, &b.PublicKey) // published key is B, request signed with A
	in := newInbox(t, &Verifier{Resolver: res})
	_, err := in.do(t, signed(t, http.MethodPost, in.srv.URL+"/inbox", note, time.Now()))
	wantKind(t, err, ErrBadSignature)
	want := []resolveCall{{aliceKeyID, false}, {aliceKeyID, true}}
	if got := res.callLog(); !slices.Equal(got, want) {
		t.Fatalf("resolver calls %v, want %v", got, want)
	}
}

func TestKeyRotationPickedUpByRefresh(t *testing.T) {
	a, b := rsaKeys(t)
	res := resolverFor(aliceKeyID, aliceID, &b.PublicKey) // stale cached key
	res.refreshed = map[string]*PublicKey{aliceKeyID: {ID: aliceKeyID, Owner: aliceID, Key: &a.PublicKey}}
	in := newInbox(t, &Verifier{Resolver: res})
	if _, err := in.do(t, signed(t, http.MethodPost, in.srv.URL+"/inbox", note, time.Now())); err != nil {
		t.Fatal(err)
	}
	if n := len(res.callLog()); n != 2 {
		t.Fatalf("%d resolver calls, want 2", n)
	}
}

func TestSignedForAnotherPath(t *testing.T) {
	v, _ := aliceVerifier(t)
	in := newInbox(t, v)
	req := signed(t, http.MethodPost, in.srv.URL+"/users/bob/inbox", note, time.Now())
	req.URL.Path = "/users/carol/inbox"
	_, err := in.do(t, req)
	wantKind(t, err, ErrBadSignature)
}

func TestQueryStringSigned(t *testing.T) {
	v, _ := aliceVerifier(t)
	in := newInbox(t, v)
	if _, err := in.do(t, signed(t, http.MethodGet, in.srv.URL+"/users/bob/outbox?page=true&min_id=5", nil, time.Now())); err != nil {
		t.Fatal(err)
	}
	// Signed for one query, sent with another: neither candidate target matches.
	req := signed(t, http.MethodGet, in.srv.URL+"/users/bob/outbox?page=1", nil, time.Now())
	req.URL.RawQuery = "page=2"
	_, err := in.do(t, req)
	wantKind(t, err, ErrBadSignature)
}

// Mastodon before 4.1 signed the path without the query; the fallback accepts that.
func TestOldMastodonSignatureWithoutQuery(t *testing.T) {
	v, _ := aliceVerifier(t)
	in := newInbox(t, v)
	req := signed(t, http.MethodGet, in.srv.URL+"/users/bob/outbox", nil, time.Now())
	req.URL.RawQuery = "page=true"
	if _, err := in.do(t, req); err != nil {
		t.Fatal(err)
	}
}

func TestDateWindow(t *testing.T) {
	v, _ := aliceVerifier(t)
	in := newInbox(t, v)
	for _, off := range []time.Duration{-2 * time.Hour, 2 * time.Hour} {
		_, err := in.do(t, signed(t, http.MethodGet, in.srv.URL+"/users/bob", nil, time.Now().Add(off)))
		wantKind(t, err, ErrDateSkew)
	}
	if _, err := in.do(t, signed(t, http.MethodGet, in.srv.URL+"/users/bob", nil, time.Now().Add(-50*time.Minute))); err != nil {
		t.Fatalf("50 minutes old: %v", err)
	}
	// An injected clock and a narrower window.
	now := time.Now()
	v2, _ := aliceVerifier(t)
	v2.Clock, v2.MaxSkew = fixedClock(now.Add(10*time.Minute)), 5*time.Minute
	in2 := newInbox(t, v2)
	_, err := in2.do(t, signed(t, http.MethodGet, in2.srv.URL+"/users/bob", nil, now))
	wantKind(t, err, ErrDateSkew)
}

func TestAlgorithmLabels(t *testing.T) {
	v, _ := aliceVerifier(t)
	in := newInbox(t, v)
	for label, kind := range map[string]error{
		`algorithm="rsa-sha256"`:  nil,
		`algorithm="hs2019"`:      nil,
		`algorithm="RSA-SHA256"`:  nil,
		`algorithm="rsa-sha512"`:  ErrBadSignature, // declared SHA-512, signed SHA-256
		`algorithm="ed25519"`:     ErrBadSignature, // does not fit an RSA key
		`algorithm="hmac-sha256"`: ErrMalformed,
	} {
		req := signed(t, http.MethodPost, in.srv.URL+"/inbox", note, time.Now())
		req.Header.Set("Signature", strings.Replace(req.Header.Get("Signature"), `algorithm="rsa-sha256"`, label, 1))
		_, err := in.do(t, req)
		if kind == nil && err != nil {
			t.Errorf("%s: %v", label, err)
		} else if kind != nil {
			wantKind(t, err, kind)
		}
	}
	// No algorithm parameter at all means hs2019.
	req := signed(t, http.MethodPost, in.srv.URL+"/inbox", note, time.Now())
	req.Header.Set("Signature", strings.Replace(req.Header.Get("Signature"), `algorithm="rsa-sha256",`, "", 1))
	if _, err := in.do(t, req); err != nil {
		t.Fatal(err)
	}
}

func TestPolicy(t *testing.T) {
	a, _ := rsaKeys(t)
	v, _ := aliceVerifier(t)
	v.Clock = fixedClock(time.Now())
	base := func(method string, body []byte) *http.Request {
		r := newRequest(t, method, "https://node.example/users/bob/inbox", body)
		r.Header.Set("Date", v.Clock().UTC().Format(http.TimeFormat))
		if body != nil {
			r.Header.Set("Digest", bodyDigest(body))
		}
		return r
	}
	sign := func(r *http.Request, headers string) *http.Request {
		sig := handSign(t, a, r, "/users/bob/inbox", strings.Fields(headers), 0, 0)
		r.Header.Set("Signature", `keyId="`+aliceKeyID+`",headers="`+headers+`",signature="`+sig+`"`)
		return r
	}
	cases := []struct {
		name string
		req  *http.Request
		body []byte
		kind error
	}{
		{"unsigned", base(http.MethodGet, nil), nil, ErrMissingSignature},
		{"GET without host", sign(base(http.MethodGet, nil), "(request-target) date"), nil, ErrHeadersNotSigned},
		{"no date", sign(base(http.MethodGet, nil), "(request-target) host"), nil, ErrHeadersNotSigned},
		{"no target or digest", sign(base(http.MethodGet, nil), "host date"), nil, ErrHeadersNotSigned},
		{"default headers", sign(base(http.MethodGet, nil), "date"), nil, ErrHeadersNotSigned},
		{"POST without digest", sign(base(http.MethodPost, note), "(request-target) host date"), note, ErrHeadersNotSigned},
		{"digest without target", sign(base(http.MethodPost, note), "host date digest"), note, nil},
		{"signed header absent", sign(base(http.MethodGet, nil), "(request-target) host date accept"), nil, ErrMalformed},
		{"ok GET", sign(base(http.MethodGet, nil), "(request-target) host date"), nil, nil},
	}
	for _, c := range cases {
		_, err := v.Verify(t.Context(), c.req, c.body)
		if c.kind == nil {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
			continue
		}
		if !errErrKind(err, c.kind) {
			t.Errorf("%s: error %v, want %v", c.name, err, c.kind)
		}
	}
	twice := sign(base(http.MethodGet, nil), "(request-target) host date")
	twice.Header.Add("Signature", twice.Header.Get("Signature"))
	_, err := v.Verify(t.Context(), twice, nil)
	wantKind(t, err, ErrMalformed)
}

func errErrKind(err, kind error) bool {
	se, ok := err.(*Error)
	return ok && se.Kind == kind
}
