package fetch_test

import (
	"context"
	"crypto"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/atrium-social/atrium/federation/activity"
	"github.com/atrium-social/atrium/federation/fetch"
	"github.com/atrium-social/atrium/federation/signature"
	"github.com/atrium-social/atrium/internal/outbound"
)

// The GET is signed by our instance actor the way Mastodon signs, and a real Verifier on the
// peer accepts it; the Accept header asks for both AS2 media types.
func TestGetIsSignedByTheInstanceActor(t *testing.T) {
	n := newNode(t)
	m := newPeer(t, n, "mastodon.test")
	m.doc("/users/alice", m.mastodonAlice())

	doc, err := n.c.Get(context.Background(), m.base+"/users/alice")
	if err != nil {
		t.Fatal(err)
	}
	if doc.ID() != m.base+"/users/alice" || doc.Type() != activity.TypePerson {
		t.Fatalf("document %s %s", doc.ID(), doc.Type())
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if !slices.Equal(m.signedBy, []string{n.keyID}) {
		t.Errorf("verified keyIds %v, want our instance key once", m.signedBy)
	}
	if !slices.Equal(m.headers, []string{"(request-target)", "host", "date"}) {
		t.Errorf("signed headers %v", m.headers)
	}
	if !strings.Contains(m.accept, "application/activity+json") ||
		!strings.Contains(m.accept, `application/ld+json; profile="https://www.w3.org/ns/activitystreams"`) {
		t.Errorf("Accept %q", m.accept)
	}
}

func TestActor(t *testing.T) {
	n := newNode(t)
	ctx := context.Background()
	m := newPeer(t, n, "mastodon.test")
	g := newPeer(t, n, "gts.test")
	m.doc("/users/alice", m.mastodonAlice())
	g.doc("/users/bob", g.gtsBob())

	a, err := n.c.Actor(ctx, m.base+"/users/alice")
	if err != nil {
		t.Fatal(err)
	}
	if a.PreferredUsername != "alice" || a.Inbox != m.base+"/users/alice/inbox" || a.SharedInbox != m.base+"/inbox" ||
		a.PublicKey.ID != m.base+"/users/alice#main-key" {
		t.Errorf("mastodon actor %+v", a)
	}
	b, err := n.c.Actor(ctx, g.base+"/users/bob")
	if err != nil {
		t.Fatal(err)
	}
	if b.PreferredUsername != "bob" || b.SharedInbox != "" || !b.ManuallyApprovesFollowers {
		t.Errorf("gotosocial actor %+v", b)
	}

	// Each broken actor fails with the class a caller would report.
	alice := m.mastodonAlice()
	cases := []struct {
		name string
		edit func(map[string]any)
		want error
	}{
		{"not an actor", func(d map[string]any) { d["type"] = "Note" }, fetch.ErrBadDocument},
		{"no inbox", func(d map[string]any) { delete(d, "inbox") }, fetch.ErrBadDocument},
		{"inbox not http", func(d map[string]any) { d["inbox"] = "ftp://mastodon.test/inbox" }, fetch.ErrBadDocument},
		{"no key", func(d map[string]any) { delete(d, "publicKey") }, fetch.ErrBadDocument},
		{"key owned by another", func(d map[string]any) { d["publicKey"].(map[string]any)["owner"] = m.base + "/users/mallory" }, fetch.ErrOrigin},
		{"key on another origin", func(d map[string]any) { d["publicKey"].(map[string]any)["id"] = g.base + "/users/alice#main-key" }, fetch.ErrOrigin},
		{"no username", func(d map[string]any) { delete(d, "preferredUsername") }, fetch.ErrBadDocument},
		{"username with @", func(d map[string]any) { d["preferredUsername"] = "alice@gts.test" }, fetch.ErrBadDocument},
		{"username with /", func(d map[string]any) { d["preferredUsername"] = "../admin" }, fetch.ErrBadDocument},
		{"username with space", func(d map[string]any) { d["preferredUsername"] = "alice smith" }, fetch.ErrBadDocument},
		{"username too long", func(d map[string]any) { d["preferredUsername"] = strings.Repeat("a", 65) }, fetch.ErrBadDocument},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := "/users/broken" + strconv.Itoa(i)
			m.doc(path, edit(t, alice, func(d map[string]any) {
				d["id"] = m.base + path
				d["publicKey"].(map[string]any)["id"] = m.base + path + "#main-key"
				d["publicKey"].(map[string]any)["owner"] = m.base + path
				tc.edit(d)
			}))
			_, err := n.c.Actor(ctx, m.base+path)
			wantErr(t, err, tc.want)
		})
	}
	// 64 characters and non-ASCII are fine.
	m.doc("/users/long", edit(t, alice, func(d map[string]any) {
		d["id"] = m.base + "/users/long"
		d["publicKey"] = map[string]any{"id": m.base + "/users/long#main-key", "owner": m.base + "/users/long",
			"publicKeyPem": d["publicKey"].(map[string]any)["publicKeyPem"]}
		d["preferredUsername"] = "jürgen_" + strings.Repeat("x", 57)
	}))
	if _, err := n.c.Actor(ctx, m.base+"/users/long"); err != nil {
		t.Errorf("a 64-character username: %v", err)
	}
}

