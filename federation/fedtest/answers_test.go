package fedtest

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/atrium-social/atrium/internal/testutil/nodetest"
)

// TestRejectBlockAndFlag covers the activities Atrium people do not send yet but partners
// (GoToSocial's locked accounts, Mastodon's blocks and reports) do.
func TestRejectBlockAndFlag(t *testing.T) {
	acme, globex := pair(t)
	alice := acme.NewUser(t, "alice")
	bob := globex.NewUser(t, "bob")
	gbase := globex.URL(t.Context())
	bobURI, aliceURI := gbase+"/users/bob", acme.URL(t.Context())+"/users/alice"
	send := func(body string) {
		t.Helper()
		if got := signedPost(t, acme, globex, bob.User.ID, bobURI+"#main-key", []byte(body), nil); got != http.StatusAccepted {
			t.Fatalf("status %d for %s", got, body)
		}
	}

	// Reject: alice asked to follow bob; globex refuses before it ever accepts.
	remoteBob := resolve(t, alice, "@bob@"+globex.Host())
	alice.Call("POST", "/api/v1/accounts/"+remoteBob.ID+"/follow", nil, nil)
	f, err := acme.Follows.Federation(t.Context(), alice.User.ID, remoteBob.ID)
	if err != nil {
		t.Fatal(err)
	}
	send(fmt.Sprintf(`{"@context":"https://www.w3.org/ns/activitystreams","id":%q,"type":"Reject","actor":%q,
		"object":{"id":%q,"type":"Follow","actor":%q,"object":%q}}`, bobURI+"#rejects/1", bobURI, f.ActivityURI, aliceURI, bobURI))
	nodetest.Settle(t, acme) // only acme: globex never gets to accept
	var rels []map[string]any
	alice.Call("GET", "/api/v1/accounts/relationships?id[]="+remoteBob.ID, nil, &rels)
	if rels[0]["requested"] != false || rels[0]["following"] != false {
		t.Fatalf("after Reject: %v", rels[0])
	}

	// Block: bob and alice follow each other; bob blocks alice and both follows end here.
	nodetest.Settle(t, acme, globex) // globex now processes the (withdrawn) Follow: it accepts, acme ignores
	befriend(t, []*nodetest.Node{acme, globex}, alice, "@bob@"+globex.Host())
	befriend(t, []*nodetest.Node{acme, globex}, bob, "@alice@"+acme.Host())
	if followers, following, _ := acme.Follows.Counts(t.Context(), alice.User.ID); followers != 1 || following != 1 {
		t.Fatalf("before the block alice has %d followers and follows %d", followers, following)
	}
	send(fmt.Sprintf(`{"@context":"https://www.w3.org/ns/activitystreams","id":%q,"type":"Block","actor":%q,"object":%q}`,
		bobURI+"#blocks/1", bobURI, aliceURI))
	nodetest.Settle(t, acme)
	if followers, following, _ := acme.Follows.Counts(t.Context(), alice.User.ID); followers != 0 || following != 0 {
		t.Fatalf("after the block alice has %d followers and follows %d", followers, following)
	}

	// Flag: a report is accepted and recorded, never applied to anyone.
	send(fmt.Sprintf(`{"@context":"https://www.w3.org/ns/activitystreams","id":%q,"type":"Flag","actor":%q,"object":[%q],"content":"spam"}`,
		bobURI+"#flags/1", bobURI, aliceURI))
	nodetest.Settle(t, acme)
	var outcome string
	if err := acme.DB.NewSelect().Table("inbox_activities").Column("outcome").Where("kind = 'Flag'").Scan(t.Context(), &outcome); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(outcome, "reports are logged") {
		t.Fatalf("Flag outcome %q", outcome)
	}
}
