package web_test

import (
	"bytes"
	"context"
	"image"
	_ "image/jpeg" // the banner is a JPEG, which image.DecodeConfig reads
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/groups"
	"github.com/atrium-social/atrium/internal/posts"
	"github.com/atrium-social/atrium/internal/testutil/nodetest"
)

// These tests drive the group pages through real HTTP as a browser without script does:
// forms that redirect back, and the pages they land on.

// createGroup creates a group through the form and returns its page's path.
func (b *browserish) createGroup(name, note, visibility, posting string) string {
	b.t.Helper()
	resp, body := b.post("/groups/new", url.Values{"display_name": {name}, "note": {note}, "visibility": {visibility},
		"posting": {posting}}, "/groups/new", false)
	if resp.StatusCode != http.StatusSeeOther {
		b.t.Fatalf("create group %q: %d\n%.3000s", name, resp.StatusCode, body)
	}
	loc := resp.Header.Get("Location")
	if !strings.HasPrefix(loc, "/groups/") {
		b.t.Fatalf("create group redirects to %q", loc)
	}
	return loc
}

// groupID reads the group's id through the service, as its creator sees it.
func groupID(t *testing.T, n *nodetest.Node, creator, path string) string {
	t.Helper()
	u, err := n.Accounts.ByUsername(context.Background(), creator)
	if err != nil {
		t.Fatal(err)
	}
	gv, err := n.Groups.Lookup(context.Background(), posts.ViewerOf(u), strings.TrimPrefix(path, "/groups/"))
	if err != nil {
		t.Fatal(err)
	}
	return gv.Group.ID
}

func TestGroupCreateAndDirectory(t *testing.T) {
	n := nodetest.Start(t, nodetest.Options{Setup: true})
	alice, bob := person(t, n, "alice"), person(t, n, "bob")

	resp, body := alice.get("/groups/new", false)
	want(t, "new group form", resp, body, 200)
	has(t, "new group form", body, `name="display_name"`, `value="open" checked`, `value="secret"`, "Admins only")
	checkPage(t, "/groups/new", body)

	// A refusal keeps what was typed and names the field as the form does.
	resp, body = alice.post("/groups/new", url.Values{"display_name": {"  "}, "note": {"For the launch"}, "visibility": {"closed"}}, "/groups/new", false)
	want(t, "nameless group", resp, body, 422)
	has(t, "nameless group", body, "Name: give the group a name", "For the launch", `value="closed" checked`, `aria-invalid="true"`)
	checkPage(t, "create error", body)

	path := alice.createGroup("Launch <Team>", "Everything about the <b>launch</b>", "open", "members")
	_, body = alice.get(path, false)
	has(t, "new group page", body, "Group created.", "Launch &lt;Team&gt;", "Open group", "1 member", "Follow closely",
		`name="group" value="`, "Posting in Launch &lt;Team&gt;", "Settings", `aria-current="page">Feed`)
	hasNot(t, "new group page", body, "<b>launch</b>", "<Team>", `name="visibility"`)
	checkPage(t, path, body)
	_, body = alice.get(path+"/about", false)
	has(t, "about", body, "Everything about the &lt;b&gt;launch&lt;/b&gt;", "Admins", `href="/people/alice"`)

	// The directory: bob finds it (and its state for him), by search too, and can join.
	_, body = bob.get("/groups", false)
	has(t, "directory", body, "Launch &lt;Team&gt;", "All groups", "You are not in any group yet", `href="`+path+`"`, "Create group")
	checkPage(t, "/groups", body)
	_, body = bob.get("/groups?q=lau", false)
	has(t, "search", body, "Launch &lt;Team&gt;", "Groups matching “lau”")
	_, body = bob.get("/groups?q=payroll", false)
	hasNot(t, "search miss", body, "Launch &lt;Team&gt;")
	_, body = bob.get(path, false)
	has(t, "open group for an outsider", body, "Join group", "Join the group to post in it.")
	resp, _ = bob.post(path+"/join", url.Values{"tab": {"feed"}}, path, false)
	wantRedirect(t, "join open group", resp, path)
	_, body = bob.get("/groups", false)
	has(t, "joined", body, "You joined the group.", `<span class="badge accent">Member</span>`)

	// Posting into the group from its composer, with and without script; the post is in the
	// group and the home feed names the group.
	gid := groupID(t, n, "alice", path)
	resp, body = bob.compose(url.Values{"status": {"Kick-off on Monday"}, "group": {gid}}, nil, true)
	want(t, "post in group", resp, body, http.StatusCreated)
	has(t, "group card", body, "Kick-off on Monday", `class="in-group"`, `href="`+path+`">Launch &lt;Team&gt;</a>`)
	_, body = alice.get("/", false)
	has(t, "home names the group", body, "Kick-off on Monday", `in <a href="`+path+`">Launch &lt;Team&gt;</a>`)
	_, body = alice.get(path, false)
	has(t, "group feed", body, "Kick-off on Monday", "Pin to the top of Launch &lt;Team&gt;")
	checkPage(t, "group feed", body)

	// A moderator pins it: it leads the feed in the Pinned section.
	post := cardID(t, body)
	resp, _ = alice.post(path+"/pin", url.Values{"post": {post}, "on": {"1"}}, path, false)
	wantRedirect(t, "pin", resp, path)
	_, body = alice.get(path, false)
	has(t, "pinned", body, "Pinned to the top of the group.", `id="pins-title"`, "Unpin from Launch &lt;Team&gt;")
	_, body = bob.get(path, false)
	has(t, "pinned for members", body, `id="pins-title"`)
	hasNot(t, "members cannot pin", body, "Pin to the top of")
}

