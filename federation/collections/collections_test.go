package collections_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/atrium-social/atrium/federation/activity"
	"github.com/atrium-social/atrium/federation/collections"
	"github.com/atrium-social/atrium/federation/keys"
	"github.com/atrium-social/atrium/federation/signature"
	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/testutil/nodetest"
)

// serve mounts the package on a fresh fiber app backed by n's services, verifying
// signatures as the node would: keys fetched through n's signed fetcher, partners only.
func serve(n *nodetest.Node) *fiber.App {
	app := fiber.New()
	v := &signature.Verifier{Resolver: &signature.KeyCache{Fetch: n.Fetch.Key}, KeyAllowed: n.Partners.Allowed}
	collections.Register(collections.Deps{App: app, DB: n.DB, Accounts: n.Accounts, Posts: n.Posts, Follows: n.Follows,
		BaseURL: n.URL, Verify: collections.VerifyWith(v)})
	return app
}

// signer is a key on another node: its owner's id there and the keyId.
type signer struct {
	node    *nodetest.Node
	ownerID string // a user id, or keys.Instance
	keyID   string
	// key, when set, signs with another owner's private key (a forged signature).
	key string
}

func personKey(n *nodetest.Node, api *nodetest.API) *signer {
	return &signer{node: n, ownerID: api.User.ID, keyID: n.URL(context.Background()) + "/users/" + api.User.Username + "#main-key"}
}

type answer struct {
	status int
	header http.Header
	body   []byte
	doc    map[string]any
}

const asJSON = "application/activity+json"

