package activity

import "encoding/json"

// The @context we emit, Mastodon's shape (FEDERATION.md §1.3): the AS2 URI,
// security/v1 when the document carries an actor (publicKey), and one inline
// object defining every extension term this package can emit. Mastodon
// ignores documents whose @context lacks the AS2 URI and otherwise reads keys
// literally; the terms keep JSON-LD processors (and LD-signature verifiers)
// correct. It is a constant spliced in by Encode: jsonld.WithContext writes a
// package global and cannot express {"@id", "@type": "@id"} terms.
const (
	contextAS       = "https://www.w3.org/ns/activitystreams"
	contextSecurity = "https://w3id.org/security/v1"
	contextTerms    = `{` +
		`"Emoji":"toot:Emoji",` +
		`"Hashtag":"as:Hashtag",` +
		`"PropertyValue":"schema:PropertyValue",` +
		`"alsoKnownAs":{"@id":"as:alsoKnownAs","@type":"@id"},` +
		`"blurhash":"toot:blurhash",` +
		`"conversation":"ostatus:conversation",` +
		`"directMessage":"litepub:directMessage",` +
		`"discoverable":"toot:discoverable",` +
		`"featured":{"@id":"toot:featured","@type":"@id"},` +
		`"featuredTags":{"@id":"toot:featuredTags","@type":"@id"},` +
		`"focalPoint":{"@container":"@list","@id":"toot:focalPoint"},` +
		`"indexable":"toot:indexable",` +
		`"litepub":"http://litepub.social/ns#",` +
		`"manuallyApprovesFollowers":"as:manuallyApprovesFollowers",` +
		`"memorial":"toot:memorial",` +
		`"movedTo":{"@id":"as:movedTo","@type":"@id"},` +
		`"ostatus":"http://ostatus.org#",` +
		`"schema":"http://schema.org#",` +
		`"sensitive":"as:sensitive",` +
		`"suspended":"toot:suspended",` +
		`"toot":"http://joinmastodon.org/ns#",` +
		`"value":"schema:value"` +
		`}`
)

var (
	ldContext      = json.RawMessage(`["` + contextAS + `",` + contextTerms + `]`)
	ldContextActor = json.RawMessage(`["` + contextAS + `","` + contextSecurity + `",` + contextTerms + `]`)
)
