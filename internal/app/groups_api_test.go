package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	_ "image/png" // a cover with transparency is a PNG, which fetchImage decodes
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/atrium-social/atrium/internal/orgs"
	"github.com/atrium-social/atrium/internal/testutil/nodetest"
	"github.com/atrium-social/atrium/internal/testutil/pgtest"
)

// groupFields are the keys of the group entity, with their JSON types.
var groupFields = map[string]string{"id": "string", "handle": "string", "acct": "string", "display_name": "string",
	"note": "string", "note_text": "string", "visibility": "string", "posting": "string", "locked": "bool", "url": "string",
	"uri": "string", "avatar": "string", "avatar_static": "string", "header": "string", "header_static": "string", "cover": "null",
	"members_count": "number", "created_at": "string", "domain": "string", "membership": "object|null"}

func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case bool:
		return "bool"
	case float64:
		return "number"
	case map[string]any:
		return "object"
	case []any:
		return "array"
	}
	return "?"
}

func checkGroupShape(t *testing.T, g map[string]any) {
	t.Helper()
	for k, want := range groupFields {
		v, ok := g[k]
		if !ok {
			t.Errorf("group lacks %q: %v", k, g)
			continue
		}
		if got := jsonType(v); !strings.Contains("|"+want+"|", "|"+got+"|") {
			t.Errorf("group %q is %s (%v), want %s", k, got, v, want)
		}
	}
	if m, ok := g["membership"].(map[string]any); ok {
		for _, k := range []string{"state", "role", "notify"} {
			if _, ok := m[k]; !ok {
				t.Errorf("membership lacks %q: %v", k, m)
			}
		}
	}
}

// eachEngine runs body on a fresh node on SQLite and, when installed, PostgreSQL.
func eachEngine(t *testing.T, body func(t *testing.T, n *nodetest.Node)) {
	eachEngineWith(t, nodetest.Options{Setup: true}, body)
}

// eachEngineWith is eachEngine with the node's options (o.DB is set per engine).
func eachEngineWith(t *testing.T, o nodetest.Options, body func(t *testing.T, n *nodetest.Node)) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			o := o
			if engine == "postgres" {
				o.DB = pgtest.DSN(t)
			}
			body(t, nodetest.Start(t, o))
		})
	}
}

type caller struct {
	t *testing.T
}

// expect checks a response's status; for errors, that the body is {"error": "..."}.
func (c caller) expect(resp *http.Response, code int, body map[string]any, what string) {
	c.t.Helper()
	if resp.StatusCode != code {
		c.t.Fatalf("%s: status %d, want %d (%v)", what, resp.StatusCode, code, body)
	}
	if code >= 400 && body != nil {
		if s, ok := body["error"].(string); !ok || s == "" {
			c.t.Fatalf("%s: error body %v", what, body)
		}
	}
}

func idsOf(list []map[string]any) []string {
	out := make([]string, len(list))
	for i, m := range list {
		out[i], _ = m["id"].(string)
	}
	return out
}

