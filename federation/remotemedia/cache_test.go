package remotemedia_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/atrium-social/atrium/federation/activity"
	"github.com/atrium-social/atrium/federation/remotemedia"
	"github.com/atrium-social/atrium/internal/clock"
	"github.com/atrium-social/atrium/internal/db"
	"github.com/atrium-social/atrium/internal/jobs"
	"github.com/atrium-social/atrium/internal/media"
	"github.com/atrium-social/atrium/internal/outbound"
	"github.com/atrium-social/atrium/internal/testutil/dbtest"
)

// maxBytes is the cache's body cap in these tests: small, so oversized bodies are cheap.
const maxBytes = 256 << 10

// secret is written into the test photo's EXIF block; it must never come out again.
const secret = "GPS 52.3702N 4.8952E"

// env is one node's cache against a fake partner, acme.test, and a non-partner, evil.test,
// both served by one httptest server on 127.0.0.1 and told apart by Host.
type env struct {
	cache *remotemedia.Cache
	jobs  *jobs.Queue
	db    *db.DB
	store *media.DiskStore
	clock *clock.Fake
	port  string

	mu   sync.Mutex
	hits map[string]int // "host path" -> requests
	// fail500 answers 500 to this many requests of /flaky.jpg before serving it.
	fail500 int
}

func newEnv(t *testing.T, d *db.DB, allowed ...string) *env {
	t.Helper()
	e := &env{db: d, hits: map[string]int{}, clock: clock.NewFake(time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC))}
	photo := exifJPEG(t, 600, 400)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		e.hits[hostOnly(r.Host)+" "+r.URL.Path]++
		flaky := r.URL.Path == "/flaky.jpg" && e.fail500 > 0
		if flaky {
			e.fail500--
		}
		e.mu.Unlock()
		switch r.URL.Path {
		case "/photo.jpg":
			w.Header().Set("Content-Type", "image/jpeg")
			w.Write(photo)
		case "/flaky.jpg":
			if flaky {
				http.Error(w, "busy", http.StatusInternalServerError)
				return
			}
			w.Write(photo)
		case "/declared-big.jpg":
			// Honest and too large: refused from the header, before any byte is read.
			w.Header().Set("Content-Type", "image/jpeg")
			w.Header().Set("Content-Length", "1073741824")
			w.(http.Flusher).Flush()
		case "/streamed-big.jpg":
			// No Content-Length (chunked): only the counted read can stop it.
			w.Header().Set("Content-Type", "image/jpeg")
			w.Write(photo[:2])
			chunk := make([]byte, 32<<10)
			for range maxBytes/len(chunk) + 2 {
				if _, err := w.Write(chunk); err != nil {
					return
				}
				w.(http.Flusher).Flush()
			}
		case "/page.jpg":
			w.Header().Set("Content-Type", "image/jpeg")
			io.WriteString(w, "<!DOCTYPE html><html><body><script>alert(1)</script></body></html>")
		case "/gzipped.jpg":
			w.Header().Set("Content-Type", "image/jpeg")
			w.Header().Set("Content-Encoding", "gzip")
			zw := gzip.NewWriter(w)
			zw.Write(photo)
			zw.Close()
		case "/gone.jpg":
			http.Error(w, "gone", http.StatusGone)
		case "/to-private.jpg":
			http.Redirect(w, r, "http://10.0.0.1/photo.jpg", http.StatusFound)
		case "/to-evil.jpg":
			http.Redirect(w, r, "http://evil.test:"+e.port+"/photo.jpg", http.StatusFound)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	_, e.port, _ = net.SplitHostPort(srv.Listener.Addr().String())

	client := outbound.New(outbound.Options{
		AllowPrivate:      []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
		AllowInsecureHTTP: true,
		Resolver: func(_ context.Context, host string) ([]netip.Addr, error) {
			return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
		},
	})
	t.Cleanup(client.CloseIdleConnections)
	store, err := media.NewDiskStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	e.store = store
	log := slog.New(slog.DiscardHandler)
	e.jobs = jobs.New(d, e.clock, log, jobs.Options{})
	e.cache = remotemedia.New(remotemedia.Deps{DB: d, Jobs: e.jobs, HTTP: client, Store: store, Clock: e.clock, Log: log,
		MaxBytes: maxBytes,
		Allowed: func(_ context.Context, host string) bool {
			for _, a := range allowed {
				if hostOnly(host) == a {
					return true
				}
			}
			return false
		}})
	return e
}

