package signature

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Two RSA keys are enough for every test; generating them costs ~100 ms each, so once.
var testKeys = sync.OnceValues(func() ([2]*rsa.PrivateKey, error) {
	var ks [2]*rsa.PrivateKey
	for i := range ks {
		k, err := GenerateKey()
		if err != nil {
			return ks, err
		}
		ks[i] = k
	}
	return ks, nil
})

func rsaKeys(t testing.TB) (a, b *rsa.PrivateKey) {
	t.Helper()
	ks, err := testKeys()
	if err != nil {
		t.Fatal(err)
	}
	return ks[0], ks[1]
}

func loadKey(t testing.TB, name string) *rsa.PrivateKey {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	k, err := ParsePrivateKeyPEM(string(b))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

const (
	aliceKeyID = "https://social.example/users/alice#main-key"
	aliceID    = "https://social.example/users/alice"
)

type resolveCall struct {
	keyID   string
	refresh bool
}

// stubResolver serves keys from maps; refreshed (if set) answers refresh=true, so tests can
// play a key rotation. It records every call.
type stubResolver struct {
	mu        sync.Mutex
	keys      map[string]*PublicKey
	refreshed map[string]*PublicKey
	calls     []resolveCall
}

func resolverFor(keyID, owner string, key crypto.PublicKey) *stubResolver {
	return &stubResolver{keys: map[string]*PublicKey{keyID: {ID: keyID, Owner: owner, Key: key}}}
}

func (s *stubResolver) ResolveKey(_ context.Context, keyID string, refresh bool) (*PublicKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, resolveCall{keyID, refresh})
	if refresh && s.refreshed[keyID] != nil {
		return s.refreshed[keyID], nil
	}
	if k := s.keys[keyID]; k != nil {
		return k, nil
	}
	return nil, errors.New("no such key")
}

func (s *stubResolver) callLog() []resolveCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]resolveCall(nil), s.calls...)
}

func fixedClock(t time.Time) func() time.Time { return func() time.Time { return t } }

// handSign computes a draft-cavage signature without go-fed: the signing string is built line
// by line as the draft (§2.3) and Mastodon's Request#signed_string do, then signed with the
// standard library. target is the (request-target) path?query as the signer sees it.
func handSign(t testing.TB, key crypto.Signer, r *http.Request, target string, headers []string, created, expires int64) string {
	t.Helper()
	lines := make([]string, len(headers))
	for i, h := range headers {
		switch h {
		case "(request-target)":
			lines[i] = h + ": " + strings.ToLower(r.Method) + " " + target
		case "(created)":
			lines[i] = h + ": " + strconv.FormatInt(created, 10)
		case "(expires)":
			lines[i] = h + ": " + strconv.FormatInt(expires, 10)
		case "host":
			lines[i] = "host: " + r.Host
		default:
			lines[i] = h + ": " + strings.Join(r.Header.Values(h), ", ")
		}
	}
	msg := strings.Join(lines, "\n")
	var sig []byte
	var err error
	switch k := key.(type) {
	case *rsa.PrivateKey:
		sum := sha256.Sum256([]byte(msg))
		sig, err = rsa.SignPKCS1v15(nil, k, crypto.SHA256, sum[:])
	case ed25519.PrivateKey:
		sig = ed25519.Sign(k, []byte(msg))
	default:
		t.Fatalf("handSign: key type %T", key)
	}
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(sig)
}

func bodyDigest(body []byte) string {
	s := sha256.Sum256(body)
	return "SHA-256=" + base64.StdEncoding.EncodeToString(s[:])
}

func wantKind(t testing.TB, err, kind error) {
	t.Helper()
	if !errors.Is(err, kind) {
		t.Fatalf("error = %v, want kind %v", err, kind)
	}
	var se *Error
	if !errors.As(err, &se) {
		t.Fatalf("error %v is not a *signature.Error", err)
	}
}
