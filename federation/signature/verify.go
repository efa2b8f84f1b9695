package signature

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/go-fed/httpsig"
)

// DefaultMaxSkew is the accepted distance between our clock and a signed Date or (created):
// Mastodon 4.x tolerates one hour either way.
const DefaultMaxSkew = time.Hour

// Verified is the result of a successful verification.
type Verified struct {
	KeyID   string   // the keyId that verified
	Owner   string   // the actor id owning the key, as the resolver reported it
	Headers []string // the signed headers, lower case, in signing order
}

// PublicKey is a resolved public key. Key is *rsa.PublicKey or ed25519.PublicKey. Values handed
// out by a KeyResolver may be shared between goroutines: treat them as read-only.
type PublicKey struct {
	ID    string
	Owner string
	Key   crypto.PublicKey
}

// KeyResolver fetches the public key (and its owner) for a keyId. refresh=true asks to bypass
// caches: Verify sets it once after a failed verification, to pick up a rotated key. Refetches
// can be provoked by anyone who sends a bad signature, so rate limiting them is the resolver's
// job (KeyCache allows one per keyId per minute).
type KeyResolver interface {
	ResolveKey(ctx context.Context, keyID string, refresh bool) (*PublicKey, error)
}

// Verifier checks the draft-cavage signatures of incoming requests. The zero value with a
// Resolver set is ready; it is safe for concurrent use and must not be modified once in use.
type Verifier struct {
	Resolver KeyResolver
	Clock    func() time.Time // nil: time.Now
	MaxSkew  time.Duration    // 0: DefaultMaxSkew
	// KeyAllowed, when set, is asked about the keyId before its key is resolved (the partner
	// policy on the key's host); false fails with ErrKeyNotAllowed.
	KeyAllowed func(ctx context.Context, keyID string) bool
}

// Verify checks r (built as doc.go describes) against body, the exact bytes received.
//
// Order: cheap local checks first (header syntax, required signed headers, Digest, Date), so
// junk never triggers a key fetch; then the key, then the signature over the raw path with the
// query and, failing that, without it (older Mastodon signed no query). If that fails, the
// key is resolved once more with refresh=true and, when it changed, checked again.
func (v *Verifier) Verify(ctx context.Context, r *http.Request, body []byte) (*Verified, error) {
	if r == nil {
		return nil, fail(ErrMissingSignature, "", "nil request", nil)
	}
	vals := r.Header.Values("Signature")
	if len(vals) == 0 {
		return nil, fail(ErrMissingSignature, "", "", nil)
	}
	if len(vals) > 1 {
		return nil, fail(ErrMalformed, "", "more than one Signature header", nil)
	}
	p, err := parseSignatureHeader(vals[0])
	if err != nil {
		return nil, fail(ErrMalformed, "", "", err)
	}
	if err := v.checkPolicy(r, body, p); err != nil {
		return nil, err
	}
	if v.KeyAllowed != nil && !v.KeyAllowed(ctx, p.keyID) {
		return nil, fail(ErrKeyNotAllowed, p.keyID, "", nil) // before any fetch: a non-partner costs nothing
	}
	if v.Resolver == nil {
		return nil, fail(ErrKeyUnavailable, p.keyID, "verifier has no resolver", nil)
	}
	pk, kerr := v.resolve(ctx, p.keyID, false)
	if kerr != nil {
		return nil, kerr
	}
	c := newCheck(r, p)
	verr := c.verify(pk)
	if verr == nil {
		return p.result(pk), nil
	}
	fresh, rerr := v.resolve(ctx, p.keyID, true)
	if rerr != nil {
		return nil, fail(ErrBadSignature, p.keyID, "key refresh failed: "+strings.TrimPrefix(rerr.Error(), "signature: "), verr)
	}
	if sameKey(pk.Key, fresh.Key) {
		return nil, fail(ErrBadSignature, p.keyID, "", verr)
	}
	if verr = c.verify(fresh); verr != nil {
		return nil, fail(ErrBadSignature, p.keyID, "after key refresh", verr)
	}
	return p.result(fresh), nil
}

func (p *params) result(pk *PublicKey) *Verified {
	return &Verified{KeyID: p.keyID, Owner: pk.Owner, Headers: slices.Clone(p.headers)}
}

// checkPolicy enforces what go-fed leaves out (FEDERATION.md §1.4, §9.2).
func (v *Verifier) checkPolicy(r *http.Request, body []byte, p *params) error {
	id := p.keyID
	if !p.signs("date") && !p.signs(pseudoCreated) {
		return fail(ErrHeadersNotSigned, id, "neither date nor (created) is signed", nil)
	}
	// Mastodon's rule: without (request-target) a signature could be replayed to another path;
	// a signed digest at least pins the body.
	if !p.signs(pseudoRequestTarget) && !p.signs("digest") {
		return fail(ErrHeadersNotSigned, id, "neither (request-target) nor digest is signed", nil)
	}
	if (r.Method == http.MethodGet || r.Method == http.MethodHead || r.Method == "") && !p.signs("host") {
		return fail(ErrHeadersNotSigned, id, "host is not signed on a "+r.Method+" request", nil)
	}
	if (r.Method == http.MethodPost || len(body) > 0) && !p.signs("digest") {
		return fail(ErrHeadersNotSigned, id, "digest is not signed on a request with a body", nil)
	}
	for _, h := range p.headers {
		if h[0] == '(' {
			continue
		}
		if h == "host" {
			if effectiveHost(r) == "" {
				return fail(ErrMalformed, id, "signed header host is absent", nil)
			}
		} else if len(r.Header.Values(h)) == 0 {
			return fail(ErrMalformed, id, fmt.Sprintf("signed header %q is absent", h), nil)
		}
	}
	// Checked whenever present, signed or not: a mismatch means the body is not what was sent.
	if digests := r.Header.Values("Digest"); p.signs("digest") || len(digests) > 0 {
		if err := checkDigest(digests, body); err != nil {
			return fail(ErrDigestMismatch, id, "", err)
		}
	}
	return v.checkTimes(r, p)
}

