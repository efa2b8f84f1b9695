package web_test

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/posts"
	"github.com/atrium-social/atrium/internal/testutil/nodetest"
)

// These tests run the whole node (nodetest) and drive the social pages through real HTTP,
// as a browser does: plain form posts that redirect, and the same forms sent by the page's
// script (X-Requested-With: fetch) that answer with the re-rendered card.

const memberPassword = "long password 123"

type browserish struct {
	t *testing.T
	n *nodetest.Node
	*nodetest.Client
}

// person creates a member (or, for "admin", uses the set-up admin) signed in through the form.
func person(t *testing.T, n *nodetest.Node, username string) *browserish {
	t.Helper()
	c := n.Client(t)
	if username == "admin" {
		c.Login("admin", nodetest.AdminPassword)
	} else {
		n.NewUser(t, username)
		c.Login(username, memberPassword)
	}
	return &browserish{t: t, n: n, Client: c}
}

// post sends a form as the page would: with the CSRF field, from the page at referer, and
// through the script when fetch is set.
func (b *browserish) post(path string, form url.Values, referer string, fetch bool) (*http.Response, string) {
	b.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if form.Get("csrf") == "" {
		form.Set("csrf", b.CSRF())
	}
	req, _ := http.NewRequest("POST", b.n.HTTP.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if referer != "" {
		req.Header.Set("Referer", b.n.HTTP.URL+referer)
	}
	if fetch {
		req.Header.Set("X-Requested-With", "fetch")
	}
	return b.Do(req)
}

type file struct {
	name string
	data []byte
}

// compose posts the composer as multipart, with files.
func (b *browserish) compose(fields url.Values, files []file, fetch bool) (*http.Response, string) {
	b.t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	_ = w.WriteField("csrf", b.CSRF())
	for k, vs := range fields {
		for _, v := range vs {
			_ = w.WriteField(k, v)
		}
	}
	for _, f := range files {
		fw, _ := w.CreateFormFile("files", f.name)
		fw.Write(f.data)
	}
	if len(files) == 0 { // an empty file input, as browsers send it
		fw, _ := w.CreateFormFile("files", "")
		fw.Write(nil)
	}
	w.Close()
	req, _ := http.NewRequest("POST", b.n.HTTP.URL+"/posts", &buf)
	req.Header.Set("Content-Type", w.FormDataContentType())
	req.Header.Set("Referer", b.n.HTTP.URL+"/")
	if fetch {
		req.Header.Set("X-Requested-With", "fetch")
	}
	return b.Do(req)
}

func (b *browserish) get(path string, fetch bool) (*http.Response, string) {
	b.t.Helper()
	if fetch {
		return b.Get(path, "X-Requested-With", "fetch")
	}
	return b.Get(path)
}

func want(t *testing.T, what string, resp *http.Response, body string, status int) {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("%s: status %d, want %d\n%.3000s", what, resp.StatusCode, status, body)
	}
}

func wantRedirect(t *testing.T, what string, resp *http.Response, to string) {
	t.Helper()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("%s: status %d, want 303 to %s", what, resp.StatusCode, to)
	}
	if got := resp.Header.Get("Location"); got != to {
		t.Fatalf("%s: redirect to %q, want %q", what, got, to)
	}
}

func has(t *testing.T, what, body string, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(body, p) {
			t.Fatalf("%s: lacks %q\n%.4000s", what, p, body)
		}
	}
}

func hasNot(t *testing.T, what, body string, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if strings.Contains(body, p) {
			t.Fatalf("%s: should not contain %q\n%.4000s", what, p, body)
		}
	}
}

var cardRE = regexp.MustCompile(`data-card="([0-9A-Z]+)"`)

// cardID reads the id of the (first) card in a fragment or page.
func cardID(t *testing.T, body string) string {
	t.Helper()
	m := cardRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no card in:\n%.3000s", body)
	}
	return m[1]
}