func TestGroupsAPI(t *testing.T) {
	eachEngine(t, func(t *testing.T, n *nodetest.Node) {
		c := caller{t}
		alice, bob, carol, dave := n.NewUser(t, "alice"), n.NewUser(t, "bob"), n.NewUser(t, "carol"), n.NewUser(t, "dave")
		var e map[string]any

		// Create: one group of each kind; the creator is its admin.
		var open, closed, secret map[string]any
		c.expect(alice.Call("POST", "/api/v1/groups", map[string]any{"display_name": "Design Team", "note": "Pixels\n\nand type"}, &open), 200, nil, "create open")
		checkGroupShape(t, open)
		if open["handle"] != "design_team" || open["acct"] != "design_team" || open["visibility"] != "open" || open["posting"] != "members" ||
			open["locked"] != false || open["members_count"] != 1.0 || open["note"] != "<p>Pixels</p><p>and type</p>" || open["note_text"] != "Pixels\n\nand type" {
			t.Errorf("open group %v", open)
		}
		if m := open["membership"].(map[string]any); m["state"] != "member" || m["role"] != "admin" || m["notify"] != false {
			t.Errorf("creator's membership %v", m)
		}
		c.expect(alice.Call("POST", "/api/v1/groups", map[string]any{"display_name": "Leadership", "visibility": "closed", "posting": "admins"}, &closed), 200, nil, "create closed")
		c.expect(alice.Call("POST", "/api/v1/groups", map[string]any{"display_name": "Mergers", "visibility": "secret"}, &secret), 200, nil, "create secret")
		if closed["locked"] != true || closed["posting"] != "admins" || secret["locked"] != true || !strings.HasPrefix(secret["handle"].(string), "mergers_") {
			t.Errorf("closed %v secret %v", closed, secret)
		}
		openID, closedID, secretID := open["id"].(string), closed["id"].(string), secret["id"].(string)
		c.expect(alice.Call("POST", "/api/v1/groups", map[string]any{"display_name": "X", "visibility": "sideways"}, &e), 422, e, "bad visibility")
		c.expect(alice.Call("POST", "/api/v1/groups", map[string]any{"display_name": "  "}, &e), 422, e, "no name")
		c.expect(alice.Call("POST", "/api/v1/groups", map[string]any{"display_name": "X", "posting": "everyone"}, &e), 422, e, "bad posting")
		readOnly := n.APIFor(t, alice.User)
		readOnly.Token = token(t, n, "alice", "read")
		c.expect(readOnly.Call("POST", "/api/v1/groups", map[string]any{"display_name": "Scoped"}, &e), 403, e, "read-only token creates")
		c.expect(readOnly.Call("GET", "/api/v1/groups/"+openID, nil, &e), 200, nil, "read-only token reads")

		// Lists: the viewer's groups, the directory, search by name.
		var list []map[string]any
		c.expect(alice.Call("GET", "/api/v1/groups", nil, &list), 200, nil, "alice's groups")
		if len(list) != 3 {
			t.Errorf("alice has %d groups, want 3", len(list))
		}
		c.expect(bob.Call("GET", "/api/v1/groups", nil, &list), 200, nil, "bob's groups")
		if len(list) != 0 {
			t.Errorf("bob has %d groups, want 0", len(list))
		}
		c.expect(bob.Call("GET", "/api/v1/groups?filter=directory", nil, &list), 200, nil, "directory")
		if got := strings.Join(idsOf(list), ","); got != openID+","+closedID {
			t.Errorf("bob's directory %v, want the open and the closed group", list)
		}
		for _, g := range list {
			checkGroupShape(t, g)
			if g["membership"] != nil {
				t.Errorf("bob has a membership in %v", g)
			}
		}
		c.expect(bob.Call("GET", "/api/v1/groups?filter=directory&q=lead", nil, &list), 200, nil, "search")
		if len(list) != 1 || list[0]["id"] != closedID {
			t.Errorf("search for lead: %v", list)
		}
		c.expect(alice.Call("GET", "/api/v1/groups?q=merg", nil, &list), 200, nil, "search mine")
		if len(list) != 1 || list[0]["id"] != secretID {
			t.Errorf("alice's search for merg: %v", list)
		}
		c.expect(bob.Call("GET", "/api/v1/groups?filter=everything", nil, &e), 422, e, "bad filter")

		// Get and lookup.
		var g map[string]any
		c.expect(bob.Call("GET", "/api/v1/groups/"+closedID, nil, &g), 200, nil, "bob gets closed")
		if g["membership"] != nil || g["members_count"] != 1.0 {
			t.Errorf("closed group for bob %v", g)
		}
		c.expect(bob.Call("GET", "/api/v1/groups/lookup?acct=design_team", nil, &g), 200, nil, "lookup")
		if g["id"] != openID {
			t.Errorf("lookup %v", g)
		}
		host := strings.TrimPrefix(n.HTTP.URL, "http://")
		c.expect(bob.Call("GET", "/api/v1/groups/lookup?acct=@design_team@"+host, nil, &g), 200, nil, "lookup with this host")
		c.expect(bob.Call("GET", "/api/v1/groups/lookup?acct=nobody", nil, &e), 404, e, "lookup unknown")
		// A host that is not a partner is refused with the reason, before anything is fetched.
		c.expect(bob.Call("GET", "/api/v1/groups/lookup?acct=nobody@elsewhere.example&resolve=true", nil, &e), 403, e, "lookup non-partner remote")
		if !strings.Contains(fmt.Sprint(e["error"]), "not a partner") {
			t.Errorf("lookup of a non-partner host: %v", e)
		}
		c.expect(bob.Call("GET", "/api/v1/groups/lookup?acct=nobody@elsewhere.example", nil, &e), 404, e, "lookup unknown remote without resolve")
		c.expect(bob.Call("GET", "/api/v1/groups/lookup", nil, &e), 422, e, "lookup without acct")

		// Joining: open at once, closed by request, secret not at all without an invitation.
		c.expect(bob.Call("POST", "/api/v1/groups/"+openID+"/join", nil, &g), 200, nil, "bob joins open")
		if m, _ := g["membership"].(map[string]any); m["state"] != "member" || m["role"] != "member" || g["members_count"] != 2.0 {
			t.Errorf("after joining: %v", g)
		}
		c.expect(dave.Call("POST", "/api/v1/groups/"+openID+"/join", nil, &g), 200, nil, "dave joins open")
		c.expect(bob.Call("POST", "/api/v1/groups/"+closedID+"/join", nil, &g), 200, nil, "bob asks to join closed")
		if m, _ := g["membership"].(map[string]any); m["state"] != "requested" || g["members_count"] != 1.0 {
			t.Errorf("after asking: %v", g)
		}
		c.expect(bob.Call("GET", "/api/v1/groups?filter=requested", nil, &list), 200, nil, "bob's requests")
		if len(list) != 1 || list[0]["id"] != closedID {
			t.Errorf("bob's requests %v", list)
		}
		c.expect(bob.Call("POST", "/api/v1/groups/"+secretID+"/join", nil, &e), 404, e, "join secret uninvited")

		// Requests: only the group's admins and moderators see and settle them.
		var members []map[string]any
		c.expect(alice.Call("GET", "/api/v1/groups/"+closedID+"/membership_requests", nil, &members), 200, nil, "requests")
		if len(members) != 1 || members[0]["id"] != bob.User.ID || members[0]["state"] != "requested" {
			t.Fatalf("requests %v", members)
		}
		for _, k := range []string{"id", "account", "role", "state", "created_at"} {
			if _, ok := members[0][k]; !ok {
				t.Errorf("member lacks %q", k)
			}
		}
		if acc := members[0]["account"].(map[string]any); acc["username"] != "bob" {
			t.Errorf("request's account %v", acc)
		}
		c.expect(dave.Call("POST", "/api/v1/groups/"+closedID+"/membership_requests/"+bob.User.ID+"/authorize", nil, &e), 403, e, "approve without the role")
		c.expect(dave.Call("GET", "/api/v1/groups/"+closedID+"/membership_requests", nil, &e), 403, e, "requests without the role")
		c.expect(bob.Call("POST", "/api/v1/groups/"+openID+"/membership_requests/"+dave.User.ID+"/authorize", nil, &e), 403, e, "member approves")
		var m map[string]any
		c.expect(alice.Call("POST", "/api/v1/groups/"+closedID+"/membership_requests/"+bob.User.ID+"/authorize", nil, &m), 200, nil, "approve")
		if m["state"] != "member" || m["id"] != bob.User.ID {
			t.Errorf("approved %v", m)
		}
		c.expect(alice.Call("POST", "/api/v1/groups/"+closedID+"/membership_requests/"+bob.User.ID+"/authorize", nil, &e), 409, e, "approve twice")
		c.expect(dave.Call("POST", "/api/v1/groups/"+closedID+"/join", nil, &g), 200, nil, "dave asks")
		c.expect(alice.Call("POST", "/api/v1/groups/"+closedID+"/membership_requests/"+dave.User.ID+"/reject", nil, &e), 200, nil, "reject")
		c.expect(alice.Call("GET", "/api/v1/groups/"+closedID+"/membership_requests", nil, &members), 200, nil, "requests after")
		if len(members) != 0 {
			t.Errorf("requests left: %v", members)
		}

		// Invitations: unknown people are bad input; the invited see the secret group.
		c.expect(alice.Call("POST", "/api/v1/groups/"+secretID+"/invite", map[string]any{"acct": "ghost"}, &e), 422, e, "invite unknown")
		c.expect(alice.Call("POST", "/api/v1/groups/"+secretID+"/invite", map[string]any{}, &e), 422, e, "invite nobody")
		c.expect(bob.Call("POST", "/api/v1/groups/"+secretID+"/invite", map[string]any{"acct": "carol"}, &e), 404, e, "non-member invites to secret")
		c.expect(alice.Call("POST", "/api/v1/groups/"+secretID+"/invite", map[string]any{"acct": "@carol@" + host}, &m), 200, nil, "invite carol")
		if m["state"] != "invited" || m["id"] != carol.User.ID {
			t.Errorf("invitation %v", m)
		}
		c.expect(carol.Call("GET", "/api/v1/groups?pending=true", nil, &list), 200, nil, "carol's invitations")
		if len(list) != 1 || list[0]["id"] != secretID || list[0]["membership"].(map[string]any)["state"] != "invited" {
			t.Errorf("carol's invitations %v", list)
		}
		c.expect(carol.Call("GET", "/api/v1/groups/"+secretID, nil, &g), 200, nil, "invited sees the secret group")
		c.expect(carol.Call("GET", "/api/v1/timelines/group/"+secretID, nil, &e), 403, e, "invited reads the secret group")
		c.expect(carol.Call("POST", "/api/v1/groups/"+secretID+"/join", nil, &g), 200, nil, "carol accepts")
		if g["membership"].(map[string]any)["state"] != "member" {
			t.Errorf("carol's membership %v", g)
		}
		c.expect(carol.Call("POST", "/api/v1/groups/"+secretID+"/invite", map[string]any{"account_id": dave.User.ID}, &e), 403, e, "a plain member invites to secret")
		c.expect(alice.Call("POST", "/api/v1/groups/"+secretID+"/invite", map[string]any{"account_id": carol.User.ID}, &e), 409, e, "invite a member")

		// Posting in groups: members only; a secret group does not exist for others.
		var st status
		c.expect(dave.Call("POST", "/api/v1/statuses", map[string]any{"status": "let me in", "group_id": closedID}, &e), 403, e, "non-member posts to closed")
		c.expect(dave.Call("POST", "/api/v1/statuses", map[string]any{"status": "let me in", "group_id": secretID}, &e), 404, e, "non-member posts to secret")
		c.expect(bob.Call("POST", "/api/v1/statuses", map[string]any{"status": "not an admin", "group_id": closedID}, &e), 403, e, "member posts to announcement group")
		var raw map[string]any
		c.expect(bob.Call("POST", "/api/v1/statuses", map[string]any{"status": "first in design", "group_id": openID}, &raw), 200, nil, "member posts")
		grp, _ := raw["atrium"].(map[string]any)["group"].(map[string]any)
		if grp == nil || grp["id"] != openID || grp["handle"] != "design_team" || grp["display_name"] != "Design Team" || raw["visibility"] != "private" {
			t.Errorf("group status %v", raw)
		}
		var plain map[string]any
		c.expect(bob.Call("POST", "/api/v1/statuses", map[string]any{"status": "company post"}, &plain), 200, nil, "plain post")
		if v, ok := plain["atrium"].(map[string]any)["group"]; !ok || v != nil {
			t.Errorf("a company post's group is %v, want null", v)
		}
		postIDs := []string{raw["id"].(string)}
		for _, text := range []string{"second", "third", "fourth"} {
			c.expect(alice.Call("POST", "/api/v1/statuses", map[string]any{"status": text, "group_id": openID}, &st), 200, nil, "post "+text)
			postIDs = append(postIDs, st.ID)
		}
		c.expect(alice.Call("POST", "/api/v1/statuses", map[string]any{"status": "a comment", "in_reply_to_id": st.ID}, &st), 200, nil, "comment")

		// The group timeline: top-level posts, newest first, with Link pagination.
		var page []map[string]any
		resp := dave.Call("GET", "/api/v1/timelines/group/"+openID+"?limit=3", nil, &page)
		c.expect(resp, 200, nil, "timeline")
		if len(page) != 3 || page[0]["id"] != postIDs[3] || !strings.Contains(resp.Header.Get("Link"), "max_id="+postIDs[1]) ||
			!strings.Contains(resp.Header.Get("Link"), `rel="prev"`) {
			t.Fatalf("timeline page: %v, Link %q", idsOf(page), resp.Header.Get("Link"))
		}
		if page[0]["atrium"].(map[string]any)["group"].(map[string]any)["id"] != openID {
			t.Errorf("timeline status lacks its group: %v", page[0]["atrium"])
		}
		next := linkURL(t, resp, "next")
		var page2 []map[string]any
		c.expect(dave.Call("GET", next, nil, &page2), 200, nil, "timeline page 2")
		if len(page2) != 1 || page2[0]["id"] != postIDs[0] {
			t.Errorf("timeline page 2: %v", idsOf(page2))
		}
		c.expect(carol.Call("GET", "/api/v1/timelines/group/"+closedID, nil, &e), 403, e, "non-member reads closed")

		// Members, with Link pagination by account id.
		c.expect(alice.Call("GET", "/api/v1/groups/"+openID+"/members?limit=2", nil, &members), 200, nil, "members")
		resp = alice.Call("GET", "/api/v1/groups/"+openID+"/members?limit=2", nil, &members)
		if len(members) != 2 || !strings.Contains(resp.Header.Get("Link"), "max_id="+members[1]["id"].(string)) {
			t.Fatalf("members page %v Link %q", idsOf(members), resp.Header.Get("Link"))
		}
		var more []map[string]any
		c.expect(alice.Call("GET", linkURL(t, resp, "next"), nil, &more), 200, nil, "members page 2")
		all := map[string]bool{}
		for _, id := range append(idsOf(members), idsOf(more)...) {
			if all[id] {
				t.Errorf("member %s twice", id)
			}
			all[id] = true
		}
		if len(all) != 3 || !all[alice.User.ID] || !all[bob.User.ID] || !all[dave.User.ID] {
			t.Errorf("members %v", all)
		}
		c.expect(alice.Call("GET", "/api/v1/groups/"+secretID+"/members?state=invited", nil, &members), 200, nil, "invitations list")
		c.expect(carol.Call("GET", "/api/v1/groups/"+secretID+"/members?state=invited", nil, &e), 403, e, "a member lists invitations")
		c.expect(alice.Call("GET", "/api/v1/groups/"+openID+"/members?state=gone", nil, &e), 422, e, "bad state")

		// Roles and removal.
		c.expect(alice.Call("POST", "/api/v1/groups/"+openID+"/members/"+bob.User.ID+"/role", map[string]any{"role": "moderator"}, &m), 200, nil, "promote")
		if m["role"] != "moderator" {
			t.Errorf("promoted %v", m)
		}
		c.expect(alice.Call("POST", "/api/v1/groups/"+openID+"/members/"+bob.User.ID+"/role", map[string]any{"role": "owner"}, &e), 422, e, "bad role")
		c.expect(bob.Call("POST", "/api/v1/groups/"+openID+"/members/"+dave.User.ID+"/role", map[string]any{"role": "admin"}, &e), 403, e, "moderator sets roles")
		c.expect(dave.Call("DELETE", "/api/v1/groups/"+openID+"/members/"+bob.User.ID, nil, &e), 403, e, "member removes")
		c.expect(bob.Call("DELETE", "/api/v1/groups/"+openID+"/members/"+alice.User.ID, nil, &e), 403, e, "moderator removes admin")

		// Pins: moderators pin the group's own posts.
		c.expect(dave.Call("POST", "/api/v1/groups/"+openID+"/pins/"+postIDs[0], nil, &e), 403, e, "member pins")
		c.expect(bob.Call("POST", "/api/v1/groups/"+openID+"/pins/"+plain["id"].(string), nil, &e), 422, e, "pin a post from elsewhere")
		var pinned map[string]any
		c.expect(bob.Call("POST", "/api/v1/groups/"+openID+"/pins/"+postIDs[0], nil, &pinned), 200, nil, "pin")
		if pinned["id"] != postIDs[0] || pinned["pinned"] != true {
			t.Errorf("pinned %v", pinned)
		}
		c.expect(dave.Call("GET", "/api/v1/groups/"+openID+"/pins", nil, &page), 200, nil, "pins")
		if len(page) != 1 || page[0]["id"] != postIDs[0] {
			t.Errorf("pins %v", idsOf(page))
		}
		c.expect(bob.Call("DELETE", "/api/v1/groups/"+openID+"/pins/"+postIDs[0], nil, &pinned), 200, nil, "unpin")
		if pinned["pinned"] != false {
			t.Errorf("unpinned %v", pinned)
		}
		c.expect(dave.Call("GET", "/api/v1/groups/"+openID+"/pins", nil, &page), 200, nil, "pins after")
		if len(page) != 0 {
			t.Errorf("pins after unpinning %v", idsOf(page))
		}

		// Files posted in the group, searchable by name.
		var media map[string]any
		c.expect(dave.Upload("roadmap.png", testPNG(), "", &media), 200, nil, "upload")
		c.expect(dave.Call("POST", "/api/v1/statuses", map[string]any{"status": "the roadmap", "group_id": openID,
			"media_ids": []string{media["id"].(string)}}, &st), 200, nil, "post a file")
		var files []map[string]any
		c.expect(bob.Call("GET", "/api/v1/groups/"+openID+"/files?q=roadm", nil, &files), 200, nil, "files")
		if len(files) != 1 || files[0]["status_id"] != st.ID || files[0]["account_id"] != dave.User.ID || files[0]["type"] != "image" ||
			files[0]["atrium_file_name"] != "roadmap.png" || files[0]["url"] == "" {
			t.Errorf("files %v", files)
		}
		c.expect(bob.Call("GET", "/api/v1/groups/"+openID+"/files?q=budget", nil, &files), 200, nil, "files search")
		if len(files) != 0 {
			t.Errorf("files for budget %v", files)
		}
		c.expect(carol.Call("GET", "/api/v1/groups/"+closedID+"/files", nil, &e), 403, e, "non-member reads closed files")

		// Partners: the admin must confirm what a partner's administrators can read.
		if _, err := n.Partners.Add(context.Background(), orgs.CLIActor(), "partner.example", ""); err != nil {
			t.Fatal(err)
		}
		c.expect(alice.Call("POST", "/api/v1/groups/"+closedID+"/partners", map[string]any{"host": "partner.example"}, &e), 422, e, "partner unconfirmed")
		if !strings.Contains(e["error"].(string), "will be able to read") {
			t.Errorf("the warning is missing: %v", e)
		}
		c.expect(alice.Call("POST", "/api/v1/groups/"+closedID+"/partners", map[string]any{"host": "stranger.example", "confirm": true}, &e), 422, e, "not a partner of the node")
		c.expect(bob.Call("POST", "/api/v1/groups/"+closedID+"/partners", map[string]any{"host": "partner.example", "confirm": true}, &e), 403, e, "member adds partner")
		var partner map[string]any
		c.expect(alice.Call("POST", "/api/v1/groups/"+closedID+"/partners", map[string]any{"host": "Partner.Example", "confirm": "true"}, &partner), 200, nil, "add partner")
		if partner["host"] != "partner.example" || partner["confirmed_by"] != alice.User.ID || partner["created_at"] == nil {
			t.Errorf("partner %v", partner)
		}
		var partners []map[string]any
		c.expect(bob.Call("GET", "/api/v1/groups/"+closedID+"/partners", nil, &partners), 200, nil, "partners")
		if len(partners) != 1 {
			t.Errorf("partners %v", partners)
		}
		c.expect(carol.Call("GET", "/api/v1/groups/"+closedID+"/partners", nil, &e), 403, e, "non-member lists partners")
		c.expect(alice.Call("DELETE", "/api/v1/groups/"+closedID+"/partners/partner.example", nil, &e), 200, nil, "remove partner")
		c.expect(bob.Call("GET", "/api/v1/groups/"+closedID+"/partners", nil, &partners), 200, nil, "partners after")
		if len(partners) != 0 {
			t.Errorf("partners after removal %v", partners)
		}

		// Changing a group: admins only; a group cannot become secret.
		c.expect(alice.Call("PATCH", "/api/v1/groups/"+openID, map[string]any{"display_name": "Design", "note": ""}, &g), 200, nil, "update")
		if g["display_name"] != "Design" || g["note"] != "" || g["visibility"] != "open" || g["handle"] != "design_team" {
			t.Errorf("updated %v", g)
		}
		c.expect(alice.Call("PATCH", "/api/v1/groups/"+openID, map[string]any{"visibility": "closed", "posting": "admins"}, &g), 200, nil, "close")
		if g["display_name"] != "Design" || g["locked"] != true || g["posting"] != "admins" {
			t.Errorf("closed %v", g)
		}
		c.expect(alice.Call("PATCH", "/api/v1/groups/"+openID, map[string]any{"visibility": "secret"}, &e), 422, e, "make secret")
		c.expect(bob.Call("PATCH", "/api/v1/groups/"+openID, map[string]any{"display_name": "Mine now"}, &e), 403, e, "moderator updates")
		c.expect(dave.Call("PATCH", "/api/v1/groups/"+secretID, map[string]any{"display_name": "Found it"}, &e), 404, e, "outsider updates secret")

		// Groups as Mastodon accounts.
		var acc map[string]any
		c.expect(dave.Call("GET", "/api/v1/accounts/"+closedID, nil, &acc), 200, nil, "group as account")
		if acc["group"] != true || acc["acct"] != "leadership" || acc["username"] != "leadership" || acc["locked"] != true ||
			acc["followers_count"] != 2.0 || acc["display_name"] != "Leadership" || acc["id"] != closedID {
			t.Errorf("group account %v", acc)
		}
		c.expect(dave.Call("GET", "/api/v1/accounts/"+openID, nil, &acc), 200, nil, "open group as account")
		c.expect(carol.Call("GET", "/api/v1/accounts/"+secretID, nil, &acc), 200, nil, "secret group as account for a member")
		c.expect(dave.Call("GET", "/api/v1/accounts/"+secretID, nil, &e), 404, e, "secret group as account for a non-member")
		if e["error"] != "Record not found" {
			t.Errorf("secret group account 404 body %v", e)
		}
		c.expect(dave.Call("GET", "/api/v1/accounts/"+alice.User.ID, nil, &acc), 200, nil, "person still works")
		if acc["group"] != false {
			t.Errorf("person is a group: %v", acc)
		}

		// Follow closely, leave, delete.
		c.expect(dave.Call("POST", "/api/v1/groups/"+openID+"/notify", map[string]any{"on": true}, &g), 200, nil, "notify on")
		if g["membership"].(map[string]any)["notify"] != true {
			t.Errorf("notify on: %v", g)
		}
		c.expect(dave.Call("POST", "/api/v1/groups/"+openID+"/notify", map[string]any{"on": "false"}, &g), 200, nil, "notify off")
		if g["membership"].(map[string]any)["notify"] != false {
			t.Errorf("notify off: %v", g)
		}
		c.expect(dave.Call("POST", "/api/v1/groups/"+closedID+"/notify", map[string]any{"on": true}, &e), 403, e, "notify a group one is not in")
		c.expect(dave.Call("POST", "/api/v1/groups/"+secretID+"/notify", map[string]any{"on": true}, &e), 404, e, "notify a hidden group")
		c.expect(dave.Call("POST", "/api/v1/groups/"+openID+"/notify", map[string]any{"on": "maybe"}, &e), 422, e, "notify maybe")
		c.expect(alice.Call("DELETE", "/api/v1/groups/"+openID+"/members/"+dave.User.ID, nil, &e), 200, nil, "remove dave")
		c.expect(dave.Call("GET", "/api/v1/timelines/group/"+openID, nil, &e), 403, e, "removed member reads the now closed group")
		c.expect(alice.Call("POST", "/api/v1/groups/"+openID+"/leave", nil, &e), 409, e, "last admin leaves")
		c.expect(carol.Call("POST", "/api/v1/groups/"+secretID+"/leave", nil, &g), 200, nil, "carol leaves the secret group")
		if g["id"] != secretID || g["membership"] != nil || g["members_count"] != 1.0 {
			t.Errorf("after leaving %v", g)
		}
		c.expect(carol.Call("GET", "/api/v1/groups/"+secretID, nil, &e), 404, e, "former member sees the secret group")
		c.expect(bob.Call("DELETE", "/api/v1/groups/"+closedID, nil, &e), 403, e, "member deletes")
		c.expect(alice.Call("DELETE", "/api/v1/groups/"+closedID, nil, &e), 200, nil, "delete")
		c.expect(bob.Call("GET", "/api/v1/groups/"+closedID, nil, &e), 404, e, "deleted group")
		c.expect(bob.Call("GET", "/api/v1/groups", nil, &list), 200, nil, "bob's groups after deletion")
		if len(list) != 1 || list[0]["id"] != openID {
			t.Errorf("bob's groups %v", idsOf(list))
		}
	})
}

