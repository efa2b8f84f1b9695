// Package fetch is the node's ActivityPub reader: every remote actor, key and object the node
// looks at comes through Client.Get, Actor, Key, WebFinger or Resolve, which apply the rules of
// FEDERATION.md §1, §2 and §8 in one place instead of in every caller.
//
// # Requests
//
// Every ActivityPub GET is signed by the instance actor (BaseURL+"/actor", keyId
// BaseURL+"/actor#main-key") over "(request-target) host date", because GoToSocial and
// secure-mode Mastodon answer unsigned GETs with 401 (FEDERATION.md §1.6). Redirect targets are
// signed again, since the signature covers the path and host. Requests go through the
// SSRF-safe outbound client (address checks at dial time, redirect budget, timeouts); on top of
// it the partner policy (Deps.Allowed) is asked for every host before anything is sent there,
// redirect hops and WebFinger self links included, so a host that is not a partner never sees
// a request from us. WebFinger is unsigned: it is public everywhere.
//
// # What a fetched document must satisfy (FEDERATION.md §2)
//
//   - status 200 (404 is ErrNotFound; 410 is ErrGone, a deletion);
//   - Content-Type application/activity+json, or application/ld+json with the AS2 profile, as
//     Mastodon demands: anything else (HTML, plain JSON, an uploaded file) is ErrContentType;
//   - at most 1 MiB on the wire, no Content-Encoding, and activity.Decode's limits;
//   - its id is the URL asked for. One canonical re-fetch is allowed when the id is on the same
//     origin (/@alice answering with /users/alice): the id is fetched and must answer with
//     itself. An id on another origin is refused: a server only speaks for its own origin;
//   - the URL that finally answered, after redirects, has the id's origin: otherwise an open
//     redirect on a partner would let anyone publish in its name (CVE-2024-23832).
//
// # Actors and keys
//
// Actor adds the fields the node relies on: an actor type, an http(s) inbox, a publicKey owned
// by the actor on the actor's origin, and a preferredUsername usable as a handle. Key resolves
// a keyId for signature.KeyCache: "actor#main-key" (Mastodon) fetches the actor;
// ".../main-key" (GoToSocial) fetches the stub, follows its owner on the same origin, fetches
// the full actor and requires it to list that key id as its own (the two-way claim; the stub
// alone is never trusted). A 410 wraps signature.ErrKeyGone so the cache remembers it.
//
// # Handles
//
// Resolve turns user@host into an actor and, like Mastodon, requires the actor's
// preferredUsername@<actor host> to WebFinger back to the same actor, allowing one hop to a
// canonical domain. Without this check any server could claim a handle on another.
//
// # Sharing and errors
//
// Concurrent fetches of one URL share one request (per Client, no package state), detached
// from any single caller's cancellation; a burst of activities from a new actor costs its
// server one GET. Results are not cached here: KeyCache caches keys, the stores cache actors.
//
// Errors wrap a sentinel (ErrNotFound, ErrGone, ErrNotAllowed, ErrBadURL, ErrBadDocument,
// ErrContentType, ErrOrigin, ErrStatus) with the URL, so the inbox and the search API can
// answer clearly ("globex.example is not a partner of this node": errors.As with
// *NotAllowedError). The package logs only debug notes and never logs what it returns.
package fetch