// checkPage catches what the CSP or html/template would break: inline code, refused values
// and POST forms without the CSRF field.
func checkPage(t *testing.T, p, body string) {
	t.Helper()
	inline := regexp.MustCompile(`<script>|<script [^>]*>[^<]|<style|\sstyle=|\son[a-z]+=`)
	if loc := inline.FindStringIndex(body); loc != nil {
		t.Fatalf("%s has inline code: %q", p, body[loc[0]:min(loc[1]+40, len(body))])
	}
	if strings.Contains(body, "ZgotmplZ") {
		t.Fatalf("%s: html/template refused a value (ZgotmplZ)", p)
	}
	for _, form := range regexp.MustCompile(`(?s)<form[^>]*method="post".*?</form>`).FindAllString(body, -1) {
		if !regexp.MustCompile(`name="csrf" value="[^"]+"`).MatchString(form) {
			t.Fatalf("%s: a POST form without the CSRF field:\n%s", p, form)
		}
	}
}

func pngBytes(w, h int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), 90, 255})
		}
	}
	var b bytes.Buffer
	_ = png.Encode(&b, img)
	return b.Bytes()
}

func TestComposeAudienceAndAttachments(t *testing.T) {
	n := nodetest.Start(t, nodetest.Options{Setup: true})
	alice, bob, carol := person(t, n, "alice"), person(t, n, "bob"), person(t, n, "carol")

	// Without script: a plain multipart post, redirected back to the feed, where it shows.
	resp, body := alice.compose(url.Values{"status": {"Hello **team** #Launch"}, "visibility": {"company"}}, nil, false)
	wantRedirect(t, "compose", resp, "/")
	_, home := alice.get("/", false)
	has(t, "home after posting", home, "Posted.", "Hello <strong>team</strong>", `/tags/launch"`, "Company", `data-feed`)
	checkPage(t, "/", home)

	// With script: the new card comes back (201) to be put at the top of the feed.
	resp, body = alice.compose(url.Values{"status": {"Only for @bob"}, "visibility": {"direct"}, "recipients": {"bob"}}, nil, true)
	want(t, "compose via fetch", resp, body, http.StatusCreated)
	has(t, "new card", body, `<article class="card post`, "Only for", "Chosen people")
	hasNot(t, "new card", body, "<html")
	direct := cardID(t, body)
	// The audience is kept: bob sees the post, carol gets the same 404 as for a missing one.
	resp, body = bob.get("/posts/"+direct, false)
	want(t, "recipient reads direct post", resp, body, 200)
	has(t, "recipient", body, "Only for", "Chosen people")
	resp, body = carol.get("/posts/"+direct, false)
	want(t, "hidden post", resp, body, http.StatusNotFound)
	has(t, "hidden post", body, "Page not found")
	if _, cbody := carol.get("/posts/"+direct+"/card", true); strings.Contains(cbody, "Only for") {
		t.Fatal("the card endpoint leaked a hidden post")
	}

	// An image and a document: the card shows the thumbnail (linking to the full picture)
	// and a file chip with name and size.
	resp, body = alice.compose(url.Values{"status": {"Site photos"}}, []file{{"site.png", pngBytes(640, 480)},
		{"notes.txt", []byte("minutes of the site meeting\n")}}, true)
	want(t, "compose with files", resp, body, http.StatusCreated)
	has(t, "attachments", body, `class="images n1"`, `<img src="/media/attachments/`, "notes.txt", `class="file-chip"`, "B</span>")
	img := regexp.MustCompile(`<a class="image" href="(/media/attachments/[^"]+)"><img src="(/media/attachments/[^"]+)"`).FindStringSubmatch(body)
	if img == nil || img[1] == img[2] {
		t.Fatalf("image link and thumbnail: %v", img)
	}
	for _, u := range img[1:] {
		resp, _ := bob.get(u, false)
		want(t, "attachment file "+u, resp, "", 200)
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "image/") {
			t.Fatalf("%s content type %q", u, ct)
		}
	}

	// Failures keep what was typed: inline in the composer without script, as a message
	// naming the field for the script.
	resp, body = alice.compose(url.Values{"status": {"Draft about the offsite"}, "visibility": {"direct"}}, nil, false)
	want(t, "direct without people", resp, body, 422)
	has(t, "direct without people", body, "People: name at least one person", "Draft about the offsite",
		`<option value="direct" selected>`, `aria-invalid="true"`)
	checkPage(t, "compose error", body)
	resp, body = alice.compose(url.Values{"status": {"Look at this"}}, []file{{"tool.exe", []byte("MZ\x90\x00 not really a program")}}, false)
	want(t, "unsupported file", resp, body, 422)
	has(t, "unsupported file", body, "tool.exe", "Look at this")
	resp, body = alice.compose(url.Values{"status": {""}}, nil, true)
	want(t, "empty post via fetch", resp, body, 422)
	has(t, "empty post via fetch", body, `role="alert"`, "write something")
	if resp.Header.Get("X-Error-Field") != "status" {
		t.Fatalf("X-Error-Field %q", resp.Header.Get("X-Error-Field"))
	}
	hasNot(t, "empty post via fetch", body, "<html")
	// Only administrators post announcements.
	resp, body = alice.compose(url.Values{"status": {"Important!"}, "important": {"1"}}, nil, true)
	want(t, "member announcement", resp, body, http.StatusForbidden)
}

