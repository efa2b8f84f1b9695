package app_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/atrium-social/atrium/internal/testutil/nodetest"
)

type status struct {
	ID                 string           `json:"id"`
	Content            string           `json:"content"`
	Visibility         string           `json:"visibility"`
	LocalOnly          bool             `json:"local_only"`
	Account            map[string]any   `json:"account"`
	InReplyToID        *string          `json:"in_reply_to_id"`
	InReplyToAccountID *string          `json:"in_reply_to_account_id"`
	Reblog             *status          `json:"reblog"`
	FavouritesCount    int              `json:"favourites_count"`
	ReblogsCount       int              `json:"reblogs_count"`
	RepliesCount       int              `json:"replies_count"`
	Favourited         bool             `json:"favourited"`
	Reblogged          bool             `json:"reblogged"`
	Bookmarked         bool             `json:"bookmarked"`
	Mentions           []map[string]any `json:"mentions"`
	Tags               []map[string]any `json:"tags"`
	MediaAttachments   []map[string]any `json:"media_attachments"`
	EditedAt           *string          `json:"edited_at"`
	Text               *string          `json:"text"`
	Atrium             struct {
		Audience   string         `json:"audience"`
		Reactions  map[string]int `json:"reactions"`
		MyReaction *string        `json:"my_reaction"`
	} `json:"atrium"`
}

// statusFields are the keys Mastodon's Status entity always has.
var statusFields = []string{"id", "uri", "url", "created_at", "account", "content", "visibility", "sensitive", "spoiler_text",
	"media_attachments", "mentions", "tags", "emojis", "reblogs_count", "favourites_count", "replies_count", "in_reply_to_id",
	"in_reply_to_account_id", "reblog", "poll", "card", "language", "edited_at", "favourited", "reblogged", "muted", "bookmarked", "pinned"}