func hostOnly(h string) string {
	if host, _, err := net.SplitHostPort(h); err == nil {
		return host
	}
	return h
}

func (e *env) url(host, path string) string { return "http://" + host + ":" + e.port + path }

func (e *env) hitCount(host, path string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.hits[host+" "+path]
}

// queue queues u in its own transaction, as a caller storing a post would.
func (e *env) queue(t *testing.T, u string) string {
	t.Helper()
	var key string
	err := e.db.Tx(context.Background(), func(ctx context.Context, tx bun.Tx) error {
		var err error
		key, err = e.cache.Queue(ctx, tx, u)
		return err
	})
	if err != nil {
		t.Fatalf("queue %s: %v", u, err)
	}
	return key
}

func (e *env) drain(t *testing.T) int {
	t.Helper()
	n, err := e.jobs.DrainCount(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return int(n)
}

func (e *env) entry(t *testing.T, u string) *remotemedia.Entry {
	t.Helper()
	en, err := e.cache.Lookup(context.Background(), u)
	if err != nil {
		t.Fatalf("lookup %s: %v", u, err)
	}
	return en
}

func (e *env) blob(t *testing.T, key string) ([]byte, media.Info) {
	t.Helper()
	rc, info, err := e.store.Open(context.Background(), key)
	if err != nil {
		t.Fatalf("open %s: %v", key, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b, info
}

// deadJobs counts jobs of the cache's kind the queue gave up on.
func (e *env) deadJobs(t *testing.T) int {
	t.Helper()
	n, err := e.db.NewSelect().Table("jobs").Where("kind = ? AND state = ?", remotemedia.Kind, jobs.StateDead).Count(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return int(n)
}

// exifJPEG is a w×h photo whose APP1 block holds EXIF with the secret, as a phone writes it.
func exifJPEG(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), 128, 255})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 80}); err != nil {
		t.Fatal(err)
	}
	jpg := buf.Bytes()
	// "Exif\0\0", a big-endian TIFF header with an empty IFD0, then the secret as trailing
	// bytes of the block: enough for any reader to call it EXIF and for the test to find it.
	payload := append([]byte("Exif\x00\x00MM\x00\x2a\x00\x00\x00\x08\x00\x00\x00\x00\x00\x00"), secret...)
	seg := []byte{0xFF, 0xE1, 0, 0}
	binary.BigEndian.PutUint16(seg[2:], uint16(len(payload)+2))
	out := append([]byte{}, jpg[:2]...)
	out = append(out, seg...)
	out = append(out, payload...)
	return append(out, jpg[2:]...)
}

func TestPhotoIsCopiedWithoutEXIFAndWithThumbnail(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, "acme.test")
		u := e.url("acme.test", "/photo.jpg")
		key := e.queue(t, u)
		if key != remotemedia.Key(u) || !remotemedia.IsKey(key) || media.ValidateKey(key) != nil {
			t.Fatalf("key %q, want the valid Key(url) %q", key, remotemedia.Key(u))
		}
		if en := e.entry(t, u); en.Status != remotemedia.StatusPending {
			t.Fatalf("before the fetch: %+v", en)
		}
		e.drain(t)
		en := e.entry(t, u)
		if en.Status != remotemedia.StatusOK || en.ContentType != "image/jpeg" || en.Width != 600 || en.Height != 400 ||
			en.SizeBytes == 0 || en.FetchedAt == nil || en.Error != "" {
			t.Fatalf("after the fetch: %+v", en)
		}
		full, info := e.blob(t, en.FileKey)
		if info.ContentType != "image/jpeg" || bytes.Contains(full, []byte("Exif")) || bytes.Contains(full, []byte(secret)) {
			t.Fatalf("stored copy: type %s, EXIF kept: %v", info.ContentType, bytes.Contains(full, []byte(secret)))
		}
		if cfg, err := jpeg.DecodeConfig(bytes.NewReader(full)); err != nil || cfg.Width != 600 || cfg.Height != 400 {
			t.Fatalf("stored copy decodes as %+v, %v", cfg, err)
		}
		thumb, _ := e.blob(t, remotemedia.ThumbKey(u))
		if cfg, err := jpeg.DecodeConfig(bytes.NewReader(thumb)); err != nil || cfg.Width != media.ThumbSide {
			t.Fatalf("thumbnail decodes as %+v, %v", cfg, err)
		}
		if bytes.Contains(thumb, []byte(secret)) {
			t.Fatal("thumbnail kept the EXIF block")
		}
	})
}