func TestGroupSecretIsInvisible(t *testing.T) {
	n := nodetest.Start(t, nodetest.Options{Setup: true})
	alice, bob := person(t, n, "alice"), person(t, n, "bob")
	path := alice.createGroup("Merger talks", "Nobody must know", "secret", "members")

	_, body := bob.get("/groups", false)
	hasNot(t, "directory of an outsider", body, "Merger talks")
	_, body = bob.get("/groups?q=merger", false)
	hasNot(t, "search of an outsider", body, "Merger talks")
	for _, p := range []string{path, path + "/about", path + "/members", path + "/settings", path + "/more"} {
		resp, body := bob.get(p, false)
		want(t, "outsider on "+p, resp, body, http.StatusNotFound)
		has(t, "outsider on "+p, body, "Page not found")
		hasNot(t, "outsider on "+p, body, "Merger talks", "Nobody must know")
	}
	resp, body := bob.post(path+"/join", nil, "/groups", false)
	want(t, "join a secret group uninvited", resp, body, http.StatusNotFound)

	// Invited, bob sees it: in his invitations, and its About page with Accept.
	resp, _ = alice.post(path+"/invite", url.Values{"acct": {"bob"}, "tab": {"members"}}, path+"/members", false)
	wantRedirect(t, "invite", resp, path+"/members")
	_, body = bob.get("/groups", false)
	has(t, "invitation", body, "Invitations", "Merger talks", `action="`+path+`/join"`, "Accept")
	_, body = bob.get("/notifications", false)
	has(t, "invitation notification", body, "invited you to join Merger talks", `href="`+path+`"`)
	checkPage(t, "/notifications", body)
	resp, body = bob.get(path, false)
	want(t, "invited", resp, body, 200)
	has(t, "invited page", body, "Accept invitation", "Decline", "Only members see what is posted")
	hasNot(t, "invited page", body, `aria-current="page">Feed`)
}

