package fedtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/atrium-social/atrium/federation/activity"
	"github.com/atrium-social/atrium/internal/posts"
	"github.com/atrium-social/atrium/internal/testutil/nodetest"
)

// These tests deliver several activities (each answered 202) before a single Settle of the
// receiving node, so that the inbox job applies them in one batch (federation/inbox/batch.go):
// new notes are held and stored together, held notes are stored before any other activity
// and before a reply is read, and a failed shared transaction falls back to one note at a
// time. Settle runs one batch call at a time, up to 32 jobs each, in delivery order.

// remoteSender crafts and delivers activities as a person on globex, signed with their key.
type remoteSender struct {
	t              *testing.T
	to, from       *nodetest.Node
	userID         string
	actor, base    string
	key, followers string
	seq            int
}

func newRemoteSender(t *testing.T, to, from *nodetest.Node, userID, username string) *remoteSender {
	base := from.URL(t.Context())
	actor := base + "/users/" + username
	return &remoteSender{t: t, to: to, from: from, userID: userID, actor: actor, base: base, key: actor + "#main-key",
		followers: actor + "/followers"}
}

// noteURI names a note of the sender's (same origin as the actor).
func (s *remoteSender) noteURI(name string) string { return s.actor + "/statuses/batch-" + name }

// note is a public note by the sender; extra fields override or add to it.
func (s *remoteSender) note(id, content string, extra map[string]any) map[string]any {
	n := map[string]any{
		"id": id, "type": "Note", "attributedTo": s.actor, "content": "<p>" + content + "</p>",
		"published": time.Now().UTC().Format(time.RFC3339),
		"to":        []string{activity.Public}, "cc": []string{s.followers},
	}
	for k, v := range extra {
		n[k] = v
	}
	return n
}

// activity wraps object in an activity of kind with a fresh id of the sender's.
func (s *remoteSender) activity(kind string, object any) map[string]any {
	s.seq++
	return map[string]any{
		"@context": "https://www.w3.org/ns/activitystreams",
		"id":       fmt.Sprintf("%s#batch/%s/%d/%d", s.actor, strings.ToLower(kind), s.seq, time.Now().UnixNano()),
		"type":     kind, "actor": s.actor, "object": object,
		"to": []string{activity.Public},
	}
}

// send delivers doc to the receiving node's shared inbox and requires a 202.
func (s *remoteSender) send(doc map[string]any) {
	s.t.Helper()
	body, err := json.Marshal(doc)
	if err != nil {
		s.t.Fatal(err)
	}
	if got := signedPost(s.t, s.to, s.from, s.userID, s.key, body, nil); got != http.StatusAccepted {
		s.t.Fatalf("delivery of %s %v: status %d, want 202", doc["type"], doc["id"], got)
	}
}

// inboxRow is an inbox_activities row as the tests read it.
type inboxRow struct {
	ActivityURI string     `bun:"activity_uri"`
	Kind        string     `bun:"kind"`
	ProcessedAt *time.Time `bun:"processed_at"`
	Outcome     string     `bun:"outcome"`
}

func inboxRows(t *testing.T, n *nodetest.Node) map[string]inboxRow {
	t.Helper()
	var rows []inboxRow
	if err := n.DB.NewSelect().Table("inbox_activities").Column("activity_uri", "kind", "processed_at", "outcome").
		Scan(t.Context(), &rows); err != nil {
		t.Fatal(err)
	}
	out := make(map[string]inboxRow, len(rows))
	for _, r := range rows {
		out[r.ActivityURI] = r
	}
	return out
}

// requireAllApplied checks that every stored activity has been processed and applied.
func requireAllApplied(t *testing.T, n *nodetest.Node) {
	t.Helper()
	for uri, r := range inboxRows(t, n) {
		if r.ProcessedAt == nil || r.Outcome != "applied" {
			t.Errorf("%s %s: processed_at %v, outcome %q; want processed and applied", r.Kind, uri, r.ProcessedAt, r.Outcome)
		}
	}
}

