package fedtest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/atrium-social/atrium/federation/signature"
	"github.com/atrium-social/atrium/internal/testutil/nodetest"
)

// signedPost sends body to acme's shared inbox, signed as globex's person with key id keyOf.
func signedPost(t *testing.T, to, from *nodetest.Node, userID, keyID string, body []byte, edit func(*http.Request)) int {
	t.Helper()
	pair, err := from.Keys.For(context.Background(), userID)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", to.HTTP.URL+"/inbox", bytes.NewReader(body))
	req.Host = to.Host()
	req.Header.Set("Content-Type", "application/activity+json")
	if err := signature.Sign(req, body, pair.Private, keyID, time.Now()); err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(req)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func storedActivities(t *testing.T, n *nodetest.Node) int {
	t.Helper()
	c, err := n.DB.NewSelect().Table("inbox_activities").Count(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return int(c)
}

func TestInboxRefusesBadInput(t *testing.T) {
	acme, globex := pair(t)
	acme.NewUser(t, "alice")
	bob := globex.NewUser(t, "bob")
	carol := globex.NewUser(t, "carol")
	gbase := globex.URL(t.Context())
	bobURI, carolURI := gbase+"/users/bob", gbase+"/users/carol"
	follow := func(id, actor string) []byte {
		return []byte(fmt.Sprintf(`{"@context":"https://www.w3.org/ns/activitystreams","id":%q,"type":"Follow","actor":%q,"object":%q}`,
			id, actor, acme.URL(t.Context())+"/users/alice"))
	}
	good := follow(bobURI+"#follows/1", bobURI)
	cases := []struct {
		name   string
		status int
		body   []byte
		edit   func(*http.Request)
		keyID  string
	}{
		{"unsigned", 401, good, func(r *http.Request) { r.Header.Del("Signature") }, ""},
		{"body changed after signing", 401, good, func(r *http.Request) {
			b := bytes.Replace(good, []byte("follows/1"), []byte("follows/2"), 1)
			r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(b)), int64(len(b))
		}, ""},
		{"wrong digest header", 401, good, func(r *http.Request) { r.Header.Set("Digest", "SHA-256=AAAA") }, ""},
		{"stale date", 401, good, func(r *http.Request) {
			pair, _ := globex.Keys.For(context.Background(), bob.User.ID)
			_ = signature.Sign(r, good, pair.Private, bobURI+"#main-key", time.Now().Add(-3*time.Hour))
		}, ""},
		{"key of another actor", 401, follow(carolURI+"#follows/1", carolURI), nil, ""},
		{"activity id on another host", 401, follow("http://evil.test/follows/1", bobURI), nil, ""},
		{"wrong content type", 415, good, func(r *http.Request) { r.Header.Set("Content-Type", "text/plain") }, ""},
		{"compressed", 415, good, func(r *http.Request) { r.Header.Set("Content-Encoding", "gzip") }, ""},
		{"over 1 MiB", 413, append(append([]byte(`{"id":"`+bobURI+`#big","type":"Note","content":"`), bytes.Repeat([]byte("a"), 1<<20)...), `"}`...), nil, ""},
		{"not an activity", 400, []byte(`[1,2,3]`), nil, ""},
	}
	for _, c := range cases {
		before := storedActivities(t, acme)
		key := c.keyID
		if key == "" {
			key = bobURI + "#main-key"
		}
		if got := signedPost(t, acme, globex, bob.User.ID, key, c.body, c.edit); got != c.status {
			t.Errorf("%s: status %d, want %d", c.name, got, c.status)
		}
		if after := storedActivities(t, acme); after != before {
			t.Errorf("%s: stored %d activities", c.name, after-before)
		}
	}
	_ = carol

	// A good activity is accepted, and its redelivery is accepted and stored once.
	for i := 0; i < 2; i++ {
		if got := signedPost(t, acme, globex, bob.User.ID, bobURI+"#main-key", good, nil); got != http.StatusAccepted {
			t.Fatalf("delivery %d: status %d", i, got)
		}
	}
	if n := storedActivities(t, acme); n != 1 {
		t.Fatalf("stored %d activities, want 1", n)
	}
	// Something we do not support is accepted (never a 5xx) and recorded as ignored.
	listen := []byte(fmt.Sprintf(`{"@context":"https://www.w3.org/ns/activitystreams","id":%q,"type":"Listen","actor":%q,"object":"https://music.test/x"}`,
		bobURI+"#listen/1", bobURI))
	if got := signedPost(t, acme, globex, bob.User.ID, bobURI+"#main-key", listen, nil); got != http.StatusAccepted {
		t.Fatalf("unsupported type: status %d", got)
	}
	nodetest.Settle(t, acme, globex)
	var outcome string
	if err := acme.DB.NewSelect().Table("inbox_activities").Column("outcome").Where("kind = 'Listen'").Scan(t.Context(), &outcome); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(outcome, "ignored") {
		t.Fatalf("Listen outcome %q", outcome)
	}
}

func TestAllowlistRefusesNonPartnersBothWays(t *testing.T) {
	acme, globex := pair(t)
	initech := nodetest.Start(t, nodetest.Options{Setup: true, Host: "initech.test", OrgName: "Initech", Manual: true})
	alice := acme.NewUser(t, "alice")
	bill := initech.NewUser(t, "bill")
	_ = globex

	// Outbound: alice cannot even look bill up; the answer says why.
	var e map[string]any
	resp := alice.Call("GET", "/api/v2/search?resolve=true&type=accounts&q=@bill@"+initech.Host(), nil, &e)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(fmt.Sprint(e["error"]), "not a partner") {
		t.Fatalf("resolving a non-partner: %d %v", resp.StatusCode, e)
	}
	// Inbound: initech's signed Follow is refused with 403 and nothing is stored.
	ibase := initech.URL(t.Context())
	body := []byte(fmt.Sprintf(`{"@context":"https://www.w3.org/ns/activitystreams","id":%q,"type":"Follow","actor":%q,"object":%q}`,
		ibase+"/users/bill#follows/1", ibase+"/users/bill", acme.URL(t.Context())+"/users/alice"))
	if got := signedPost(t, acme, initech, bill.User.ID, ibase+"/users/bill#main-key", body, nil); got != http.StatusForbidden {
		t.Fatalf("non-partner delivery: status %d, want 403", got)
	}
	if n := storedActivities(t, acme); n != 0 {
		t.Fatalf("stored %d activities from a non-partner", n)
	}
	// Initech has no allowlist entry for acme either: bill cannot resolve alice.
	resp = bill.Call("GET", "/api/v2/search?resolve=true&type=accounts&q=@alice@"+acme.Host(), nil, nil)
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("initech resolving acme: %d", resp.StatusCode)
	}
}