func TestReactCommentShareBookmark(t *testing.T) {
	n := nodetest.Start(t, nodetest.Options{Setup: true})
	alice, bob := person(t, n, "alice"), person(t, n, "bob")
	_, body := alice.compose(url.Values{"status": {"Lunch at noon?"}}, nil, true)
	id := cardID(t, body)

	// React without script: back to the page it came from.
	resp, _ := bob.post("/posts/"+id+"/react", url.Values{"emoji": {"🎉"}}, "/company", false)
	wantRedirect(t, "react", resp, "/company")
	_, page := bob.get("/company", false)
	has(t, "reacted", page, `aria-pressed="true" data-k="like"`, "Celebrate", `href="/posts/`+id+`/reactions"`)
	checkPage(t, "/company", page)
	// Unreact with script: the card comes back, not pressed.
	resp, body = bob.post("/posts/"+id+"/unreact", url.Values{"card": {id}}, "/company", true)
	want(t, "unreact", resp, body, 200)
	has(t, "unreacted card", body, `aria-pressed="false" data-k="like"`, `data-card="`+id+`"`)
	resp, body = bob.post("/posts/"+id+"/react", url.Values{"card": {id}, "emoji": {"👍"}}, "/", true)
	want(t, "like", resp, body, 200)
	has(t, "liked card", body, `aria-pressed="true" data-k="like"`)
	resp, body = bob.post("/posts/"+id+"/react", url.Values{"emoji": {"🦄"}}, "/", true)
	want(t, "unknown reaction", resp, body, 422)
	_, page = alice.get("/posts/"+id+"/reactions", false)
	has(t, "who reacted", page, "Like", `href="/people/bob"`)
	checkPage(t, "reactions", page)

	// Comments: a comment, a reply to it and a reply to the reply, shown in two levels.
	resp, body = bob.post("/posts/"+id+"/comment", url.Values{"status": {"Count me in"}, "card": {id}}, "/", true)
	want(t, "comment", resp, body, 200)
	has(t, "comment in card", body, "Count me in", "1 comment")
	c1 := regexp.MustCompile(`data-comment="([0-9A-Z]+)"`).FindStringSubmatch(body)[1]
	resp, body = alice.post("/posts/"+id+"/comment", url.Values{"status": {"Great"}, "in_reply_to": {c1}, "card": {id}}, "/", true)
	want(t, "reply", resp, body, 200)
	has(t, "reply drawn one level in", body, `class="comment reply"`, "Great")
	c2 := regexp.MustCompile(`class="comment reply" id="c-([0-9A-Z]+)"`).FindStringSubmatch(body)[1]
	resp, _ = bob.post("/posts/"+id+"/comment", url.Values{"status": {"Table for two then"}, "in_reply_to": {c2}}, "/posts/"+id, false)
	wantRedirect(t, "reply without script", resp, "/posts/"+id)
	_, page = bob.get("/posts/"+id, false)
	has(t, "thread", page, "Table for two then", "replying to <a href=\"/people/alice\">@alice</a>", "3 comments")
	checkPage(t, "permalink", page)
	// An empty comment without script: the permalink again, with the message.
	resp, page = bob.post("/posts/"+id+"/comment", url.Values{"status": {"  "}}, "/posts/"+id, false)
	want(t, "empty comment", resp, page, 422)
	has(t, "empty comment", page, "write something")
	// More than three comments: the feed card folds the older ones away.
	bob.post("/posts/"+id+"/comment", url.Values{"status": {"One more thing"}}, "/", true)
	_, page = alice.get("/", false)
	has(t, "folded comments", page, "View 1 more comment", `data-expand="/posts/`+id+`/card?full=1"`)
	_, full := alice.get("/posts/"+id+"/card?full=1", true)
	has(t, "full thread", full, "Count me in", "One more thing", "data-full")
	// A comment's permalink shows the thread with the comment marked and answered.
	_, page = alice.get("/posts/"+c1, false)
	has(t, "comment permalink", page, `class="comment highlight"`, `name="in_reply_to" value="`+c1+`"`)

	// Share: company posts can be shared; the card says so.
	resp, body = bob.post("/posts/"+id+"/share", url.Values{"card": {id}}, "/", true)
	want(t, "share", resp, body, 200)
	has(t, "shared", body, `aria-pressed="true" data-k="share"`, "Shared")
	_, page = bob.get("/people/bob", false)
	has(t, "share on profile", page, ">bob</a> shared this", "Lunch at noon?")
	resp, body = bob.post("/posts/"+id+"/unshare", url.Values{"card": {id}}, "/", true)
	want(t, "unshare", resp, body, 200)
	has(t, "unshared", body, `aria-pressed="false" data-k="share"`)

	// Bookmarks.
	resp, _ = bob.post("/posts/"+id+"/bookmark", nil, "/", false)
	wantRedirect(t, "bookmark", resp, "/")
	_, page = bob.get("/bookmarks", false)
	has(t, "bookmarks", page, "Lunch at noon?", `aria-pressed="true" data-k="bookmark"`)
	checkPage(t, "/bookmarks", page)
	bob.post("/posts/"+id+"/unbookmark", nil, "/bookmarks", false)
	_, page = bob.get("/bookmarks", false)
	hasNot(t, "unbookmarked", page, "Lunch at noon?")
}

