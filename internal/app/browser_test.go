package app_test

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/atrium-social/atrium/internal/testutil/browser"
	"github.com/atrium-social/atrium/internal/testutil/nodetest"
)

// TestBrowserFirstRunToDirectory walks a fresh node the way its first people would, in a real
// headless Chromium: setup, an invitation, sign-up through the link in a second browser,
// profile editing with an avatar, then finding the new person in the directory and the org chart.
func TestBrowserFirstRunToDirectory(t *testing.T) {
	n := nodetest.Start(t, nodetest.Options{})
	base := n.HTTP.URL
	admin := browser.New(t, 30*time.Second)
	// at waits until the page's path is p: a submitted form has landed on its next page.
	at := func(p string) chromedp.Action[chromedp.Void] {
		return browser.WaitJS("location.pathname === " + strconv.Quote(p))
	}
	// reloaded waits for the next document after a form posts back to the same page.
	mark := chromedp.Evaluate[bool]("window.__old = true")
	reloaded := browser.WaitJS("window.__old === undefined")
	fill := func(sel, v string) chromedp.Action[chromedp.Void] {
		return chromedp.Steps(chromedp.WaitVisible(chromedp.CSS(sel)), chromedp.SendKeys(chromedp.CSS(sel), v))
	}

	// 1. The first visit goes to the setup wizard.
	must(t, chromedp.Do(admin, chromedp.Navigate(base), chromedp.WaitVisible(chromedp.CSS("#org_name"))))
	must(t, chromedp.Do(admin,
		fill("#org_name", "Acme Corp"),
		fill("#username", "alice"),
		fill("#email", "alice@acme.example"),
		fill("#password", "correct horse battery"),
		fill("#password_confirm", "correct horse battery"),
		chromedp.Submit(chromedp.CSS("#org_name")),
		at("/admin/invitations"),
	))
	browser.Screenshot(t, admin, "01-invitations")
	if loc, _ := chromedp.Run(admin, chromedp.Location()); !strings.HasSuffix(loc, "/admin/invitations") {
		t.Fatalf("after setup the admin is at %s", loc)
	}

	// 2. The admin invites a colleague and copies the link.
	must(t, chromedp.Do(admin, fill("#email", "bob@acme.example"), chromedp.Submit(chromedp.CSS("#email")), chromedp.WaitVisible(chromedp.CSS("#invite-link"))))
	link, err := chromedp.Run(admin, chromedp.Value(chromedp.CSS("#invite-link")))
	if err != nil || !strings.Contains(link, "/signup?invite=") {
		t.Fatalf("invitation link %q: %v", link, err)
	}

	// 3. Bob, in his own browser, signs up through the link and is signed in.
	bob := browser.New(t, 30*time.Second)
	must(t, chromedp.Do(bob, chromedp.Navigate(link)))
	browser.Screenshot(t, bob, "02-signup")
	must(t, chromedp.Do(bob, chromedp.WaitVisible(chromedp.CSS("#username")),
		fill("#username", "bob"),
		fill("#display_name", "Bob Builder"),
		fill("#password", "bob's long password"),
		fill("#password_confirm", "bob's long password"),
		chromedp.Submit(chromedp.CSS("#username")),
		browser.WaitJS("!location.pathname.startsWith('/signup')"),
	))
	if loc, _ := chromedp.Run(bob, chromedp.Location()); strings.Contains(loc, "/signup") || strings.Contains(loc, "/login") {
		html, _ := chromedp.Run(bob, chromedp.OuterHTML(chromedp.CSS("main")))
		t.Fatalf("sign-up did not sign Bob in; at %s: %s", loc, html)
	}

	// 4. Bob fills in his work profile and uploads a picture.
	pic := filepath.Join(t.TempDir(), "bob.png")
	if err := os.WriteFile(pic, testPNG(), 0o644); err != nil {
		t.Fatal(err)
	}
	must(t, chromedp.Do(bob, chromedp.Navigate(base+"/settings/profile"), chromedp.WaitVisible(chromedp.CSS("#job_title")),
		fill("#job_title", "Site engineer"),
		fill("#department", "Engineering"),
		fill("#skills", "Go, Concrete"),
		fill("#manager", "alice"),
		ignore(mark),
		chromedp.Submit(chromedp.CSS("#job_title")),
		reloaded,
	))
	must(t, chromedp.Do(bob, chromedp.Navigate(base+"/settings/profile"), chromedp.WaitVisible(chromedp.CSS("#avatar")),
		chromedp.SetUploadFiles(chromedp.CSS("#avatar"), []string{pic}),
		ignore(mark),
		chromedp.Submit(chromedp.CSS("#avatar")),
		reloaded))
	browser.Screenshot(t, bob, "02-profile-settings")

	// 5. Alice finds Bob by skill in the directory, with his picture, and in the org chart.
	must(t, chromedp.Do(admin, chromedp.Navigate(base+"/people?skill=go"), chromedp.WaitVisible(chromedp.CSS(".people-grid"))))
	grid, err := chromedp.Run(admin, chromedp.OuterHTML(chromedp.CSS(".people-grid")))
	if err != nil || !strings.Contains(grid, "Bob Builder") || !strings.Contains(grid, "Site engineer") || !strings.Contains(grid, "/media/avatars/") {
		t.Fatalf("directory does not show Bob with title and picture: %v\n%s", err, grid)
	}
	browser.Screenshot(t, admin, "03-directory")
	must(t, chromedp.Do(admin, chromedp.Navigate(base+"/orgchart/bob"), chromedp.WaitVisible(chromedp.CSS("main"))))
	chart, _ := chromedp.Run(admin, chromedp.Text(chromedp.CSS("main")))
	if !strings.Contains(chart, "Bob Builder") || !strings.Contains(chart, "alice") && !strings.Contains(chart, "Alice") {
		t.Fatalf("org chart lacks the chain: %s", chart)
	}
	must(t, chromedp.Do(admin, chromedp.Navigate(base+"/orgchart/alice"), chromedp.WaitVisible(chromedp.CSS("main"))))
	chart, _ = chromedp.Run(admin, chromedp.Text(chromedp.CSS("main")))
	if !strings.Contains(chart, "Bob Builder") {
		t.Fatalf("alice's org chart does not list Bob as a report: %s", chart)
	}
	browser.Screenshot(t, admin, "04-orgchart")
}

func ignore[T any](a chromedp.Action[T]) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error { _, err := a(ctx, tg); return err })
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func testPNG() []byte {
	img := image.NewRGBA(image.Rect(0, 0, 300, 200))
	for y := 0; y < 200; y++ {
		for x := 0; x < 300; x++ {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), 150, 255})
		}
	}
	var b bytes.Buffer
	_ = png.Encode(&b, img)
	return b.Bytes()
}
