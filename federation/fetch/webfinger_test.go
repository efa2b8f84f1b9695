package fetch_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/atrium-social/atrium/federation/activity"
	"github.com/atrium-social/atrium/federation/fetch"
)

func TestWebFinger(t *testing.T) {
	n := newNode(t)
	ctx := context.Background()
	m := newPeer(t, n, "mastodon.test")
	alice := m.base + "/users/alice"
	m.finger("alice@"+m.host, "alice@"+m.host, alice)

	for _, acct := range []string{"alice@" + m.host, "@alice@" + m.host, "acct:alice@" + m.host, " acct:@alice@" + m.host + " ", "alice@" + "MASTODON.test:" + m.host[len("mastodon.test:"):]} {
		got, err := n.c.WebFinger(ctx, acct)
		if err != nil || got != alice {
			t.Errorf("%q: %q, %v", acct, got, err)
		}
	}
	for _, acct := range []string{"alice", "@" + m.host, "alice@", "a@b@" + m.host, "al ice@" + m.host, "alice@mastodon.test/x", "alice@bad_host.test", "alice@host:port"} {
		_, err := n.c.WebFinger(ctx, acct)
		wantErr(t, err, fetch.ErrBadURL)
	}
	_, err := n.c.WebFinger(ctx, "nobody@"+m.host)
	wantErr(t, err, fetch.ErrNotFound)

	// The AS2 profile of ld+json counts as an ActivityPub link; other self links do not.
	m.mu.Lock()
	m.fingers["acct:ld@"+m.host] = `{"subject":"acct:ld@` + m.host + `","links":[` +
		`{"rel":"self","type":"text/html","href":"` + m.base + `/@ld"},` +
		`{"rel":"self","type":"application/ld+json; profile=\"https://www.w3.org/ns/activitystreams\"","href":"` + m.base + `/users/ld"}]}`
	m.fingers["acct:html@"+m.host] = `{"subject":"acct:html@` + m.host + `","links":[{"rel":"self","type":"text/html","href":"` + m.base + `/@html"}]}`
	m.fingers["acct:js@"+m.host] = `{"subject":"acct:js@` + m.host + `","links":[{"rel":"self","type":"application/activity+json","href":"javascript:alert(1)"}]}`
	m.mu.Unlock()
	if got, err := n.c.WebFinger(ctx, "ld@"+m.host); err != nil || got != m.base+"/users/ld" {
		t.Errorf("ld+json link: %q, %v", got, err)
	}
	_, err = n.c.WebFinger(ctx, "html@"+m.host)
	wantErr(t, err, fetch.ErrBadDocument)
	_, err = n.c.WebFinger(ctx, "js@"+m.host)
	wantErr(t, err, fetch.ErrBadDocument)
}