// linkURL returns the path and query of the Link header's rel.
func linkURL(t *testing.T, resp *http.Response, rel string) string {
	t.Helper()
	for _, part := range strings.Split(resp.Header.Get("Link"), ",") {
		if strings.Contains(part, `rel="`+rel+`"`) {
			raw := strings.TrimSpace(part)
			raw = raw[strings.Index(raw, "<")+1 : strings.Index(raw, ">")]
			u, err := url.Parse(raw)
			if err != nil {
				t.Fatal(err)
			}
			return u.RequestURI()
		}
	}
	t.Fatalf("no %s link in %q", rel, resp.Header.Get("Link"))
	return ""
}

// A secret group does not exist for non-members, in every route.
func TestSecretGroupIsHiddenEverywhere(t *testing.T) {
	eachEngine(t, func(t *testing.T, n *nodetest.Node) {
		c := caller{t}
		alice, bob := n.NewUser(t, "alice"), n.NewUser(t, "bob")
		var secret, e map[string]any
		c.expect(alice.Call("POST", "/api/v1/groups", map[string]any{"display_name": "Project X", "visibility": "secret"}, &secret), 200, nil, "create")
		id, handle := secret["id"].(string), secret["handle"].(string)
		var st status
		c.expect(alice.Call("POST", "/api/v1/statuses", map[string]any{"status": "the plan", "group_id": id}, &st), 200, nil, "post")
		for _, r := range []struct{ method, path string }{
			{"GET", "/api/v1/groups/" + id},
			{"GET", "/api/v1/groups/lookup?acct=" + handle},
			{"GET", "/api/v1/groups/lookup?acct=" + handle + "&resolve=true"},
			{"GET", "/api/v1/timelines/group/" + id},
			{"GET", "/api/v1/groups/" + id + "/members"},
			{"GET", "/api/v1/groups/" + id + "/membership_requests"},
			{"GET", "/api/v1/groups/" + id + "/pins"},
			{"GET", "/api/v1/groups/" + id + "/files"},
			{"GET", "/api/v1/groups/" + id + "/partners"},
			{"GET", "/api/v1/accounts/" + id},
			{"PATCH", "/api/v1/groups/" + id},
			{"DELETE", "/api/v1/groups/" + id},
			{"POST", "/api/v1/groups/" + id + "/join"},
			{"POST", "/api/v1/groups/" + id + "/leave"},
			{"POST", "/api/v1/groups/" + id + "/invite"},
			{"POST", "/api/v1/groups/" + id + "/notify"},
			{"POST", "/api/v1/groups/" + id + "/members/" + alice.User.ID + "/role"},
			{"DELETE", "/api/v1/groups/" + id + "/members/" + alice.User.ID},
			{"POST", "/api/v1/groups/" + id + "/membership_requests/" + bob.User.ID + "/authorize"},
			{"POST", "/api/v1/groups/" + id + "/membership_requests/" + bob.User.ID + "/reject"},
			{"POST", "/api/v1/groups/" + id + "/pins/" + st.ID},
			{"DELETE", "/api/v1/groups/" + id + "/pins/" + st.ID},
			{"POST", "/api/v1/groups/" + id + "/partners"},
			{"DELETE", "/api/v1/groups/" + id + "/partners/partner.example"},
			{"GET", "/api/v1/statuses/" + st.ID},
		} {
			body := map[string]any{"acct": "alice", "role": "member", "on": true, "host": "partner.example", "confirm": true}
			if r.method == "GET" {
				body = nil
			}
			e = nil
			c.expect(bob.Call(r.method, r.path, body, &e), 404, e, r.method+" "+r.path)
		}
		var list []map[string]any
		c.expect(bob.Call("GET", "/api/v1/groups?filter=directory", nil, &list), 200, nil, "directory")
		c.expect(bob.Call("GET", "/api/v1/groups?filter=directory&q=project", nil, &list), 200, nil, "directory search")
		if len(list) != 0 {
			t.Errorf("the directory shows a secret group: %v", list)
		}
		var found map[string][]map[string]any
		c.expect(bob.Call("GET", "/api/v2/search?q=plan", nil, &found), 200, nil, "search")
		if len(found["statuses"]) != 0 {
			t.Errorf("search shows a secret group's post")
		}
		// The member sees it all.
		c.expect(alice.Call("GET", "/api/v1/groups/lookup?acct="+handle, nil, &e), 200, nil, "member looks up")
		c.expect(alice.Call("GET", "/api/v1/timelines/group/"+id, nil, &list), 200, nil, "member reads")
		if len(list) != 1 {
			t.Errorf("member's timeline %v", list)
		}
	})
}

