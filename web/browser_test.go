package web

import (
	"net"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/atrium-social/atrium/internal/testutil/browser"
)

// TestBrowser clicks through the real pages in headless Chromium: the stylesheet and script
// load under the strict CSP, sign-in works through the form, and the theme toggle and the
// phone navigation drawer do what they should. Set ATRIUM_SCREENSHOTS=dir to look at them.
func TestBrowser(t *testing.T) {
	if browser.Path() == "" {
		t.Skip("chromium not installed (apt-get install chromium); browser test skipped")
	}
	e := newEnv(t)
	admin := e.setup()
	e.member("bob", "Bob Builder")
	admin.post("/settings/profile", url.Values{"display_name": {"Ada Admin"}, "job_title": {"Founder"},
		"department": {"Management"}, "skills": {"Go, Leadership"}, "time_zone": {"Europe/Berlin"}})
	admin.post("/settings/profile?user=bob", url.Values{"manager": {"admin"}, "job_title": {"Engineer"},
		"department": {"Engineering"}, "skills": {"Go, Kubernetes"}})

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = e.app.Listener(ln) }()
	t.Cleanup(func() { _ = e.app.Shutdown() })
	base := "http://" + ln.Addr().String()

	ctx := browser.New(t, 60*time.Second)
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/login"), chromedp.WaitVisible(chromedp.CSS("#login"))); err != nil {
		t.Fatalf("login page: %v", err)
	}
	browser.Screenshot(t, ctx, "login")
	err = chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS("#login"), "admin"),
		chromedp.SendKeys(chromedp.CSS("#password"), adminPassword),
		chromedp.Click(chromedp.CSS("form.form button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#welcome-title")),
	)
	if err != nil {
		t.Fatalf("sign in: %v", err)
	}
	browser.Screenshot(t, ctx, "home")

	// app.js ran (it marks <html>) and app.css applied: both came through the CSP.
	js, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.classList.contains('js')`))
	if err != nil || !js {
		t.Fatalf("app.js did not run: %v", err)
	}
	sticky, err := chromedp.Run(ctx, chromedp.Evaluate[string](`getComputedStyle(document.querySelector('.topbar')).position`))
	if err != nil || sticky != "sticky" {
		t.Fatalf("app.css not applied: %q %v", sticky, err)
	}

	// The theme toggle flips the theme and remembers it.
	before, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.getAttribute('data-theme') || ''`))
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(".topbar [data-theme-toggle]"))); err != nil {
		t.Fatal(err)
	}
	after, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.getAttribute('data-theme') + '/' + localStorage.getItem('atrium-theme')`))
	if after != "dark/dark" && after != "light/light" || before == after[:len(after)/2] {
		t.Fatalf("theme toggle: before %q, after %q", before, after)
	}
	for _, p := range []string{"/people", "/people/bob", "/orgchart/bob", "/settings/profile", "/admin/users"} {
		if err := chromedp.Do(ctx, chromedp.Navigate(base+p), chromedp.WaitVisible(chromedp.CSS("main"))); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		browser.Screenshot(t, ctx, "dark"+sanitize(p))
	}

	// On a phone the navigation is a drawer behind the menu button.
	err = chromedp.Do(ctx,
		chromedp.EmulateViewport(390, 844),
		chromedp.Navigate(base+"/people"),
		chromedp.WaitVisible(chromedp.CSS("[data-nav-toggle]")),
		chromedp.Click(chromedp.CSS("[data-nav-toggle]")),
		chromedp.WaitVisible(chromedp.CSS("#sidenav a[href='/orgchart']")),
	)
	if err != nil {
		t.Fatalf("phone drawer: %v", err)
	}
	expanded, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('[data-nav-toggle]').getAttribute('aria-expanded')`))
	if expanded != "true" {
		t.Fatalf("drawer button aria-expanded = %q", expanded)
	}
	if os.Getenv("ATRIUM_SCREENSHOTS") != "" {
		_ = chromedp.Do(ctx, chromedp.Sleep(400*time.Millisecond)) // let the slide-in finish
	}
	browser.Screenshot(t, ctx, "phone-drawer")
}

func sanitize(p string) string {
	out := []byte(p)
	for i, c := range out {
		if c == '/' || c == '?' || c == '=' {
			out[i] = '-'
		}
	}
	return string(out)
}
