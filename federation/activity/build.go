package activity

import "time"

// Constructors for the activities we send, in the shapes Mastodon sends them.
// The result is a plain *Activity: adjust addressing before Encode if needed.

// NewCreate wraps n; actor, addressing and published are copied from n.
func NewCreate(id string, n *Note) *Activity {
	return &Activity{ID: id, Type: TypeCreate, Actor: n.AttributedTo, Object: n,
		To: n.To, Cc: n.Cc, Audience: n.Audience, Published: n.Published}
}

// NewUpdate wraps an edited *Note (addressing and time from the note) or an
// *Actor (addressed to Public, as Mastodon does).
func NewUpdate(id, actor string, obj Object) *Activity {
	a := &Activity{ID: id, Type: TypeUpdate, Actor: actor, Object: obj}
	switch o := obj.(type) {
	case *Note:
		a.To, a.Cc, a.Audience, a.Published = o.To, o.Cc, o.Audience, o.Updated
	case *Actor:
		a.To = []string{Public}
	}
	return a
}

// NewDelete wraps a Tombstone, addressed to Public (set To/Cc to the original
// audience for non-public posts). Deleting an actor: use NewDeleteActor.
func NewDelete(id, actor string, t *Tombstone) *Activity {
	return &Activity{ID: id, Type: TypeDelete, Actor: actor, Object: t, To: []string{Public}}
}

// NewDeleteActor is the account-deletion Delete: object == actor.
func NewDeleteActor(id, actor string) *Activity {
	return &Activity{ID: id, Type: TypeDelete, Actor: actor, Object: IRI(actor), To: []string{Public}}
}

// NewFollow asks actor to follow object (an actor or a Group).
func NewFollow(id, actor, object string) *Activity {
	return &Activity{ID: id, Type: TypeFollow, Actor: actor, Object: IRI(object)}
}

// NewAccept accepts follow, embedding it, addressed to its actor.
func NewAccept(id, actor string, follow *Activity) *Activity {
	return &Activity{ID: id, Type: TypeAccept, Actor: actor, Object: follow, To: []string{follow.Actor}}
}

// NewReject rejects follow (or a group post), embedding it.
func NewReject(id, actor string, follow *Activity) *Activity {
	return &Activity{ID: id, Type: TypeReject, Actor: actor, Object: follow, To: []string{follow.Actor}}
}

// NewUndo undoes inner (Follow, Like, Announce, Block), embedding it, with
// inner's addressing.
func NewUndo(id, actor string, inner *Activity) *Activity {
	return &Activity{ID: id, Type: TypeUndo, Actor: actor, Object: inner, To: inner.To, Cc: inner.Cc}
}

// NewLike likes object.
func NewLike(id, actor, object string) *Activity {
	return &Activity{ID: id, Type: TypeLike, Actor: actor, Object: IRI(object)}
}

// NewAnnounce boosts object (or, from a Group, relays it).
func NewAnnounce(id, actor, object string, to, cc []string, published time.Time) *Activity {
	return &Activity{ID: id, Type: TypeAnnounce, Actor: actor, Object: IRI(object),
		To: to, Cc: cc, Published: published}
}

// NewBlock blocks object.
func NewBlock(id, actor, object string) *Activity {
	return &Activity{ID: id, Type: TypeBlock, Actor: actor, Object: IRI(object)}
}

// NewFlag reports objects (the account first, then its posts) with comment;
// actor is our instance actor, as Mastodon does.
func NewFlag(id, actor, comment string, objects ...string) *Activity {
	return &Activity{ID: id, Type: TypeFlag, Actor: actor, Object: IRIs(objects), Content: comment}
}