// Group notifications: requests reach the admins and moderators, invitations the invitee,
// approvals the asker, new posts those who follow the group closely.
func TestGroupNotifications(t *testing.T) {
	eachEngine(t, func(t *testing.T, n *nodetest.Node) {
		c := caller{t}
		alice, bob, carol, dave := n.NewUser(t, "alice"), n.NewUser(t, "bob"), n.NewUser(t, "carol"), n.NewUser(t, "dave")
		var closed, g, e map[string]any
		c.expect(alice.Call("POST", "/api/v1/groups", map[string]any{"display_name": "Board", "visibility": "closed"}, &closed), 200, nil, "create")
		id := closed["id"].(string)
		c.expect(alice.Call("POST", "/api/v1/groups/"+id+"/invite", map[string]any{"acct": "carol"}, &e), 200, nil, "invite carol")
		c.expect(carol.Call("POST", "/api/v1/groups/"+id+"/join", nil, &g), 200, nil, "carol accepts")
		c.expect(alice.Call("POST", "/api/v1/groups/"+id+"/members/"+carol.User.ID+"/role", map[string]any{"role": "moderator"}, &e), 200, nil, "promote carol")

		notes := func(api *nodetest.API, kind string) []map[string]any {
			t.Helper()
			var list []map[string]any
			c.expect(api.Call("GET", "/api/v1/notifications?types[]="+kind, nil, &list), 200, nil, "notifications")
			return list
		}
		c.expect(bob.Call("POST", "/api/v1/groups/"+id+"/join", nil, &g), 200, nil, "bob asks")
		for name, api := range map[string]*nodetest.API{"alice": alice, "carol": carol} {
			list := notes(api, "group_request")
			if len(list) != 1 {
				t.Fatalf("%s has %d group_request notifications", name, len(list))
			}
			nt := list[0]
			if nt["type"] != "group_request" || nt["atrium_kind"] != "group_request" || nt["account"].(map[string]any)["id"] != bob.User.ID {
				t.Errorf("group_request %v", nt)
			}
			grp, _ := nt["group"].(map[string]any)
			if grp == nil || grp["id"] != id {
				t.Fatalf("group_request lacks its group: %v", nt)
			}
			checkGroupShape(t, grp)
		}
		if len(notes(dave, "group_request")) != 0 || len(notes(bob, "group_request")) != 0 {
			t.Error("a group_request reached someone who does not moderate the group")
		}
		c.expect(alice.Call("POST", "/api/v1/groups/"+id+"/membership_requests/"+bob.User.ID+"/authorize", nil, &e), 200, nil, "approve")
		if list := notes(bob, "group_approved"); len(list) != 1 || list[0]["account"].(map[string]any)["id"] != alice.User.ID ||
			list[0]["group"].(map[string]any)["id"] != id {
			t.Errorf("bob's approval %v", list)
		}
		if len(notes(alice, "group_request")) != 0 {
			t.Error("a settled request still asks the admin to act")
		}

		// An invitation, withdrawn: the notification goes with it.
		c.expect(alice.Call("POST", "/api/v1/groups/"+id+"/invite", map[string]any{"acct": "dave"}, &e), 200, nil, "invite dave")
		list := notes(dave, "group_invite")
		if len(list) != 1 || list[0]["account"].(map[string]any)["id"] != alice.User.ID || list[0]["group"].(map[string]any)["membership"].(map[string]any)["state"] != "invited" {
			t.Fatalf("dave's invitation %v", list)
		}
		var one map[string]any
		c.expect(dave.Call("GET", "/api/v1/notifications/"+list[0]["id"].(string), nil, &one), 200, nil, "one notification")
		if one["group"] == nil {
			t.Errorf("single notification lacks its group: %v", one)
		}
		c.expect(alice.Call("POST", "/api/v1/groups/"+id+"/membership_requests/"+dave.User.ID+"/reject", nil, &e), 200, nil, "withdraw")
		if len(notes(dave, "group_invite")) != 0 {
			t.Error("a withdrawn invitation is still notified")
		}

		// Close followers hear of new top-level posts; comments and their own posts do not notify.
		c.expect(bob.Call("POST", "/api/v1/groups/"+id+"/notify", map[string]any{"on": true}, &g), 200, nil, "bob follows closely")
		var st status
		c.expect(alice.Call("POST", "/api/v1/statuses", map[string]any{"status": "Quarterly numbers", "group_id": id}, &st), 200, nil, "post")
		c.expect(bob.Call("POST", "/api/v1/statuses", map[string]any{"status": "Thanks", "in_reply_to_id": st.ID}, &e), 200, nil, "comment")
		c.expect(bob.Call("POST", "/api/v1/statuses", map[string]any{"status": "My own post", "group_id": id}, &e), 200, nil, "bob posts")
		postNotes := notes(bob, "group_post")
		if len(postNotes) != 1 {
			t.Fatalf("bob has %d group_post notifications, want 1", len(postNotes))
		}
		attached, _ := postNotes[0]["status"].(map[string]any)
		if attached == nil || attached["id"] != st.ID || postNotes[0]["group"].(map[string]any)["id"] != id ||
			postNotes[0]["account"].(map[string]any)["id"] != alice.User.ID {
			t.Errorf("group_post %v", postNotes[0])
		}
		// The web page lists kinds it has no words for yet without failing.
		browser := n.Client(t)
		browser.Login("bob", "long password 123")
		if resp, body := browser.Get("/notifications"); resp.StatusCode != 200 {
			t.Errorf("the notifications page with group notifications: %d %.300s", resp.StatusCode, body)
		}
		if len(notes(carol, "group_post")) != 0 {
			t.Error("a member who does not follow closely was notified of a post")
		}

		// Removed from the group, bob no longer sees its posts in notifications.
		c.expect(alice.Call("DELETE", "/api/v1/groups/"+id+"/members/"+bob.User.ID, nil, &e), 200, nil, "remove bob")
		if len(notes(bob, "group_post")) != 0 {
			t.Error("a removed member still sees a group post in a notification")
		}
		// Deleting the group withdraws its notifications.
		c.expect(dave.Call("POST", "/api/v1/groups/"+id+"/join", nil, &g), 200, nil, "dave asks")
		c.expect(alice.Call("DELETE", "/api/v1/groups/"+id, nil, &e), 200, nil, "delete")
		if len(notes(alice, "group_request")) != 0 {
			t.Error("a deleted group's request is still notified")
		}
	})
}