func TestGroupClosedShowsNoPostsToOutsiders(t *testing.T) {
	n := nodetest.Start(t, nodetest.Options{Setup: true})
	alice, bob, carol := person(t, n, "alice"), person(t, n, "bob"), person(t, n, "carol")
	path := alice.createGroup("Board", "The board's working group", "closed", "members")
	gid := groupID(t, n, "alice", path)
	resp, body := alice.compose(url.Values{"status": {"Confidential roadmap"}, "group": {gid}}, []file{{"plan.txt", []byte("the plan\n")}}, false)
	wantRedirect(t, "post in closed group", resp, "/")

	// An outsider sees what the group is and how to join, and nothing posted in it.
	for _, p := range []string{path, path + "/members", path + "/files", path + "/about"} {
		resp, body := bob.get(p, false)
		want(t, "outsider on "+p, resp, body, 200)
		has(t, "outsider on "+p, body, "Board", "The board&#39;s working group", "Closed group", "1 member", "Request to join",
			`aria-current="page">About`)
		hasNot(t, "outsider on "+p, body, "Confidential roadmap", "plan.txt", `href="/people/alice"`, `href="`+path+`/members"`)
		checkPage(t, "outsider on "+p, body)
	}
	resp, body = bob.get(path+"/more?max_id=ZZZZZZZZZZZZZZZZZZZZZZZZZZ", true)
	want(t, "next page for an outsider", resp, body, http.StatusForbidden)
	hasNot(t, "next page for an outsider", body, "Confidential roadmap")
	_, body = bob.get("/", false)
	hasNot(t, "outsider's home", body, "Confidential roadmap")
	// Nor can an outsider post into it.
	resp, body = bob.compose(url.Values{"status": {"Let me in"}, "group": {gid}}, nil, false)
	want(t, "outsider posts", resp, body, http.StatusForbidden)
	has(t, "outsider posts", body, "Join Board to post in it")

	// Request and approval.
	resp, _ = bob.post(path+"/join", url.Values{"tab": {"about"}}, path+"/about", false)
	wantRedirect(t, "request", resp, path)
	_, body = bob.get(path, false)
	has(t, "requested", body, "Request sent. An admin of the group will answer it.", "Cancel request", "Your request is waiting")
	_, body = bob.get("/groups", false)
	has(t, "pending in directory", body, "Waiting for an answer", `<span class="badge">Requested</span>`)
	_, body = alice.get(path+"/requests", false)
	has(t, "requests tab", body, `href="/people/bob"`, `action="`+path+`/approve"`, "Approve")
	checkPage(t, "requests tab", body)
	_, body = alice.get("/notifications", false)
	has(t, "request notification", body, "asked to join Board", `href="`+path+`/requests"`)
	bobID := mustUser(t, n, "bob")
	resp, _ = alice.post(path+"/approve", url.Values{"account": {bobID}, "tab": {"requests"}}, path+"/requests", false)
	wantRedirect(t, "approve", resp, path+"/requests")
	_, body = alice.get(path+"/requests", false)
	has(t, "approved", body, "Request approved", "No requests waiting.")
	_, body = bob.get(path, false)
	has(t, "member reads", body, "Confidential roadmap", "2 members", "Leave")
	_, body = bob.get("/notifications", false)
	has(t, "approval notification", body, "let you into Board", `href="`+path+`"`)

	// Following closely: a notification for each new post.
	resp, _ = bob.post(path+"/notify", url.Values{"on": {"1"}}, path, false)
	wantRedirect(t, "follow closely", resp, path)
	_, body = bob.get(path, false)
	has(t, "following closely", body, "You will be notified of every new post", "Following closely", `aria-pressed="true"`)
	alice.compose(url.Values{"status": {"Board meeting moved"}, "group": {gid}}, nil, false)
	_, body = bob.get("/notifications", false)
	has(t, "group post notification", body, "posted in Board", "Board meeting moved")
	_, body = bob.get(path+"/files?q=plan", false)
	has(t, "files", body, "plan.txt", `download="plan.txt"`, "in this post")
	_, body = bob.get(path+"/files?q=budget", false)
	has(t, "files miss", body, "No file name contains")

	// Only moderators see and answer requests; a member removed loses access at once.
	resp, body = bob.get(path+"/requests", false)
	want(t, "requests for a member", resp, body, http.StatusForbidden)
	carol.post(path+"/join", nil, path, false)
	carolID := mustUser(t, n, "carol")
	resp, body = bob.post(path+"/approve", url.Values{"account": {carolID}, "tab": {"feed"}}, path, false)
	want(t, "member approves", resp, body, http.StatusForbidden)
	has(t, "member approves", body, "Only the admins and moderators of Board")
	resp, _ = alice.post(path+"/reject", url.Values{"account": {carolID}}, path+"/requests", false)
	wantRedirect(t, "reject", resp, path+"/requests")
	_, body = carol.get(path, false)
	has(t, "rejected", body, "Request to join")
	resp, _ = alice.post(path+"/remove", url.Values{"account": {bobID}}, path+"/members", false)
	wantRedirect(t, "remove", resp, path+"/members")
	_, body = bob.get(path, false)
	hasNot(t, "removed member", body, "Confidential roadmap")
}