func TestSameURLQueuedTwiceIsFetchedOnce(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, "acme.test")
		u := e.url("acme.test", "/photo.jpg")
		if a, b := e.queue(t, u), e.queue(t, u); a != b {
			t.Fatalf("two keys for one URL: %s, %s", a, b)
		}
		if n := e.drain(t); n != 1 {
			t.Fatalf("%d jobs ran, want 1", n)
		}
		e.queue(t, u) // cached now: nothing to do
		if n := e.drain(t); n != 0 {
			t.Fatalf("%d jobs ran for a cached URL", n)
		}
		if n := e.hitCount("acme.test", "/photo.jpg"); n != 1 {
			t.Fatalf("the partner saw %d requests, want 1", n)
		}
	})
}

// TestRefusals: each hostile or broken answer ends in a failed row with the reason, a
// permanent failure at the first attempt (no retry), and nothing stored under the key.
func TestRefusals(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		// 10.0.0.1 is "allowed" by policy here, so that the refusal of the redirect below is
		// outbound's address check and not the partner policy.
		e := newEnv(t, d, "acme.test", "10.0.0.1")
		cases := []struct {
			path, want string
			dead       bool // a permanent failure kept as a dead job
		}{
			{"/declared-big.jpg", "Content-Length 1073741824", true},
			{"/streamed-big.jpg", "more than 262144 bytes", true},
			{"/page.jpg", "the bytes are text/html", true},
			{"/gzipped.jpg", "unrequested Content-Encoding", true},
			{"/gone.jpg", "410", true},
			{"/to-private.jpg", "destination address blocked: 10.0.0.1 is private", true},
			{"/to-evil.jpg", "host not allowed: redirect to evil.test", false},
		}
		for _, c := range cases {
			e.queue(t, e.url("acme.test", c.path))
		}
		e.drain(t)
		for _, c := range cases {
			u := e.url("acme.test", c.path)
			en := e.entry(t, u)
			if en.Status != remotemedia.StatusFailed || !strings.Contains(en.Error, c.want) {
				t.Errorf("%s: status %s, error %q; want failed with %q", c.path, en.Status, en.Error, c.want)
			}
			if n := e.hitCount("acme.test", c.path); n != 1 {
				t.Errorf("%s: fetched %d times, want once (no retry)", c.path, n)
			}
			if _, _, err := e.store.Open(context.Background(), en.FileKey); err == nil {
				t.Errorf("%s: something was stored", c.path)
			}
		}
		if n := e.hitCount("evil.test", "/photo.jpg"); n != 0 {
			t.Errorf("the redirect reached the non-partner %d times", n)
		}
		want := 0
		for _, c := range cases {
			if c.dead {
				want++
			}
		}
		if n := e.deadJobs(t); n != want {
			t.Errorf("%d dead jobs, want %d (a policy refusal is not a fault)", n, want)
		}
	})
}

func TestNonPartnerIsNeverContacted(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, "acme.test")
		u := e.url("evil.test", "/photo.jpg")
		e.queue(t, u)
		e.drain(t)
		if n := e.hitCount("evil.test", "/photo.jpg"); n != 0 {
			t.Fatalf("the non-partner saw %d requests", n)
		}
		if en := e.entry(t, u); en.Status != remotemedia.StatusFailed || !strings.Contains(en.Error, "not allowed") {
			t.Fatalf("%+v", en)
		}
		if n := e.deadJobs(t); n != 0 {
			t.Fatalf("%d dead jobs for a policy refusal", n)
		}
	})
}

func TestTransientFailureIsRetried(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, "acme.test")
		e.fail500 = 1
		u := e.url("acme.test", "/flaky.jpg")
		e.queue(t, u)
		e.drain(t)
		if en := e.entry(t, u); en.Status != remotemedia.StatusPending || !strings.Contains(en.Error, "500") {
			t.Fatalf("after a 500: %+v", en)
		}
		e.clock.Advance(time.Minute) // past the first backoff (at most 30 s)
		e.drain(t)
		if en := e.entry(t, u); en.Status != remotemedia.StatusOK || en.Error != "" {
			t.Fatalf("after the retry: %+v", en)
		}
		if n := e.hitCount("acme.test", "/flaky.jpg"); n != 2 {
			t.Fatalf("%d requests, want 2", n)
		}
	})
}