func TestEditHistoryAndDelete(t *testing.T) {
	n := nodetest.Start(t, nodetest.Options{Setup: true})
	alice, bob := person(t, n, "alice"), person(t, n, "bob")
	admin := person(t, n, "admin")
	_, body := alice.compose(url.Values{"status": {"Meeting at 10"}}, nil, true)
	id := cardID(t, body)

	resp, page := alice.get("/posts/"+id+"/edit", false)
	want(t, "edit page", resp, page, 200)
	has(t, "edit page", page, ">Meeting at 10</textarea>")
	checkPage(t, "edit", page)
	resp, frag := alice.get("/posts/"+id+"/edit?card="+id, true)
	want(t, "edit form fragment", resp, frag, 200)
	has(t, "edit form fragment", frag, `class="form edit-form"`, `name="card" value="`+id+`"`)
	hasNot(t, "edit form fragment", frag, "<html")
	resp, _ = alice.post("/posts/"+id+"/edit", url.Values{"status": {"Meeting at 11"}}, "/posts/"+id+"/edit", false)
	wantRedirect(t, "edit", resp, "/posts/"+id)
	resp, body = alice.post("/posts/"+id+"/edit", url.Values{"status": {"Meeting at **11:30**"}, "card": {id}}, "/", true)
	want(t, "edit via fetch", resp, body, 200)
	has(t, "edited card", body, "<strong>11:30</strong>", `href="/posts/`+id+`/history"`, "Edited")
	_, page = bob.get("/posts/"+id+"/history", false)
	has(t, "history", page, "Meeting at 10", "Meeting at 11", "<strong>11:30</strong>", "Original", "Current version")
	checkPage(t, "history", page)

	// Others may neither edit nor delete.
	resp, page = bob.get("/posts/"+id+"/edit", false)
	want(t, "edit by another", resp, page, http.StatusForbidden)
	resp, page = bob.post("/posts/"+id+"/edit", url.Values{"status": {"hijacked"}}, "/", false)
	want(t, "edit post by another", resp, page, http.StatusForbidden)
	resp, page = bob.post("/posts/"+id+"/delete", nil, "/", false)
	want(t, "delete by another", resp, page, http.StatusForbidden)
	has(t, "delete by another", page, "Not allowed")
	resp, body = bob.post("/posts/"+id+"/delete", url.Values{"card": {id}}, "/", true)
	want(t, "delete by another via fetch", resp, body, http.StatusForbidden)
	has(t, "delete refused", body, `role="alert"`, "Only the author, a moderator of the group or an administrator")

	// The author deletes from the permalink: back to the home page, the post gone.
	resp, _ = alice.post("/posts/"+id+"/delete", nil, "/posts/"+id, false)
	wantRedirect(t, "delete", resp, "/")
	resp, _ = bob.get("/posts/"+id, false)
	want(t, "deleted post", resp, "", http.StatusNotFound)

	// An admin may delete anyone's post; through the script the card answers empty.
	_, body = alice.compose(url.Values{"status": {"Spam spam spam"}}, nil, true)
	id2 := cardID(t, body)
	resp, body = admin.post("/posts/"+id2+"/delete", url.Values{"card": {id2}}, "/", true)
	want(t, "admin delete", resp, body, 200)
	if strings.TrimSpace(body) != "" {
		t.Fatalf("a deleted card should answer empty, got %q", body)
	}
}