// get sends a GET for path to the app as served at n's host, signed when s is set.
func get(t *testing.T, app *fiber.App, n *nodetest.Node, path, accept string, s *signer) answer {
	t.Helper()
	req := httptest.NewRequest("GET", path, nil)
	req.Host = n.Host() // signed, and read back by the verifier
	req.Header.Set("Accept", accept)
	if s != nil {
		owner := s.ownerID
		if s.key != "" {
			owner = s.key
		}
		pair, err := s.node.Keys.For(context.Background(), owner)
		if err != nil {
			t.Fatal(err)
		}
		if err := signature.Sign(req, nil, pair.Private, s.keyID, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := app.Test(req, -1)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, header: resp.Header, body: b}
	if testing.Verbose() {
		t.Logf("GET %s -> %d %s", path, resp.StatusCode, b)
	}
	if resp.StatusCode < 300 || resp.StatusCode == http.StatusGone {
		if ct := resp.Header.Get("Content-Type"); ct != "application/activity+json; charset=utf-8" {
			t.Fatalf("GET %s: Content-Type %q", path, ct)
		}
		if err := json.Unmarshal(b, &a.doc); err != nil {
			t.Fatalf("GET %s: %v: %s", path, err, b)
		}
		if !hasASContext(a.doc["@context"]) {
			t.Fatalf("GET %s: @context lacks the AS2 URI: %s", path, b)
		}
	}
	if !strings.Contains(resp.Header.Get("Vary"), "Accept") {
		t.Fatalf("GET %s: Vary %q", path, resp.Header.Get("Vary"))
	}
	return a
}

func hasASContext(c any) bool {
	const as = "https://www.w3.org/ns/activitystreams"
	switch v := c.(type) {
	case string:
		return v == as
	case []any:
		return slices.Contains(v, any(as))
	}
	return false
}

func expect(t *testing.T, what string, a answer, status int) {
	t.Helper()
	if a.status != status {
		t.Fatalf("%s: status %d, want %d: %s", what, a.status, status, a.body)
	}
}

type status struct {
	ID  string `json:"id"`
	URI string `json:"uri"`
}

func post(t *testing.T, api *nodetest.API, body map[string]any) status {
	t.Helper()
	var st status
	if resp := api.Call("POST", "/api/v1/statuses", body, &st); resp.StatusCode != 200 {
		t.Fatalf("post %v: status %d", body, resp.StatusCode)
	}
	return st
}

// follow makes api follow acct (on another node) and settles.
func follow(t *testing.T, api *nodetest.API, acct string, nodes ...*nodetest.Node) {
	t.Helper()
	var res struct {
		Accounts []struct {
			ID string `json:"id"`
		} `json:"accounts"`
	}
	api.Call("GET", "/api/v2/search?resolve=true&type=accounts&q="+url.QueryEscape(acct), nil, &res)
	if len(res.Accounts) != 1 {
		t.Fatalf("resolve %s: %+v", acct, res)
	}
	if resp := api.Call("POST", "/api/v1/accounts/"+res.Accounts[0].ID+"/follow", nil, nil); resp.StatusCode != 200 {
		t.Fatalf("follow %s: %d", acct, resp.StatusCode)
	}
	nodetest.Settle(t, nodes...)
}

func strs(v any) []string {
	var out []string
	switch x := v.(type) {
	case string:
		out = append(out, x)
	case []any:
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
	}
	return out
}

func TestPostsAndAuthorizedFetch(t *testing.T) {
	ctx := context.Background()
	acme := nodetest.Start(t, nodetest.Options{Setup: true, Host: "acme.test", OrgName: "Acme", Manual: true})
	globex := nodetest.Start(t, nodetest.Options{Setup: true, Host: "globex.test", OrgName: "Globex", Manual: true})
	nodetest.Partner(t, acme, globex)
	nodes := []*nodetest.Node{acme, globex}
	alice := acme.NewUser(t, "alice")
	bob := globex.NewUser(t, "bob")     // follows alice
	carol := globex.NewUser(t, "carol") // known on acme, follows nobody there
	dave := globex.NewUser(t, "dave")   // addressed by alice's direct message
	base, gbase := acme.URL(ctx), globex.URL(ctx)
	aliceURI := base + "/users/alice"

	follow(t, bob, "@alice@"+acme.Host(), nodes...)
	if _, err := acme.People.ByURI(ctx, gbase+"/users/carol"); err != nil {
		t.Fatal(err)
	}

	pub := post(t, alice, map[string]any{"status": "Hello @bob@" + globex.Host() + " #launch", "visibility": "public"})
	fol := post(t, alice, map[string]any{"status": "Followers only", "visibility": "private"})
	comment := post(t, alice, map[string]any{"status": "A comment in a followers thread", "in_reply_to_id": fol.ID})
	dm := post(t, alice, map[string]any{"status": "@dave@" + globex.Host() + " lunch?", "visibility": "direct"})
	company := post(t, alice, map[string]any{"status": "Acme internal", "local_only": true})
	pubGone := post(t, alice, map[string]any{"status": "Public, then deleted", "visibility": "public"})
	folGone := post(t, alice, map[string]any{"status": "Followers, then deleted", "visibility": "private"})
	nodetest.Settle(t, nodes...) // delivers, and resolves dave's address on acme
	for _, id := range []string{pubGone.ID, folGone.ID} {
		if resp := alice.Call("DELETE", "/api/v1/statuses/"+id, nil, nil); resp.StatusCode != 200 {
			t.Fatalf("delete: %d", resp.StatusCode)
		}
	}
	nodetest.Settle(t, nodes...)

	app := serve(acme)
	path := func(st status) string { return strings.TrimPrefix(st.URI, base) }
	asBob, asCarol, asDave := personKey(globex, bob), personKey(globex, carol), personKey(globex, dave)
	asGlobex := &signer{node: globex, ownerID: keys.Instance, keyID: gbase + "/actor#main-key"}
	forged := &signer{node: globex, ownerID: bob.User.ID, keyID: asBob.keyID, key: carol.User.ID}

	t.Run("public note", func(t *testing.T) {
		a := get(t, app, acme, path(pub), asJSON, nil)
		expect(t, "public post, unsigned", a, 200)
		d := a.doc
		if d["id"] != pub.URI || d["type"] != "Note" || d["attributedTo"] != aliceURI || d["url"] != base+"/posts/"+pub.ID {
			t.Fatalf("note: %s", a.body)
		}
		if to := strs(d["to"]); len(to) != 1 || to[0] != activity.Public {
			t.Fatalf("to: %v", to)
		}
		if cc := strs(d["cc"]); !slices.Contains(cc, aliceURI+"/followers") || !slices.Contains(cc, gbase+"/users/bob") {
			t.Fatalf("cc: %v", cc)
		}
		var mention, hashtag bool
		tags, _ := d["tag"].([]any)
		for _, x := range tags {
			tag, _ := x.(map[string]any)
			switch tag["type"] {
			case "Mention":
				mention = tag["href"] == gbase+"/users/bob" && tag["name"] == "@bob@"+globex.Host()
			case "Hashtag":
				hashtag = tag["name"] == "#launch" && tag["href"] == base+"/tags/launch"
			}
		}
		if !mention || !hashtag || !strings.Contains(d["content"].(string), "Hello") {
			t.Fatalf("tags or content: %s", a.body)
		}
		// A public post is served whatever the signature: nothing is verified.
		expect(t, "public post, forged signature", get(t, app, acme, path(pub), asJSON, forged), 200)
		expect(t, "public post, AS ld+json", get(t, app, acme, path(pub),
			`application/ld+json; profile="https://www.w3.org/ns/activitystreams"`, nil), 200)

		c := get(t, app, acme, path(pub)+"/activity", asJSON, nil)
		expect(t, "Create", c, 200)
		obj, _ := c.doc["object"].(map[string]any)
		if c.doc["type"] != "Create" || c.doc["id"] != pub.URI+"/activity" || c.doc["actor"] != aliceURI || obj["id"] != pub.URI {
			t.Fatalf("create: %s", c.body)
		}
	})

	t.Run("browser", func(t *testing.T) {
		a := get(t, app, acme, path(pub), "text/html,application/xhtml+xml", nil)
		expect(t, "browser", a, 302)
		if loc := a.header.Get("Location"); loc != base+"/posts/"+pub.ID {
			t.Fatalf("Location %q", loc)
		}
		a = get(t, app, acme, "/users/alice/outbox", "text/html", nil)
		if a.status != 302 || a.header.Get("Location") != base+"/people/alice" {
			t.Fatalf("outbox for a browser: %d %q", a.status, a.header.Get("Location"))
		}
	})

	t.Run("followers only", func(t *testing.T) {
		expect(t, "unsigned", get(t, app, acme, path(fol), asJSON, nil), 404)
		expect(t, "non-follower", get(t, app, acme, path(fol), asJSON, asCarol), 404)
		expect(t, "partner's instance actor", get(t, app, acme, path(fol), asJSON, asGlobex), 404)
		expect(t, "forged signature", get(t, app, acme, path(fol), asJSON, forged), 401)
		a := get(t, app, acme, path(fol), asJSON, asBob)
		expect(t, "follower", a, 200)
		if to := strs(a.doc["to"]); len(to) != 1 || to[0] != aliceURI+"/followers" || slices.Contains(strs(a.doc["cc"]), activity.Public) {
			t.Fatalf("followers-only addressing: %s", a.body)
		}
		expect(t, "follower, Create", get(t, app, acme, path(fol)+"/activity", asJSON, asBob), 200)
		expect(t, "non-follower, Create", get(t, app, acme, path(fol)+"/activity", asJSON, asCarol), 404)
		// A comment is governed by its thread's root.
		expect(t, "comment, unsigned", get(t, app, acme, path(comment), asJSON, nil), 404)
		expect(t, "comment, non-follower", get(t, app, acme, path(comment), asJSON, asCarol), 404)
		c := get(t, app, acme, path(comment), asJSON, asBob)
		expect(t, "comment, follower", c, 200)
		if c.doc["inReplyTo"] != fol.URI {
			t.Fatalf("comment: %s", c.body)
		}
	})

	t.Run("direct", func(t *testing.T) {
		a := get(t, app, acme, path(dm), asJSON, asDave)
		expect(t, "addressee", a, 200)
		if to := strs(a.doc["to"]); len(to) != 1 || to[0] != gbase+"/users/dave" || a.doc["directMessage"] != true {
			t.Fatalf("direct addressing: %s", a.body)
		}
		expect(t, "follower, not addressed", get(t, app, acme, path(dm), asJSON, asBob), 404)
		expect(t, "unsigned", get(t, app, acme, path(dm), asJSON, nil), 404)
	})

	t.Run("company", func(t *testing.T) {
		for _, s := range []*signer{nil, asBob, asGlobex} {
			expect(t, "company post", get(t, app, acme, path(company), asJSON, s), 404)
			expect(t, "company Create", get(t, app, acme, path(company)+"/activity", asJSON, s), 404)
		}
	})

	t.Run("deleted", func(t *testing.T) {
		a := get(t, app, acme, path(pubGone), asJSON, nil)
		expect(t, "deleted public post", a, 410)
		if a.doc["type"] != "Tombstone" || a.doc["id"] != pubGone.URI {
			t.Fatalf("tombstone: %s", a.body)
		}
		c := get(t, app, acme, path(pubGone)+"/activity", asJSON, nil)
		expect(t, "deleted public Create", c, 410)
		if c.doc["id"] != pubGone.URI+"/activity" {
			t.Fatalf("tombstone of the Create: %s", c.body)
		}
		// A deleted non-public post is gone only for those who could read it.
		expect(t, "deleted followers post, unsigned", get(t, app, acme, path(folGone), asJSON, nil), 404)
		expect(t, "deleted followers post, non-follower", get(t, app, acme, path(folGone), asJSON, asCarol), 404)
		expect(t, "deleted followers post, follower", get(t, app, acme, path(folGone), asJSON, asBob), 410)
	})

	t.Run("absent and garbage", func(t *testing.T) {
		missing := "/users/alice/statuses/01ARZ3NDEKTSV4RRFFQ69G5FAV"
		expect(t, "missing, unsigned", get(t, app, acme, missing, asJSON, nil), 404)
		expect(t, "missing, forged", get(t, app, acme, missing, asJSON, forged), 401) // as for a hidden post
		expect(t, "missing, follower", get(t, app, acme, missing, asJSON, asBob), 404)
		expect(t, "garbage id", get(t, app, acme, "/users/alice/statuses/..%2f..%2fetc", asJSON, asBob), 404)
		expect(t, "lower-case id", get(t, app, acme, "/users/alice/statuses/"+strings.ToLower(pub.ID), asJSON, nil), 404)
		expect(t, "someone else's path", get(t, app, acme, "/users/admin/statuses/"+pub.ID, asJSON, nil), 404)
		expect(t, "unknown person", get(t, app, acme, "/users/nobody/statuses/"+pub.ID, asJSON, nil), 404)
	})
}

func TestFollowerLists(t *testing.T) {
	ctx := context.Background()
	acme := nodetest.Start(t, nodetest.Options{Setup: true, Host: "acme.test", OrgName: "Acme", Manual: true})
	globex := nodetest.Start(t, nodetest.Options{Setup: true, Host: "globex.test", OrgName: "Globex", Manual: true})
	initech := nodetest.Start(t, nodetest.Options{Setup: true, Host: "initech.test", OrgName: "Initech", Manual: true})
	nodetest.Partner(t, acme, globex)
	nodetest.Partner(t, globex, initech) // initech is no partner of acme
	nodes := []*nodetest.Node{acme, globex}
	alice := acme.NewUser(t, "alice")
	bob := globex.NewUser(t, "bob")
	bill := initech.NewUser(t, "bill")
	base, gbase := acme.URL(ctx), globex.URL(ctx)
	follow(t, bob, "@alice@"+acme.Host(), nodes...)
	// alice follows bob back, and 41 colleagues (created in the same instant, near enough)
	// follow alice: 42 followers, more than one page.
	follow(t, alice, "@bob@"+globex.Host(), nodes...)
	want := map[string]bool{gbase + "/users/bob": true}
	for i := range 41 {
		name := fmt.Sprintf("colleague%02d", i)
		u, err := acme.Accounts.Create(ctx, accounts.CLIActor(), accounts.NewUser{Username: name, Email: name + "@acme.example",
			Password: "long password 123"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := acme.Follows.Follow(ctx, u.ID, alice.User.ID); err != nil {
			t.Fatal(err)
		}
		want[base+"/users/"+name] = true
	}
	app := serve(acme)
	asBob := personKey(globex, bob)
	asGlobex := &signer{node: globex, ownerID: keys.Instance, keyID: gbase + "/actor#main-key"}
	asBill := personKey(initech, bill)
	forged := &signer{node: globex, ownerID: bob.User.ID, keyID: asBob.keyID, key: keys.Instance}

	// Unsigned: the count only.
	a := get(t, app, acme, "/users/alice/followers", asJSON, nil)
	expect(t, "followers, unsigned", a, 200)
	if a.doc["type"] != "OrderedCollection" || a.doc["totalItems"] != float64(42) || a.doc["first"] != nil ||
		a.doc["id"] != base+"/users/alice/followers" {
		t.Fatalf("unsigned followers: %s", a.body)
	}
	expect(t, "page, unsigned", get(t, app, acme, "/users/alice/followers?page=true", asJSON, nil), 401)
	expect(t, "page, forged", get(t, app, acme, "/users/alice/followers?page=true", asJSON, forged), 401)
	expect(t, "collection, forged", get(t, app, acme, "/users/alice/followers", asJSON, forged), 401)
	expect(t, "page, not a partner", get(t, app, acme, "/users/alice/followers?page=true", asJSON, asBill), 403)
	if a := get(t, app, acme, "/users/alice/followers", asJSON, asBill); a.status != 200 || a.doc["first"] != nil {
		t.Fatalf("collection for a non-partner: %d %s", a.status, a.body)
	}

	// Signed by a partner (its instance actor is enough): every follower once, 40 a page.
	for _, s := range []*signer{asBob, asGlobex} {
		a := get(t, app, acme, "/users/alice/followers", asJSON, s)
		first, _ := a.doc["first"].(string)
		if first != base+"/users/alice/followers?page=true" {
			t.Fatalf("signed followers: %s", a.body)
		}
		got := map[string]bool{}
		next, pages := first, 0
		for next != "" {
			if pages++; pages > 5 {
				t.Fatal("followers pages do not end")
			}
			p := get(t, app, acme, strings.TrimPrefix(next, base), asJSON, s)
			expect(t, "followers page", p, 200)
			if p.doc["type"] != "OrderedCollectionPage" || p.doc["partOf"] != base+"/users/alice/followers" || p.doc["id"] != next {
				t.Fatalf("page: %s", p.body)
			}
			items := strs(p.doc["orderedItems"])
			if len(items) > collections.PeoplePageSize {
				t.Fatalf("page of %d", len(items))
			}
			for _, it := range items {
				if got[it] {
					t.Fatalf("%s listed twice", it)
				}
				got[it] = true
			}
			next, _ = p.doc["next"].(string)
			if next != "" && len(items) != collections.PeoplePageSize {
				t.Fatalf("a short page with a next link: %d items", len(items))
			}
		}
		if pages != 2 || len(got) != len(want) {
			t.Fatalf("%d pages, %d followers, want 2 and %d", pages, len(got), len(want))
		}
		for u := range want {
			if !got[u] {
				t.Fatalf("%s missing", u)
			}
		}
	}

	// Following: bob, a remote account, by his actor id.
	f := get(t, app, acme, "/users/alice/following?page=true", asJSON, asBob)
	if items := strs(f.doc["orderedItems"]); len(items) != 1 || items[0] != gbase+"/users/bob" || f.doc["next"] != nil {
		t.Fatalf("following: %s", f.body)
	}
	if c := get(t, app, acme, "/users/alice/following", asJSON, nil); c.doc["totalItems"] != float64(1) {
		t.Fatalf("following count: %s", c.body)
	}
	// Garbage cursors are ignored; remote people have no collections here.
	if g := get(t, app, acme, "/users/alice/following?page=true&max_id='%20OR%201=1", asJSON, asBob); len(strs(g.doc["orderedItems"])) != 1 {
		t.Fatalf("garbage cursor: %s", g.body)
	}
	expect(t, "a remote person's followers", get(t, app, acme, "/users/bob/followers", asJSON, asBob), 404)

	fe := get(t, app, acme, "/users/alice/collections/featured", asJSON, nil)
	if fe.status != 200 || fe.doc["type"] != "OrderedCollection" || fe.doc["totalItems"] != float64(0) || fe.doc["orderedItems"] == nil {
		t.Fatalf("featured: %d %s", fe.status, fe.body)
	}
}

func TestOutboxPages(t *testing.T) {
	ctx := context.Background()
	acme := nodetest.Start(t, nodetest.Options{Setup: true, Host: "acme.test", OrgName: "Acme", Manual: true})
	alice := acme.NewUser(t, "alice")
	erin := acme.NewUser(t, "erin")
	base := acme.URL(ctx)
	public := map[string]bool{}
	for i := range 24 {
		st := post(t, alice, map[string]any{"status": fmt.Sprintf("Public note %d", i), "visibility": "public"})
		public[st.URI+"/activity"] = true
	}
	post(t, alice, map[string]any{"status": "Followers only", "visibility": "private"})
	post(t, alice, map[string]any{"status": "Acme internal", "local_only": true})
	hers := post(t, erin, map[string]any{"status": "Erin's launch", "visibility": "public"})
	var share status
	if resp := alice.Call("POST", "/api/v1/statuses/"+hers.ID+"/reblog", nil, &share); resp.StatusCode != 200 {
		t.Fatalf("reblog: %d", resp.StatusCode)
	}
	app := serve(acme)

	a := get(t, app, acme, "/users/alice/outbox", asJSON, nil)
	expect(t, "outbox", a, 200)
	if a.doc["type"] != "OrderedCollection" || a.doc["totalItems"] != float64(25) {
		t.Fatalf("outbox: %s", a.body)
	}
	next, _ := a.doc["first"].(string)
	var creates, announces, pages int
	seen := map[string]bool{}
	for next != "" {
		if pages++; pages > 5 {
			t.Fatal("outbox pages do not end")
		}
		p := get(t, app, acme, strings.TrimPrefix(next, base), asJSON, nil)
		expect(t, "outbox page", p, 200)
		items, _ := p.doc["orderedItems"].([]any)
		if len(items) > collections.OutboxPageSize {
			t.Fatalf("page of %d", len(items))
		}
		for _, x := range items {
			it, _ := x.(map[string]any)
			id, _ := it["id"].(string)
			if seen[id] || it["@context"] != nil {
				t.Fatalf("item %s repeated or with its own @context", id)
			}
			seen[id] = true
			switch it["type"] {
			case "Create":
				creates++
				if !public[id] {
					t.Fatalf("unexpected Create %s", id)
				}
			case "Announce":
				announces++
				if id != share.URI || it["object"] != hers.URI || !slices.Contains(strs(it["to"]), activity.Public) {
					t.Fatalf("announce: %v", it)
				}
			default:
				t.Fatalf("item type %v", it["type"])
			}
		}
		next, _ = p.doc["next"].(string)
		if next != "" && len(items) != collections.OutboxPageSize {
			t.Fatalf("a short page with a next link")
		}
	}
	if pages != 2 || creates != 24 || announces != 1 {
		t.Fatalf("%d pages, %d Creates, %d Announces; want 2, 24, 1", pages, creates, announces)
	}
	// The share's own URLs: its Announce, and a redirect to the original.
	sharePath := strings.TrimPrefix(share.URI, base)
	if an := get(t, app, acme, sharePath, asJSON, nil); an.status != 200 || an.doc["type"] != "Announce" {
		t.Fatalf("share activity: %d %s", an.status, an.body)
	}
	if r := get(t, app, acme, strings.TrimSuffix(sharePath, "/activity"), asJSON, nil); r.status != 302 || r.header.Get("Location") != hers.URI {
		t.Fatalf("share object: %d %q", r.status, r.header.Get("Location"))
	}
	// A cursor past the end is an empty last page.
	end := get(t, app, acme, "/users/alice/outbox?page=true&max_id=00000000000000000000000000", asJSON, nil)
	if items, ok := end.doc["orderedItems"].([]any); !ok || len(items) != 0 || end.doc["next"] != nil {
		t.Fatalf("past the end: %s", end.body)
	}
}
