package collections

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"

	"github.com/gofiber/fiber/v2"
	"github.com/uptrace/bun"

	"github.com/atrium-social/atrium/federation/activity"
	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/follows"
	"github.com/atrium-social/atrium/internal/posts"
)

// orderedCollection is an OrderedCollection or one of its pages. Items is a value (never
// nil on a page, so an empty page still says "orderedItems": []).
type orderedCollection struct {
	Context    any    `json:"@context"`
	ID         string `json:"id"`
	Type       string `json:"type"`
	TotalItems *int   `json:"totalItems,omitempty"`
	First      string `json:"first,omitempty"`
	PartOf     string `json:"partOf,omitempty"`
	Next       string `json:"next,omitempty"`
	Items      any    `json:"orderedItems,omitempty"`
}

// listed looks up the person whose collection is asked for, and sends browsers to their
// profile. It answers the request itself when it returns nil.
func (h *handler) listed(c *fiber.Ctx) (*accounts.User, error) {
	ctx := c.UserContext()
	u, err := h.person(ctx, c.Params("username"))
	if err != nil {
		return nil, err
	}
	if u == nil {
		return nil, notFound(c)
	}
	if !wantsActivity(c) {
		return nil, c.Redirect(h.conv(ctx).Base+"/people/"+u.Username, fiber.StatusFound)
	}
	return u, nil
}

// isPage reports whether a page (not the collection) is asked for: Mastodon's page=true.
func isPage(c *fiber.Ctx) bool {
	p := c.Query("page")
	return p != "" && p != "false" && p != "0"
}

// cursor is the page's exclusive upper bound; anything but an id this node minted is
// ignored (the first page).
func cursor(c *fiber.Ctx) string {
	if m := c.Query("max_id"); validID(m) {
		return m
	}
	return ""
}

func pageURL(coll, maxID string) string {
	q := url.Values{"page": {"true"}}
	if maxID != "" {
		q.Set("max_id", maxID)
	}
	return coll + "?" + q.Encode()
}

// outbox serves the person's public Creates and Announces.
func (h *handler) outbox(c *fiber.Ctx) error {
	u, err := h.listed(c)
	if u == nil {
		return err
	}
	ctx := c.UserContext()
	conv := h.conv(ctx)
	id := conv.ActorURI(u) + "/outbox"
	if !isPage(c) {
		count, err := h.DB.NewSelect().Model((*posts.Post)(nil)).
			Where("author_id = ? AND audience = ? AND deleted_at IS NULL", u.ID, posts.Public).Count(ctx)
		if err != nil {
			return fmt.Errorf("collections: count posts of %s: %w", u.ID, err)
		}
		n := int(count)
		return h.sendCollection(c, orderedCollection{Context: asContext, ID: id, Type: "OrderedCollection",
			TotalItems: &n, First: pageURL(id, "")})
	}
	maxID := cursor(c)
	// A nil viewer sees public posts only; comments in public threads and shares of public
	// posts have the public audience too. One more than a page says whether there is a next.
	rows, err := h.Posts.Profile(ctx, nil, u.ID, true, posts.Page{MaxID: maxID, Limit: OutboxPageSize + 1})
	if err != nil {
		return fmt.Errorf("collections: outbox of %s: %w", u.ID, err)
	}
	page := orderedCollection{ID: pageURL(id, maxID), Type: "OrderedCollectionPage", PartOf: id}
	if len(rows) > OutboxPageSize {
		rows = rows[:OutboxPageSize]
		page.Next = pageURL(id, rows[len(rows)-1].ID) // ids strictly decrease: no loops
	}
	items, ldContext, err := h.outboxItems(ctx, u, rows)
	if err != nil {
		return err
	}
	page.Items, page.Context = items, ldContext
	return h.sendCollection(c, page)
}

// outboxItems renders a page's posts, each as its Create or Announce without its own
// @context; the page carries the items' (Mastodon's, with the extension terms they use).
func (h *handler) outboxItems(ctx context.Context, u *accounts.User, rows []*posts.Post) ([]json.RawMessage, any, error) {
	conv := h.conv(ctx)
	originals, err := h.Posts.Originals(ctx, nil, rows) // visible to nobody in particular: public ones
	if err != nil {
		return nil, nil, fmt.Errorf("collections: shared posts of %s: %w", u.ID, err)
	}
	items := []json.RawMessage{}
	var ldContext any = asContext
	for _, p := range rows {
		if !p.Local(conv.Base) {
			continue
		}
		var a *activity.Activity
		if p.ReblogOfID != nil {
			orig := originals[*p.ReblogOfID]
			if orig == nil || orig.Audience != posts.Public {
				continue
			}
			origAuthor, err := h.Accounts.Lookup(ctx, orig.AuthorID)
			if err != nil {
				return nil, nil, fmt.Errorf("collections: author of %s: %w", orig.ID, err)
			}
			a = announce(conv, p, orig, u, origAuthor)
		} else {
			root, err := h.rootOf(ctx, p)
			if err != nil {
				return nil, nil, err
			}
			if root == nil || root.DeletedAt != nil || root.Audience != posts.Public {
				continue // hidden with its thread, as at its own URL
			}
			t, err := h.thread(ctx, p, root)
			if err != nil {
				return nil, nil, err
			}
			a = conv.Create(conv.ThreadNote(t))
		}
		b, err := activity.Encode(a)
		if err != nil {
			return nil, nil, fmt.Errorf("collections: encode activity of %s: %w", p.ID, err)
		}
		var f map[string]json.RawMessage
		if err := json.Unmarshal(b, &f); err != nil {
			return nil, nil, fmt.Errorf("collections: re-read activity of %s: %w", p.ID, err)
		}
		if raw, ok := f["@context"]; ok {
			ldContext = raw // the same constant for every item
			delete(f, "@context")
		}
		item, err := encode(f)
		if err != nil {
			return nil, nil, err
		}
		items = append(items, item)
	}
	return items, ldContext, nil
}

