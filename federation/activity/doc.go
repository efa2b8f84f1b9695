// Package activity is Atrium's ActivityStreams codec: the only place besides
// the rest of federation/ that imports go-ap. Feature code works with the
// plain types here (Note, Actor, Activity, Tombstone) and never sees go-ap.
//
// # Why a wrapper
//
// go-ap/activitypub covers the core AS2 vocabulary but not what Mastodon and
// GoToSocial actually exchange (FEDERATION.md §9.1, LIBRARIES.md §4). Decoding
// with go-ap alone loses @context, sensitive, contentMap, the actor flags
// (manuallyApprovesFollowers, discoverable, indexable, memorial, suspended),
// featured, featuredTags, alsoKnownAs, movedTo, PropertyValue profile fields,
// Hashtag and Emoji tags, a single-object tag (GoToSocial's single Mention),
// attachment blurhash/focalPoint/width/height, a publicKey array, LD
// signatures, and "as:Public"/"Public" inside to/cc arrays. It also mangles
// text: backslash sequences in content are un-escaped a second time ("C:\temp"
// gets a tab), on decode and on encode. Encoding with go-ap alone emits no
// @context (Mastodon drops such documents), writes IRIs into JSON without
// escaping them, and collapses a one-element attachment array into an object.
// goap_gaps_test.go pins each of these, so a moved go-ap pin shows what
// changed.
//
// # Decoding: go-ap plus a side-car
//
// Decode first checks the bytes with a streaming encoding/json token scan:
// at most MaxDocumentSize, one top-level object, nesting at most MaxDepth, at
// most MaxListEntries in to/cc/bto/bcc/audience/tag/attachment (anywhere in
// the document) and objects in any array, MaxArrayLen in other arrays,
// MaxObjects objects, MaxObjectKeys keys per object, MaxValues values, and no
// duplicate keys (compared case-insensitively, since encoding/json matches
// fields that way and go-ap does not: two parsers must not see two different
// documents). The counts bound go-ap's costs: its parser allocates a few
// hundred bytes per value, and it appends array elements after a deep
// equality check against every earlier one (quadratic). The worst accepted
// 1 MiB document decodes in about 25 ms and 17 MiB of garbage
// (TestHostileInputCost). Decode then removes \u0000 escapes (Postgres
// refuses NUL) and decodes the same bytes twice: go-ap into Document.Item,
// and encoding/json into the side-car, Document.Ext. The side-car's types
// are lenient: a value of an unexpected shape is skipped, not fatal.
// Addressing is normalised (every Public form becomes the full IRI) and
// deduplicated.
//
// The typed accessors (ID, Type, Actor, ObjectIDs, EmbeddedObject, AsNote,
// AsActor, AsTombstone) read the side-car only. Item is kept for code that
// wants go-ap's view of the graph, with go-ap's losses; it is nil for types
// go-ap does not know (EmojiReact, ChatMessage...).
//
// # Encoding: go-ap, then splice
//
// Encode builds each object level as a go-ap value, marshals it with
// vocab.MarshalJSON, decodes that one level deep into a map, and splices in:
// Mastodon's @context (context.go; security/v1 only when a publicKey is
// present), the text properties (never handed to go-ap, see above), and the
// extension properties go-ap cannot emit: sensitive, contentMap, Hashtag,
// Mention and Emoji tags, attachments with blurhash/focalPoint/width/height,
// PropertyValue fields with value, manuallyApprovesFollowers, discoverable,
// indexable, featured, featuredTags, alsoKnownAs, movedTo, audience,
// conversation and directMessage. Nested objects (Create{Note}, Undo{Like},
// Announce{Create}) are built bottom-up the same way. The result is written
// with encoding/json and HTML escaping off; map keys are sorted, so output is
// deterministic. Every IRI is checked to be an absolute http(s) URL without
// characters go-ap would write unescaped; Public is always the full IRI.
//
// # No shared state
//
// The package never calls jsonld.WithContext (it wrote a package global in
// the jsonld go-ap pins, a data race) and never sets go-ap's process-global
// hooks (vocab.ItemTyperFunc, vocab.JSONItemUnmarshal, vocab.LinkTypes): the
// side-car makes them unnecessary, and leaving them alone keeps any other
// go-ap user in the process unaffected. Encode and Decode are safe for
// concurrent use; TestConcurrentUse checks it under -race.
package activity
