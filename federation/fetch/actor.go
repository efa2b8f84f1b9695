package fetch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"unicode"
	"unicode/utf8"

	"github.com/atrium-social/atrium/federation/activity"
	"github.com/atrium-social/atrium/federation/signature"
)

// maxUsernameRunes bounds preferredUsername. Mastodon allows 30 characters locally; other
// servers allow more, but a handle longer than 64 is junk or an attack on our layouts.
const maxUsernameRunes = 64

// actorTypes are the AS2 actor types we federate with.
var actorTypes = map[string]bool{
	activity.TypePerson: true, activity.TypeService: true, activity.TypeApplication: true,
	activity.TypeGroup: true, "Organization": true,
}

// Actor fetches the actor at uri (Get's rules, so its id is uri or its same-origin canonical
// id) and checks what the rest of the node relies on: an actor type; an http(s) inbox; a
// publicKey owned by the actor (publicKey.owner == id) whose id has the actor's origin; and a
// preferredUsername that can be a handle (non-empty, at most 64 characters, no "@", "/",
// whitespace or control characters). An actor that answers with a Tombstone is ErrGone.
func (c *Client) Actor(ctx context.Context, uri string) (*activity.Actor, error) {
	_, a, err := c.actor(ctx, uri)
	if err != nil {
		return nil, fmt.Errorf("fetch: %w", err)
	}
	return a, nil
}

// actor is Actor that also returns the document, whose publicKey list Key needs.
func (c *Client) actor(ctx context.Context, uri string) (*activity.Document, *activity.Actor, error) {
	doc, err := c.get(ctx, uri)
	if err != nil {
		return nil, nil, err
	}
	if doc.Type() == activity.TypeTombstone {
		// Some servers answer 200 with a Tombstone instead of 410; it means the same.
		return nil, nil, fmt.Errorf("actor %s: %w: served a Tombstone", uri, ErrGone)
	}
	a, err := doc.AsActor()
	if err != nil {
		return nil, nil, fmt.Errorf("actor %s: %w: %w", uri, ErrBadDocument, err)
	}
	if err := checkActor(a); err != nil {
		return nil, nil, fmt.Errorf("actor %s: %w", uri, err)
	}
	return doc, a, nil
}

// checkActor applies the field rules of Actor.
func checkActor(a *activity.Actor) error {
	if !actorTypes[a.Type] {
		return fmt.Errorf("%w: type %q is not an actor type", ErrBadDocument, a.Type)
	}
	id, err := url.Parse(a.ID)
	if err != nil {
		return fmt.Errorf("%w: id %q: %v", ErrBadDocument, a.ID, err)
	}
	if inbox, err := url.Parse(a.Inbox); a.Inbox == "" || err != nil || checkHTTPURL(inbox) != nil {
		return fmt.Errorf("%w: inbox %q is not an http(s) URL", ErrBadDocument, a.Inbox)
	}
	if a.PublicKey.ID == "" || a.PublicKey.PublicKeyPem == "" {
		return fmt.Errorf("%w: no publicKey", ErrBadDocument)
	}
	if a.PublicKey.Owner != a.ID {
		return fmt.Errorf("%w: publicKey.owner %q is not the actor", ErrOrigin, a.PublicKey.Owner)
	}
	if k, err := url.Parse(a.PublicKey.ID); err != nil || !sameOrigin(k, id) {
		return fmt.Errorf("%w: publicKey.id %q is not on the actor's origin", ErrOrigin, a.PublicKey.ID)
	}
	if err := checkUsername(a.PreferredUsername); err != nil {
		return fmt.Errorf("%w: preferredUsername: %w", ErrBadDocument, err)
	}
	return nil
}

// checkUsername accepts what can be the user part of user@host: it is shown as a handle,
// used in WebFinger lookups, and must not smuggle a second "@host" or a path.
func checkUsername(s string) error {
	if s == "" {
		return errors.New("empty")
	}
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > maxUsernameRunes {
		return fmt.Errorf("%q is not valid UTF-8 of at most %d characters", s, maxUsernameRunes)
	}
	for _, r := range s {
		if r == '@' || r == '/' || unicode.IsSpace(r) || unicode.IsControl(r) {
			return fmt.Errorf("%q contains %q", s, r)
		}
	}
	return nil
}

