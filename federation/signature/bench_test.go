package signature

import (
	"bytes"
	"context"
	"net/http"
	"testing"
	"time"
)

// Compare with LIBRARIES.md §5 (same kind of machine): httpsig sign of a POST ~1.33 ms
// (~750 ops/s/core), verify ~39.6 µs (~25,200 ops/s/core). Run with
//
//	go test -run '^$' -bench . -benchmem -cpu 1 -count 3 ./federation/signature/
var benchBody = bytes.Repeat([]byte(`{"type":"Note","content":"<p>hello</p>"},`), 3500/41)

func BenchmarkSignPOST(b *testing.B) {
	a, _ := rsaKeys(b)
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		req, _ := http.NewRequest(http.MethodPost, "https://node.example/users/bob/inbox", bytes.NewReader(benchBody))
		if err := Sign(req, benchBody, a, aliceKeyID, now); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

func BenchmarkVerifyPOST(b *testing.B) {
	a, _ := rsaKeys(b)
	now := time.Now()
	req, _ := http.NewRequest(http.MethodPost, "https://node.example/users/bob/inbox", nil)
	if err := Sign(req, benchBody, a, aliceKeyID, now); err != nil {
		b.Fatal(err)
	}
	// What the inbox sees: RequestURI from the request line, Host outside the header map.
	req.RequestURI, req.Host = "/users/bob/inbox", "node.example"
	req.Header.Del("Host")
	v := &Verifier{Resolver: resolverFor(aliceKeyID, aliceID, &a.PublicKey), Clock: fixedClock(now)}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(ctx, req, benchBody); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}