// patchForm sends PATCH path as multipart/form-data, as Mastodon apps send profile pictures:
// fields, and one file under fileField (none when empty).
func patchForm(t *testing.T, n *nodetest.Node, as *nodetest.API, path string, fields map[string]string, fileField string, file []byte) (*http.Response, map[string]any) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for k, v := range fields {
		w.WriteField(k, v)
	}
	if fileField != "" {
		fw, _ := w.CreateFormFile(fileField, "picture.bin")
		fw.Write(file)
	}
	w.Close()
	req, _ := http.NewRequest("PATCH", n.HTTP.URL+path, &buf)
	req.Header.Set("Content-Type", w.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+as.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("PATCH %s: status %d, not JSON: %.300s", path, resp.StatusCode, b)
	}
	return resp, out
}

// banner is a w×h JPEG photo.
func banner(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.SetRGBA(x, y, color.RGBA{uint8(x), uint8(y), 120, 255})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// fetchImage gets a picture the API pointed at and returns its size.
func fetchImage(t *testing.T, n *nodetest.Node, rawURL string) (int, int, int) {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(n.HTTP.URL + u.RequestURI())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return resp.StatusCode, 0, 0
	}
	b, _ := io.ReadAll(resp.Body)
	cfg, _, err := image.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s is no picture: %v", rawURL, err)
	}
	return resp.StatusCode, cfg.Width, cfg.Height
}

