package previews

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/atrium-social/atrium/internal/clock"
	"github.com/atrium-social/atrium/internal/db"
	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/outbound"
	"github.com/atrium-social/atrium/internal/testutil/dbtest"
)

var t0 = time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)

func newService(t *testing.T, d *db.DB) (*Service, *clock.Fake) {
	t.Helper()
	c := outbound.New(outbound.Options{
		AllowPrivate:      []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
		AllowInsecureHTTP: true,
	})
	t.Cleanup(c.CloseIdleConnections)
	fk := clock.NewFake(t0)
	return New(d, c, fk, slog.New(slog.DiscardHandler)), fk
}

// site is a loopback server counting the requests it got.
type site struct {
	*httptest.Server
	hits atomic.Int32
}

func newSite(t *testing.T, h http.HandlerFunc) *site {
	t.Helper()
	s := &site{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		h(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

// htmlPage serves body as an HTML document.
func htmlPage(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, body)
	}
}

func fetch(t *testing.T, s *Service, u string) *Preview {
	t.Helper()
	p, err := s.Fetch(context.Background(), u)
	if err != nil {
		t.Fatalf("Fetch(%s): %v", u, err)
	}
	return p
}

// storedRow reads the row for u straight from the table.
func storedRow(t *testing.T, d *db.DB, u string) *Preview {
	t.Helper()
	p := new(Preview)
	if err := d.NewSelect().Model(p).Where("url = ?", u).Scan(context.Background()); err != nil {
		if db.IsNotFound(err) {
			return nil
		}
		t.Fatalf("read %s: %v", u, err)
	}
	p.FetchedAt = p.FetchedAt.UTC()
	return p
}

func check(t *testing.T, got *Preview, want Preview) {
	t.Helper()
	if got == nil {
		t.Fatalf("preview = nil, want %+v", want)
	}
	g := *got
	g.FetchedAt = time.Time{}
	if g != want {
		t.Errorf("preview =\n %+v\nwant\n %+v", g, want)
	}
}

func TestFetchOpenGraph(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		s, _ := newService(t, d)
		var accept atomic.Value
		srv := newSite(t, func(w http.ResponseWriter, r *http.Request) {
			accept.Store(r.Header.Get("Accept"))
			htmlPage(`<!doctype html><html><head><title>Plain</title>
				<meta property="og:title" content="Release 2.0">
				<meta property="og:description" content="What is new &amp; improved">
				<meta property="og:image" content="https://cdn.example/r2.png">
				<meta property="og:site_name" content="Acme Blog">
				</head><body>...</body></html>`)(w, r)
		})
		u := srv.URL + "/blog/r2"
		got := fetch(t, s, u)
		want := Preview{URL: u, Status: StatusOK, Title: "Release 2.0", Description: "What is new & improved",
			ImageURL: "https://cdn.example/r2.png", SiteName: "Acme Blog"}
		check(t, got, want)
		if !got.FetchedAt.Equal(t0) {
			t.Errorf("FetchedAt = %v, want the clock's %v", got.FetchedAt, t0)
		}
		if a := accept.Load(); a != "text/html,application/xhtml+xml" {
			t.Errorf("Accept = %q", a)
		}
		row := storedRow(t, d, u)
		check(t, row, want)
		if !row.FetchedAt.Equal(t0) {
			t.Errorf("stored fetched_at = %v, want %v", row.FetchedAt, t0)
		}
	})
}

