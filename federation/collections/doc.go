// Package collections serves what other nodes read about this node's people besides their actor
// documents: each post as a Note (and its Create, or a share's Announce), and each person's
// outbox, followers, following and featured collections. Everything is answered as
// application/activity+json with Vary: Accept and an @context holding the AS2 URI, which
// Mastodon requires of every document.
//
// # Routes
//
//	GET /users/:username/statuses/:id            the post as a Note
//	GET /users/:username/statuses/:id/activity   its Create (for a share: the Announce)
//	GET /users/:username/outbox                  public Creates and Announces, pages of 20
//	GET /users/:username/followers               totalItems; pages of 40 actor ids, signed only
//	GET /users/:username/following               the same
//	GET /users/:username/collections/featured    empty until pinned posts exist
//
// A request that does not ask for ActivityStreams JSON (a browser) is redirected: posts to
// /posts/:id, collections to the person's profile /people/:username. The redirect is made
// before any lookup, so it confirms nothing about a post.
//
// # Who may read a post (the thread root's audience governs comments and shares)
//
//	public              anyone, signed or not; no signature is even checked, so public
//	                    material never costs a key fetch
//	followers, direct   only a request whose valid HTTP signature belongs to a remote account
//	                    this node knows and that posts.CanSee allows: a follower of the
//	                    author or an addressee (for direct: an addressee). This is
//	                    FEDERATION.md §1.6's authorized fetch. An instance actor's signature
//	                    is not enough: a node is not a follower.
//	company, group      never (404), whoever asks: they do not leave the node
//
// A post the requester may not see is 404, never 403. A request with a Signature header
// that does not verify gets 401 for any post it could not read unsigned (so double-knocking
// peers retry with the other scheme), whether the post exists or not, so a bad signature
// cannot probe for hidden posts either. A deleted post answers 410 with a Tombstone to those
// who could have read it (anyone for public posts, the authorised signer otherwise) and 404
// to the rest. A comment whose thread root is deleted is hidden here as in the app (404).
// Shares of anything but a public post never federate and are 404; a share's own object
// URL redirects to the original, as Mastodon does. Ids that are not ULIDs are 404 at once,
// before any query.
//
// # Collections
//
// The outbox lists only public material: Creates of public posts and of comments in public
// threads, and Announces of shares of public posts, newest first, keyset on the post id
// (max_id, exclusive). totalItems counts the person's public posts (shares and comments
// included), not their private ones, whose number is not for partners to know.
//
// Followers and following are a choice between Mastodon (pages public unless the person
// hides their network) and enterprise discretion. Atrium serves totalItems to anyone, since
// the counts are on the profile anyway, but the lists only to signed requests from partner
// nodes (a person's instance actor or any of its people): who follows whom inside a company
// is not for the open web. Unsigned, the collection carries no "first" and a page answers
// 401. Pages hold 40 actor ids (local people base/users/name, remote ones their actor id),
// ordered by account id descending with an exclusive max_id cursor, so ties in follow
// times can neither skip nor repeat anyone, and deactivated or deleted accounts are left
// out.
//
// Every page links "next" only when another row exists (one extra row is read to know), and
// every cursor strictly decreases, so a consumer can never loop. Page sizes are fixed;
// a garbage max_id is ignored (the first page is served).
//
// # Signatures
//
// Deps.Verify checks the request's draft-cavage signature and returns the key owner; it
// must apply the partner policy (signature.Verifier.KeyAllowed), which is how "signed by a
// partner" is decided here. VerifyWith adapts a *signature.Verifier. Requests are verified
// at most once and only when the answer depends on who asks.
package collections