func TestGroupInviteAndRoles(t *testing.T) {
	n := nodetest.Start(t, nodetest.Options{Setup: true})
	alice, bob := person(t, n, "alice"), person(t, n, "bob")
	path := alice.createGroup("Design", "", "closed", "admins")

	// A name nobody has: the members tab again, with the message and what was typed.
	resp, body := alice.post(path+"/invite", url.Values{"acct": {"zed"}, "tab": {"members"}}, path+"/members", false)
	want(t, "invite nobody", resp, body, 422)
	has(t, "invite nobody", body, "Person: nobody here has the username zed", `value="zed"`, `aria-invalid="true"`, `aria-current="page">Members`)
	checkPage(t, "invite error", body)

	resp, _ = alice.post(path+"/invite", url.Values{"acct": {"@bob"}, "tab": {"members"}}, path+"/members", false)
	wantRedirect(t, "invite", resp, path+"/members")
	_, body = alice.get(path+"/requests", false)
	has(t, "invited list", body, "Invited, no answer yet", `href="/people/bob"`, "Withdraw")
	_, body = bob.get("/groups", false)
	has(t, "bob's invitations", body, "Invitations", "Design")
	resp, _ = bob.post(path+"/join", nil, "/groups", false)
	wantRedirect(t, "accept", resp, path)
	_, body = bob.get(path, false)
	has(t, "accepted", body, "You joined the group.", "Only the admins and moderators of this group start posts")
	hasNot(t, "no composer for members of an admins-only group", body, `name="group"`)

	// Roles: only admins change them; a group keeps one admin.
	bobID, aliceID := mustUser(t, n, "bob"), mustUser(t, n, "alice")
	_, body = alice.get(path+"/members", false)
	has(t, "members tab", body, "Make moderator", "Make admin", `action="`+path+`/remove"`)
	checkPage(t, "members tab", body)
	resp, _ = alice.post(path+"/role", url.Values{"account": {bobID}, "role": {"moderator"}}, path+"/members", false)
	wantRedirect(t, "promote", resp, path+"/members")
	_, body = bob.get(path, false)
	has(t, "moderator posts", body, `name="group"`, `aria-current="page">Feed`, `href="`+path+`/requests"`)
	resp, body = bob.post(path+"/role", url.Values{"account": {aliceID}, "role": {"member"}, "tab": {"members"}}, path+"/members", false)
	want(t, "moderator demotes admin", resp, body, http.StatusForbidden)
	has(t, "moderator demotes admin", body, "Only the admins of Design can change roles")
	resp, body = alice.post(path+"/leave", url.Values{"tab": {"feed"}}, path, false)
	want(t, "last admin leaves", resp, body, http.StatusConflict)
	has(t, "last admin leaves", body, "You are the only admin of Design")
}

