package web_test

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/atrium-social/atrium/internal/testutil/browser"
	"github.com/atrium-social/atrium/internal/testutil/nodetest"
)

// TestBrowserGroups is three colleagues at three screens, in headless Chromium under the real
// CSP: Alice creates a closed group and invites Bob; Bob accepts from his invitations; Carol
// asks to join and Alice approves her on the Requests tab; Bob posts in the group from its
// composer; Carol reads his post on the group's page. Set ATRIUM_SCREENSHOTS=dir to look.
func TestBrowserGroups(t *testing.T) {
	if browser.Path() == "" {
		t.Skip("chromium not installed (apt-get install chromium); browser test skipped")
	}
	n := nodetest.Start(t, nodetest.Options{Setup: true})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = n.Server.App.Listener(ln) }()
	t.Cleanup(func() { _ = n.Server.App.Shutdown() })
	base := "http://" + ln.Addr().String()
	for _, u := range []string{"alice", "bob", "carol"} {
		n.NewUser(t, u)
	}
	alice := browser.New(t, 60*time.Second)
	bob := browser.New(t, 60*time.Second)
	carol := browser.New(t, 60*time.Second)
	signIn(t, alice, base, "alice")
	signIn(t, bob, base, "bob")
	signIn(t, carol, base, "carol")

	// 1. Alice creates a closed group from the directory.
	must(t, chromedp.Do(alice,
		chromedp.Click(chromedp.CSS(`#sidenav a[href="/groups"]`)),
		browser.WaitJS(`location.pathname === '/groups'`),
		chromedp.Click(chromedp.CSS(`.page-head a[href="/groups/new"]`)),
		chromedp.WaitVisible(chromedp.CSS("#group-name")),
		chromedp.SendKeys(chromedp.CSS("#group-name"), "Project Falcon"),
		chromedp.SendKeys(chromedp.CSS("#group-note"), "Launch of the Falcon line, with the agency."),
		chromedp.Click(chromedp.CSS("#vis-closed")),
		chromedp.Click(chromedp.CSS("form.form button[type=submit]")),
		browser.WaitJS(`location.pathname.startsWith('/groups/project_falcon') && document.querySelector('#group-name') !== null`),
	))
	path, err := chromedp.Run(alice, chromedp.Evaluate[string](`location.pathname`))
	if err != nil {
		t.Fatal(err)
	}
	browser.Screenshot(t, alice, "groups-01-created")

	// 2. She invites Bob from the Members tab.
	must(t, chromedp.Do(alice,
		chromedp.Click(chromedp.CSS(`.tabs a[href$="/members"]`)),
		chromedp.WaitVisible(chromedp.CSS("#invite-acct")),
		chromedp.SendKeys(chromedp.CSS("#invite-acct"), "bob"),
		chromedp.Click(chromedp.CSS(".invite-form button[type=submit]")),
		browser.WaitJS(`document.querySelector('.flash') && document.querySelector('.flash').textContent.includes('Invitation sent')`),
	))

	// 3. Bob finds the invitation among his groups and accepts it.
	must(t, chromedp.Do(bob,
		chromedp.Navigate(base+"/groups"),
		chromedp.WaitVisible(chromedp.CSS(`.invitation form[action$="/join"] button`)),
	))
	browser.Screenshot(t, bob, "groups-02-invitation")
	must(t, chromedp.Do(bob,
		chromedp.Click(chromedp.CSS(`.invitation form[action$="/join"] button`)),
		browser.WaitJS(`location.pathname === '`+path+`' && document.querySelector('.flash') && document.querySelector('.flash').textContent.includes('You joined')`),
	))

	// 4. Carol sees a closed group: its About and a request button, nothing posted.
	must(t, chromedp.Do(carol,
		chromedp.Navigate(base+path),
		chromedp.WaitVisible(chromedp.CSS(`.group-actions form[action$="/join"] button`)),
		chromedp.Click(chromedp.CSS(`.group-actions form[action$="/join"] button`)),
		browser.WaitJS(`document.querySelector('.flash') && document.querySelector('.flash').textContent.includes('Request sent')`),
	))
	browser.Screenshot(t, carol, "groups-03-requested")

	// 5. Alice approves her on the Requests tab.
	must(t, chromedp.Do(alice,
		chromedp.Navigate(base+path),
		chromedp.Click(chromedp.CSS(`.tabs a[href$="/requests"]`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action$="/approve"] button`)),
	))
	browser.Screenshot(t, alice, "groups-04-requests")
	must(t, chromedp.Do(alice,
		chromedp.Click(chromedp.CSS(`form[action$="/approve"] button`)),
		browser.WaitJS(`document.querySelector('.flash') && document.querySelector('.flash').textContent.includes('Request approved')`),
	))

	// 6. Bob posts from the group's composer; the card arrives without a page load.
	must(t, chromedp.Do(bob,
		chromedp.WaitVisible(chromedp.CSS("#status")),
		mark(),
		chromedp.SendKeys(chromedp.CSS("#status"), "Falcon kick-off notes are in the shared folder"),
		chromedp.Click(chromedp.CSS(".compose button[type=submit]")),
		browser.WaitJS(`document.querySelector('[data-feed] .post') && document.querySelector('[data-feed] .post').textContent.includes('Falcon kick-off notes')`),
		stillSamePage(),
	))

	// 7. Carol, a member now, reads it on the group's page.
	must(t, chromedp.Do(carol,
		chromedp.Navigate(base+path),
		browser.WaitJS(`document.querySelector('[data-feed]') && document.querySelector('[data-feed]').textContent.includes('Falcon kick-off notes')`),
	))
	browser.Screenshot(t, carol, "groups-05-member-reads")
	// 8. On the settings page, the partner confirmation names the host as it is typed.
	must(t, chromedp.Do(alice,
		chromedp.Navigate(base+path+"/settings"),
		chromedp.WaitVisible(chromedp.CSS("#partner-host")),
		chromedp.SendKeys(chromedp.CSS("#partner-host"), "agency.example"),
		browser.WaitJS(`document.querySelector('[data-echo]').textContent === 'agency.example'`),
	))
	// A full-page screenshot of a scrolled page draws the sticky top bar halfway down.
	_, _ = chromedp.Run(alice, chromedp.Evaluate[bool]("document.activeElement.blur(), window.scrollTo(0, 0), true"))
	browser.Screenshot(t, alice, "groups-06-settings")
	members, err := chromedp.Run(carol, chromedp.Evaluate[string](`document.querySelector('[data-members]').textContent`))
	if err != nil || !strings.Contains(members, "3 members") {
		t.Fatalf("member count on the page: %q %v", members, err)
	}

	// 9. Alice gives the group a cover: the chosen picture previews in the current one's
	// place, and once saved it loads (under the CSP) as the group's banner and on Bob's
	// directory card.
	pic := filepath.Join(t.TempDir(), "falcon.png")
	if err := os.WriteFile(pic, pngBytes(1200, 500), 0o600); err != nil {
		t.Fatal(err)
	}
	loaded := func(sel string) string {
		return `(() => { const i = document.querySelector('` + sel + `'); return i !== null && i.complete && i.naturalWidth > 0 })()`
	}
	must(t, chromedp.Do(alice,
		chromedp.Navigate(base+path+"/settings"),
		chromedp.WaitVisible(chromedp.CSS("#group-cover")),
		chromedp.SetUploadFiles(chromedp.CSS("#group-cover"), []string{pic}),
		browser.WaitJS(loaded(`.cover-preview [data-avatar-preview]`)+` && getComputedStyle(document.querySelector('.cover-preview > div.group-cover-frame')).display === 'none'`),
		chromedp.Click(chromedp.CSS(".cover-form button[type=submit]")),
		browser.WaitJS(`document.querySelector('.flash') && document.querySelector('.flash').textContent.includes('Cover saved')`),
		browser.WaitJS(loaded(`.cover-preview img[alt^="The current cover"]`)),
		chromedp.Navigate(base+path),
		browser.WaitJS(loaded(`.group-band.has-cover img`)+` && `+loaded(`.group-id img.group-avatar`)),
	))
	// The banner spans the whole head of the page, not a 3:1 box narrowed by its height limit.
	widths, err := chromedp.Run(alice, chromedp.Evaluate[string](
		`document.querySelector('.group-band img').getBoundingClientRect().width + ' ' + document.querySelector('.group-head').clientWidth`))
	if err != nil || len(strings.Fields(widths)) != 2 || strings.Fields(widths)[0] != strings.Fields(widths)[1] {
		t.Fatalf("banner width and page head width: %q %v", widths, err)
	}
	browser.Screenshot(t, alice, "groups-07-cover")
	must(t, chromedp.Do(bob,
		chromedp.Navigate(base+"/groups"),
		browser.WaitJS(loaded(`.group-card-cover img`)),
	))
	browser.Screenshot(t, bob, "groups-08-directory")
}
