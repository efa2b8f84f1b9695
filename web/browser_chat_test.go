package web_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/atrium-social/atrium/internal/testutil/browser"
	"github.com/atrium-social/atrium/internal/testutil/nodetest"
)

// TestBrowserChat is two colleagues chatting at two screens, in headless Chromium under the
// real CSP, each page with its one websocket: Alice starts a chat with Bob from "New chat"
// and writes; Bob, on the chat page, sees the chat arrive with its unread count and the
// navigation's badge, without a reload; he opens it, and Alice sees "Seen by bob" appear;
// she sees him typing, then his answer; her reaction appears on his screen. Then Bob's
// connection drops while Alice writes twice: back online, he has both, once. Set
// ATRIUM_SCREENSHOTS=dir to look at the pages.
func TestBrowserChat(t *testing.T) {
	if browser.Path() == "" {
		t.Skip("chromium not installed (apt-get install chromium); browser test skipped")
	}
	n := nodetest.Start(t, nodetest.Options{Setup: true})
	// Through fasthttp itself, as `atrium serve` does: websockets cannot pass through the
	// net/http adaptor of nodetest's own listener.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = n.Server.App.Listener(ln) }()
	t.Cleanup(func() { _ = n.Server.App.Shutdown() })
	base := "http://" + ln.Addr().String()
	aliceAPI := n.NewUser(t, "alice")
	n.NewUser(t, "bob")

	alice := browser.New(t, 60*time.Second)
	bob := browser.New(t, 60*time.Second)
	// Bob's pages keep a hand on their websockets, so the test can drop one as a network
	// failure would. The script runs before the page's own (and DevTools' scripts are not
	// subject to the page's CSP).
	must(t, chromedp.Do(bob, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: `(() => {
			const W = window.WebSocket;
			window.__sockets = [];
			window.WebSocket = function (u, p) { const s = p === undefined ? new W(u) : new W(u, p); window.__sockets.push(s); return s; };
			window.WebSocket.prototype = W.prototype;
		})()`})
		return err
	})))
	signIn(t, alice, base, "alice")
	signIn(t, bob, base, "bob")
	live := browser.WaitJS(`document.documentElement.getAttribute('data-live') === 'open'`)

	// Bob waits on the chat page, nothing open yet.
	must(t, chromedp.Do(bob,
		chromedp.Navigate(base+"/chat"),
		chromedp.WaitVisible(chromedp.CSS(".chat-list")),
		live,
		mark(),
	))

	// 1. Alice picks Bob by name in "New chat" and writes; Enter sends.
	must(t, chromedp.Do(alice,
		chromedp.Click(chromedp.CSS(`#sidenav a[href="/chat"]`)),
		browser.WaitJS(`location.pathname === '/chat'`),
		chromedp.Click(chromedp.CSS(`.chat-side-head a[href="/chat/new"]`)),
		chromedp.WaitVisible(chromedp.CSS("#chat-find-q")),
		chromedp.SendKeys(chromedp.CSS("#chat-find-q"), "bob"),
		browser.WaitJS(`document.querySelector('[data-chat-found] input[value="bob"]') !== null`),
		chromedp.Click(chromedp.CSS(`[data-chat-found] input[value="bob"]`)),
		browser.WaitJS(`document.querySelector('[data-chat-chosen] input[value="bob"]:checked') !== null`),
		chromedp.Click(chromedp.CSS(".chat-new-form button[type=submit]")),
		browser.WaitJS(`/^\/chat\/[0-9A-Z]+$/.test(location.pathname) && document.querySelector('#chat-text') !== null`),
		live,
		mark(),
		chromedp.SendKeys(chromedp.CSS("#chat-text"), "Hello Bob, got a minute?\n"),
		browser.WaitJS(`document.querySelector('[data-chat-messages] .chat-msg.mine') && document.querySelector('[data-chat-messages] .chat-msg.mine').textContent.includes('got a minute')`),
		browser.WaitJS(`document.querySelector('#chat-text').value.trim() === ''`),
		stillSamePage(),
	))
	path, err := chromedp.Run(alice, chromedp.Evaluate[string](`location.pathname`))
	if err != nil {
		t.Fatal(err)
	}
	id := regexp.MustCompile(`^/chat/([0-9A-Z]+)$`).FindStringSubmatch(path)[1]
	browser.Screenshot(t, alice, "chat-01-sent")

	// 2. Bob's open page shows the new chat with its unread count, and the badge, live.
	row := `document.querySelector('[data-chat-row="` + id + `"]')`
	must(t, chromedp.Do(bob,
		browser.WaitJS(row+` && `+row+`.textContent.includes('got a minute') && `+row+`.querySelector('[data-chat-unread]')`),
		browser.WaitJS(`!document.querySelector('#sidenav [data-chat-badge]').hidden && document.querySelector('#sidenav [data-chat-badge-n]').textContent === '1'`),
		stillSamePage(),
	))
	browser.Screenshot(t, bob, "chat-02-unread")

	// 3. Bob opens it: he reads, and Alice sees so at once.
	must(t, chromedp.Do(bob,
		chromedp.Click(chromedp.CSS(`[data-chat-row="`+id+`"]`)),
		browser.WaitJS(`location.pathname === '`+path+`' && document.querySelector('[data-chat-messages]').textContent.includes('got a minute')`),
		live,
		mark(),
		browser.WaitJS(`document.querySelector('#sidenav [data-chat-badge]').hidden`),
	))
	must(t, chromedp.Do(alice,
		browser.WaitJS(`document.querySelector('[data-chat-seen]').textContent === 'Seen by bob'`),
		stillSamePage(),
	))
	browser.Screenshot(t, alice, "chat-03-seen")

	// 4. Bob types: Alice sees him typing; his message arrives once, and the notice goes.
	must(t, chromedp.Do(bob, chromedp.SendKeys(chromedp.CSS("#chat-text"), "Sure, ")))
	must(t, chromedp.Do(alice, browser.WaitJS(`document.querySelector('[data-chat-typing]').textContent === 'bob is typing…'`)))
	browser.Screenshot(t, alice, "chat-04-typing")
	must(t, chromedp.Do(bob,
		chromedp.SendKeys(chromedp.CSS("#chat-text"), "what is up?\n"),
		browser.WaitJS(`[...document.querySelectorAll('[data-chat-messages] .chat-msg.mine')].some(m => m.textContent.includes('what is up?'))`),
	))
	count := func(text string) string {
		return `[...document.querySelectorAll('[data-chat-messages] [data-msg]')].filter(m => m.textContent.includes('` + text + `')).length`
	}
	must(t, chromedp.Do(alice,
		browser.WaitJS(count("what is up?")+` === 1`),
		browser.WaitJS(`document.querySelector('[data-chat-typing]').textContent === ''`),
		stillSamePage(),
	))
	reply, err := chromedp.Run(alice, chromedp.Evaluate[string](
		`[...document.querySelectorAll('[data-chat-messages] [data-msg]')].find(m => m.textContent.includes('what is up?')).getAttribute('data-msg')`))
	if err != nil {
		t.Fatal(err)
	}

	// 5. Alice reacts to Bob's message; the reaction appears on Bob's screen.
	msg := "#m-" + reply
	must(t, chromedp.Do(alice,
		chromedp.Click(chromedp.CSS(msg+" .chat-picker summary")),
		chromedp.Click(chromedp.CSS(msg+` .picker-panel button[value="🎉"]`)),
		browser.WaitJS(`document.querySelector('`+msg+` .chat-reaction.on') !== null`),
	))
	must(t, chromedp.Do(bob,
		browser.WaitJS(`document.querySelector('`+msg+` .chat-reaction') && document.querySelector('`+msg+` .chat-reaction').textContent.includes('🎉')`),
		stillSamePage(),
	))
	browser.Screenshot(t, bob, "chat-05-reaction")

	// 6. Bob's connection drops, and Alice writes twice meanwhile. His page reconnects on its
	// own and catches up from the last change it applied: both messages, once each, in order.
	must(t, chromedp.Do(bob,
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := chromedp.Evaluate[bool](`window.__sockets.forEach(s => s.close()), true`)(ctx, tg)
			return err
		}),
		browser.WaitJS(`!document.documentElement.hasAttribute('data-live')`),
	))
	for i := 1; i <= 2; i++ {
		if resp := aliceAPI.Call("POST", "/api/v1/chats/"+id+"/messages", map[string]any{"text": fmt.Sprintf("While you were away %d", i)}, nil); resp.StatusCode != 200 {
			t.Fatalf("send through the API: %d", resp.StatusCode)
		}
	}
	if away, err := chromedp.Run(bob, chromedp.Evaluate[bool](`!document.documentElement.hasAttribute('data-live')`)); err != nil || !away {
		t.Fatalf("Bob's page reconnected before Alice wrote (%v): nothing to catch up", err)
	}
	must(t, chromedp.Do(bob,
		browser.WaitJS(count("While you were away 1")+` === 1 && `+count("While you were away 2")+` === 1`),
		live,
		stillSamePage(),
	))
	for who, ctx := range map[string]context.Context{"alice": alice, "bob": bob} {
		order, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => {
			const ids = [...document.querySelectorAll('[data-chat-messages] [data-msg]')].map(m => m.getAttribute('data-msg'));
			if (new Set(ids).size !== ids.length) return 'duplicates: ' + ids.join(' ');
			if ([...ids].sort().join() !== ids.join()) return 'out of order: ' + ids.join(' ');
			return String(ids.length);
		})()`))
		if err != nil || order != "4" {
			t.Fatalf("%s's messages: %s %v (want 4, in order, once each)", who, order, err)
		}
	}
	browser.Screenshot(t, bob, "chat-06-caught-up")

	// 7. Bob sends a picture alone (Enter sends files too); Alice sees its thumbnail arrive.
	pic := filepath.Join(t.TempDir(), "plan.png")
	if err := os.WriteFile(pic, pngBytes(640, 480), 0o644); err != nil {
		t.Fatal(err)
	}
	must(t, chromedp.Do(bob,
		chromedp.SetUploadFiles(chromedp.CSS("#chat-files"), []string{pic}),
		browser.WaitJS(`document.querySelector('[data-chat-previews] img') !== null`),
		chromedp.SendKeys(chromedp.CSS("#chat-text"), "\n"),
		browser.WaitJS(`document.querySelector('[data-chat-messages] .chat-msg.mine:last-of-type .images img') !== null`),
		browser.WaitJS(`document.querySelector('[data-chat-previews]').hidden`),
	))
	must(t, chromedp.Do(alice,
		browser.WaitJS(`[...document.querySelectorAll('[data-chat-messages] [data-msg]')].pop().querySelector('.images img[src^="/media/"]') !== null`),
		stillSamePage(),
	))
	browser.Screenshot(t, alice, "chat-07-picture")

	// 8. On a phone the list and the chat stack: the chat alone, with a way back to the list.
	must(t, chromedp.Do(bob,
		chromedp.EmulateViewport(390, 844),
		chromedp.Navigate(base+path),
		chromedp.WaitVisible(chromedp.CSS(".chat-back")),
		browser.WaitJS(`getComputedStyle(document.querySelector('.chat-side')).display === 'none'`),
	))
	browser.Screenshot(t, bob, "chat-08-phone-chat")
	must(t, chromedp.Do(bob,
		chromedp.Click(chromedp.CSS(".chat-back")),
		browser.WaitJS(`location.pathname === '/chat'`),
		chromedp.WaitVisible(chromedp.CSS(`[data-chat-row="`+id+`"]`)),
		browser.WaitJS(`getComputedStyle(document.querySelector('.chat-main')).display === 'none'`),
	))
	browser.Screenshot(t, bob, "chat-09-phone-list")

	// 9. On other pages the navigation's chat popover lists the recent chats.
	must(t, chromedp.Do(alice,
		chromedp.Navigate(base+"/company"),
		chromedp.Click(chromedp.CSS(".chat-dock > summary")),
		chromedp.WaitVisible(chromedp.CSS(`[data-chat-dock-panel] a[data-chat-row="`+id+`"]`)),
	))
	browser.Screenshot(t, alice, "chat-10-dock")
}