func TestAnnouncementsAndReceipts(t *testing.T) {
	n := nodetest.Start(t, nodetest.Options{Setup: true})
	admin := person(t, n, "admin")
	bob, carol := person(t, n, "bob"), person(t, n, "carol")

	_, home := admin.get("/", false)
	has(t, "admin composer", home, `name="important"`, `name="important_until"`)
	_, home = bob.get("/", false)
	hasNot(t, "member composer", home, `name="important"`)

	resp, body := admin.compose(url.Values{"status": {"New **expense** policy from Monday"}, "important": {"1"},
		"important_until": {"2099-12-31"}}, nil, true)
	want(t, "announcement", resp, body, http.StatusCreated)
	has(t, "announcement card", body, "Announcement · pinned until 31 Dec 2099", `href="/posts/`+cardID(t, body)+`/receipts"`)
	id := cardID(t, body)

	_, home = bob.get("/", false)
	has(t, "pinned", home, `class="announcements"`, "card post important pinned", `action="/posts/`+id+`/read"`, "data-remove", "Mark as read")
	hasNot(t, "reader sees no receipts link", home, "/receipts")
	checkPage(t, "home with announcement", home)
	resp, body = bob.post("/posts/"+id+"/read", url.Values{"card": {id}, "pinned": {"1"}}, "/", true)
	want(t, "mark read", resp, body, 200)
	hasNot(t, "read card", body, "Mark as read")
	_, home = bob.get("/", false)
	hasNot(t, "no longer pinned", home, `class="announcements"`)
	// Without script too.
	resp, _ = carol.post("/posts/"+id+"/read", nil, "/", false)
	wantRedirect(t, "mark read without script", resp, "/")

	resp, page := bob.get("/posts/"+id+"/receipts", false)
	want(t, "receipts for a reader", resp, page, http.StatusForbidden)
	resp, page = admin.get("/posts/"+id+"/receipts", false)
	want(t, "receipts", resp, page, 200)
	has(t, "receipts", page, "Read (2)", "Not read yet (1)", `href="/people/bob"`, `href="/people/carol"`, "<svg class=\"chart\"",
		"<polyline class=\"line\" points=\"", "66%", "2 of 3 people had read it")
	checkPage(t, "receipts", page)
	// Marking a post that is not an announcement is refused.
	_, body = bob.compose(url.Values{"status": {"ordinary"}}, nil, true)
	resp, _ = bob.post("/posts/"+cardID(t, body)+"/read", nil, "/", true)
	want(t, "read an ordinary post", resp, "", 422)
}