func TestFetchVariants(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		s, _ := newService(t, d)

		t.Run("twitter card fallback", func(t *testing.T) {
			srv := newSite(t, htmlPage(`<head><title>Plain</title>
				<meta name="twitter:title" content="TW">
				<meta name="twitter:description" content="TW desc">
				<meta name="twitter:image:src" content="https://cdn.example/tw.png"></head>`))
			u := srv.URL + "/tw"
			check(t, fetch(t, s, u), Preview{URL: u, Status: StatusOK, Title: "TW", Description: "TW desc", ImageURL: "https://cdn.example/tw.png"})
		})

		t.Run("title only", func(t *testing.T) {
			srv := newSite(t, htmlPage(`<html><head><title>Only a title</title></head><body>x</body></html>`))
			u := srv.URL + "/t"
			check(t, fetch(t, s, u), Preview{URL: u, Status: StatusOK, Title: "Only a title"})
		})

		t.Run("relative og:image resolved against the final URL", func(t *testing.T) {
			var srv *site
			srv = newSite(t, func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/short" {
					http.Redirect(w, r, "/docs/guide/page.html", http.StatusFound)
					return
				}
				htmlPage(`<head><meta property="og:title" content="Guide"><meta property="og:image" content="img/cover.png"></head>`)(w, r)
			})
			u := srv.URL + "/short"
			check(t, fetch(t, s, u), Preview{URL: u, Status: StatusOK, Title: "Guide", ImageURL: srv.URL + "/docs/guide/img/cover.png"})
			if storedRow(t, d, srv.URL+"/docs/guide/page.html") != nil {
				t.Error("stored under the redirect target; the key must be the link as posted")
			}
		})

		t.Run("javascript image dropped", func(t *testing.T) {
			srv := newSite(t, htmlPage(`<head><meta property="og:title" content="x"><meta property="og:image" content="javascript:alert(document.cookie)"></head>`))
			u := srv.URL + "/js"
			check(t, fetch(t, s, u), Preview{URL: u, Status: StatusOK, Title: "x"})
		})

		t.Run("entities decoded", func(t *testing.T) {
			srv := newSite(t, htmlPage(`<head><title>Q&amp;A &#8211; &quot;Atrium&quot;</title></head>`))
			u := srv.URL + "/qa"
			check(t, fetch(t, s, u), Preview{URL: u, Status: StatusOK, Title: `Q&A – "Atrium"`})
		})

		t.Run("xhtml content type parsed", func(t *testing.T) {
			srv := newSite(t, func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/xhtml+xml")
				io.WriteString(w, `<html xmlns="http://www.w3.org/1999/xhtml"><head><title>X</title></head></html>`)
			})
			u := srv.URL + "/x"
			check(t, fetch(t, s, u), Preview{URL: u, Status: StatusOK, Title: "X"})
		})

		t.Run("nothing usable is none", func(t *testing.T) {
			srv := newSite(t, htmlPage(`<html><head><meta charset="utf-8"></head><body><h1>Hi</h1></body></html>`))
			u := srv.URL + "/bare"
			check(t, fetch(t, s, u), Preview{URL: u, Status: StatusNone})
		})

		t.Run("non-HTML content type ignored", func(t *testing.T) {
			for _, ct := range []string{"application/json", "image/png", "text/plain; charset=utf-8", ""} {
				srv := newSite(t, func(w http.ResponseWriter, _ *http.Request) {
					w.Header().Set("Content-Type", ct)
					io.WriteString(w, `<head><title>looks like HTML</title></head>`)
				})
				u := srv.URL + "/file"
				check(t, fetch(t, s, u), Preview{URL: u, Status: StatusNone})
				check(t, storedRow(t, d, u), Preview{URL: u, Status: StatusNone})
			}
		})

		t.Run("404 is error", func(t *testing.T) {
			srv := newSite(t, http.NotFound)
			u := srv.URL + "/gone"
			check(t, fetch(t, s, u), Preview{URL: u, Status: StatusError})
			check(t, storedRow(t, d, u), Preview{URL: u, Status: StatusError})
		})

		t.Run("unreachable is error", func(t *testing.T) {
			srv := newSite(t, htmlPage("<title>x</title>"))
			u := srv.URL + "/down"
			srv.Close()
			check(t, fetch(t, s, u), Preview{URL: u, Status: StatusError})
		})

		t.Run("compressed body is error", func(t *testing.T) {
			srv := newSite(t, func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "text/html")
				w.Header().Set("Content-Encoding", "gzip")
				io.WriteString(w, "\x1f\x8b not really")
			})
			u := srv.URL + "/gz"
			check(t, fetch(t, s, u), Preview{URL: u, Status: StatusError})
		})
	})
}

func TestFetchBlockedAddress(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		// The production client (no AllowPrivate): a loopback link must never be dialled.
		c := outbound.New(outbound.Options{AllowInsecureHTTP: true})
		s := New(d, c, clock.NewFake(t0), nil)
		srv := newSite(t, htmlPage("<title>internal</title>"))
		u := srv.URL + "/admin"
		check(t, fetch(t, s, u), Preview{URL: u, Status: StatusError})
		if n := srv.hits.Load(); n != 0 {
			t.Errorf("internal server got %d requests", n)
		}
	})
}

