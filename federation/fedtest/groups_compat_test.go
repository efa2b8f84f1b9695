package fedtest

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/atrium-social/atrium/internal/groups"
	"github.com/atrium-social/atrium/internal/orgs"
	"github.com/atrium-social/atrium/internal/posts"
	"github.com/atrium-social/atrium/internal/testutil/nodetest"
)

// TestMastodonFollowsOpenGroup is issue 6 point 5: a Mastodon user follows an open group on
// an Atrium node and sees its posts (the group's followers-only copy, since Mastodon ignores
// Announce{Create}), and answers by replying, which comes back into the group, reaches the
// group's Atrium member nodes and is never sent to them as a copy.
func TestMastodonFollowsOpenGroup(t *testing.T) {
	ctx := context.Background()
	acme, globex := pair(t)
	masto := startFakePeer(t, acme, flavorMastodon)
	// globex shows the Mastodon author of the reply, so it may fetch from mastodon.test.
	if _, err := globex.Partners.Add(ctx, orgs.CLIActor(), masto.name, ""); err != nil {
		t.Fatal(err)
	}
	alice := acme.NewUser(t, "alice").User
	bob := globex.NewUser(t, "bob").User
	g, err := acme.Groups.Create(ctx, alice, groups.NewGroup{DisplayName: "Design guild", Visibility: groups.Open})
	if err != nil {
		t.Fatal(err)
	}
	mirror, err := globex.GroupFed.Resolve(ctx, g.Handle+"@"+acme.Host())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := globex.Groups.Join(ctx, bob, mirror.ID, ""); err != nil {
		t.Fatal(err)
	}

	// The group actor names its moderators (FEP-1b12), which Mastodon shows.
	resp, body := acme.Client(t).Get("/groups/"+g.Handle, "Accept", "application/activity+json")
	var actor map[string]any
	if resp.StatusCode != 200 || json.Unmarshal([]byte(body), &actor) != nil {
		t.Fatalf("group actor: %d %s", resp.StatusCode, body)
	}
	if mods, _ := actor["attributedTo"].([]any); !slices.Contains(mods, any(acme.URL(ctx)+"/users/alice")) {
		t.Errorf("attributedTo = %v, want the admin alice", actor["attributedTo"])
	}

	// Mastodon's alice follows the group, as Mastodon does for a Group account.
	follow := `{"@context":"https://www.w3.org/ns/activitystreams","id":"` + masto.actorID + `#follows/1","type":"Follow",` +
		`"actor":"` + masto.actorID + `","object":"` + g.URI + `"}`
	masto.deliver(g.URI, follow)
	nodetest.Settle(t, acme, globex)
	if acc := masto.one("Accept"); str(acc.Doc["actor"]) != g.URI {
		t.Fatalf("the Accept is not the group's: %v", acc.Doc)
	}

	// A member posts: globex (Atrium) gets the Announce, Mastodon the group's own copy.
	p, err := acme.Posts.Create(ctx, alice, posts.NewPost{Text: "Critique on Friday", GroupID: g.ID})
	if err != nil {
		t.Fatal(err)
	}
	nodetest.Settle(t, acme, globex)
	if len(masto.received("Announce")) != 0 {
		t.Error("Mastodon was sent an Announce it ignores")
	}
	create := masto.one("Create")
	note := obj(create.Doc["object"])
	relay := str(note["id"])
	switch {
	case str(create.Doc["actor"]) != g.URI || str(note["attributedTo"]) != g.URI:
		t.Errorf("the copy is not the group's: actor %v, attributedTo %v", create.Doc["actor"], note["attributedTo"])
	case !slices.Equal(toStrings(note["to"]), []string{g.URI + "/followers"}) || len(toStrings(note["cc"])) != 0:
		t.Errorf("the copy is addressed to %v / %v, want the group's followers only", note["to"], note["cc"])
	case !strings.Contains(str(note["content"]), "Critique on Friday") || !strings.Contains(str(note["content"]), "alice"):
		t.Errorf("the copy lacks the post or its author: %s", note["content"])
	case !strings.HasPrefix(relay, g.URI+"/relay/"):
		t.Errorf("copy id %s", relay)
	}
	if tags, _ := note["tag"].([]any); !slices.ContainsFunc(tags, func(v any) bool {
		return str(obj(v)["type"]) == "Mention" && str(obj(v)["href"]) == g.URI
	}) {
		t.Errorf("the copy does not mention the group, so replies would not come back: %v", note["tag"])
	}
	checkOurActivity(t, create, g.URI)
	if _, err := globex.Posts.ByURI(ctx, p.URI); err != nil {
		t.Fatalf("the Atrium member node did not get the post: %v", err)
	}
	if n, _ := globex.DB.NewSelect().Table("inbox_activities").Where("activity_uri LIKE ?", g.URI+"/relay/%").Count(ctx); n != 0 {
		t.Errorf("globex, an Atrium node, was sent the copy for Mastodon %d times", n)
	}

	// Mastodon's alice answers the copy, followers-only, mentioning the group.
	reply := masto.actorID + "/statuses/200"
	answer := `{"@context":"https://www.w3.org/ns/activitystreams","id":"` + reply + `/activity","type":"Create","actor":"` + masto.actorID + `",` +
		`"to":["` + masto.actorID + `/followers"],"cc":["` + g.URI + `"],"object":{"id":"` + reply + `","type":"Note",` +
		`"attributedTo":"` + masto.actorID + `","inReplyTo":"` + relay + `","content":"<p>Count me in</p>",` +
		`"published":"2026-11-24T10:00:00Z","to":["` + masto.actorID + `/followers"],"cc":["` + g.URI + `"],` +
		`"tag":[{"type":"Mention","href":"` + g.URI + `","name":"@` + g.Handle + `@` + acme.Host() + `"}]}}`
	masto.deliver(g.URI, answer)
	nodetest.Settle(t, acme, globex)
	stored, err := acme.Posts.ByURI(ctx, reply)
	if err != nil {
		t.Fatalf("the reply did not come back into the group: %v", err)
	}
	if stored.GroupID == nil || *stored.GroupID != g.ID || stored.InReplyToID == nil || *stored.InReplyToID != p.ID {
		t.Errorf("the reply is stored as group %v, answering %v; want %s, %s", stored.GroupID, stored.InReplyToID, g.ID, p.ID)
	}
	if _, err := globex.Posts.ByURI(ctx, reply); err != nil {
		t.Errorf("the reply did not reach the Atrium member node: %v", err)
	}
	// A stranger on Mastodon (not following) cannot post into the group by mentioning it.
	if n := len(masto.received("Create")); n != 2 {
		t.Errorf("Mastodon got %d copies, want 2 (the post and the reply)", n)
	}
}

func toStrings(v any) []string {
	var out []string
	switch x := v.(type) {
	case string:
		out = append(out, x)
	case []any:
		for _, e := range x {
			out = append(out, str(e))
		}
	}
	return out
}