// Key resolves an HTTP Signature keyId to its public key; it is what signature.KeyCache.Fetch
// should call. The claim must hold both ways (FEDERATION.md §2, Mastodon and GoToSocial):
//
//   - "https://h/users/a#main-key" (Mastodon): the fragment names a key inside the actor
//     document; the actor https://h/users/a is fetched with Actor's checks and must list the
//     key with itself as owner.
//   - "https://h/users/a/main-key" (GoToSocial): the URL serves a stub (only id,
//     preferredUsername and publicKey) or a standalone key document; its owner must be on the
//     key's origin, is fetched in full with Actor's checks, and must list this key id with
//     itself as owner. The stub alone is never trusted: it was not served from the owner's URL.
//
// Key, owner and the URLs that answered share one origin. A 410 (or a Tombstone) anywhere on
// the way wraps signature.ErrKeyGone as well as ErrGone, so the KeyCache remembers it and the
// inbox can accept a deleted actor's Delete without more fetches.
func (c *Client) Key(ctx context.Context, keyID string) (*signature.PublicKey, error) {
	pk, err := c.key(ctx, keyID)
	if err != nil {
		if errors.Is(err, ErrGone) {
			return nil, fmt.Errorf("fetch: key %s: %w: %w", keyID, signature.ErrKeyGone, err)
		}
		return nil, fmt.Errorf("fetch: key %s: %w", keyID, err)
	}
	return pk, nil
}

func (c *Client) key(ctx context.Context, keyID string) (*signature.PublicKey, error) {
	ku, err := c.target(ctx, keyID)
	if err != nil {
		return nil, err
	}
	if ku.Fragment != "" {
		au := *ku
		au.Fragment, au.RawFragment = "", ""
		doc, a, err := c.actor(ctx, au.String())
		if err != nil {
			return nil, err
		}
		return keyOf(doc, a, keyID, ku)
	}
	stub, final, err := c.fetchDoc(ctx, ku)
	if err != nil {
		return nil, err
	}
	if !sameOrigin(final, ku) {
		return nil, fmt.Errorf("%w: key document served from %s after redirects", ErrOrigin, final.Redacted())
	}
	owner, err := stubOwner(stub, keyID)
	if err != nil {
		return nil, err
	}
	// Checked before the owner is fetched, so a key on a partner cannot make us fetch
	// (and then trust) an actor elsewhere.
	if ou, err := url.Parse(owner); err != nil || !sameOrigin(ou, ku) {
		return nil, fmt.Errorf("%w: owner %q is not on the key's origin", ErrOrigin, owner)
	}
	doc, a, err := c.actor(ctx, owner)
	if err != nil {
		return nil, err
	}
	return keyOf(doc, a, keyID, ku)
}

// stubOwner reads the owner a key document names for keyID: from a publicKey entry with that
// id (GoToSocial's stub actor, or a full actor served at the key URL), or from the top level of
// a standalone Key/CryptographicKey document whose id is keyID.
func stubOwner(doc *activity.Document, keyID string) (string, error) {
	for _, k := range doc.Ext.PublicKeys {
		if k.ID == keyID {
			if k.Owner == "" {
				return "", fmt.Errorf("%w: key %s names no owner", ErrBadDocument, keyID)
			}
			return k.Owner, nil
		}
	}
	if doc.ID() == keyID {
		var top struct {
			Owner json.RawMessage `json:"owner"`
		}
		if err := json.Unmarshal(doc.Raw, &top); err == nil {
			if owner := iriOf(top.Owner); owner != "" {
				return owner, nil
			}
		}
		return "", fmt.Errorf("%w: key document %s names no owner", ErrBadDocument, keyID)
	}
	return "", fmt.Errorf("%w: the document at %s does not describe that key", ErrOrigin, keyID)
}

// iriOf reads an IRI given as a string or as an object with an id.
func iriOf(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var o struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(raw, &o) == nil {
		return o.ID
	}
	return ""
}

// keyOf finds keyID among the actor's keys and checks the actor's side of the claim.
func keyOf(doc *activity.Document, a *activity.Actor, keyID string, ku *url.URL) (*signature.PublicKey, error) {
	if au, err := url.Parse(a.ID); err != nil || !sameOrigin(au, ku) {
		return nil, fmt.Errorf("%w: actor %s is not on the key's origin", ErrOrigin, a.ID)
	}
	for _, k := range doc.Ext.PublicKeys {
		if k.ID != keyID {
			continue
		}
		if k.Owner != a.ID {
			return nil, fmt.Errorf("%w: actor %s lists the key with owner %q", ErrOrigin, a.ID, k.Owner)
		}
		pub, err := signature.ParsePublicKeyPEM(k.PublicKeyPem)
		if err != nil {
			return nil, fmt.Errorf("%w: actor %s: %w", ErrBadDocument, a.ID, err)
		}
		return &signature.PublicKey{ID: keyID, Owner: a.ID, Key: pub}, nil
	}
	return nil, fmt.Errorf("%w: actor %s does not list the key", ErrOrigin, a.ID)
}