// Mastodon's keyId is the actor's id plus "#main-key": the actor document is fetched and must
// list the key as its own. It plugs into signature.KeyCache as is.
func TestKeyMastodonFragment(t *testing.T) {
	n := newNode(t)
	ctx := context.Background()
	m := newPeer(t, n, "mastodon.test")
	m.doc("/users/alice", m.mastodonAlice())
	recorded, _ := activity.Decode([]byte(m.mastodonAlice()))
	want, _ := recorded.AsActor()
	wantKey, err := signature.ParsePublicKeyPEM(want.PublicKey.PublicKeyPem)
	if err != nil {
		t.Fatal(err)
	}

	keyID := m.base + "/users/alice#main-key"
	cache := &signature.KeyCache{Fetch: n.c.Key}
	pk, err := cache.ResolveKey(ctx, keyID, false)
	if err != nil {
		t.Fatal(err)
	}
	if pk.ID != keyID || pk.Owner != m.base+"/users/alice" || !wantKey.(interface{ Equal(crypto.PublicKey) bool }).Equal(pk.Key) {
		t.Errorf("key %+v", pk)
	}
	if m.hitsOf("/users/alice") != 1 {
		t.Errorf("actor fetched %d times", m.hitsOf("/users/alice"))
	}
	// A fragment the actor does not list is refused: the actor must claim the key.
	_, err = n.c.Key(ctx, m.base+"/users/alice#other-key")
	wantErr(t, err, fetch.ErrOrigin)
}

// GoToSocial's keyId ".../main-key" serves a stub with only publicKey; the full actor is
// fetched from its owner and must list the same key id.
func TestKeyGoToSocialStub(t *testing.T) {
	n := newNode(t)
	ctx := context.Background()
	g := newPeer(t, n, "gts.test")
	m := newPeer(t, n, "mastodon.test")
	bob := g.gtsBob()
	g.doc("/users/bob", bob)
	g.doc("/users/bob/main-key", stubOf(t, bob))

	keyID := g.base + "/users/bob/main-key"
	pk, err := n.c.Key(ctx, keyID)
	if err != nil {
		t.Fatal(err)
	}
	if pk.ID != keyID || pk.Owner != g.base+"/users/bob" || pk.Key == nil {
		t.Errorf("key %+v", pk)
	}
	if g.hitsOf("/users/bob/main-key") != 1 || g.hitsOf("/users/bob") != 1 {
		t.Errorf("stub fetched %d times, actor %d times", g.hitsOf("/users/bob/main-key"), g.hitsOf("/users/bob"))
	}

	t.Run("owner lists a different key", func(t *testing.T) {
		// The stub says carol owns carol/main-key; carol's own document says her key is
		// carol/other-key. The claim is one-way: refused.
		carol := edit(t, bob, func(d map[string]any) {
			d["id"] = g.base + "/users/carol"
			d["preferredUsername"] = "carol"
			d["inbox"] = g.base + "/users/carol/inbox"
			d["publicKey"] = map[string]any{"id": g.base + "/users/carol/other-key", "owner": g.base + "/users/carol",
				"publicKeyPem": d["publicKey"].(map[string]any)["publicKeyPem"]}
		})
		g.doc("/users/carol", carol)
		g.doc("/users/carol/main-key", edit(t, stubOf(t, carol), func(d map[string]any) {
			d["publicKey"].(map[string]any)["id"] = g.base + "/users/carol/main-key"
		}))
		_, err := n.c.Key(ctx, g.base+"/users/carol/main-key")
		wantErr(t, err, fetch.ErrOrigin)
	})

	t.Run("owner on another origin", func(t *testing.T) {
		// A stub on gts.test naming an owner on mastodon.test: refused before the owner is
		// fetched, so gts.test cannot make us trust mastodon.test's alice for its key.
		m.doc("/users/alice", m.mastodonAlice())
		g.doc("/users/dave/main-key", edit(t, stubOf(t, bob), func(d map[string]any) {
			d["id"] = m.base + "/users/alice"
			d["publicKey"] = map[string]any{"id": g.base + "/users/dave/main-key", "owner": m.base + "/users/alice",
				"publicKeyPem": d["publicKey"].(map[string]any)["publicKeyPem"]}
		}))
		_, err := n.c.Key(ctx, g.base+"/users/dave/main-key")
		wantErr(t, err, fetch.ErrOrigin)
		if m.requests() != 0 {
			t.Errorf("the other origin was contacted %d times", m.requests())
		}
	})

	t.Run("stub about another key", func(t *testing.T) {
		g.doc("/users/erin/main-key", stubOf(t, bob)) // lists bob/main-key, not erin's
		_, err := n.c.Key(ctx, g.base+"/users/erin/main-key")
		wantErr(t, err, fetch.ErrOrigin)
	})

	t.Run("standalone key document", func(t *testing.T) {
		// Some servers serve the key itself: {id, type: Key, owner, publicKeyPem}.
		var pem string
		edit(t, bob, func(d map[string]any) { pem = d["publicKey"].(map[string]any)["publicKeyPem"].(string) })
		frank := edit(t, bob, func(d map[string]any) {
			d["id"] = g.base + "/users/frank"
			d["preferredUsername"] = "frank"
			d["publicKey"] = map[string]any{"id": g.base + "/keys/frank", "owner": g.base + "/users/frank", "publicKeyPem": pem}
		})
		g.doc("/users/frank", frank)
		g.doc("/keys/frank", `{"@context":"https://w3id.org/security/v1","id":"`+g.base+`/keys/frank","type":"Key","owner":"`+
			g.base+`/users/frank","publicKeyPem":`+strconv.Quote(pem)+`}`)
		pk, err := n.c.Key(ctx, g.base+"/keys/frank")
		if err != nil {
			t.Fatal(err)
		}
		if pk.Owner != g.base+"/users/frank" {
			t.Errorf("owner %s", pk.Owner)
		}
	})
}