func TestNotificationsTagsCompanyAndFollow(t *testing.T) {
	n := nodetest.Start(t, nodetest.Options{Setup: true})
	alice, bob, carol := person(t, n, "alice"), person(t, n, "bob"), person(t, n, "carol")
	ctx := context.Background()

	_, body := alice.compose(url.Values{"status": {"Thanks @bob for the #Release notes"}}, nil, true)
	id := cardID(t, body)
	_, home := bob.get("/", false)
	has(t, "badge", home, `data-badge><span data-badge-n>1</span>`)
	resp, page := bob.get("/notifications", false)
	want(t, "notifications", resp, page, 200)
	has(t, "notifications", page, "mentioned you", "Thanks @bob for the #Release notes", `href="/posts/`+id+`"`, `class="notif unread"`, "kind-mention")
	checkPage(t, "/notifications", page)
	if got, _ := n.Notify.Unread(ctx, bob.user(ctx).ID); got != 0 {
		t.Fatalf("visiting the page left %d unread", got)
	}
	_, page = bob.get("/notifications", false)
	hasNot(t, "read on second visit", page, `class="notif unread"`, `data-badge><span`)

	// Tags and the company timeline; followers-only posts stay off the company timeline.
	alice.compose(url.Values{"status": {"Only my followers"}, "visibility": {"followers"}}, nil, false)
	resp, page = carol.get("/tags/release", false)
	want(t, "tag", resp, page, 200)
	has(t, "tag", page, "#release", "Release</span></a> notes")
	checkPage(t, "/tags/release", page)
	resp, page = carol.get("/company", false)
	want(t, "company", resp, page, 200)
	has(t, "company", page, "Release</span></a> notes")
	hasNot(t, "company", page, "Only my followers")

	// Follow from the profile: the script gets the new follow box; the followee's followers
	// posts then reach the follower.
	_, page = carol.get("/people/alice", false)
	has(t, "profile", page, `action="/people/alice/follow"`, "<strong>0</strong> followers", "Release</span></a> notes")
	hasNot(t, "profile before follow", page, "Only my followers")
	checkPage(t, "/people/alice", page)
	resp, body = carol.post("/people/alice/follow", nil, "/people/alice", true)
	want(t, "follow", resp, body, 200)
	has(t, "follow box", body, `id="follow-box"`, "Following", `aria-pressed="true"`, "<strong>1</strong> follower")
	_, page = carol.get("/people/alice", false)
	has(t, "profile after follow", page, "Only my followers")
	_, home = carol.get("/", false)
	has(t, "home feed after follow", home, "Only my followers")
	resp, _ = carol.post("/people/alice/unfollow", nil, "/people/alice", false)
	wantRedirect(t, "unfollow", resp, "/people/alice")
	if f, _, _ := n.Follows.Counts(ctx, alice.user(ctx).ID); f != 0 {
		t.Fatalf("followers after unfollow: %d", f)
	}
}

