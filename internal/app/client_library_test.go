package app_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mattn/go-mastodon"

	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/app"
	"github.com/atrium-social/atrium/internal/config"
	"github.com/atrium-social/atrium/internal/testutil/nodetest"
)

// libSignIn signs a person in the way a go-mastodon app does: it registers with RegisterApp,
// the person approves it in a browser (signed in through the login form, out-of-band
// redirect: the code is shown on a page), and the app trades the code with AuthenticateToken.
func libSignIn(ctx context.Context, t *testing.T, tn *nodetest.Node, user, password string) *mastodon.Client {
	t.Helper()
	server := tn.HTTP.URL
	reg, err := mastodon.RegisterApp(ctx, &mastodon.AppConfig{Server: server, ClientName: "go-mastodon " + user,
		RedirectURIs: "urn:ietf:wg:oauth:2.0:oob", Scopes: "read write follow", Website: "https://github.com/mattn/go-mastodon"})
	if err != nil {
		t.Fatalf("go-mastodon RegisterApp: %v", err)
	}
	if reg.ID == "" || reg.ClientID == "" || reg.ClientSecret == "" || reg.RedirectURI != "urn:ietf:wg:oauth:2.0:oob" {
		t.Fatalf("go-mastodon RegisterApp: incomplete application %+v", reg)
	}
	// The browser follows the authorize URL the library built.
	auth, err := url.Parse(reg.AuthURI)
	if err != nil || auth.Path != "/oauth/authorize" {
		t.Fatalf("go-mastodon RegisterApp: auth URI %q: %v", reg.AuthURI, err)
	}
	b := tn.Client(t)
	b.Login(user, password)
	resp, body := consent(t, b, auth.Query(), "approve")
	m := regexp.MustCompile(`id="oauth-code" type="text" value="([^"]+)"`).FindStringSubmatch(body)
	if resp.StatusCode != 200 || m == nil {
		t.Fatalf("out-of-band code page: %d %s", resp.StatusCode, body)
	}
	c := mastodon.NewClient(&mastodon.Config{Server: server, ClientID: reg.ClientID, ClientSecret: reg.ClientSecret})
	if err := c.AuthenticateToken(ctx, m[1], reg.RedirectURI); err != nil {
		t.Fatalf("go-mastodon AuthenticateToken: %v", err)
	}
	if c.Config.AccessToken == "" {
		t.Fatal("go-mastodon AuthenticateToken: no access token")
	}
	v, err := c.VerifyAppCredentials(ctx)
	if err != nil || v.Name != "go-mastodon "+user {
		t.Fatalf("go-mastodon VerifyAppCredentials: %+v %v", v, err)
	}
	return c
}

// libStream collects what a go-mastodon websocket stream delivers.
type libStream struct {
	mu     sync.Mutex
	events []mastodon.Event
	errs   []error
	done   chan struct{}
}

func newLibStream(ctx context.Context, q chan mastodon.Event) *libStream {
	s := &libStream{done: make(chan struct{})}
	go func() {
		defer close(s.done)
		for e := range q {
			s.mu.Lock()
			if ee, ok := e.(*mastodon.ErrorEvent); ok {
				if ctx.Err() == nil {
					s.errs = append(s.errs, ee.Err)
				}
			} else {
				s.events = append(s.events, e)
			}
			s.mu.Unlock()
		}
	}()
	return s
}