// FEDERATION.md §2: the id is the URL asked for (one same-origin canonical re-fetch), and the
// URL that answered after redirects has the id's origin.
func TestIdentityAndOrigin(t *testing.T) {
	n := newNode(t)
	ctx := context.Background()
	m := newPeer(t, n, "mastodon.test")
	g := newPeer(t, n, "gts.test")
	globex := newPeer(t, n, denied)
	alice := m.mastodonAlice()
	m.doc("/users/alice", alice)

	t.Run("canonical re-fetch", func(t *testing.T) {
		m.doc("/@alice", alice) // the profile URL answers with the actor, whose id is /users/alice
		before := m.hitsOf("/users/alice")
		doc, err := n.c.Get(ctx, m.base+"/@alice")
		if err != nil {
			t.Fatal(err)
		}
		if doc.ID() != m.base+"/users/alice" || m.hitsOf("/users/alice") != before+1 {
			t.Errorf("id %s, canonical fetched %d times", doc.ID(), m.hitsOf("/users/alice")-before)
		}
	})
	t.Run("canonical id does not confirm", func(t *testing.T) {
		m.doc("/users/zed", edit(t, alice, func(d map[string]any) { d["id"] = m.base + "/users/yan" }))
		m.doc("/users/yan", alice) // claims to be alice
		_, err := n.c.Get(ctx, m.base+"/users/zed")
		wantErr(t, err, fetch.ErrOrigin)
	})
	t.Run("id on another origin", func(t *testing.T) {
		m.doc("/users/impostor", g.gtsBob()) // mastodon.test serving gts.test's bob
		_, err := n.c.Get(ctx, m.base+"/users/impostor")
		wantErr(t, err, fetch.ErrOrigin)
		if g.requests() != 0 {
			t.Errorf("the claimed origin was contacted %d times", g.requests())
		}
	})
	t.Run("no id", func(t *testing.T) {
		m.doc("/users/anon", edit(t, alice, func(d map[string]any) { delete(d, "id") }))
		_, err := n.c.Get(ctx, m.base+"/users/anon")
		wantErr(t, err, fetch.ErrBadDocument)
	})
	t.Run("same-origin redirect is signed again", func(t *testing.T) {
		moved := edit(t, alice, func(d map[string]any) { d["id"] = m.base + "/users/moved" })
		m.handle("/users/moved", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "/internal/moved", http.StatusFound)
		})
		m.doc("/internal/moved", moved)
		doc, err := n.c.Get(ctx, m.base+"/users/moved")
		if err != nil {
			t.Fatal(err) // the peer's verifier also fails the test if the hop was not re-signed
		}
		if doc.ID() != m.base+"/users/moved" {
			t.Errorf("id %s", doc.ID())
		}
	})
	t.Run("redirect to another origin", func(t *testing.T) {
		// An open redirect on mastodon.test leads to gts.test, which serves a document claiming
		// the mastodon.test id. Whoever answered is not the id's origin: refused.
		m.handle("/users/open-redirect", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, g.base+"/forged", http.StatusFound)
		})
		g.doc("/forged", edit(t, alice, func(d map[string]any) { d["id"] = m.base + "/users/open-redirect" }))
		_, err := n.c.Get(ctx, m.base+"/users/open-redirect")
		wantErr(t, err, fetch.ErrOrigin)
		if g.hitsOf("/forged") != 1 {
			t.Errorf("the redirect was not followed (%d)", g.hitsOf("/forged"))
		}
	})
	t.Run("redirect to a host that is not a partner", func(t *testing.T) {
		m.handle("/users/to-globex", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, globex.base+"/users/x", http.StatusFound)
		})
		_, err := n.c.Get(ctx, m.base+"/users/to-globex")
		wantErr(t, err, fetch.ErrNotAllowed)
		if globex.requests() != 0 {
			t.Errorf("globex was contacted %d times", globex.requests())
		}
	})
}