func TestStatusesAPI(t *testing.T) {
	n := nodetest.Start(t, nodetest.Options{Setup: true})
	alice, bob, carol := n.NewUser(t, "alice"), n.NewUser(t, "bob"), n.NewUser(t, "carol")
	want := func(resp *http.Response, code int, what string) {
		t.Helper()
		if resp.StatusCode != code {
			t.Fatalf("%s: status %d, want %d", what, resp.StatusCode, code)
		}
	}

	// bob follows alice; alice posts to each audience.
	var rel map[string]any
	want(bob.Call("POST", "/api/v1/accounts/"+alice.User.ID+"/follow", nil, &rel), 200, "follow")
	if rel["following"] != true {
		t.Fatalf("follow relationship %v", rel)
	}
	var raw map[string]any
	want(alice.Call("POST", "/api/v1/statuses", map[string]any{"status": "Hello **team** @carol #Launch https://example.com/x"}, &raw), 200, "create")
	for _, k := range statusFields {
		if _, ok := raw[k]; !ok {
			t.Errorf("status lacks %q", k)
		}
	}
	var company, followers, direct, public status
	want(alice.Call("GET", "/api/v1/statuses/"+raw["id"].(string), nil, &company), 200, "get")
	if company.Visibility != "public" || !company.LocalOnly || company.Atrium.Audience != "company" {
		t.Errorf("default audience: visibility %s local_only %v audience %s", company.Visibility, company.LocalOnly, company.Atrium.Audience)
	}
	if !strings.Contains(company.Content, "<strong>team</strong>") || len(company.Mentions) != 1 || len(company.Tags) != 1 || company.Tags[0]["name"] != "launch" {
		t.Errorf("content/mentions/tags: %s %v %v", company.Content, company.Mentions, company.Tags)
	}
	want(alice.Call("POST", "/api/v1/statuses", map[string]any{"status": "followers only", "visibility": "private"}, &followers), 200, "private")
	want(alice.Call("POST", "/api/v1/statuses", map[string]any{"status": "just for @bob", "visibility": "direct"}, &direct), 200, "direct")
	want(alice.Call("POST", "/api/v1/statuses", map[string]any{"status": "to the world", "visibility": "public"}, &public), 200, "public")
	if followers.Visibility != "private" || direct.Visibility != "direct" || public.Visibility != "public" || public.LocalOnly {
		t.Errorf("visibilities: %s %s %s %v", followers.Visibility, direct.Visibility, public.Visibility, public.LocalOnly)
	}
	var localOnly status
	want(alice.Call("POST", "/api/v1/statuses", map[string]any{"status": "company via local_only", "visibility": "public", "local_only": true}, &localOnly), 200, "local_only")
	if localOnly.Atrium.Audience != "company" {
		t.Errorf("local_only=true gave %s", localOnly.Atrium.Audience)
	}

	// Hidden posts are 404, never 403.
	var e map[string]any
	want(carol.Call("GET", "/api/v1/statuses/"+followers.ID, nil, &e), 404, "carol reads followers-only")
	if e["error"] != "Record not found" {
		t.Errorf("404 body %v", e)
	}
	want(carol.Call("GET", "/api/v1/statuses/"+direct.ID, nil, nil), 404, "carol reads direct")
	want(bob.Call("GET", "/api/v1/statuses/"+direct.ID, nil, nil), 200, "bob reads his direct post")
	anon := &nodetest.API{}
	*anon = *carol
	anon.Token = ""
	want(anon.Call("GET", "/api/v1/statuses/"+company.ID, nil, nil), 404, "anonymous reads company post")
	want(anon.Call("GET", "/api/v1/statuses/"+public.ID, nil, nil), 200, "anonymous reads public post")

	// Bad input: clear errors.
	want(alice.Call("POST", "/api/v1/statuses", map[string]any{"status": ""}, &e), 422, "empty")
	want(alice.Call("POST", "/api/v1/statuses", map[string]any{"status": "x", "visibility": "sideways"}, &e), 422, "bad visibility")
	want(alice.Call("POST", "/api/v1/statuses", map[string]any{"status": "hi @ghost"}, &e), 422, "unknown mention")
	want(carol.Call("PUT", "/api/v1/statuses/"+company.ID, map[string]any{"status": "hijack"}, &e), 403, "edit other's post")
	want(carol.Call("POST", "/api/v1/statuses", map[string]any{"status": "reply", "in_reply_to_id": direct.ID}, &e), 404, "reply to hidden post")
	want(alice.Call("POST", "/api/v1/statuses/"+company.ID+"/react", map[string]any{"emoji": "🦄"}, &e), 422, "reaction outside the set")

	req, _ := http.NewRequest("POST", n.HTTP.URL+"/api/v1/statuses", strings.NewReader(`{"status": "unterminated`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+alice.Token)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 422 {
		t.Fatalf("malformed JSON: %v %v", err, resp.StatusCode)
	}

	// Home timeline with Link pagination.
	var home []status
	resp := bob.Call("GET", "/api/v1/timelines/home?limit=2", nil, &home)
	want(resp, 200, "home")
	if len(home) != 2 || !strings.Contains(resp.Header.Get("Link"), "max_id="+home[1].ID) {
		t.Fatalf("home page: %d items, Link %q", len(home), resp.Header.Get("Link"))
	}
	var older []status
	want(bob.Call("GET", "/api/v1/timelines/home?max_id="+home[1].ID, nil, &older), 200, "home page 2")
	seen := map[string]bool{}
	for _, s := range append(home, older...) {
		if seen[s.ID] {
			t.Errorf("duplicate %s across pages", s.ID)
		}
		seen[s.ID] = true
	}
	for _, id := range []string{company.ID, followers.ID, direct.ID, public.ID, localOnly.ID} {
		if !seen[id] {
			t.Errorf("bob's home lacks %s", id)
		}
	}
	var newer []status
	want(bob.Call("GET", "/api/v1/timelines/home?min_id="+older[len(older)-1].ID+"&limit=2", nil, &newer), 200, "min_id page")
	if len(newer) != 2 || newer[0].ID <= newer[1].ID {
		t.Errorf("min_id page not newest first: %+v", newer)
	}
	var local, tagged []status
	want(carol.Call("GET", "/api/v1/timelines/public?local=true", nil, &local), 200, "company timeline")
	if len(local) != 3 {
		t.Errorf("company timeline has %d posts, want 3 (company, public, local_only)", len(local))
	}
	want(carol.Call("GET", "/api/v1/timelines/tag/launch", nil, &tagged), 200, "tag timeline")
	if len(tagged) != 1 || tagged[0].ID != company.ID {
		t.Errorf("tag timeline: %+v", tagged)
	}
	var profile []status
	want(carol.Call("GET", "/api/v1/accounts/"+alice.User.ID+"/statuses", nil, &profile), 200, "profile statuses")
	if len(profile) != 3 {
		t.Errorf("carol sees %d of alice's posts, want 3", len(profile))
	}

	// Comments, reactions, shares, bookmarks, history.
	var reply status
	want(bob.Call("POST", "/api/v1/statuses", map[string]any{"status": "Great news", "in_reply_to_id": company.ID}, &reply), 200, "reply")
	if reply.InReplyToAccountID == nil || *reply.InReplyToAccountID != alice.User.ID {
		t.Errorf("in_reply_to_account_id %v", reply.InReplyToAccountID)
	}
	var ctx struct{ Ancestors, Descendants []status }
	want(carol.Call("GET", "/api/v1/statuses/"+company.ID+"/context", nil, &ctx), 200, "context")
	if len(ctx.Descendants) != 1 || ctx.Descendants[0].ID != reply.ID {
		t.Errorf("context %+v", ctx)
	}
	var fav status
	want(carol.Call("POST", "/api/v1/statuses/"+company.ID+"/favourite", nil, &fav), 200, "favourite")
	if !fav.Favourited || fav.FavouritesCount != 1 {
		t.Errorf("favourite: %+v", fav)
	}
	want(carol.Call("POST", "/api/v1/statuses/"+company.ID+"/react", map[string]any{"emoji": "🎉"}, &fav), 200, "react")
	if fav.FavouritesCount != 1 || fav.Atrium.Reactions["🎉"] != 1 || fav.Atrium.MyReaction == nil {
		t.Errorf("react replaced: %+v", fav.Atrium)
	}
	var who []map[string]any
	want(alice.Call("GET", "/api/v1/statuses/"+company.ID+"/favourited_by", nil, &who), 200, "favourited_by")
	if len(who) != 1 || who[0]["username"] != "carol" {
		t.Errorf("favourited_by %v", who)
	}
	var share status
	want(carol.Call("POST", "/api/v1/statuses/"+company.ID+"/reblog", nil, &share), 200, "reblog")
	if share.Reblog == nil || share.Reblog.ID != company.ID || !share.Reblog.Reblogged {
		t.Errorf("reblog shape %+v", share)
	}
	want(carol.Call("POST", "/api/v1/statuses/"+direct.ID+"/reblog", nil, nil), 404, "reblog hidden")
	var bm status
	want(carol.Call("POST", "/api/v1/statuses/"+company.ID+"/bookmark", nil, &bm), 200, "bookmark")
	var bms []status
	want(carol.Call("GET", "/api/v1/bookmarks", nil, &bms), 200, "bookmarks")
	if len(bms) != 1 || !bms[0].Bookmarked {
		t.Errorf("bookmarks %+v", bms)
	}
	var favs []status
	want(carol.Call("GET", "/api/v1/favourites", nil, &favs), 200, "favourites")
	if len(favs) != 1 {
		t.Errorf("favourites %d", len(favs))
	}
	var edited status
	want(alice.Call("PUT", "/api/v1/statuses/"+company.ID, map[string]any{"status": "Hello **team**, edited"}, &edited), 200, "edit")
	if edited.EditedAt == nil {
		t.Error("edited_at not set")
	}
	var hist []map[string]any
	want(carol.Call("GET", "/api/v1/statuses/"+company.ID+"/history", nil, &hist), 200, "history")
	if len(hist) != 2 {
		t.Errorf("history has %d versions", len(hist))
	}

	// Notifications: alice was commented on, favourited and shared; carol was mentioned.
	var notes []map[string]any
	want(alice.Call("GET", "/api/v1/notifications", nil, &notes), 200, "notifications")
	kinds := map[string]int{}
	for _, nt := range notes {
		kinds[nt["type"].(string)]++
	}
	if kinds["mention"] != 1 || kinds["favourite"] != 1 || kinds["reblog"] != 1 || kinds["follow"] != 1 {
		t.Errorf("alice's notification types %v", kinds)
	}
	var cn []map[string]any
	want(carol.Call("GET", "/api/v1/notifications?types[]=mention", nil, &cn), 200, "carol notifications")
	if len(cn) != 1 || cn[0]["status"] == nil {
		t.Errorf("carol's mention notification %v", cn)
	}
	var count map[string]any
	want(alice.Call("GET", "/api/v1/notifications/unread_count", nil, &count), 200, "unread count")
	want(alice.Call("POST", "/api/v1/notifications/"+notes[0]["id"].(string)+"/dismiss", nil, nil), 200, "dismiss")
	want(bob.Call("POST", "/api/v1/notifications/"+notes[1]["id"].(string)+"/dismiss", nil, nil), 404, "dismiss another's")
	want(alice.Call("POST", "/api/v1/notifications/clear", nil, nil), 200, "clear")
	want(alice.Call("GET", "/api/v1/notifications", nil, &notes), 200, "after clear")
	if len(notes) != 0 {
		t.Errorf("%d notifications after clear", len(notes))
	}

	// Accounts: lookup, relationships (ids[] form), followers.
	var acc map[string]any
	want(carol.Call("GET", "/api/v1/accounts/lookup?acct=alice", nil, &acc), 200, "lookup")
	if acc["id"] != alice.User.ID {
		t.Errorf("lookup %v", acc)
	}
	var rels []map[string]any
	want(bob.Call("GET", "/api/v1/accounts/relationships?id[]="+alice.User.ID+"&id[]="+carol.User.ID, nil, &rels), 200, "relationships")
	if len(rels) != 2 || rels[0]["following"] != true || rels[1]["following"] != false {
		t.Errorf("relationships %v", rels)
	}
	var fl []map[string]any
	want(carol.Call("GET", "/api/v1/accounts/"+alice.User.ID+"/followers", nil, &fl), 200, "followers")
	if len(fl) != 1 || fl[0]["username"] != "bob" {
		t.Errorf("followers %v", fl)
	}
	want(bob.Call("POST", "/api/v1/accounts/"+alice.User.ID+"/unfollow", nil, &rel), 200, "unfollow")
	want(bob.Call("GET", "/api/v1/statuses/"+followers.ID, nil, nil), 404, "followers-only after unfollow")

	// Media and search.
	var media map[string]any
	want(alice.Call("GET", "/api/v2/search?q=hello", nil, nil), 200, "search")
	want(alice.Upload("pic.png", testPNG(), "a gradient", &media), 200, "upload")
	if media["type"] != "image" || media["preview_url"] == nil || media["description"] != "a gradient" {
		t.Fatalf("media %v", media)
	}
	want(alice.Upload("evil.exe", []byte("MZ\x90\x00 not a document"), "", &e), 422, "unsupported upload")
	var withPic status
	want(alice.Call("POST", "/api/v1/statuses", map[string]any{"status": "with a picture", "media_ids": []string{media["id"].(string)}}, &withPic), 200, "post with media")
	if len(withPic.MediaAttachments) != 1 {
		t.Errorf("attachments %v", withPic.MediaAttachments)
	}
	var found map[string][]map[string]any
	want(carol.Call("GET", "/api/v2/search?q=picture", nil, &found), 200, "search statuses")
	if len(found["statuses"]) != 1 {
		t.Errorf("search found %d statuses", len(found["statuses"]))
	}
	want(carol.Call("GET", "/api/v2/search?q=followers", nil, &found), 200, "search hidden")
	if len(found["statuses"]) != 0 {
		t.Errorf("search shows a followers-only post to a non-follower")
	}
	want(carol.Call("GET", "/api/v2/search?q=ali&type=accounts", nil, &found), 200, "search accounts")
	if len(found["accounts"]) != 1 {
		t.Errorf("account search %v", found["accounts"])
	}

	// Delete answers with the source for redrafting, then the post is gone.
	var del status
	want(alice.Call("DELETE", "/api/v1/statuses/"+public.ID, nil, &del), 200, "delete")
	if del.Text == nil || *del.Text != "to the world" {
		t.Errorf("delete text %v", del.Text)
	}
	want(carol.Call("GET", "/api/v1/statuses/"+public.ID, nil, nil), 404, "deleted")
}