func TestFetchHugePageCapped(t *testing.T) {
	// Far more than loopback socket buffers hold, so a client that stops reading stops
	// the server too.
	const hugeBytes = 64 << 20
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		s, _ := newService(t, d)
		var sent atomic.Int64
		srv := newSite(t, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.Header().Set("Content-Length", fmt.Sprint(hugeBytes+len(`<head><title>Early</title>`)+len(`<meta property="og:title" content="Late"></head>`)))
			n, _ := io.WriteString(w, `<head><title>Early</title>`)
			sent.Add(int64(n))
			chunk := strings.Repeat("<!-- pad -->", 1<<10) // 12 KiB
			for written := 0; written < hugeBytes; {
				k := min(len(chunk), hugeBytes-written)
				n, err := io.WriteString(w, chunk[:k])
				sent.Add(int64(n))
				written += n
				if err != nil {
					return // the client hung up, as it should
				}
			}
			io.WriteString(w, `<meta property="og:title" content="Late"></head>`)
		})
		u := srv.URL + "/huge"
		// Honest Content-Length over every limit: cut, not refused (the head is at the start).
		check(t, fetch(t, s, u), Preview{URL: u, Status: StatusOK, Title: "Early"})
		if n := sent.Load(); n >= hugeBytes {
			t.Errorf("server managed to send %d bytes; the client should stop reading near %d", n, MaxPageBytes)
		}
	})
}

func TestFetchCache(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		s, fk := newService(t, d)
		var title atomic.Value
		title.Store("v1")
		srv := newSite(t, func(w http.ResponseWriter, r *http.Request) {
			htmlPage("<title>"+title.Load().(string)+"</title>")(w, r)
		})
		u := srv.URL + "/page"
		check(t, fetch(t, s, u), Preview{URL: u, Status: StatusOK, Title: "v1"})

		title.Store("v2")
		fk.Advance(OKTTL - time.Minute)
		got := fetch(t, s, u)
		check(t, got, Preview{URL: u, Status: StatusOK, Title: "v1"})
		if n := srv.hits.Load(); n != 1 {
			t.Fatalf("hits = %d within the TTL, want 1", n)
		}
		if !got.FetchedAt.Equal(t0) {
			t.Errorf("cached FetchedAt = %v, want %v", got.FetchedAt, t0)
		}

		fk.Advance(2 * time.Minute)
		got = fetch(t, s, u)
		check(t, got, Preview{URL: u, Status: StatusOK, Title: "v2"})
		if n := srv.hits.Load(); n != 2 {
			t.Fatalf("hits = %d after the TTL, want 2", n)
		}
		if want := t0.Add(OKTTL + time.Minute); !got.FetchedAt.Equal(want) || !storedRow(t, d, u).FetchedAt.Equal(want) {
			t.Errorf("FetchedAt = %v, want %v", got.FetchedAt, want)
		}
	})
}

func TestFetchErrorRetry(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		s, fk := newService(t, d)
		var up atomic.Bool
		srv := newSite(t, func(w http.ResponseWriter, r *http.Request) {
			if !up.Load() {
				http.Error(w, "busy", http.StatusServiceUnavailable)
				return
			}
			htmlPage("<title>back</title>")(w, r)
		})
		u := srv.URL + "/flaky"
		check(t, fetch(t, s, u), Preview{URL: u, Status: StatusError})

		up.Store(true)
		fk.Advance(ErrorTTL - time.Second)
		check(t, fetch(t, s, u), Preview{URL: u, Status: StatusError})
		if n := srv.hits.Load(); n != 1 {
			t.Fatalf("hits = %d within the error TTL, want 1", n)
		}

		fk.Advance(2 * time.Second)
		check(t, fetch(t, s, u), Preview{URL: u, Status: StatusOK, Title: "back"})
		if n := srv.hits.Load(); n != 2 {
			t.Fatalf("hits = %d after the error TTL, want 2", n)
		}
	})
}