func TestContentTypeAndSize(t *testing.T) {
	n := newNode(t)
	ctx := context.Background()
	m := newPeer(t, n, "mastodon.test")
	alice := m.mastodonAlice()
	serveAs := func(path, ct, body string) {
		m.handle(path, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", ct)
			_, _ = w.Write([]byte(body))
		})
	}
	for i, tc := range []struct {
		ct string
		ok bool
	}{
		{"application/activity+json", true},
		{"application/activity+json; charset=utf-8", true},
		{`application/ld+json; profile="https://www.w3.org/ns/activitystreams"`, true},
		{`application/ld+json; profile="https://www.w3.org/ns/activitystreams https://example.org/ext"`, true},
		{"application/ld+json", false},
		{"application/json", false},
		{"text/html; charset=utf-8", false},
		{"", false},
	} {
		path := "/users/ct" + strconv.Itoa(i)
		serveAs(path, tc.ct, edit(t, alice, func(d map[string]any) { d["id"] = m.base + path }))
		_, err := n.c.Get(ctx, m.base+path)
		if tc.ok && err != nil {
			t.Errorf("%q refused: %v", tc.ct, err)
		}
		if !tc.ok {
			if !errors.Is(err, fetch.ErrContentType) || !errors.Is(err, fetch.ErrBadDocument) {
				t.Errorf("%q: %v, want ErrContentType and ErrBadDocument", tc.ct, err)
			}
		}
	}

	// Over 1 MiB: refused from Content-Length, and while reading when the length is not sent.
	big := `{"id":"` + m.base + `/users/big","type":"Note","content":"` + strings.Repeat("x", activity.MaxDocumentSize) + `"}`
	m.doc("/users/big", big)
	_, err := n.c.Get(ctx, m.base+"/users/big")
	wantErr(t, err, fetch.ErrBadDocument, outbound.ErrTooLarge)
	m.handle("/users/big-chunked", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/activity+json")
		w.(http.Flusher).Flush() // no Content-Length: chunked
		for range 20 {
			_, _ = w.Write([]byte(strings.Repeat(" ", 64<<10)))
		}
	})
	_, err = n.c.Get(ctx, m.base+"/users/big-chunked")
	wantErr(t, err, fetch.ErrBadDocument, outbound.ErrTooLarge)

	// Not JSON at all.
	serveAs("/users/garbage", "application/activity+json", "<html>")
	_, err = n.c.Get(ctx, m.base+"/users/garbage")
	wantErr(t, err, fetch.ErrBadDocument)
}