// postRows counts the posts (deleted ones included) with the given URI.
func postRows(t *testing.T, n *nodetest.Node, uri string) int {
	t.Helper()
	c, err := n.DB.NewSelect().Table("posts").Where("uri = ?", uri).Count(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return int(c)
}

// localStatus reads a post through the Mastodon API as api, by the post's URI.
func localStatus(t *testing.T, n *nodetest.Node, api *nodetest.API, uri string) (status, int) {
	t.Helper()
	p, err := n.Posts.ByURI(t.Context(), uri)
	if err != nil {
		t.Fatalf("post %s on %s: %v", uri, n.Host(), err)
	}
	var st status
	resp := api.Call("GET", "/api/v1/statuses/"+p.ID, nil, &st)
	return st, resp.StatusCode
}

// homeURIs pages through api's whole home feed and counts each post's URI.
func homeURIs(t *testing.T, api *nodetest.API) map[string]int {
	t.Helper()
	out := map[string]int{}
	maxID := ""
	for page := 0; page < 50; page++ {
		var sts []status
		path := "/api/v1/timelines/home?limit=40"
		if maxID != "" {
			path += "&max_id=" + maxID
		}
		if resp := api.Call("GET", path, nil, &sts); resp.StatusCode != http.StatusOK {
			t.Fatalf("home: status %d", resp.StatusCode)
		}
		if len(sts) == 0 {
			return out
		}
		for _, s := range sts {
			out[s.URI]++
		}
		maxID = sts[len(sts)-1].ID
	}
	t.Fatal("home: more than 50 pages")
	return nil
}

// TestBatchAppliesMixedActivitiesInOrder: a new note, a reply to it, a Like, an Update of the
// new note and a Delete of an older one, all in one batch, are applied in delivery order; so
// are an Update and a Delete that follow their note's Create in the same batch.
func TestBatchAppliesMixedActivitiesInOrder(t *testing.T) {
	acme, globex := pair(t)
	nodes := []*nodetest.Node{acme, globex}
	alice := acme.NewUser(t, "alice")
	bob := globex.NewUser(t, "bob")
	befriend(t, nodes, alice, "@bob@"+globex.Host())
	s := newRemoteSender(t, acme, globex, bob.User.ID, "bob")

	// An earlier note, in a batch of its own, and a post of alice's for bob to like.
	old := s.note(s.noteURI("old"), "An older note", nil)
	s.send(s.activity("Create", old))
	liked := post(t, alice, map[string]any{"status": "Quarterly numbers are out", "visibility": "public"})
	nodetest.Settle(t, acme)
	if st, code := localStatus(t, acme, alice, s.noteURI("old")); code != http.StatusOK || !strings.Contains(st.Content, "older") {
		t.Fatalf("the earlier note on acme: %d %+v", code, st)
	}

	// One batch: Create, its reply, a Like, an Update of the first note, a Delete of the old one.
	first := s.note(s.noteURI("first"), "First take", nil)
	reply := s.note(s.noteURI("reply"), "Replying to myself", map[string]any{"inReplyTo": s.noteURI("first")})
	edited := s.note(s.noteURI("first"), "First take, edited", map[string]any{"updated": time.Now().UTC().Format(time.RFC3339)})
	s.send(s.activity("Create", first))
	s.send(s.activity("Create", reply))
	s.send(s.activity("Like", liked.URI))
	s.send(s.activity("Update", edited))
	s.send(s.activity("Delete", map[string]any{"id": s.noteURI("old"), "type": "Tombstone"}))
	// Activities about notes still held in the batch: the notes must be stored first.
	s.send(s.activity("Create", s.note(s.noteURI("second"), "Second take", nil)))
	s.send(s.activity("Update", s.note(s.noteURI("second"), "Second take, edited", nil)))
	s.send(s.activity("Create", s.note(s.noteURI("regret"), "Regrettable", nil)))
	s.send(s.activity("Delete", s.noteURI("regret")))
	if n := storedActivities(t, acme); n < 10 {
		t.Fatalf("%d activities stored before processing", n)
	}
	nodetest.Settle(t, acme)

	requireAllApplied(t, acme)
	firstSt, code := localStatus(t, acme, alice, s.noteURI("first"))
	if code != http.StatusOK {
		t.Fatalf("the first note answers %d on acme", code)
	}
	if !strings.Contains(firstSt.Content, "edited") {
		t.Errorf("the Update was not applied: %q", firstSt.Content)
	}
	if firstSt.Replies != 1 {
		t.Errorf("the first note has replies_count %d, want 1", firstSt.Replies)
	}
	replySt, code := localStatus(t, acme, alice, s.noteURI("reply"))
	if code != http.StatusOK || replySt.InReplyTo == nil || *replySt.InReplyTo != firstSt.ID {
		t.Errorf("the reply on acme (%d) is not threaded under %s: in_reply_to_id %v", code, firstSt.ID, replySt.InReplyTo)
	}
	var thread struct {
		Descendants []status `json:"descendants"`
	}
	alice.Call("GET", "/api/v1/statuses/"+firstSt.ID+"/context", nil, &thread)
	if len(thread.Descendants) != 1 || thread.Descendants[0].URI != s.noteURI("reply") {
		t.Errorf("thread of the first note: %+v", thread.Descendants)
	}
	var likedNow status
	alice.Call("GET", "/api/v1/statuses/"+liked.ID, nil, &likedNow)
	if likedNow.Favourites != 1 {
		t.Errorf("alice's post has %d likes, want 1", likedNow.Favourites)
	}
	if _, code := localStatus(t, acme, alice, s.noteURI("old")); code != http.StatusNotFound {
		t.Errorf("the deleted note answers %d on acme, want 404", code)
	}
	if st, code := localStatus(t, acme, alice, s.noteURI("second")); code != http.StatusOK || !strings.Contains(st.Content, "edited") {
		t.Errorf("the Update of a note held in the same batch was lost: %d %q", code, st.Content)
	}
	if _, code := localStatus(t, acme, alice, s.noteURI("regret")); code != http.StatusNotFound {
		t.Errorf("a note deleted in the same batch as its Create answers %d on acme, want 404", code)
	}
	for _, uri := range []string{s.noteURI("first"), s.noteURI("reply"), s.noteURI("old"), s.noteURI("second"), s.noteURI("regret")} {
		if n := postRows(t, acme, uri); n != 1 {
			t.Errorf("%d rows for %s, want 1", n, uri)
		}
	}
	feed := homeURIs(t, alice)
	if feed[s.noteURI("first")] != 1 || feed[s.noteURI("second")] != 1 || feed[s.noteURI("old")] != 0 ||
		feed[s.noteURI("reply")] != 0 || feed[s.noteURI("regret")] != 0 {
		t.Errorf("alice's home feed: %v", feed)
	}
}

// TestBatchRefusesOneCreateAndKeepsTheOthers: refused Creates in a batch (a reply to a
// company post, which held notes only learn when they are stored; a note attributed to
// someone else) get their own outcome; the good notes around them are stored, and nothing
// of the refused ones remains. The shared transaction fails three times: when a reply makes
// the held notes be stored (the reply must still find its parent, stored on its own), before
// a Like, and at the end of the batch.
func TestBatchRefusesOneCreateAndKeepsTheOthers(t *testing.T) {
	acme, globex := pair(t)
	nodes := []*nodetest.Node{acme, globex}
	alice := acme.NewUser(t, "alice")
	bob := globex.NewUser(t, "bob")
	globex.NewUser(t, "carol")
	befriend(t, nodes, alice, "@bob@"+globex.Host())
	s := newRemoteSender(t, acme, globex, bob.User.ID, "bob")
	aliceURI := acme.URL(t.Context()) + "/users/alice"

	internal := post(t, alice, map[string]any{"status": "Acme internal: the merger", "local_only": true})
	public := post(t, alice, map[string]any{"status": "Public launch notes", "visibility": "public"})
	nodetest.Settle(t, acme, globex)

	// The refused replies mention alice: if anything of them were stored, she would be told.
	mention := func(extra map[string]any) map[string]any {
		extra["to"] = []string{activity.Public, aliceURI}
		extra["tag"] = []map[string]any{{"type": "Mention", "href": aliceURI, "name": "@alice@" + acme.Host()}}
		return extra
	}
	good := []string{s.noteURI("good1"), s.noteURI("good1-reply"), s.noteURI("good2"), s.noteURI("good3"), s.noteURI("good4")}
	badCompany1 := s.noteURI("company1")
	badCompany2 := s.noteURI("company2")
	badCompany3 := s.noteURI("company3")
	badAuthor := s.noteURI("not-mine")

	creates := map[string]string{} // note URI -> Create id
	create := func(n map[string]any) {
		a := s.activity("Create", n)
		creates[n["id"].(string)] = a["id"].(string)
		s.send(a)
	}
	// good1 is held with company1; the reply to good1 stores them (the shared transaction
	// fails on company1, good1 is stored on its own) and must still find its parent.
	create(s.note(good[0], "Good one", nil))
	create(s.note(badCompany1, "Sneaking into a company thread", mention(map[string]any{"inReplyTo": internal.URI})))
	create(s.note(good[1], "Answering good one", map[string]any{"inReplyTo": good[0]}))
	create(s.note(good[2], "Good two", nil))
	create(s.note(badCompany2, "Again into the company thread", mention(map[string]any{"inReplyTo": internal.URI})))
	like := s.activity("Like", public.URI) // stores the held notes first: fails on company2
	s.send(like)
	create(s.note(good[3], "Good three", nil))
	create(s.note(badAuthor, "Carol said this", map[string]any{"attributedTo": s.base + "/users/carol"}))
	create(s.note(good[4], "Good four", nil))
	create(s.note(badCompany3, "Once more into the company thread", mention(map[string]any{"inReplyTo": internal.URI})))
	nodetest.Settle(t, acme)

	rows := inboxRows(t, acme)
	for _, uri := range good {
		r := rows[creates[uri]]
		if r.ProcessedAt == nil || r.Outcome != "applied" {
			t.Errorf("good note %s: processed_at %v, outcome %q", uri, r.ProcessedAt, r.Outcome)
		}
		if st, code := localStatus(t, acme, alice, uri); code != http.StatusOK || st.Account.Acct != "bob@"+globex.Host() {
			t.Errorf("good note %s on acme: %d %+v", uri, code, st)
		}
	}
	if r := rows[like["id"].(string)]; r.ProcessedAt == nil || r.Outcome != "applied" {
		t.Errorf("Like: processed_at %v, outcome %q", r.ProcessedAt, r.Outcome)
	}
	for _, uri := range []string{badCompany1, badCompany2, badCompany3, badAuthor} {
		r := rows[creates[uri]]
		if r.ProcessedAt == nil || r.Outcome == "" || r.Outcome == "applied" || strings.HasPrefix(r.Outcome, "ignored") {
			t.Errorf("refused note %s: processed_at %v, outcome %q; want a recorded refusal", uri, r.ProcessedAt, r.Outcome)
		}
		if n := postRows(t, acme, uri); n != 0 {
			t.Errorf("refused note %s: %d posts stored", uri, n)
		}
	}
	if r := rows[creates[badAuthor]]; !strings.Contains(r.Outcome, "own note") {
		t.Errorf("note attributed to carol: outcome %q", r.Outcome)
	}

	good1, _ := localStatus(t, acme, alice, good[0])
	if reply, _ := localStatus(t, acme, alice, good[1]); reply.InReplyTo == nil || *reply.InReplyTo != good1.ID || good1.Replies != 1 {
		t.Errorf("the reply to good1 is not threaded: in_reply_to_id %v, want %s; good1 has %d replies", reply.InReplyTo, good1.ID, good1.Replies)
	}

	// Nothing partial: the company post has no reply, alice was not told of a mention, the
	// feeds and counts hold the good notes only.
	var internalNow, publicNow status
	alice.Call("GET", "/api/v1/statuses/"+internal.ID, nil, &internalNow)
	if internalNow.Replies != 0 {
		t.Errorf("alice's company post has %d replies, want 0", internalNow.Replies)
	}
	var thread struct {
		Descendants []status `json:"descendants"`
	}
	alice.Call("GET", "/api/v1/statuses/"+internal.ID+"/context", nil, &thread)
	if len(thread.Descendants) != 0 {
		t.Errorf("alice's company post has descendants %+v", thread.Descendants)
	}
	alice.Call("GET", "/api/v1/statuses/"+public.ID, nil, &publicNow)
	if publicNow.Favourites != 1 {
		t.Errorf("alice's public post has %d likes, want 1", publicNow.Favourites)
	}
	var notes []struct {
		Type   string  `json:"type"`
		Status *status `json:"status"`
	}
	alice.Call("GET", "/api/v1/notifications", nil, &notes)
	for _, n := range notes {
		if n.Type != "favourite" {
			t.Errorf("alice has a %s notification: %+v", n.Type, n.Status)
		}
	}
	recips, err := acme.DB.NewSelect().Table("post_recipients").Where("account_id = ?", alice.User.ID).Count(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if recips != 0 {
		t.Errorf("alice is a recipient of %d posts, want 0", recips)
	}
	remoteBob, err := acme.People.Known(t.Context(), s.actor)
	if err != nil || remoteBob == nil {
		t.Fatalf("bob on acme: %v %v", remoteBob, err)
	}
	var stored []string
	if err := acme.DB.NewSelect().Model((*posts.Post)(nil)).Column("uri").Where("author_id = ?", remoteBob.ID).
		Order("uri").Scan(t.Context(), &stored); err != nil {
		t.Fatal(err)
	}
	if len(stored) != len(good) {
		t.Errorf("bob has %d posts on acme, want %d: %v", len(stored), len(good), stored)
	}
	feed := homeURIs(t, alice)
	for _, uri := range []string{good[0], good[2], good[3], good[4]} { // the top-level ones
		if feed[uri] != 1 {
			t.Errorf("alice's home feed has %s %d times, want once", uri, feed[uri])
		}
	}
	if len(feed) != len(good)-1+2 { // and her own two posts
		t.Errorf("alice's home feed: %v", feed)
	}
}

// TestBatchStoresARedeliveredNoteOnce: the same note in two Creates (different activity ids)
// of one batch, and again in a later batch, is one post.
func TestBatchStoresARedeliveredNoteOnce(t *testing.T) {
	acme, globex := pair(t)
	nodes := []*nodetest.Node{acme, globex}
	alice := acme.NewUser(t, "alice")
	bob := globex.NewUser(t, "bob")
	befriend(t, nodes, alice, "@bob@"+globex.Host())
	s := newRemoteSender(t, acme, globex, bob.User.ID, "bob")

	n := s.note(s.noteURI("twice"), "Said twice", nil)
	other := s.note(s.noteURI("between"), "In between", nil)
	s.send(s.activity("Create", n))
	s.send(s.activity("Create", other))
	s.send(s.activity("Create", n))
	// A reply to the twice-delivered note, delivered twice too, in the same batch.
	reply := s.note(s.noteURI("twice-reply"), "And answered", map[string]any{"inReplyTo": s.noteURI("twice")})
	s.send(s.activity("Create", reply))
	s.send(s.activity("Create", reply))
	nodetest.Settle(t, acme)
	// Later: an edit, then the original Create redelivered in the same batch, then again alone.
	s.send(s.activity("Update", s.note(s.noteURI("twice"), "Said twice, edited", nil)))
	s.send(s.activity("Create", n))
	s.send(s.activity("Create", reply))
	nodetest.Settle(t, acme)
	s.send(s.activity("Create", n))
	nodetest.Settle(t, acme)

	requireAllApplied(t, acme)
	if c := len(inboxRows(t, acme)); c < 10 {
		t.Errorf("%d activities stored, want at least 10", c)
	}
	for _, uri := range []string{s.noteURI("twice"), s.noteURI("between"), s.noteURI("twice-reply")} {
		if c := postRows(t, acme, uri); c != 1 {
			t.Errorf("%d posts for %s, want 1", c, uri)
		}
	}
	st, code := localStatus(t, acme, alice, s.noteURI("twice"))
	if code != http.StatusOK || st.Replies != 1 {
		t.Errorf("the twice-delivered note on acme: %d, replies_count %d, want 1", code, st.Replies)
	}
	if !strings.Contains(st.Content, "edited") {
		t.Errorf("a redelivered Create undid the edit: %q", st.Content)
	}
	feed := homeURIs(t, alice)
	if feed[s.noteURI("twice")] != 1 || feed[s.noteURI("between")] != 1 {
		t.Errorf("alice's home feed: %v", feed)
	}
}

// TestBatchAppliesABurstOfCreates: 100 Creates delivered before any processing (more than
// three batches of 32) are all applied, each once, and reach alice's home feed.
func TestBatchAppliesABurstOfCreates(t *testing.T) {
	acme, globex := pair(t)
	nodes := []*nodetest.Node{acme, globex}
	alice := acme.NewUser(t, "alice")
	bob := globex.NewUser(t, "bob")
	befriend(t, nodes, alice, "@bob@"+globex.Host())
	s := newRemoteSender(t, acme, globex, bob.User.ID, "bob")
	before := storedActivities(t, acme)

	const count = 100
	uris := make([]string, count)
	for i := range count {
		uris[i] = s.noteURI(fmt.Sprintf("burst-%03d", i))
		s.send(s.activity("Create", s.note(uris[i], fmt.Sprintf("Burst note %d #burst", i), nil)))
	}
	if n := storedActivities(t, acme); n != before+count {
		t.Fatalf("%d activities stored, want %d", n-before, count)
	}
	pending, err := acme.DB.NewSelect().Table("inbox_activities").Where("processed_at IS NULL").Count(t.Context())
	if err != nil || pending != count {
		t.Fatalf("%d activities waiting before Settle, want %d (%v)", pending, count, err)
	}
	nodetest.Settle(t, acme)

	requireAllApplied(t, acme)
	for _, uri := range uris {
		if c := postRows(t, acme, uri); c != 1 {
			t.Errorf("%d posts for %s, want 1", c, uri)
		}
	}
	feed := homeURIs(t, alice)
	for _, uri := range uris {
		if feed[uri] != 1 {
			t.Errorf("alice's home feed has %s %d times, want once", uri, feed[uri])
		}
	}
	if len(feed) != count {
		t.Errorf("alice's home feed has %d posts, want %d", len(feed), count)
	}
	// No inbox job is left behind, done or not.
	jobsLeft, err := acme.DB.NewSelect().Table("jobs").Where("kind = 'inbox'").Count(t.Context())
	if err == nil && jobsLeft != 0 {
		t.Errorf("%d inbox jobs left after Settle", jobsLeft)
	}
}
