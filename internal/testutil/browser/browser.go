// Package browser starts Debian's headless Chromium for UI tests, driven from Go through the
// DevTools protocol (chromedp). Tests skip, naming the missing tool, when chromium is not
// installed; CI installs it, so there they always run.
package browser

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Path finds the Chromium binary, or "" when none is installed.
func Path() string {
	if p := os.Getenv("ATRIUM_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// New starts a browser with an empty profile (one independent session: its own cookies)
// and returns a context to drive it; it closes when the test ends. Each call is a separate
// browser, so two calls give two people at two screens.
func New(t testing.TB, timeout time.Duration) context.Context {
	t.Helper()
	p := Path()
	if p == "" {
		t.Skip("chromium not installed (apt-get install chromium); browser test skipped")
	}
	// The flags keep Chromium from reaching out to Google's services, which this network
	// refuses, and let it run as root in a container.
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(p),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1280, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, cancelCtx := chromedp.NewContext(actx)
	// The first action allocates the browser, which lives as long as that call's context:
	// start it on the untimed context, then bound the test's steps with a derived one.
	if err := chromedp.Do(bctx); err != nil {
		cancelCtx()
		cancelAlloc()
		t.Fatalf("start chromium %s: %v", p, err)
	}
	ctx, cancelTimeout := context.WithTimeout(bctx, timeout)
	t.Cleanup(func() {
		if t.Failed() { // show what the browser saw when the test failed
			sctx, cancel := context.WithTimeout(bctx, 10*time.Second)
			Screenshot(t, sctx, "failed-"+strings.ReplaceAll(t.Name(), "/", "_")+"-"+strconv.Itoa(int(time.Now().UnixNano()%1000)))
			cancel()
		}
		cancelTimeout()
		cancelCtx()
		cancelAlloc()
	})
	return ctx
}

// Screenshot saves a PNG of the page when ATRIUM_SCREENSHOTS names a directory, so a person
// can look at what a test saw.
func Screenshot(t testing.TB, ctx context.Context, name string) {
	dir := os.Getenv("ATRIUM_SCREENSHOTS")
	if dir == "" {
		return
	}
	buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Logf("screenshot %s: %v", name, err)
		return
	}
	_ = os.MkdirAll(dir, 0o755)
	if err := os.WriteFile(dir+"/"+name+".png", buf, 0o644); err != nil {
		t.Logf("screenshot %s: %v", name, err)
	}
}

// WaitJS waits until a JavaScript condition holds on a fully loaded page. It asks again and
// again from Go, because a page in the middle of navigating cannot answer a browser-side poll.
func WaitJS(cond string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		for {
			ok, err := chromedp.Evaluate[bool]("document.readyState === 'complete' && !!("+cond+")")(ctx, tg)
			if err == nil && ok {
				return nil
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("waiting for %s: %w (last error %v)", cond, ctx.Err(), err)
			case <-time.After(50 * time.Millisecond):
			}
		}
	})
}