func TestGroupSettings(t *testing.T) {
	n := nodetest.Start(t, nodetest.Options{Setup: true})
	alice, bob, carol := person(t, n, "alice"), person(t, n, "bob"), person(t, n, "carol")
	path := alice.createGroup("Ops", "Operations", "closed", "members")
	bob.post(path+"/join", nil, path, false)
	alice.post(path+"/approve", url.Values{"account": {mustUser(t, n, "bob")}}, path+"/requests", false)
	secret := alice.createGroup("Hush", "", "secret", "members")

	// Non-admins: the service's answer, 403 for a group they see, 404 for one they do not.
	resp, body := bob.get(path+"/settings", false)
	want(t, "settings for a member", resp, body, http.StatusForbidden)
	resp, body = bob.post(path+"/settings", url.Values{"display_name": {"Hacked"}}, path+"/settings", false)
	want(t, "save settings as a member", resp, body, http.StatusForbidden)
	resp, body = bob.post(path+"/delete", nil, path+"/settings", false)
	want(t, "delete as a member", resp, body, http.StatusForbidden)
	resp, body = bob.post(path+"/partners", url.Values{"host": {"partner.example"}, "confirm": {"1"}}, path+"/settings", false)
	want(t, "partner as a member", resp, body, http.StatusForbidden)
	resp, body = carol.get(secret+"/settings", false)
	want(t, "settings of a secret group for an outsider", resp, body, http.StatusNotFound)
	resp, body = carol.post(secret+"/settings", url.Values{"display_name": {"Hacked"}}, secret+"/settings", false)
	want(t, "save a secret group's settings as an outsider", resp, body, http.StatusNotFound)

	// The admin edits; visibility moves between open and closed only.
	resp, body = alice.get(path+"/settings", false)
	want(t, "settings", resp, body, 200)
	has(t, "settings", body, `value="Ops"`, `value="closed" checked`, "Partner nodes", "Delete group", `id="partner-confirm"`)
	hasNot(t, "settings", body, `value="secret"`)
	checkPage(t, "settings", body)
	resp, _ = alice.post(path+"/settings", url.Values{"display_name": {"Operations team"}, "note": {"Ops"}, "visibility": {"open"},
		"posting": {"admins"}}, path+"/settings", false)
	wantRedirect(t, "save", resp, path+"/settings")
	_, body = bob.get(path+"/about", false)
	has(t, "saved", body, "Operations team", "Open.", "Admins and moderators start posts")
	resp, body = alice.post(path+"/settings", url.Values{"display_name": {"Operations team"}, "visibility": {"secret"}}, path+"/settings", false)
	want(t, "make secret", resp, body, 422)
	has(t, "make secret", body, "Visibility: a group cannot become secret", `value="Operations team"`)
	_, body = alice.get(secret+"/settings", false)
	has(t, "secret settings", body, "A secret group stays secret")
	hasNot(t, "secret settings", body, `name="visibility"`)

	// Delete.
	resp, _ = alice.post(secret+"/delete", nil, secret+"/settings", false)
	wantRedirect(t, "delete", resp, "/groups")
	resp, _ = alice.get(secret, false)
	want(t, "deleted group", resp, "", http.StatusNotFound)
}

func TestGroupPartnerNeedsConfirmation(t *testing.T) {
	n := nodetest.Start(t, nodetest.Options{Setup: true})
	admin, alice := person(t, n, "admin"), person(t, n, "alice")
	resp, body := admin.post("/admin/partners", url.Values{"host": {"partner.example"}, "action": {"allow"}}, "/admin/partners", false)
	wantRedirect(t, "node partner", resp, "/admin/partners")
	path := alice.createGroup("Joint venture", "", "closed", "members")

	// A host that is not a partner of the node is refused whatever the admin confirms.
	resp, body = alice.post(path+"/partners", url.Values{"host": {"stranger.example"}, "confirm": {"1"}}, path+"/settings", false)
	want(t, "not a node partner", resp, body, 422)
	has(t, "not a node partner", body, "stranger.example is not a partner of this node")

	// Without the confirmation: the warning, with the host kept.
	resp, body = alice.post(path+"/partners", url.Values{"host": {"partner.example"}}, path+"/settings", false)
	want(t, "unconfirmed partner", resp, body, 422)
	has(t, "unconfirmed partner", body, "The administrators of partner.example will be able to read everything their node receives from Joint venture",
		`value="partner.example"`, `data-echo="partner-host">partner.example</strong>`)
	checkPage(t, "unconfirmed partner", body)
	gv, err := n.Groups.Partners(context.Background(), posts.ViewerOf(mustAccount(t, n, "alice")), groupID(t, n, "alice", path))
	if err != nil || len(gv) != 0 {
		t.Fatalf("partners after a refusal: %v %v", gv, err)
	}

	resp, _ = alice.post(path+"/partners", url.Values{"host": {"partner.example"}, "confirm": {"1"}}, path+"/settings", false)
	wantRedirect(t, "confirmed partner", resp, path+"/settings")
	_, body = alice.get(path+"/settings", false)
	has(t, "partner listed", body, "Partner added.", `<th scope="row">partner.example</th>`, `action="`+path+`/partners/remove"`)
	resp, _ = alice.post(path+"/partners/remove", url.Values{"host": {"partner.example"}}, path+"/settings", false)
	wantRedirect(t, "remove partner", resp, path+"/settings")
	_, body = alice.get(path+"/settings", false)
	has(t, "partner removed", body, "Partner removed.", "No partner nodes yet")
}