func TestFetchNoneCachedLikeOK(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		s, fk := newService(t, d)
		srv := newSite(t, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/pdf")
			io.WriteString(w, "%PDF-1.7")
		})
		u := srv.URL + "/doc.pdf"
		fetch(t, s, u)
		fk.Advance(ErrorTTL * 2)
		fetch(t, s, u)
		if n := srv.hits.Load(); n != 1 {
			t.Errorf("hits = %d, want 1: a page that answered is trusted for OKTTL", n)
		}
	})
}

func TestFetchKeepsGoodPreviewOnFailedRefresh(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		s, fk := newService(t, d)
		var down atomic.Bool
		srv := newSite(t, func(w http.ResponseWriter, r *http.Request) {
			if down.Load() {
				http.Error(w, "oops", http.StatusInternalServerError)
				return
			}
			htmlPage("<title>good</title>")(w, r)
		})
		u := srv.URL + "/p"
		fetch(t, s, u)
		down.Store(true)
		fk.Advance(OKTTL + time.Hour)
		got := fetch(t, s, u)
		check(t, got, Preview{URL: u, Status: StatusOK, Title: "good"})
		if !got.FetchedAt.Equal(t0) {
			t.Errorf("FetchedAt = %v, want the original %v", got.FetchedAt, t0)
		}
		check(t, storedRow(t, d, u), Preview{URL: u, Status: StatusOK, Title: "good"})
		if n := srv.hits.Load(); n != 2 {
			t.Errorf("hits = %d, want 2", n)
		}
	})
}

func TestFetchInvalidURL(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		s, _ := newService(t, d)
		for _, u := range []string{
			"", "javascript:alert(1)", "ftp://files.example/x", "mailto:a@b.example", "/relative",
			"http://user:pw@127.0.0.1/", "https://", "http://" + strings.Repeat("a", MaxURLBytes) + ".example/",
		} {
			p, err := s.Fetch(context.Background(), u)
			if !errs.Is(err, errs.Invalid) || p != nil {
				t.Errorf("Fetch(%.40q) = %v, %v; want an Invalid error", u, p, err)
			}
		}
		var n int
		if err := d.NewSelect().TableExpr("link_previews").ColumnExpr("count(*)").Scan(context.Background(), &n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("%d rows stored for invalid links", n)
		}
	})
}

func TestFetchCanceledStoresNothing(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		s, _ := newService(t, d)
		ctx, cancel := context.WithCancel(context.Background())
		srv := newSite(t, func(w http.ResponseWriter, r *http.Request) {
			cancel() // the job is being shut down while the site answers
			<-r.Context().Done()
		})
		u := srv.URL + "/slow"
		if _, err := s.Fetch(ctx, u); !errors.Is(err, context.Canceled) {
			t.Fatalf("Fetch = %v, want context.Canceled", err)
		}
		if p := storedRow(t, d, u); p != nil {
			t.Errorf("stored %+v; a cancelled fetch must leave the URL to be retried", p)
		}
	})
}

// insertPost adds a minimal post with its links (post_links has a foreign key to posts).
func insertPost(t *testing.T, d *db.DB, id, source string, links ...string) {
	t.Helper()
	ctx := context.Background()
	_, err := d.ExecContext(ctx, "INSERT INTO posts (id, uri, author_id, audience, thread_id, source, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
		id, "https://atrium.example/posts/"+id, "u1", "company", id, source, t0)
	if err != nil {
		t.Fatalf("insert post %s: %v", id, err)
	}
	for _, l := range links {
		if _, err := d.ExecContext(ctx, "INSERT INTO post_links (post_id, url) VALUES (?, ?)", id, l); err != nil {
			t.Fatalf("insert link %s: %v", l, err)
		}
	}
}

