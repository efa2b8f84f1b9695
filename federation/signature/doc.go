// Package signature signs outgoing and verifies incoming ActivityPub requests with
// draft-cavage HTTP Signatures, the scheme Mastodon and GoToSocial speak. It is Atrium's only
// user of github.com/go-fed/httpsig; feature code never imports either. The API is
// net/http-shaped so that it does not depend on fiber.
//
// # Outgoing
//
// Sign sets Date, Host, Digest and Signature the way Mastodon does: "(request-target) host
// date" (+ "digest" with a body), algorithm="rsa-sha256", keyId "<actor>#main-key". Sign at send
// time, on every retry; signatures cannot be shared between inboxes.
//
// # Incoming
//
// Verifier.Verify adds what go-fed does not do (FEDERATION.md §9.2): a strict parse of the
// Signature header, the required signed headers (date or (created); (request-target) or digest;
// host on GET/HEAD; digest on POST or any body), Digest against the body, the Date/(created)/
// (expires) window (±MaxSkew, default 1 h), hs2019 mapped by key type, the raw-path target with
// and then without the query (older Mastodon), and one key refresh after a failure (rotation).
//
// # Building the *http.Request for Verify
//
// (request-target) is the path as it was on the wire, still percent-encoded
// ("/users/b%C3%B6b/inbox"). Verify takes it from, in order:
//
//  1. r.RequestURI, if it starts with "/". net/http servers set it from the request line. From
//     fiber set it to string(c.Request().Header.RequestURI()) (copied: fasthttp reuses buffers).
//  2. Otherwise r.URL: Opaque if set ("/users/b%C3%B6b/inbox"), else r.URL.EscapedPath(), which
//     is URL.RawPath when set and valid. url.ParseRequestURI(raw) gives exactly this.
//
// From fiber, for example (strings copied, so nothing aliases fasthttp buffers):
//
//	h := make(http.Header)
//	c.Request().Header.VisitAll(func(k, v []byte) { h.Add(string(k), string(v)) })
//	r := &http.Request{
//		Method:     c.Method(),
//		RequestURI: string(c.Request().Header.RequestURI()), // raw "/users/b%C3%B6b/inbox?x=1"
//		Host:       string(c.Request().Host()),
//		Header:     h,
//	}
//	verified, err := verifier.Verify(c.UserContext(), r, c.BodyRaw()) // raw bytes, never gunzipped
//
// Do NOT put the raw path into URL.Path (URL{Path: "/users/b%C3%B6b/inbox"}) with RequestURI
// empty: EscapedPath would encode the "%" again and every non-ASCII path would fail. The query
// comes from the same source (RequestURI after "?", else URL.RawQuery). Also set r.Method, r.Host
// to the Host the peer sent (behind a proxy: the original one, it is signed), and r.Header with
// all request headers (repeated headers kept, not collapsed). Pass the body bytes exactly as
// received (before any decoding), and do not keep r after the handler returns when it aliases
// fasthttp memory.
//
// # Errors
//
// Every failure is an *Error whose Kind is one of ErrMissingSignature, ErrMalformed,
// ErrDigestMismatch, ErrDateSkew, ErrHeadersNotSigned, ErrBadSignature or ErrKeyUnavailable
// (test with errors.Is). The HTTP layer answers all of them with 401 Unauthorized: the peer
// learns nothing it could tune an attack with, and "double-knocking" peers (Mastodon 4.5+) fall
// back to the other signature scheme only on 401. The kind and detail go to the log. One case
// deserves a look before answering: errors.Is(err, ErrKeyGone) means the signer's key answered
// 410, and a Delete of that actor should get 202 without further work (FEDERATION.md §2).
//
// # Keys
//
// KeyCache is the KeyResolver to use: TTL cache by keyId, LRU-bounded, single-flight fetches,
// at most one forced refetch per keyId per RefreshInterval (the rate limit of refreshes
// belongs to the resolver, not to Verify), and remembered 410s. keyIds may be
// "https://h/users/a#main-key" (Mastodon: the fragment names a key inside the actor) or
// "https://h/users/a/main-key" (GoToSocial: a stub document with only publicKey); the cache
// does not care. Its Fetch belongs to the federation layer and must do the two-way check:
// fetch the key, fetch the owner actor it names, and accept only if that actor's publicKey.id
// is the keyId and both share an origin. Verify only checks that the resolver returned a key
// with the requested id, and reports its Owner; comparing Owner with activity.actor is again
// the inbox's job.
//
// No package-level mutable state: go-fed signers hold hash state and are built per request.
package signature
