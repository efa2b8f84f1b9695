package web_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/atrium-social/atrium/internal/posts"
	"github.com/atrium-social/atrium/internal/testutil/browser"
	"github.com/atrium-social/atrium/internal/testutil/nodetest"
)

// TestBrowserSocial is two colleagues at two screens, in headless Chromium under the real
// CSP: Alice posts a photo from the composer; Bob comments and reacts without the page
// reloading; the admin's announcement is pinned for Bob, who marks it as read; and Bob's
// open page shows a new notification live when Alice mentions him (when the streaming
// endpoint exists). Set ATRIUM_SCREENSHOTS=dir to look at the pages.
func TestBrowserSocial(t *testing.T) {
	if browser.Path() == "" {
		t.Skip("chromium not installed (apt-get install chromium); browser test skipped")
	}
	n := nodetest.Start(t, nodetest.Options{Setup: true})
	// Browsers talk to the node through fasthttp itself, as `atrium serve` does: websockets
	// cannot pass through the net/http adaptor that nodetest's own listener uses.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = n.Server.App.Listener(ln) }()
	t.Cleanup(func() { _ = n.Server.App.Shutdown() })
	base := "http://" + ln.Addr().String()
	ctx := context.Background()
	n.NewUser(t, "alice")
	bobAPI := n.NewUser(t, "bob")
	admin := n.Client(t)
	admin.Login("admin", nodetest.AdminPassword)

	aliceB := browser.New(t, 90*time.Second)
	bobB := browser.New(t, 90*time.Second)
	signIn(t, aliceB, base, "alice")
	signIn(t, bobB, base, "bob")

	// 1. Alice posts a photo from the composer; the card appears at the top of her feed
	// without a page load.
	pic := filepath.Join(t.TempDir(), "site.png")
	if err := os.WriteFile(pic, pngBytes(800, 600), 0o644); err != nil {
		t.Fatal(err)
	}
	must(t, chromedp.Do(aliceB,
		chromedp.WaitVisible(chromedp.CSS("#status")),
		mark(),
		chromedp.SendKeys(chromedp.CSS("#status"), "The new site from above #construction"),
		chromedp.SetUploadFiles(chromedp.CSS("#files"), []string{pic}),
		browser.WaitJS("document.querySelector('[data-previews] img') !== null"),
	))
	browser.Screenshot(t, aliceB, "social-01-composer")
	must(t, chromedp.Do(aliceB,
		chromedp.Click(chromedp.CSS(".compose button[type=submit]")),
		browser.WaitJS("document.querySelector('[data-feed] .post .images img') !== null"),
		stillSamePage(),
	))
	if v, _ := chromedp.Run(aliceB, chromedp.Value(chromedp.CSS("#status"))); v != "" {
		t.Fatalf("the composer kept %q after posting", v)
	}
	browser.Screenshot(t, aliceB, "social-02-posted")
	id, err := chromedp.Run(aliceB, chromedp.Evaluate[string]("document.querySelector('[data-feed] .post').getAttribute('data-card')"))
	if err != nil || id == "" {
		t.Fatalf("no card id: %v", err)
	}

	// 2. Bob comments and reacts on the company timeline, without a reload.
	card := "#post-" + id
	must(t, chromedp.Do(bobB,
		chromedp.Navigate(base+"/company"),
		chromedp.WaitVisible(chromedp.CSS(card+" .comment-form textarea")),
		mark(),
		chromedp.SendKeys(chromedp.CSS(card+" .comment-form textarea"), "Looks great, well done!"),
		chromedp.Click(chromedp.CSS(card+" .comment-form button[type=submit]")),
		browser.WaitJS("document.querySelector('"+card+" .comment-list') && document.querySelector('"+card+" .comment-list').textContent.includes('Looks great')"),
		browser.WaitJS("document.querySelector('"+card+" .comment-form textarea').value === ''"),
		chromedp.Click(chromedp.CSS(card+" [data-k=like]")),
		browser.WaitJS("document.querySelector('"+card+" [data-k=like]').getAttribute('aria-pressed') === 'true'"),
		stillSamePage(),
	))
	// Focus stays on the button that was pressed, in the re-rendered card.
	if k, _ := chromedp.Run(bobB, chromedp.Evaluate[string]("document.activeElement.getAttribute('data-k') || ''")); k != "like" {
		t.Errorf("after reacting, focus is on %q, want the like button", k)
	}
	browser.Screenshot(t, bobB, "social-03-commented")
	p, err := n.Posts.Get(ctx, posts.ViewerOf(bobAPI.User), id)
	if err != nil || p.RepliesCount != 1 || p.ReactionsCount != 1 {
		t.Fatalf("after Bob's comment and like: %+v %v", p, err)
	}

	// 3. The admin posts an announcement; Bob finds it pinned and marks it as read.
	resp, body := admin.PostForm("/posts", url.Values{"status": {"Office closed on Friday"}, "important": {"1"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("announcement: %d %s", resp.StatusCode, body)
	}
	must(t, chromedp.Do(bobB,
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(chromedp.CSS(".announcements .post [data-k=read]")),
		mark(),
	))
	browser.Screenshot(t, bobB, "social-04-announcement")
	must(t, chromedp.Do(bobB,
		chromedp.Click(chromedp.CSS(".announcements .post [data-k=read]")),
		browser.WaitJS("document.querySelector('.announcements') === null"),
		stillSamePage(),
	))
	if list, err := n.Posts.Announcements(ctx, posts.ViewerOf(bobAPI.User)); err != nil || len(list) != 0 {
		t.Fatalf("announcement still unread for Bob: %d %v", len(list), err)
	}

	// 4. Live: Bob's open page learns of Alice's mention without a reload.
	before, err := chromedp.Run(bobB, chromedp.Evaluate[string]("document.querySelector('[data-badge]').hidden ? '0' : document.querySelector('[data-badge-n]').textContent"))
	if err != nil {
		t.Fatal(err)
	}
	// Give the socket a moment to be open before the event happens.
	must(t, chromedp.Do(bobB, chromedp.Sleep(500*time.Millisecond)))
	must(t, chromedp.Do(aliceB,
		chromedp.SendKeys(chromedp.CSS("#status"), "@bob can you check the crane schedule?"),
		chromedp.Click(chromedp.CSS(".compose button[type=submit]")),
		browser.WaitJS("document.querySelector('[data-feed] .post').textContent.includes('crane schedule')"),
	))
	want := strconv.Itoa(atoi(before) + 1)
	must(t, chromedp.Do(bobB,
		browser.WaitJS("!document.querySelector('[data-badge]').hidden && document.querySelector('[data-badge-n]').textContent === '"+want+"'"),
		browser.WaitJS("document.querySelector('[data-toasts]').textContent.includes('mentioned you')"),
		stillSamePage(),
	))
	browser.Screenshot(t, bobB, "social-05-live-badge")
}

func signIn(t *testing.T, ctx context.Context, base, user string) {
	t.Helper()
	must(t, chromedp.Do(ctx,
		chromedp.Navigate(base+"/login"),
		chromedp.WaitVisible(chromedp.CSS("#login")),
		chromedp.SendKeys(chromedp.CSS("#login"), user),
		chromedp.SendKeys(chromedp.CSS("#password"), memberPassword),
		chromedp.Click(chromedp.CSS("form.form button[type=submit]")),
		browser.WaitJS("location.pathname === '/' && document.querySelector('#status') !== null"),
	))
}

// mark tags the current document; stillSamePage fails if a navigation replaced it.
func mark() chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := chromedp.Evaluate[bool]("window.__same = true")(ctx, tg)
		return err
	})
}

func stillSamePage() chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		ok, err := chromedp.Evaluate[bool]("window.__same === true")(ctx, tg)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("the page reloaded")
		}
		return nil
	})
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func atoi(s string) int {
	v, _ := strconv.Atoi(strings.TrimSpace(s))
	return v
}