func TestFeedPagesAndFragments(t *testing.T) {
	n := nodetest.Start(t, nodetest.Options{Setup: true})
	alice := person(t, n, "alice")
	ctx := context.Background()
	u := alice.user(ctx)
	for i := range 25 {
		if _, err := n.Posts.Create(ctx, u, posts.NewPost{Text: "Post number " + string(rune('A'+i))}); err != nil {
			t.Fatal(err)
		}
	}
	_, home := alice.get("/", false)
	if got := strings.Count(home, `<article class="card post`); got != 20 {
		t.Fatalf("first page has %d cards, want 20", got)
	}
	more := regexp.MustCompile(`href="(/\?max_id=[0-9A-Z]+)" data-more="(/feed/more\?[^"]+)"`).FindStringSubmatch(home)
	if more == nil {
		t.Fatalf("no load-more link:\n%s", home)
	}
	frag := strings.ReplaceAll(more[2], "&amp;", "&")
	resp, body := alice.get(frag, true)
	want(t, "more", resp, body, 200)
	if got := strings.Count(body, `<article class="card post`); got != 5 {
		t.Fatalf("second page has %d cards, want 5", got)
	}
	has(t, "more", body, "Post number A")
	hasNot(t, "more", body, "<html", "data-more=")
	_, page := alice.get(strings.ReplaceAll(more[1], "&amp;", "&"), false)
	has(t, "older page without script", page, "Post number A")
	resp, _ = alice.get("/feed/more?feed=nonsense", true)
	want(t, "unknown feed", resp, "", 404)

	// CSRF: the new forms refuse a post without the token.
	id := cardID(t, home)
	for _, p := range []string{"/posts", "/posts/" + id + "/react", "/posts/" + id + "/comment", "/posts/" + id + "/delete",
		"/posts/" + id + "/bookmark", "/posts/" + id + "/share", "/posts/" + id + "/edit", "/posts/" + id + "/read", "/people/admin/follow"} {
		req, _ := http.NewRequest("POST", n.HTTP.URL+p, strings.NewReader("status=x&emoji=%F0%9F%91%8D"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Requested-With", "fetch")
		resp, body := alice.Do(req)
		want(t, "no CSRF token: "+p, resp, body, http.StatusForbidden)
	}
	if p, _ := n.Posts.Get(ctx, posts.ViewerOf(u), id); p.ReactionsCount != 0 {
		t.Fatal("a forged form reacted")
	}
	// Signed-out visitors are sent to sign in.
	resp, _ = n.Client(t).Get("/posts/" + id)
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
		t.Fatalf("anonymous permalink: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// user is the signed-in person's account.
func (b *browserish) user(ctx context.Context) *accounts.User {
	b.t.Helper()
	_, page := b.get("/settings/profile", false)
	m := regexp.MustCompile(`<meta name="atrium-user" content="([0-9A-Z]+)">`).FindStringSubmatch(page)
	if m == nil {
		b.t.Fatal("no user id in the page")
	}
	u, err := b.n.Accounts.Get(ctx, m[1])
	if err != nil {
		b.t.Fatal(err)
	}
	return u
}

// The bell and followed hashtags from the pages: following someone offers "Notify me", which
// makes each of their new posts a notification; a hashtag's page follows the tag, and new
// posts with it then reach the home feed.
func TestBellAndFollowedHashtagPages(t *testing.T) {
	n := nodetest.Start(t, nodetest.Options{Setup: true})
	alice, carol := person(t, n, "alice"), person(t, n, "carol")

	_, page := carol.get("/people/alice", false)
	hasNot(t, "profile before follow", page, `action="/people/alice/notify"`)
	carol.post("/people/alice/follow", nil, "/people/alice", true)
	resp, body := carol.post("/people/alice/notify", url.Values{"on": {"1"}}, "/people/alice", true)
	want(t, "bell", resp, body, 200)
	has(t, "follow box with the bell on", body, `action="/people/alice/notify"`, "Notifying you", `name="on" value="0"`)
	alice.compose(url.Values{"status": {"Roadmap review at noon"}}, nil, false)
	_, page = carol.get("/notifications", false)
	has(t, "bell notification", page, "posted (you asked to be told of their posts)", "Roadmap review at noon")
	checkPage(t, "/notifications", page)
	resp, body = carol.post("/people/alice/notify", url.Values{"on": {"0"}}, "/people/alice", true)
	want(t, "bell off", resp, body, 200)
	has(t, "follow box with the bell off", body, "Notify me", `name="on" value="1"`)

	// Followed hashtag: the page's button, then a tagged post by someone carol does not follow.
	bob := person(t, n, "bob")
	_, page = carol.get("/tags/offsite", false)
	has(t, "tag page", page, `action="/tags/offsite/follow"`, "Follow #offsite")
	checkPage(t, "/tags/offsite", page)
	resp, _ = carol.post("/tags/offsite/follow", nil, "/tags/offsite", false)
	wantRedirect(t, "follow tag", resp, "/tags/offsite")
	_, page = carol.get("/tags/offsite", false)
	has(t, "tag page after follow", page, `action="/tags/offsite/unfollow"`, "Following #offsite")
	bob.compose(url.Values{"status": {"Planning the #offsite"}}, nil, false)
	_, home := carol.get("/", false)
	has(t, "home feed with the followed tag", home, "Planning the")
	resp, _ = carol.post("/tags/offsite/unfollow", nil, "/tags/offsite", false)
	wantRedirect(t, "unfollow tag", resp, "/tags/offsite")
}