// people serves followers (followers=true) or following.
func (h *handler) people(followers bool) fiber.Handler {
	name := "following"
	if followers {
		name = "followers"
	}
	return func(c *fiber.Ctx) error {
		u, err := h.listed(c)
		if u == nil {
			return err
		}
		ctx := c.UserContext()
		id := h.conv(ctx).ActorURI(u) + "/" + name
		r := h.caller(c)
		owner, verr := r.verify(ctx)
		if verr != nil && !notAllowed(verr) {
			return badSignature(c)
		}
		partner := verr == nil && owner != ""
		if !isPage(c) {
			nFollowers, nFollowing, err := h.Follows.Counts(ctx, u.ID)
			if err != nil {
				return fmt.Errorf("collections: count %s of %s: %w", name, u.ID, err)
			}
			n := nFollowing
			if followers {
				n = nFollowers
			}
			coll := orderedCollection{Context: asContext, ID: id, Type: "OrderedCollection", TotalItems: &n}
			if partner {
				coll.First = pageURL(id, "") // the lists are for partners only (doc.go)
			}
			return h.sendCollection(c, coll)
		}
		switch {
		case verr != nil: // a valid signature from a host that is not a partner
			return refuse(c, fiber.StatusForbidden, "this node does not share "+name+" lists with your node")
		case !partner:
			return refuse(c, fiber.StatusUnauthorized, "sign the request: "+name+" lists are for partner nodes")
		}
		maxID := cursor(c)
		uris, next, err := h.peoplePage(ctx, u, followers, maxID)
		if err != nil {
			return err
		}
		page := orderedCollection{Context: asContext, ID: pageURL(id, maxID), Type: "OrderedCollectionPage",
			PartOf: id, Items: uris}
		if next != "" {
			page.Next = pageURL(id, next)
		}
		return h.sendCollection(c, page)
	}
}

// peoplePage lists one page of actor ids and the cursor of the next page ("" for none).
// It reads the follows table itself: follows.Page pages by follow time alone, which skips
// follows made in the same instant as a page boundary. Account ids are unique and indexed
// on both sides of the edge.
func (h *handler) peoplePage(ctx context.Context, u *accounts.User, followers bool, maxID string) ([]string, string, error) {
	mine, other := "follower_id", "followee_id"
	if followers {
		mine, other = "followee_id", "follower_id"
	}
	var ids []string
	q := h.DB.NewSelect().Model((*follows.Follow)(nil)).Column(other).Where("? = ?", bun.Ident(mine), u.ID)
	if maxID != "" {
		q = q.Where("? < ?", bun.Ident(other), maxID)
	}
	if err := q.OrderExpr("? DESC", bun.Ident(other)).Limit(PeoplePageSize+1).Scan(ctx, &ids); err != nil {
		return nil, "", fmt.Errorf("collections: list %s of %s: %w", other, u.ID, err)
	}
	next := ""
	if len(ids) > PeoplePageSize {
		ids = ids[:PeoplePageSize]
		next = ids[len(ids)-1]
	}
	people, err := h.Accounts.GetMany(ctx, ids)
	if err != nil {
		return nil, "", fmt.Errorf("collections: load %s of %s: %w", other, u.ID, err)
	}
	conv := h.conv(ctx)
	uris := []string{}
	for _, id := range ids {
		if p := people[id]; p.Active() { // deactivated people and deleted actors are not listed
			uris = append(uris, conv.ActorURI(p))
		}
	}
	return uris, next, nil
}

// featured serves the pinned posts: none yet, but an empty collection stops Mastodon from
// logging a 404 for every profile it loads.
func (h *handler) featured(c *fiber.Ctx) error {
	u, err := h.listed(c)
	if u == nil {
		return err
	}
	n := 0
	return h.sendCollection(c, orderedCollection{Context: asContext, ID: h.conv(c.UserContext()).ActorURI(u) + "/collections/featured",
		Type: "OrderedCollection", TotalItems: &n, Items: []string{}})
}

func (h *handler) sendCollection(c *fiber.Ctx, v orderedCollection) error {
	b, err := encode(v)
	if err != nil {
		return err
	}
	return send(c, fiber.StatusOK, b)
}