// TestForgedAnnounceContentIsNotTrusted: an Announce whose embedded object claims content for
// a post is never taken at its word; the post is what its origin says, and an object on a
// host that is not a partner is not fetched.
func TestForgedAnnounceContentIsNotTrusted(t *testing.T) {
	acme, globex := pair(t)
	alice := acme.NewUser(t, "alice")
	bob := globex.NewUser(t, "bob")
	befriend(t, []*nodetest.Node{acme, globex}, alice, "@bob@"+globex.Host())
	real := post(t, alice, map[string]any{"status": "The real announcement", "visibility": "public"})
	bobURI := globex.URL(t.Context()) + "/users/bob"
	announce := func(id, objectID string) []byte {
		return []byte(fmt.Sprintf(`{"@context":"https://www.w3.org/ns/activitystreams","id":%q,"type":"Announce","actor":%q,
			"to":["https://www.w3.org/ns/activitystreams#Public"],
			"object":{"id":%q,"type":"Note","attributedTo":%q,"content":"FORGED","to":["https://www.w3.org/ns/activitystreams#Public"]}}`,
			id, bobURI, objectID, bobURI))
	}
	for i, obj := range []string{real.URI, "http://evil.test/notes/1"} {
		body := announce(fmt.Sprintf("%s#announces/%d", bobURI, i), obj)
		if got := signedPost(t, acme, globex, bob.User.ID, bobURI+"#main-key", body, nil); got != http.StatusAccepted {
			t.Fatalf("announce %d: status %d", i, got)
		}
	}
	nodetest.Settle(t, acme, globex)
	var forged int
	if err := acme.DB.NewSelect().Table("posts").ColumnExpr("COUNT(*)").Where("content_html LIKE '%FORGED%'").Scan(t.Context(), &forged); err != nil {
		t.Fatal(err)
	}
	if forged != 0 {
		t.Fatalf("%d posts hold the forged content", forged)
	}
	var st status
	alice.Call("GET", "/api/v1/statuses/"+real.ID, nil, &st)
	if !strings.Contains(st.Content, "The real announcement") || st.Reblogs != 1 {
		t.Fatalf("alice's post after the announces: %q, %d shares (want its own text, shared once)", st.Content, st.Reblogs)
	}
}