func mustAccount(t *testing.T, n *nodetest.Node, username string) *accounts.User {
	t.Helper()
	u, err := n.Accounts.ByUsername(context.Background(), username)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func mustUser(t *testing.T, n *nodetest.Node, username string) string {
	t.Helper()
	return mustAccount(t, n, username).ID
}

// uploadCover sends the settings page's cover form: multipart, with the CSRF field.
func (b *browserish) uploadCover(path string, data []byte) (*http.Response, string) {
	b.t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	_ = w.WriteField("csrf", b.CSRF())
	fw, _ := w.CreateFormFile("cover", "cover.png")
	fw.Write(data)
	w.Close()
	req, _ := http.NewRequest("POST", b.n.HTTP.URL+path+"/cover", &buf)
	req.Header.Set("Content-Type", w.FormDataContentType())
	req.Header.Set("Referer", b.n.HTTP.URL+path+"/settings")
	return b.Do(req)
}

var coverRE = regexp.MustCompile(`/media/covers/[a-z0-9]+/[a-z0-9_-]+\.(?:jpg|png)`)

func TestGroupCover(t *testing.T) {
	n := nodetest.Start(t, nodetest.Options{Setup: true})
	alice, bob, carol := person(t, n, "alice"), person(t, n, "bob"), person(t, n, "carol")
	path := alice.createGroup("Design Studio", "", "open", "members")
	bob.post(path+"/join", nil, path, false)
	secret := alice.createGroup("Skunkworks", "", "secret", "members")

	// Without a cover: the group's initials on its colour, in the directory and the settings.
	_, body := bob.get("/groups", false)
	has(t, "directory without covers", body, `class="group-card-cover av-c`, `<span class="group-cover-initials">DS</span>`)
	hasNot(t, "directory without covers", body, "/media/covers/")
	resp, body := alice.get(path+"/settings", false)
	want(t, "settings", resp, body, 200)
	has(t, "cover form", body, `action="`+path+`/cover" enctype="multipart/form-data"`, `name="cover" type="file"`, "Upload cover", "up to 8 MB")
	hasNot(t, "cover form without a cover", body, "Remove cover")
	checkPage(t, "settings with the cover form", body)

	// The admin uploads one: a banner on the group page, its thumbnail on the directory card.
	resp, body = alice.uploadCover(path, pngBytes(900, 600))
	wantRedirect(t, "upload cover", resp, path+"/settings")
	_, body = alice.get(path+"/settings", false)
	has(t, "after upload", body, "Cover saved.", `alt="The current cover of Design Studio"`, "Remove cover", `action="`+path+`/cover/remove"`)
	checkPage(t, "settings with a cover", body)
	_, body = bob.get(path, false)
	banner := coverRE.FindString(body)
	if banner == "" || strings.Contains(banner, "-thumb") {
		t.Fatalf("no banner on the group page:\n%.3000s", body)
	}
	has(t, "group page", body, `has-cover"><img src="`+banner+`"`)
	resp, img := bob.get(banner, false)
	want(t, "banner file", resp, "", 200)
	if cfg, _, err := image.DecodeConfig(strings.NewReader(img)); err != nil || cfg.Width != 900 || cfg.Height != 300 {
		t.Fatalf("banner is %dx%d (%v), want 900x300", cfg.Width, cfg.Height, err)
	}
	thumb := strings.Replace(banner, ".", "-thumb.", 1)
	_, body = bob.get("/groups", false)
	has(t, "directory card", body, `<img src="`+thumb+`"`)
	hasNot(t, "directory card", body, `<span class="group-cover-initials">DS</span>`)
	if resp, _ := bob.get(thumb, false); resp.StatusCode != 200 {
		t.Fatalf("thumbnail: %d", resp.StatusCode)
	}

	// Refusals: a file that is no picture is explained on the form; others may not upload.
	resp, body = alice.uploadCover(path, []byte("%PDF-1.7 a document"))
	want(t, "cover that is no picture", resp, body, 422)
	has(t, "cover that is no picture", body, "Cover: this file is not a picture", `aria-invalid="true"`)
	checkPage(t, "cover error", body)
	resp, body = alice.uploadCover(path, nil)
	want(t, "no file chosen", resp, body, 422)
	has(t, "no file chosen", body, "Cover: choose a picture to upload")
	resp, body = bob.uploadCover(path, pngBytes(300, 100))
	want(t, "member uploads a cover", resp, body, http.StatusForbidden)
	resp, body = bob.uploadCover(path, nil)
	want(t, "member sends an empty cover form", resp, body, http.StatusForbidden)
	hasNot(t, "member sends an empty cover form", body, "Partner nodes")
	resp, body = bob.post(path+"/cover/remove", nil, path+"/settings", false)
	want(t, "member removes the cover", resp, body, http.StatusForbidden)
	resp, body = carol.uploadCover(secret, pngBytes(300, 100))
	want(t, "outsider uploads to a secret group", resp, body, http.StatusNotFound)
	hasNot(t, "outsider uploads to a secret group", body, "Skunkworks")
	_, body = bob.get(path, false)
	if got := coverRE.FindString(body); got != banner {
		t.Fatalf("a refused upload changed the banner to %q", got)
	}

	// Removing it brings the placeholder back and deletes the files.
	resp, _ = alice.post(path+"/cover/remove", nil, path+"/settings", false)
	wantRedirect(t, "remove cover", resp, path+"/settings")
	_, body = bob.get(path, false)
	hasNot(t, "group page after removal", body, "/media/covers/", "has-cover")
	if resp, _ := bob.get(banner, false); resp.StatusCode != 404 {
		t.Fatalf("removed banner still served: %d", resp.StatusCode)
	}
}

// A signed-in person finds a group by its address: one hosted here, or one on a partner
// node, fetched from there; a secret group stays unfound for everyone but its members.
func TestGroupDirectoryFindsByAddress(t *testing.T) {
	acme := nodetest.Start(t, nodetest.Options{Setup: true, Host: "acme.test", Manual: true})
	globex := nodetest.Start(t, nodetest.Options{Setup: true, Host: "globex.test", OrgName: "Globex", Manual: true})
	nodetest.Partner(t, acme, globex)
	bob := person(t, acme, "bob")
	local := bob.createGroup("Bike club", "", "open", "members")
	ctx := context.Background()
	gina := globex.NewUser(t, "gina").User
	open, err := globex.Groups.Create(ctx, gina, groups.NewGroup{DisplayName: "Joint Design", Note: "Both companies"})
	if err != nil {
		t.Fatal(err)
	}
	hidden, err := globex.Groups.Create(ctx, gina, groups.NewGroup{DisplayName: "Due diligence", Visibility: groups.Secret})
	if err != nil {
		t.Fatal(err)
	}

	addr := open.Handle + "@" + globex.Host()
	resp, body := bob.get("/groups?q="+url.QueryEscape("@"+addr), false)
	want(t, "search by address", resp, body, 200)
	has(t, "search by address", body, "Joint Design", `href="/groups/`+addr+`"`, "globex.test")
	hasNot(t, "search by address", body, "No group found", "Bike club")
	checkPage(t, "search by address", body)
	resp, body = bob.get("/groups/"+addr, false)
	want(t, "the remote group's page", resp, body, 200)
	has(t, "the remote group's page", body, "Joint Design", "hosted on globex.test")

	// A group here, by its full address.
	_, body = bob.get("/groups?q="+url.QueryEscape(strings.TrimPrefix(local, "/groups/")+"@"+acme.Host()), false)
	has(t, "local address", body, "Bike club", `href="`+local+`"`)

	for what, q := range map[string]string{
		"secret group":  hidden.Handle + "@" + globex.Host(),
		"no such group": "nosuch@" + globex.Host(),
		"a person":      "gina@" + globex.Host(),
	} {
		resp, body = bob.get("/groups?q="+url.QueryEscape(q), false)
		want(t, what, resp, body, 200)
		has(t, what, body, "No group found at "+q)
		hasNot(t, what, body, "Due diligence", "Joint Design")
	}
	if _, err := acme.Groups.Lookup(ctx, posts.ViewerOf(mustAccount(t, acme, "bob")), hidden.Handle+"@"+globex.Host()); err == nil {
		t.Fatal("the secret group is known on acme after a search")
	}

	// A node that is not a partner: the reason, and what to do.
	_, body = bob.get("/groups?q="+url.QueryEscape("design@initech.test"), false)
	has(t, "not a partner", body, "Could not look up design@initech.test: initech.test is not a partner of this node")
}