// wait returns the first event that matches, failing the test after limit.
func (s *libStream) wait(t *testing.T, what string, limit time.Duration, match func(mastodon.Event) bool) mastodon.Event {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		s.mu.Lock()
		i := slices.IndexFunc(s.events, match)
		var ev mastodon.Event
		if i >= 0 {
			ev = s.events[i]
		}
		errs := slices.Clone(s.errs)
		s.mu.Unlock()
		if len(errs) > 0 {
			t.Fatalf("go-mastodon StreamingWSUser: %v (waiting for %s)", errors.Join(errs...), what)
		}
		if ev != nil {
			return ev
		}
		if time.Now().After(deadline) {
			s.mu.Lock()
			got := fmt.Sprintf("%d events", len(s.events))
			s.mu.Unlock()
			t.Fatalf("go-mastodon StreamingWSUser: no %s within %v (got %s)", what, limit, got)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestGoMastodonClient drives a node served on a loopback listener only through
// github.com/mattn/go-mastodon, a third-party Mastodon client library: sign-in (app
// registration, authorization code, token), the current account, posting with media, home
// timeline, follows, mentions, notifications, search v2, favourites and reblogs, and the
// user stream over a websocket.
func TestGoMastodonClient(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Argon2MemoryKiB = 1024
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	cfg.SetURLExplicit(base)
	n, err := app.New(ctx, cfg, app.Options{Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	serveCtx, stopServe := context.WithCancel(ctx)
	served := make(chan struct{})
	go func() { defer close(served); _ = n.Serve(serveCtx, ln) }()
	defer func() { stopServe(); <-served }()
	if _, err := n.Accounts.RunSetup(ctx, accounts.Setup{OrgName: "Acme", URL: base,
		Admin: accounts.NewUser{Username: "owner", Email: "owner@acme.example", Password: "owner password 1"}}, "test"); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"alice", "bob"} {
		if _, err := n.Accounts.Create(ctx, accounts.CLIActor(), accounts.NewUser{Username: u,
			Email: u + "@acme.example", Password: u + " password 1"}); err != nil {
			t.Fatal(err)
		}
	}
	// The browser helpers of the other tests only need the node's base URL.
	tn := &nodetest.Node{Node: n, HTTP: &httptest.Server{URL: base}}

	// Sign-in.
	alice := libSignIn(ctx, t, tn, "alice", "alice password 1")
	bob := libSignIn(ctx, t, tn, "bob", "bob password 1")
	me, err := alice.GetAccountCurrentUser(ctx)
	if err != nil {
		t.Fatalf("go-mastodon GetAccountCurrentUser: %v", err)
	}
	if me.ID == "" || me.Username != "alice" || me.Acct != "alice" || me.CreatedAt.IsZero() || me.URL == "" {
		t.Fatalf("go-mastodon GetAccountCurrentUser: %+v", me)
	}

	// Posting with media.
	att, err := alice.UploadMediaFromMedia(ctx, &mastodon.Media{File: bytes.NewReader(testPNG()), Description: "a gradient"})
	if err != nil {
		t.Fatalf("go-mastodon UploadMediaFromMedia: %v", err)
	}
	if att.ID == "" || att.Type != "image" || att.URL == "" || att.Description != "a gradient" {
		t.Fatalf("go-mastodon UploadMediaFromMedia: attachment %+v", att)
	}
	post, err := alice.PostStatus(ctx, &mastodon.Toot{Status: "Hello from go-mastodon", MediaIDs: []mastodon.ID{att.ID}, Visibility: "public"})
	if err != nil {
		t.Fatalf("go-mastodon PostStatus: %v", err)
	}
	if post.ID == "" || post.CreatedAt.IsZero() || post.URI == "" || !strings.Contains(post.Content, "Hello from go-mastodon") || post.Account.ID != me.ID ||
		len(post.MediaAttachments) != 1 || post.MediaAttachments[0].ID != att.ID {
		t.Fatalf("go-mastodon PostStatus: %+v", post)
	}
	home, err := alice.GetTimelineHome(ctx, nil)
	if err != nil {
		t.Fatalf("go-mastodon GetTimelineHome: %v", err)
	}
	i := slices.IndexFunc(home, func(s *mastodon.Status) bool { return s.ID == post.ID })
	if i < 0 {
		t.Fatalf("go-mastodon GetTimelineHome: own post %s missing from %d statuses", post.ID, len(home))
	}
	if a := home[i].MediaAttachments; len(a) != 1 || a[0].ID != att.ID || a[0].Type != "image" || a[0].Description != "a gradient" {
		t.Fatalf("go-mastodon GetTimelineHome: post's attachments %+v", a)
	}
	if got, err := alice.GetStatus(ctx, post.ID); err != nil || got.ID != post.ID || got.Visibility != "public" {
		t.Fatalf("go-mastodon GetStatus: %+v %v", got, err)
	}

	// Search v2 by name, from both sides.
	found, err := alice.Search(ctx, "bob", false)
	if err != nil {
		t.Fatalf("go-mastodon Search: %v", err)
	}
	j := slices.IndexFunc(found.Accounts, func(a *mastodon.Account) bool { return a.Username == "bob" })
	if j < 0 {
		t.Fatalf("go-mastodon Search: bob not among %d accounts", len(found.Accounts))
	}
	bobID := found.Accounts[j].ID
	found, err = bob.Search(ctx, "alice", false)
	if err != nil {
		t.Fatalf("go-mastodon Search (bob): %v", err)
	}
	if !slices.ContainsFunc(found.Accounts, func(a *mastodon.Account) bool { return a.ID == me.ID }) {
		t.Fatalf("go-mastodon Search: alice (%s) not found by bob", me.ID)
	}

	// Alice's user stream, over a websocket.
	streamCtx, stopStream := context.WithCancel(ctx)
	q, err := alice.NewWSClient().StreamingWSUser(streamCtx)
	if err != nil {
		t.Fatalf("go-mastodon StreamingWSUser: %v", err)
	}
	stream := newLibStream(streamCtx, q)
	defer func() { stopStream(); <-stream.done }()
	waitFor(t, 5*time.Second, func() bool { return n.Hub.Stats().Subscriptions >= 1 })

	// Follows both ways.
	rel, err := bob.AccountFollow(ctx, me.ID)
	if err != nil {
		t.Fatalf("go-mastodon AccountFollow (bob → alice): %v", err)
	}
	if rel.ID != me.ID || !rel.Following {
		t.Fatalf("go-mastodon AccountFollow (bob → alice): relationship %+v", rel)
	}
	if rel, err := alice.AccountFollow(ctx, bobID); err != nil || rel.ID != bobID || !rel.Following || !rel.FollowedBy {
		t.Fatalf("go-mastodon AccountFollow (alice → bob): %+v %v", rel, err)
	}
	stream.wait(t, "follow notification", 5*time.Second, func(e mastodon.Event) bool {
		ne, ok := e.(*mastodon.NotificationEvent)
		return ok && ne.Notification.Type == "follow" && ne.Notification.Account.ID == bobID
	})

	// Bob posts: alice's stream gets the update; then he mentions her.
	hi, err := bob.PostStatus(ctx, &mastodon.Toot{Status: "Morning, everyone", Visibility: "public"})
	if err != nil {
		t.Fatalf("go-mastodon PostStatus (bob): %v", err)
	}
	ev := stream.wait(t, "update for bob's post", 5*time.Second, func(e mastodon.Event) bool {
		ue, ok := e.(*mastodon.UpdateEvent)
		return ok && ue.Status.ID == hi.ID
	})
	if s := ev.(*mastodon.UpdateEvent).Status; s.Account.ID != bobID || !strings.Contains(s.Content, "Morning, everyone") {
		t.Fatalf("go-mastodon StreamingWSUser: update %+v", s)
	}
	mention, err := bob.PostStatus(ctx, &mastodon.Toot{Status: "@alice nice picture", InReplyToID: post.ID, Visibility: "public"})
	if err != nil {
		t.Fatalf("go-mastodon PostStatus (mention): %v", err)
	}
	if len(mention.Mentions) != 1 || mention.Mentions[0].ID != me.ID || fmt.Sprint(mention.InReplyToID) != string(post.ID) {
		t.Fatalf("go-mastodon PostStatus (mention): mentions %+v, in reply to %v", mention.Mentions, mention.InReplyToID)
	}
	ev = stream.wait(t, "mention notification", 5*time.Second, func(e mastodon.Event) bool {
		ne, ok := e.(*mastodon.NotificationEvent)
		return ok && ne.Notification.Type == "mention"
	})
	if nt := ev.(*mastodon.NotificationEvent).Notification; nt.Status == nil || nt.Status.ID != mention.ID || nt.Account.ID != bobID {
		t.Fatalf("go-mastodon StreamingWSUser: mention notification %+v", nt)
	}

	// Notifications: the mention and the follow.
	notes, err := alice.GetNotifications(ctx, nil)
	if err != nil {
		t.Fatalf("go-mastodon GetNotifications: %v", err)
	}
	if !slices.ContainsFunc(notes, func(nt *mastodon.Notification) bool {
		return nt.Type == "mention" && nt.Status != nil && nt.Status.ID == mention.ID && nt.Account.ID == bobID
	}) || !slices.ContainsFunc(notes, func(nt *mastodon.Notification) bool {
		return nt.Type == "follow" && nt.Account.ID == bobID && nt.ID != ""
	}) {
		var got []string
		for _, nt := range notes {
			got = append(got, nt.Type)
		}
		t.Fatalf("go-mastodon GetNotifications: want a mention and a follow from bob, got %v", got)
	}

	// Favourite and reblog bob's post; he is told.
	if s, err := alice.Favourite(ctx, hi.ID); err != nil || s.ID != hi.ID || s.Favourited != true || s.FavouritesCount != 1 {
		t.Fatalf("go-mastodon Favourite: %+v %v", s, err)
	}
	rb, err := alice.Reblog(ctx, hi.ID)
	if err != nil {
		t.Fatalf("go-mastodon Reblog: %v", err)
	}
	if rb.Reblog == nil || rb.Reblog.ID != hi.ID || rb.Account.ID != me.ID {
		t.Fatalf("go-mastodon Reblog: %+v", rb)
	}
	waitFor(t, 5*time.Second, func() bool {
		notes, err := bob.GetNotifications(ctx, nil)
		if err != nil {
			t.Fatalf("go-mastodon GetNotifications (bob): %v", err)
		}
		var fav, reblog bool
		for _, nt := range notes {
			if nt.Account.ID == me.ID && nt.Status != nil && nt.Status.ID == hi.ID {
				fav = fav || nt.Type == "favourite"
				reblog = reblog || nt.Type == "reblog"
			}
		}
		return fav && reblog
	})

	// Alice's home timeline now has bob's post and her own, newest first.
	home, err = alice.GetTimelineHome(ctx, nil)
	if err != nil {
		t.Fatalf("go-mastodon GetTimelineHome: %v", err)
	}
	var seen []mastodon.ID
	for _, s := range home {
		seen = append(seen, s.ID)
		if s.Reblog != nil {
			seen = append(seen, s.Reblog.ID)
		}
	}
	if !slices.Contains(seen, hi.ID) || !slices.Contains(seen, post.ID) {
		t.Fatalf("go-mastodon GetTimelineHome: want %s and %s, got %v", hi.ID, post.ID, seen)
	}
}