func TestResolve(t *testing.T) {
	n := newNode(t)
	ctx := context.Background()
	m := newPeer(t, n, "mastodon.test")
	g := newPeer(t, n, "gts.test")
	m.doc("/users/alice", m.mastodonAlice())
	alice := m.base + "/users/alice"

	t.Run("same host needs one lookup", func(t *testing.T) {
		m.finger("alice@"+m.host, "alice@"+m.host, alice)
		before := m.hitsOf("/.well-known/webfinger")
		a, err := n.c.Resolve(ctx, "@alice@"+m.host)
		if err != nil {
			t.Fatal(err)
		}
		if a.ID != alice || a.PreferredUsername != "alice" {
			t.Errorf("actor %+v", a)
		}
		if got := m.hitsOf("/.well-known/webfinger") - before; got != 1 {
			t.Errorf("%d WebFinger requests", got)
		}
	})

	t.Run("one hop to the canonical domain", func(t *testing.T) {
		// Handles are alice@example.test; the actor lives on mastodon.test (Mastodon's
		// LOCAL_DOMAIN/WEB_DOMAIN split). alice@mastodon.test answers with the canonical
		// subject, which was already looked up and points to the same actor.
		ex := newPeer(t, n, "example.test")
		ex.finger("alice@"+ex.host, "alice@"+ex.host, alice)
		m.finger("alice@"+m.host, "alice@"+ex.host, alice)
		a, err := n.c.Resolve(ctx, "alice@"+ex.host)
		if err != nil {
			t.Fatal(err)
		}
		if a.ID != alice || ex.hitsOf("/.well-known/webfinger") != 1 {
			t.Errorf("actor %s, %d lookups at the canonical domain", a.ID, ex.hitsOf("/.well-known/webfinger"))
		}
	})

	t.Run("canonical domain points elsewhere", func(t *testing.T) {
		ex := newPeer(t, n, "example.test")
		m.finger("alice@"+m.host, "alice@"+ex.host, alice)
		ex.finger("alice@"+ex.host, "alice@"+ex.host, m.base+"/users/someone-else")
		_, err := n.c.Resolve(ctx, "alice@"+m.host)
		wantErr(t, err, fetch.ErrOrigin)
	})

	t.Run("chained canonical domains", func(t *testing.T) {
		ex := newPeer(t, n, "example.test")
		m.finger("alice@"+m.host, "alice@"+ex.host, alice)
		ex.finger("alice@"+ex.host, "alice@elsewhere.test", alice)
		_, err := n.c.Resolve(ctx, "alice@"+m.host)
		wantErr(t, err, fetch.ErrOrigin)
	})

	t.Run("actor claims a handle that is not its own", func(t *testing.T) {
		// carol@gts.test leads to an actor calling itself bob, but bob@gts.test is someone
		// else: refused, or carol could pass for bob.
		bob := g.gtsBob()
		g.doc("/users/bob", bob)
		g.doc("/users/carol", edit(t, bob, func(d map[string]any) {
			d["id"] = g.base + "/users/carol"
			d["publicKey"].(map[string]any)["id"] = g.base + "/users/carol/main-key"
			d["publicKey"].(map[string]any)["owner"] = g.base + "/users/carol"
		}))
		g.finger("carol@"+g.host, "carol@"+g.host, g.base+"/users/carol")
		g.finger("bob@"+g.host, "bob@"+g.host, g.base+"/users/bob")
		_, err := n.c.Resolve(ctx, "carol@"+g.host)
		wantErr(t, err, fetch.ErrOrigin)
		// bob himself resolves.
		if a, err := n.c.Resolve(ctx, "bob@"+g.host); err != nil || a.ID != g.base+"/users/bob" {
			t.Errorf("bob: %v", err)
		}
	})

	t.Run("another server's webfinger is only a pointer", func(t *testing.T) {
		// gts.test says mallory@gts.test is mastodon.test's alice. The actor returned is
		// alice, vouched for by mastodon.test: the typed handle does not become hers.
		m.finger("alice@"+m.host, "alice@"+m.host, alice)
		g.finger("mallory@"+g.host, "mallory@"+g.host, alice)
		a, err := n.c.Resolve(ctx, "mallory@"+g.host)
		if err != nil || a.ID != alice || a.PreferredUsername != "alice" {
			t.Errorf("%+v, %v", a, err)
		}
	})
}

// Concurrent Actor and Key lookups of one actor cost the peer one request, and a caller that
// gives up does not fail the others.
func TestSingleFlight(t *testing.T) {
	n := newNode(t)
	m := newPeer(t, n, "mastodon.test")
	body := m.mastodonAlice()
	release := make(chan struct{})
	m.handle("/users/alice", func(w http.ResponseWriter, _ *http.Request) {
		<-release
		w.Header().Set("Content-Type", "application/activity+json")
		_, _ = w.Write([]byte(body))
	})
	url := m.base + "/users/alice"

	const callers = 20
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			if i%2 == 0 {
				var a *activity.Actor
				if a, err = n.c.Actor(context.Background(), url); err == nil && a.ID != url {
					err = errors.New("wrong actor " + a.ID)
				}
			} else {
				_, err = n.c.Key(context.Background(), url+"#main-key")
			}
			errs <- err
		}()
	}
	impatient, cancel := context.WithCancel(context.Background())
	gaveUp := make(chan error, 1)
	go func() { _, err := n.c.Actor(impatient, url); gaveUp <- err }()

	deadline := time.Now().Add(10 * time.Second)
	for n.c.Waiters(url) < callers+1 {
		if time.Now().After(deadline) {
			t.Fatalf("only %d callers joined the fetch", n.c.Waiters(url))
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-gaveUp; !errors.Is(err, context.Canceled) {
		t.Errorf("impatient caller: %v", err)
	}
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if hits := m.hitsOf("/users/alice"); hits != 1 {
		t.Errorf("%d requests for %d callers", hits, callers)
	}
	// The flight is over: the next lookup fetches again (no caching here).
	if _, err := n.c.Actor(context.Background(), url); err != nil || m.hitsOf("/users/alice") != 2 {
		t.Errorf("after the flight: %v, %d requests", err, m.hitsOf("/users/alice"))
	}
}