func TestStatuses(t *testing.T) {
	n := newNode(t)
	ctx := context.Background()
	m := newPeer(t, n, "mastodon.test")
	status := func(path string, code int) {
		m.handle(path, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Retry-After", "30")
			http.Error(w, http.StatusText(code), code)
		})
	}
	status("/users/gone", http.StatusGone)
	status("/users/busy", http.StatusServiceUnavailable)

	_, err := n.c.Get(ctx, m.base+"/users/nobody") // the peer's 404
	wantErr(t, err, fetch.ErrNotFound, fetch.ErrStatus)
	if errors.Is(err, fetch.ErrGone) {
		t.Error("404 must not read as a deletion")
	}
	_, err = n.c.Actor(ctx, m.base+"/users/gone")
	wantErr(t, err, fetch.ErrGone)
	if errors.Is(err, fetch.ErrNotFound) {
		t.Error("410 read as 404")
	}
	_, err = n.c.Get(ctx, m.base+"/users/busy")
	wantErr(t, err, fetch.ErrStatus)
	var se *fetch.StatusError
	if !errors.As(err, &se) || se.Code != 503 || se.RetryAfter != "30" || errors.Is(err, fetch.ErrNotFound) || errors.Is(err, fetch.ErrGone) {
		t.Errorf("503: %v (%+v)", err, se)
	}

	// A gone key is signature.ErrKeyGone, and the KeyCache remembers it: no second fetch.
	cache := &signature.KeyCache{Fetch: n.c.Key}
	for range 2 {
		_, err = cache.ResolveKey(ctx, m.base+"/users/gone#main-key", false)
		wantErr(t, err, signature.ErrKeyGone, fetch.ErrGone)
	}
	if hits := m.hitsOf("/users/gone"); hits != 2 { // one Actor above, one key fetch
		t.Errorf("gone actor fetched %d times", hits)
	}

	// An actor served as a Tombstone (200) is gone too.
	m.doc("/users/buried", `{"@context":"https://www.w3.org/ns/activitystreams","id":"`+m.base+`/users/buried","type":"Tombstone"}`)
	_, err = n.c.Key(ctx, m.base+"/users/buried#main-key")
	wantErr(t, err, signature.ErrKeyGone, fetch.ErrGone)
}

// Hosts the partner policy refuses never see a request, however they are reached.
func TestNotAllowedHostIsNeverContacted(t *testing.T) {
	n := newNode(t)
	ctx := context.Background()
	globex := newPeer(t, n, denied)
	m := newPeer(t, n, "mastodon.test")
	globex.doc("/users/x", globex.mastodonAlice())
	globex.finger("x@"+globex.host, "x@"+globex.host, globex.base+"/users/x")
	m.finger("spy@"+m.host, "spy@"+m.host, globex.base+"/users/x") // a partner pointing at Globex

	calls := map[string]func() error{
		"Get":            func() error { _, err := n.c.Get(ctx, globex.base+"/users/x"); return err },
		"Actor":          func() error { _, err := n.c.Actor(ctx, globex.base+"/users/x"); return err },
		"Key":            func() error { _, err := n.c.Key(ctx, globex.base+"/users/x#main-key"); return err },
		"Key stub":       func() error { _, err := n.c.Key(ctx, globex.base+"/users/x/main-key"); return err },
		"WebFinger":      func() error { _, err := n.c.WebFinger(ctx, "x@"+globex.host); return err },
		"Resolve":        func() error { _, err := n.c.Resolve(ctx, "@x@"+globex.host); return err },
		"self link":      func() error { _, err := n.c.WebFinger(ctx, "spy@"+m.host); return err },
		"Resolve via":    func() error { _, err := n.c.Resolve(ctx, "spy@"+m.host); return err },
		"upper-case URL": func() error { _, err := n.c.Get(ctx, "http://GLOBEX.test:1/users/x"); return err },
	}
	for name, call := range calls {
		err := call()
		wantErr(t, err, fetch.ErrNotAllowed)
		var na *fetch.NotAllowedError
		if !errors.As(err, &na) || na.Host != denied {
			t.Errorf("%s: %v", name, err)
		}
		if !strings.Contains(err.Error(), "globex.test is not a partner of this node") {
			t.Errorf("%s: message %q", name, err)
		}
	}
	if globex.requests() != 0 {
		t.Errorf("globex was contacted %d times", globex.requests())
	}
	// A group vouching for one of its members lets that host's actor be read, and nothing
	// opens for any other host.
	globex.doc("/users/alice", globex.mastodonAlice())
	if _, err := n.c.Actor(fetch.Vouched(ctx, "mastodon.test"), globex.base+"/users/alice"); !errors.Is(err, fetch.ErrNotAllowed) {
		t.Errorf("vouching for another host opened %s: %v", denied, err)
	}
	if globex.requests() != 0 {
		t.Errorf("globex was contacted %d times", globex.requests())
	}
	if _, err := n.c.Actor(fetch.Vouched(ctx, denied), globex.base+"/users/alice"); err != nil {
		t.Errorf("a vouched host was refused: %v", err)
	}
}

func TestBadURLs(t *testing.T) {
	n := newNode(t)
	for _, u := range []string{"ftp://mastodon.test/users/a", "/users/a", "http://user:pw@mastodon.test/users/a", "http:///nohost", "%zz"} {
		_, err := n.c.Get(context.Background(), u)
		wantErr(t, err, fetch.ErrBadURL)
	}
}