func TestUnready(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, "acme.test")
		ok, bad := e.url("acme.test", "/photo.jpg"), e.url("acme.test", "/page.jpg")
		okKey, badKey := e.queue(t, ok), e.queue(t, bad)
		unknown := remotemedia.Key("https://nowhere.test/x.png")
		keys := []string{okKey, badKey, unknown, "attachments/01abc/secret.jpg"}
		got, err := e.cache.Unready(context.Background(), keys)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 3 || got[okKey] != ok || got[badKey] != bad || got[unknown] != "" {
			t.Fatalf("before the fetch: %v", got)
		}
		e.drain(t)
		got, err = e.cache.Unready(context.Background(), keys)
		if err != nil {
			t.Fatal(err)
		}
		if _, pending := got[okKey]; pending || got[badKey] != bad || len(got) != 2 {
			t.Fatalf("after the fetch: %v", got)
		}
	})
}

func TestQueueRefusesWhatCannotBeFetched(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, "acme.test")
		for _, u := range []string{"ftp://acme.test/x.jpg", "file:///etc/passwd", "http://user:pw@acme.test/x.jpg",
			"/relative.jpg", "https://acme.test/" + strings.Repeat("a", remotemedia.MaxURLLen)} {
			if _, err := e.cache.Queue(context.Background(), d, u); err == nil {
				t.Errorf("%.60s was queued", u)
			}
		}
		if n := e.drain(t); n != 0 {
			t.Fatalf("%d jobs ran", n)
		}
	})
}

func TestNoteAttachments(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, "acme.test")
		img := func(n int) activity.Attachment {
			return activity.Attachment{Type: "Document", MediaType: "image/jpeg", URL: e.url("acme.test", "/photo.jpg?n="+string(rune('0'+n))),
				Name: "alt", Width: 600, Height: 400}
		}
		in := []activity.Attachment{
			img(1),
			{Type: "Document", MediaType: "application/pdf", URL: "https://acme.test/report.pdf", Name: "report"},
			{Type: "Image", MediaType: "image/svg+xml", URL: "https://acme.test/logo.svg"},
			{Type: "Image", URL: "https://acme.test/plain.png", Width: 1 << 30, Height: 5},
			{Type: "Image", URL: "javascript:alert(1)"},
			img(2), img(3), img(4),
		}
		var images []string
		var links []activity.Attachment
		err := d.Tx(context.Background(), func(ctx context.Context, tx bun.Tx) error {
			ras, ls, err := e.cache.Attachments(ctx, tx, in)
			for _, ra := range ras {
				if ra.FileKey != remotemedia.Key(urlOf(in, ra.FileKey)) || ra.Kind != media.KindImage {
					t.Errorf("attachment %+v", ra)
				}
				images = append(images, urlOf(in, ra.FileKey))
				if urlOf(in, ra.FileKey) == "https://acme.test/plain.png" && (ra.Width != 0 || ra.Height != 0) {
					t.Errorf("absurd declared size kept: %+v", ra)
				}
			}
			links = ls
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		wantImages := []string{in[0].URL, "https://acme.test/plain.png", in[5].URL, in[6].URL}
		if strings.Join(images, " ") != strings.Join(wantImages, " ") {
			t.Fatalf("images %v, want %v", images, wantImages)
		}
		var linkURLs []string
		for _, l := range links {
			linkURLs = append(linkURLs, l.URL)
		}
		wantLinks := []string{"https://acme.test/report.pdf", "https://acme.test/logo.svg", "javascript:alert(1)", in[7].URL}
		if strings.Join(linkURLs, " ") != strings.Join(wantLinks, " ") {
			t.Fatalf("links %v, want %v", linkURLs, wantLinks)
		}
	})
}

// urlOf finds the attachment URL whose key is key.
func urlOf(in []activity.Attachment, key string) string {
	for _, a := range in {
		if remotemedia.Key(a.URL) == key {
			return a.URL
		}
	}
	return ""
}