func TestForPosts(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		s, _ := newService(t, d)
		ctx := context.Background()
		const (
			a       = "https://a.example/one"
			b       = "https://b.example/two"
			broken  = "https://broken.example/"
			empty   = "https://empty.example/"
			pending = "https://pending.example/"
		)
		for _, p := range []Preview{
			{URL: a, Status: StatusOK, Title: "A", ImageURL: "https://a.example/a.png", SiteName: "A site"},
			{URL: b, Status: StatusOK, Title: "B", Description: "bee"},
			{URL: broken, Status: StatusError},
			{URL: empty, Status: StatusNone},
		} {
			p.FetchedAt = t0
			if err := s.store(ctx, &p); err != nil {
				t.Fatal(err)
			}
		}
		insertPost(t, d, "p1", "first "+b+" then "+a, a, b) // b comes first in the post
		insertPost(t, d, "p2", "only "+a, a)                // shares a preview with p1
		insertPost(t, d, "p3", broken+" and "+empty+" and "+b, broken, empty, b)
		insertPost(t, d, "p4", "nothing ok: "+broken+" "+empty, broken, empty)
		insertPost(t, d, "p5", "not fetched yet "+pending, pending)
		insertPost(t, d, "p6", "no links")
		insertPost(t, d, "p7", "links written differently", b, a) // not in source: by URL

		got, err := s.ForPosts(ctx, []string{"p1", "p2", "p3", "p4", "p5", "p6", "p7", "p1", "missing", ""})
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]Preview{
			"p1": {URL: b, Status: StatusOK, Title: "B", Description: "bee"},
			"p2": {URL: a, Status: StatusOK, Title: "A", ImageURL: "https://a.example/a.png", SiteName: "A site"},
			"p3": {URL: b, Status: StatusOK, Title: "B", Description: "bee"},
			"p7": {URL: a, Status: StatusOK, Title: "A", ImageURL: "https://a.example/a.png", SiteName: "A site"},
		}
		if len(got) != len(want) {
			t.Errorf("got previews for %d posts, want %d: %v", len(got), len(want), got)
		}
		for id, w := range want {
			check(t, got[id], w)
			if got[id] != nil && !got[id].FetchedAt.Equal(t0) {
				t.Errorf("%s: FetchedAt = %v, want %v", id, got[id].FetchedAt, t0)
			}
		}

		none, err := s.ForPosts(ctx, nil)
		if err != nil || len(none) != 0 {
			t.Errorf("ForPosts(nil) = %v, %v", none, err)
		}
	})
}

func TestForPostsAfterFetch(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		s, _ := newService(t, d)
		srv := newSite(t, htmlPage(`<head><meta property="og:title" content="Fetched"></head>`))
		u := srv.URL + "/article"
		insertPost(t, d, "p1", "look: "+u, u)
		ctx := context.Background()
		if got, err := s.ForPosts(ctx, []string{"p1"}); err != nil || len(got) != 0 {
			t.Fatalf("before the fetch: %v, %v; want nothing (ForPosts never fetches)", got, err)
		}
		if n := srv.hits.Load(); n != 0 {
			t.Fatalf("ForPosts fetched: %d hits", n)
		}
		fetch(t, s, u)
		got, err := s.ForPosts(ctx, []string{"p1"})
		if err != nil {
			t.Fatal(err)
		}
		check(t, got["p1"], Preview{URL: u, Status: StatusOK, Title: "Fetched"})
	})
}

// ForPosts caches its answer per post: a preview stored by this process shows at once
// (TestForPostsAfterFetch), one stored by another process once the cache's TTL has passed.
func TestForPostsCacheTTL(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		s, clk := newService(t, d)
		u := "https://example.com/a"
		insertPost(t, d, "p1", "look: "+u, u)
		ctx := context.Background()
		if got, err := s.ForPosts(ctx, []string{"p1"}); err != nil || len(got) != 0 {
			t.Fatalf("before any preview: %v, %v", got, err)
		}
		// Another process stores the preview: straight into the table, not through s.
		if _, err := d.NewInsert().Model(&Preview{URL: u, Status: StatusOK, Title: "Elsewhere", FetchedAt: t0}).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		clk.Advance(cardCacheTTL + time.Second)
		got, err := s.ForPosts(ctx, []string{"p1"})
		if err != nil || got["p1"] == nil || got["p1"].Title != "Elsewhere" {
			t.Fatalf("after the TTL: %v, %v; want the other process's preview", got, err)
		}
		got["p1"].Title = "changed by a caller"
		if again, _ := s.ForPosts(ctx, []string{"p1"}); again["p1"].Title != "Elsewhere" {
			t.Fatalf("a caller's change reached the cache: %q", again["p1"].Title)
		}
	})
}