// The cover through the API: apps send a group's picture as an account's avatar or header,
// and read it back in the Account's fields.
func TestGroupCoverAPI(t *testing.T) {
	eachEngine(t, func(t *testing.T, n *nodetest.Node) {
		c := caller{t}
		alice, bob, carol := n.NewUser(t, "alice"), n.NewUser(t, "bob"), n.NewUser(t, "carol")
		base := n.URL(context.Background())
		var open, secret, e map[string]any
		c.expect(alice.Call("POST", "/api/v1/groups", map[string]any{"display_name": "Design"}, &open), 200, nil, "create")
		c.expect(alice.Call("POST", "/api/v1/groups", map[string]any{"display_name": "Skunkworks", "visibility": "secret"}, &secret), 200, nil, "create secret")
		id, sid := open["id"].(string), secret["id"].(string)
		if open["header"] != base+"/headers/missing.png" || open["avatar"] != base+"/avatars/missing.png" || open["cover"] != nil {
			t.Fatalf("a group without a cover: %v", open)
		}

		// An app sends the picture as avatar: it becomes the cover, header the wide picture.
		resp, g := patchForm(t, n, alice, "/api/v1/groups/"+id, nil, "avatar", banner(t, 1200, 900))
		c.expect(resp, 200, g, "patch avatar")
		header, avatar := g["header"].(string), g["avatar"].(string)
		if !strings.HasPrefix(header, base+"/media/covers/") || g["header_static"] != header || g["cover"] != header ||
			!strings.Contains(avatar, "-thumb.") || g["avatar_static"] != avatar || g["display_name"] != "Design" {
			t.Fatalf("group after a cover: %v", g)
		}
		if code, w, h := fetchImage(t, n, header); code != 200 || w != 1200 || h != 400 {
			t.Fatalf("header: %d %dx%d, want 1200x400", code, w, h)
		}
		if code, w, h := fetchImage(t, n, avatar); code != 200 || w != 600 || h != 200 {
			t.Fatalf("avatar: %d %dx%d, want 600x200", code, w, h)
		}
		// The group as an account carries it too, and everyone who sees the group sees it.
		var acc map[string]any
		c.expect(bob.Call("GET", "/api/v1/accounts/"+id, nil, &acc), 200, nil, "group as account")
		if acc["group"] != true || acc["header"] != header || acc["header_static"] != header || acc["avatar"] != avatar || acc["avatar_static"] != avatar {
			t.Fatalf("group as account: %v", acc)
		}

		// header with a new name in one request: both change, the old files go.
		resp, g = patchForm(t, n, alice, "/api/v1/groups/"+id, map[string]string{"display_name": "Design team"}, "header", banner(t, 3000, 1000))
		c.expect(resp, 200, g, "patch header and name")
		if g["display_name"] != "Design team" || g["header"] == header {
			t.Fatalf("after header and name: %v", g)
		}
		if code, _, _ := fetchImage(t, n, header); code != 404 {
			t.Fatalf("the replaced cover is still served: %d", code)
		}
		if code, _, _ := fetchImage(t, n, avatar); code != 404 {
			t.Fatalf("the replaced thumbnail is still served: %d", code)
		}
		header = g["header"].(string)
		if code, w, h := fetchImage(t, n, header); code != 200 || w != 1500 || h != 500 {
			t.Fatalf("large header: %d %dx%d, want 1500x500", code, w, h)
		}

		// Refusals: not a picture, a member who is no admin; neither changes the cover.
		resp, e = patchForm(t, n, alice, "/api/v1/groups/"+id, nil, "cover", []byte("<svg xmlns='http://www.w3.org/2000/svg'/>"))
		c.expect(resp, 422, e, "patch a non-picture")
		if msg, _ := e["error"].(string); !strings.Contains(msg, "upload a JPEG, PNG, GIF or WebP image") {
			t.Fatalf("non-picture error: %v", e)
		}
		c.expect(bob.Call("POST", "/api/v1/groups/"+id+"/join", nil, nil), 200, nil, "bob joins")
		resp, e = patchForm(t, n, bob, "/api/v1/groups/"+id, nil, "avatar", banner(t, 600, 200))
		c.expect(resp, 403, e, "member patches the cover")
		resp, e = patchForm(t, n, bob, "/api/v1/groups/"+id, map[string]string{"cover_remove": "true"}, "", nil)
		c.expect(resp, 403, e, "member removes the cover")
		c.expect(alice.Call("GET", "/api/v1/groups/"+id, nil, &g), 200, nil, "get")
		if g["header"] != header {
			t.Fatalf("a refused change moved the cover: %v", g["header"])
		}

		// Removing it: the placeholders again, and the file is gone.
		c.expect(alice.Call("PATCH", "/api/v1/groups/"+id, map[string]any{"cover_remove": true}, &g), 200, nil, "remove")
		if g["header"] != base+"/headers/missing.png" || g["avatar"] != base+"/avatars/missing.png" || g["cover"] != nil {
			t.Fatalf("after removal: %v", g)
		}
		if code, _, _ := fetchImage(t, n, header); code != 404 {
			t.Fatalf("the removed cover is still served: %d", code)
		}
		checkGroupShape(t, g)

		// A secret group: its cover is for its members; for others the group does not exist.
		resp, g = patchForm(t, n, alice, "/api/v1/groups/"+sid, nil, "avatar", banner(t, 900, 300))
		c.expect(resp, 200, g, "secret cover")
		for _, r := range []struct{ method, path string }{{"GET", "/api/v1/groups/" + sid}, {"GET", "/api/v1/accounts/" + sid}} {
			e = nil
			c.expect(carol.Call(r.method, r.path, nil, &e), 404, e, "outsider "+r.method+" "+r.path)
		}
		resp, e = patchForm(t, n, carol, "/api/v1/groups/"+sid, nil, "avatar", banner(t, 900, 300))
		c.expect(resp, 404, e, "outsider patches a secret group's cover")
		resp, e = patchForm(t, n, carol, "/api/v1/groups/"+sid, nil, "avatar", []byte("not a picture"))
		c.expect(resp, 404, e, "outsider sends a bad file to a secret group")
	})
}