func (v *Verifier) checkTimes(r *http.Request, p *params) error {
	now := time.Now()
	if v.Clock != nil {
		now = v.Clock()
	}
	skew := v.MaxSkew
	if skew <= 0 {
		skew = DefaultMaxSkew
	}
	within := func(t time.Time) bool { d := now.Sub(t); return d <= skew && d >= -skew }
	if p.signs("date") {
		t, err := http.ParseTime(r.Header.Get("Date"))
		if err != nil {
			return fail(ErrMalformed, p.keyID, "unparsable Date header", err)
		}
		if !within(t) {
			return fail(ErrDateSkew, p.keyID, fmt.Sprintf("Date %s is %s from now", t.UTC().Format(time.RFC3339), now.Sub(t).Round(time.Second)), nil)
		}
	}
	if p.hasCreated && !within(time.Unix(p.created, 0)) {
		return fail(ErrDateSkew, p.keyID, fmt.Sprintf("created %d outside the window", p.created), nil)
	}
	// Like Mastodon, MaxSkew also absorbs clock differences on expires.
	if p.hasExpires && now.Sub(time.Unix(p.expires, 0)) > skew {
		return fail(ErrDateSkew, p.keyID, fmt.Sprintf("expired at %d", p.expires), nil)
	}
	return nil
}

func (v *Verifier) resolve(ctx context.Context, keyID string, refresh bool) (*PublicKey, *Error) {
	pk, err := v.Resolver.ResolveKey(ctx, keyID, refresh)
	switch {
	case err != nil:
		return nil, fail(ErrKeyUnavailable, keyID, "", err)
	case pk == nil || pk.Key == nil:
		return nil, fail(ErrKeyUnavailable, keyID, "resolver returned no key", nil)
	case pk.ID != keyID:
		// The resolver must hand back the key that was asked for; anything else is a
		// substitution (a stub key document naming another key, a canonicalised redirect).
		return nil, fail(ErrKeyUnavailable, keyID, "resolver returned key "+pk.ID, nil)
	}
	if _, err := algorithmFor("", pk.Key); err != nil { // type and size, whatever was declared
		return nil, fail(ErrKeyUnavailable, keyID, "unusable key", err)
	}
	return pk, nil
}

// check holds what one verification needs across the query fallback and the key refresh.
type check struct {
	p      *params
	method string
	path   string
	query  string
	header http.Header // only the signed headers plus a canonical Signature
}

func newCheck(r *http.Request, p *params) *check {
	c := &check{p: p, method: r.Method, header: make(http.Header, len(p.headers)+1)}
	if c.method == "" {
		c.method = http.MethodGet
	}
	c.path, c.query = requestTarget(r)
	for _, h := range p.headers {
		switch {
		case h[0] == '(':
		case h == "host":
			c.header["Host"] = []string{effectiveHost(r)}
		default:
			c.header[http.CanonicalHeaderKey(h)] = r.Header.Values(h)
		}
	}
	// go-fed re-parses the header; give it exactly what we validated, and no Authorization
	// header for it to confuse with a second signature.
	c.header["Signature"] = []string{p.canonical()}
	return c
}

// verify checks the signature with one key: raw path and query first, then the path alone.
func (c *check) verify(pk *PublicKey) error {
	algo, err := algorithmFor(c.p.algorithm, pk.Key)
	if err != nil {
		return err
	}
	targets := []string{c.query}
	if c.query != "" && c.p.signs(pseudoRequestTarget) {
		targets = append(targets, "")
	}
	for _, q := range targets {
		shadow := &http.Request{Method: c.method, URL: &url.URL{Path: c.path, RawQuery: q}, Header: c.header}
		gv, nerr := httpsig.NewVerifier(shadow)
		if nerr != nil {
			return nerr
		}
		if err = gv.Verify(pk.Key, algo); err == nil {
			return nil
		}
	}
	return err
}

// algorithmFor maps the declared algorithm and the key type to a go-fed algorithm. hs2019 (or
// none) means "whatever the key is": RSA keys sign RSASSA-PKCS1-v1_5 SHA-256 in practice.
func algorithmFor(declared string, key crypto.PublicKey) (httpsig.Algorithm, error) {
	switch k := key.(type) {
	case *rsa.PublicKey:
		if n := k.N.BitLen(); n < minRSABits || n > maxRSABits {
			return "", fmt.Errorf("RSA key of %d bits", n)
		}
		switch declared {
		case "", "hs2019", "rsa-sha256":
			return httpsig.RSA_SHA256, nil
		case "rsa-sha512":
			return httpsig.RSA_SHA512, nil
		}
	case ed25519.PublicKey:
		switch declared {
		case "", "hs2019", "ed25519":
			return httpsig.ED25519, nil
		}
	default:
		return "", fmt.Errorf("unsupported key type %T", key)
	}
	return "", fmt.Errorf("algorithm %q does not fit a %T", declared, key)
}

func sameKey(a, b crypto.PublicKey) bool {
	if e, ok := a.(interface{ Equal(crypto.PublicKey) bool }); ok {
		return e.Equal(b)
	}
	return false
}