// TestFollowGroupAccount: apps see a group as an account with group: true, and following it
// is joining (open: at once; closed: a request), unfollowing leaves; a secret group the person
// is not invited to, like an unknown id, is 404.
func TestFollowGroupAccount(t *testing.T) {
	eachEngine(t, func(t *testing.T, n *nodetest.Node) {
		c := caller{t}
		alice, bob := n.NewUser(t, "alice"), n.NewUser(t, "bob")
		var open, closed, secret, rel, e map[string]any
		c.expect(alice.Call("POST", "/api/v1/groups", map[string]any{"display_name": "Runners"}, &open), 200, nil, "create open")
		c.expect(alice.Call("POST", "/api/v1/groups", map[string]any{"display_name": "Board", "visibility": "closed"}, &closed), 200, nil, "create closed")
		c.expect(alice.Call("POST", "/api/v1/groups", map[string]any{"display_name": "Skunkworks", "visibility": "secret"}, &secret), 200, nil, "create secret")

		c.expect(bob.Call("POST", "/api/v1/accounts/"+open["id"].(string)+"/follow", nil, &rel), 200, nil, "follow open")
		if rel["id"] != open["id"] || rel["following"] != true || rel["requested"] != false {
			t.Errorf("following an open group: %v", rel)
		}
		c.expect(bob.Call("POST", "/api/v1/accounts/"+closed["id"].(string)+"/follow", nil, &rel), 200, nil, "follow closed")
		if rel["following"] != false || rel["requested"] != true {
			t.Errorf("following a closed group: %v", rel)
		}
		c.expect(bob.Call("POST", "/api/v1/accounts/"+open["id"].(string)+"/unfollow", nil, &rel), 200, nil, "unfollow open")
		if rel["following"] != false {
			t.Errorf("after unfollowing: %v", rel)
		}
		var g map[string]any
		c.expect(bob.Call("GET", "/api/v1/groups/"+open["id"].(string), nil, &g), 200, nil, "group after leaving")
		if g["membership"] != nil {
			t.Errorf("bob is still in the group: %v", g["membership"])
		}
		c.expect(bob.Call("POST", "/api/v1/accounts/"+secret["id"].(string)+"/follow", nil, &e), 404, e, "follow secret")
		c.expect(bob.Call("POST", "/api/v1/accounts/nobody/unfollow", nil, &e), 404, e, "unfollow unknown")
	})
}
