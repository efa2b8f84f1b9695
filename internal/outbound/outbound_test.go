package outbound

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}

// names is a test resolver: host -> addresses, unknown names fail like NXDOMAIN.
func names(m map[string][]string) func(context.Context, string) ([]netip.Addr, error) {
	return func(_ context.Context, host string) ([]netip.Addr, error) {
		ss, ok := m[host]
		if !ok {
			return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
		}
		out := make([]netip.Addr, len(ss))
		for i, s := range ss {
			out[i] = netip.MustParseAddr(s)
		}
		return out, nil
	}
}

func newClient(t *testing.T, o Options) *Client {
	t.Helper()
	c := New(o)
	t.Cleanup(c.CloseIdleConnections)
	return c
}

// server is a loopback test server counting the requests it got.
type server struct {
	*httptest.Server
	hits atomic.Int32
	port string
}

func newServer(t *testing.T, h http.HandlerFunc) *server {
	t.Helper()
	s := &server{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		h(w, r)
	}))
	t.Cleanup(s.Close)
	_, s.port, _ = net.SplitHostPort(s.Listener.Addr().String())
	return s
}

func ok(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") }

func TestDialCheck(t *testing.T) {
	srv := newServer(t, ok)
	resolver := names(map[string][]string{
		"evil.test":   {"127.0.0.1"},
		"intra.test":  {"10.0.0.1"},
		"mixed.test":  {"10.0.0.1", "127.0.0.1"},
		"mapped.test": {"::ffff:127.0.0.1"},
		"nat64.test":  {"64:ff9b::7f00:1"},
		"meta.test":   {"169.254.169.254"},
	})
	tests := []struct {
		name    string
		host    string // host part of the URL
		allow   []netip.Prefix
		wantErr error
	}{
		{"loopback name blocked", "evil.test", nil, ErrBlocked},
		{"RFC1918 name blocked", "intra.test", nil, ErrBlocked},
		{"metadata blocked", "meta.test", nil, ErrBlocked},
		{"loopback literal blocked", "127.0.0.1", nil, ErrBlocked},
		{"IPv4-mapped literal blocked", "[::ffff:127.0.0.1]", nil, ErrBlocked},
		{"NAT64 literal blocked", "[64:ff9b::7f00:1]", nil, ErrBlocked},
		{"IPv4-mapped name blocked", "mapped.test", nil, ErrBlocked},
		{"NAT64 name blocked", "nat64.test", nil, ErrBlocked},
		{"loopback allowed by AllowPrivate", "evil.test", loopback, nil},
		{"loopback literal allowed", "127.0.0.1", loopback, nil},
		{"IPv4-mapped allowed as its IPv4", "[::ffff:127.0.0.1]", loopback, nil},
		{"blocked address skipped, allowed one dialled", "mixed.test", loopback, nil},
		{"RFC1918 still blocked with loopback allowed", "intra.test", loopback, ErrBlocked},
		{"unknown name", "nowhere.test", loopback, nil}, // resolver error, checked below
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClient(t, Options{AllowPrivate: tt.allow, AllowInsecureHTTP: true, Resolver: resolver})
			before := srv.hits.Load()
			start := time.Now()
			body, _, err := c.GetBody(context.Background(), "http://"+tt.host+":"+srv.port+"/", "")
			elapsed := time.Since(start)
			switch {
			case tt.host == "nowhere.test":
				var dns *net.DNSError
				if !errors.As(err, &dns) || errors.Is(err, ErrBlocked) {
					t.Fatalf("err = %v, want the resolver's DNS error", err)
				}
			case tt.wantErr != nil:
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				if got := srv.hits.Load() - before; got != 0 {
					t.Fatalf("server got %d requests, want 0", got)
				}
				// Refused before any connect: no timeout, no packet.
				if elapsed > 500*time.Millisecond {
					t.Fatalf("refusal took %v", elapsed)
				}
			default:
				if err != nil || string(body) != "ok" {
					t.Fatalf("GetBody = %q, %v", body, err)
				}
			}
		})
	}
}

// The dialer's Control hook is the backstop: even a dial that skipped the pre-check
// (a literal address, a future code path) is refused before connect(2).
func TestControlRefusesBeforeConnect(t *testing.T) {
	c := newClient(t, Options{})
	for _, addr := range []string{"10.0.0.1:80", "127.0.0.1:1", "[::1]:80", "[::ffff:10.0.0.1]:80", "[64:ff9b::a00:1]:80", "169.254.169.254:80"} {
		start := time.Now()
		conn, err := c.dialer.DialContext(context.Background(), "tcp", addr)
		if conn != nil {
			conn.Close()
		}
		if !errors.Is(err, ErrBlocked) {
			t.Errorf("dial %s: err = %v, want ErrBlocked", addr, err)
		}
		if d := time.Since(start); d > 500*time.Millisecond {
			t.Errorf("dial %s took %v", addr, d)
		}
	}
	if err := c.control("tcp4", "garbage", nil); !errors.Is(err, ErrBlocked) {
		t.Errorf("unparsable address: err = %v, want ErrBlocked (fail closed)", err)
	}
}

func TestRedirects(t *testing.T) {
	var srv *server
	srv = newServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/to-intra":
			http.Redirect(w, r, "http://intra.test:"+srv.port+"/", http.StatusFound)
		case r.URL.Path == "/to-mapped-private":
			http.Redirect(w, r, "http://[::ffff:10.0.0.1]/", http.StatusFound)
		case r.URL.Path == "/to-ftp":
			http.Redirect(w, r, "ftp://acme.test/file", http.StatusFound)
		case r.URL.Path == "/to-userinfo":
			http.Redirect(w, r, "http://user:pw@acme.test:"+srv.port+"/", http.StatusFound)
		case r.URL.Path == "/loop":
			http.Redirect(w, r, "/loop", http.StatusFound)
		case strings.HasPrefix(r.URL.Path, "/chain/"):
			var n int
			fmt.Sscanf(r.URL.Path, "/chain/%d", &n)
			if n == 0 {
				io.WriteString(w, "end")
				return
			}
			http.Redirect(w, r, fmt.Sprintf("/chain/%d", n-1), http.StatusFound)
		default:
			ok(w, r)
		}
	})
	resolver := names(map[string][]string{
		"acme.test":  {"127.0.0.1"},
		"intra.test": {"10.0.0.1"},
	})
	tests := []struct {
		name         string
		path         string
		allow        []netip.Prefix
		maxRedirects int
		wantErr      error
		wantHits     int32
		wantBody     string
	}{
		{"to private address", "/to-intra", loopback, 0, ErrBlocked, 1, ""},
		{"to mapped private literal", "/to-mapped-private", loopback, 0, ErrBlocked, 1, ""},
		{"to ftp", "/to-ftp", loopback, 0, ErrScheme, 1, ""},
		{"to userinfo", "/to-userinfo", loopback, 0, ErrScheme, 1, ""},
		{"loop stops after default 3", "/loop", loopback, 0, ErrTooManyRedirects, 4, ""},
		{"loop stops after 1", "/loop", loopback, 1, ErrTooManyRedirects, 2, ""},
		{"no redirects when negative", "/chain/1", loopback, -1, ErrTooManyRedirects, 1, ""},
		{"chain within budget", "/chain/3", loopback, 0, nil, 4, "end"},
		{"chain over budget", "/chain/4", loopback, 0, ErrTooManyRedirects, 4, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClient(t, Options{AllowPrivate: tt.allow, AllowInsecureHTTP: true, Resolver: resolver, MaxRedirects: tt.maxRedirects})
			before := srv.hits.Load()
			body, _, err := c.GetBody(context.Background(), "http://acme.test:"+srv.port+tt.path, "")
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
			} else if err != nil || string(body) != tt.wantBody {
				t.Fatalf("GetBody = %q, %v; want %q", body, err, tt.wantBody)
			}
			if got := srv.hits.Load() - before; got != tt.wantHits {
				t.Fatalf("server got %d requests, want %d", got, tt.wantHits)
			}
		})
	}

	// Callers that sign and send through HTTP() get the same redirect checks.
	t.Run("allowed host to blocked name via HTTP()", func(t *testing.T) {
		c := newClient(t, Options{AllowPrivate: loopback, AllowInsecureHTTP: true, Resolver: resolver})
		resp, err := c.HTTP().Get("http://acme.test:" + srv.port + "/to-intra")
		if resp != nil {
			resp.Body.Close()
		}
		if !errors.Is(err, ErrBlocked) {
			t.Fatalf("err = %v, want ErrBlocked", err)
		}
	})
}

func TestScheme(t *testing.T) {
	srv := newServer(t, ok)
	resolver := names(map[string][]string{"acme.test": {"127.0.0.1"}})
	tests := []struct {
		name     string
		url      string
		insecure bool
		wantErr  error
	}{
		{"http refused by default", "http://acme.test:" + srv.port + "/", false, ErrScheme},
		{"http allowed when insecure", "http://acme.test:" + srv.port + "/", true, nil},
		{"HTTP upper case allowed when insecure", "HTTP://acme.test:" + srv.port + "/", true, nil},
		{"ftp", "ftp://acme.test/", true, ErrScheme},
		{"file", "file:///etc/passwd", true, ErrScheme},
		{"gopher", "gopher://acme.test:" + srv.port + "/", true, ErrScheme},
		{"userinfo", "http://admin:pw@acme.test:" + srv.port + "/", true, ErrScheme},
		{"user only", "http://admin@acme.test:" + srv.port + "/", true, ErrScheme},
		{"opaque", "https:acme.test", true, ErrScheme},
		{"relative", "/just/a/path", true, ErrScheme},
		{"no host", "http:///path", true, ErrScheme},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClient(t, Options{AllowPrivate: loopback, AllowInsecureHTTP: tt.insecure, Resolver: resolver})
			before := srv.hits.Load()
			_, _, err := c.GetBody(context.Background(), tt.url, "")
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("GetBody err = %v, want %v", err, tt.wantErr)
			}
			// The raw client carries the same check in its transport.
			if resp, err := c.HTTP().Get(tt.url); !errors.Is(err, tt.wantErr) {
				if resp != nil {
					resp.Body.Close()
				}
				t.Fatalf("HTTP().Get err = %v, want %v", err, tt.wantErr)
			}
			if got := srv.hits.Load() - before; got != 0 {
				t.Fatalf("server got %d requests, want 0", got)
			}
		})
	}
}

// TLS: the dial goes to the resolved IP while the TLS ServerName and Host header stay
// the URL's name; an https -> http redirect is a downgrade and refused.
func TestTLSNameAndDowngrade(t *testing.T) {
	plain := newServer(t, ok)
	var gotSNI, gotHost string
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/downgrade" {
			http.Redirect(w, r, "http://example.com:"+plain.port+"/", http.StatusFound)
			return
		}
		gotSNI, gotHost = r.TLS.ServerName, r.Host
		ok(w, r)
	}))
	t.Cleanup(tlsSrv.Close)
	_, port, _ := net.SplitHostPort(tlsSrv.Listener.Addr().String())

	c := newClient(t, Options{AllowPrivate: loopback, Resolver: names(map[string][]string{"example.com": {"127.0.0.1"}})})
	// httptest's certificate is for example.com and 127.0.0.1; trust it.
	c.base.TLSClientConfig = tlsSrv.Client().Transport.(*http.Transport).TLSClientConfig.Clone()

	body, _, err := c.GetBody(context.Background(), "https://example.com:"+port+"/", "")
	if err != nil || string(body) != "ok" {
		t.Fatalf("GetBody = %q, %v", body, err)
	}
	if gotSNI != "example.com" || gotHost != "example.com:"+port {
		t.Fatalf("SNI %q Host %q, want the URL's name", gotSNI, gotHost)
	}

	_, _, err = c.GetBody(context.Background(), "https://example.com:"+port+"/downgrade", "")
	if !errors.Is(err, ErrScheme) {
		t.Fatalf("downgrade err = %v, want ErrScheme", err)
	}
	if plain.hits.Load() != 0 {
		t.Fatal("downgrade target was reached")
	}
}

func TestBodyLimit(t *testing.T) {
	const limit = 1024
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		var n int
		fmt.Sscanf(r.URL.Query().Get("n"), "%d", &n)
		chunked := r.URL.Query().Get("chunked") != ""
		if !chunked {
			w.Header().Set("Content-Length", fmt.Sprint(n))
		}
		w.WriteHeader(http.StatusOK)
		if chunked {
			w.(http.Flusher).Flush() // commit headers without a Content-Length
		}
		buf := bytes.Repeat([]byte("a"), 32<<10)
		for n > 0 {
			k := min(n, len(buf))
			if _, err := w.Write(buf[:k]); err != nil {
				return // client hung up after its cap: expected
			}
			n -= k
		}
	})
	resolver := names(map[string][]string{"acme.test": {"127.0.0.1"}})
	tests := []struct {
		name    string
		query   string
		max     int64
		wantLen int
		wantErr error
	}{
		{"at limit with length", "n=1024", limit, 1024, nil},
		{"at limit chunked", "n=1024&chunked=1", limit, 1024, nil},
		{"over limit with length", "n=1025", limit, 0, ErrTooLarge},
		{"over limit chunked", "n=1025&chunked=1", limit, 0, ErrTooLarge},
		{"huge with length, default cap", "n=67108864", 0, 0, ErrTooLarge},
		{"huge chunked, default cap", "n=67108864&chunked=1", 0, 0, ErrTooLarge},
		{"empty", "n=0", limit, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClient(t, Options{AllowPrivate: loopback, AllowInsecureHTTP: true, Resolver: resolver, MaxBodyBytes: tt.max})
			body, resp, err := c.GetBody(context.Background(), "http://acme.test:"+srv.port+"/?"+tt.query, "")
			if !errors.Is(err, tt.wantErr) || (err == nil && tt.wantErr != nil) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if len(body) != tt.wantLen {
				t.Fatalf("len(body) = %d, want %d", len(body), tt.wantLen)
			}
			if strings.Contains(tt.query, "chunked") && resp != nil && resp.ContentLength != -1 {
				t.Fatalf("ContentLength = %d, want -1 (test must exercise the no-length path)", resp.ContentLength)
			}
		})
	}
}

func TestGzipBombNotInflated(t *testing.T) {
	var bomb bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&bomb, gzip.BestCompression)
	zw.Write(make([]byte, 16<<20)) // 16 MiB of zeros, ~16 KiB on the wire
	zw.Close()

	var acceptEncoding atomic.Value
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		acceptEncoding.Store(r.Header.Get("Accept-Encoding"))
		w.Header().Set("Content-Encoding", "gzip")
		w.Header().Set("Content-Type", "application/activity+json")
		w.Write(bomb.Bytes())
	})
	c := newClient(t, Options{AllowPrivate: loopback, AllowInsecureHTTP: true,
		Resolver: names(map[string][]string{"acme.test": {"127.0.0.1"}})})
	url := "http://acme.test:" + srv.port + "/"

	body, _, err := c.GetBody(context.Background(), url, "application/activity+json")
	if !errors.Is(err, ErrContentEncoding) || body != nil {
		t.Fatalf("GetBody = %d bytes, %v; want refusal", len(body), err)
	}
	if ae := acceptEncoding.Load(); ae != "" {
		t.Fatalf("client sent Accept-Encoding %q", ae)
	}

	// The raw response is not transparently inflated either: wire bytes, gzip magic.
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	head := make([]byte, 2)
	if _, err := io.ReadFull(resp.Body, head); err != nil {
		t.Fatal(err)
	}
	if resp.Uncompressed || head[0] != 0x1f || head[1] != 0x8b {
		t.Fatalf("body was inflated by the transport (Uncompressed=%v, head=%x)", resp.Uncompressed, head)
	}
	if _, err := c.ReadBody(resp); !errors.Is(err, ErrContentEncoding) {
		t.Fatalf("ReadBody err = %v, want ErrContentEncoding", err)
	}
}

func TestUserAgentAndHost(t *testing.T) {
	var gotUA, gotHost atomic.Value
	var srv *server
	srv = newServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hop" {
			http.Redirect(w, r, "/", http.StatusFound)
			return
		}
		gotUA.Store(r.Header.Get("User-Agent"))
		gotHost.Store(r.Host)
		ok(w, r)
	})
	resolver := names(map[string][]string{"acme.test": {"127.0.0.1"}})
	const ua = "Atrium/0.1.0 (+https://node.example)"
	tests := []struct {
		name     string
		optUA    string
		reqUA    string
		path     string
		viaHTTP  bool
		expectUA string
	}{
		{"configured", ua, "", "/", false, ua},
		{"default", "", "", "/", false, DefaultUserAgent},
		{"caller's own kept", ua, "Signer/1", "/", false, "Signer/1"},
		{"through HTTP()", ua, "", "/", true, ua},
		{"after redirect", ua, "", "/hop", true, ua},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClient(t, Options{AllowPrivate: loopback, AllowInsecureHTTP: true, Resolver: resolver, UserAgent: tt.optUA})
			req, _ := http.NewRequest(http.MethodGet, "http://acme.test:"+srv.port+tt.path, nil)
			if tt.reqUA != "" {
				req.Header.Set("User-Agent", tt.reqUA)
			}
			do := c.Do
			if tt.viaHTTP {
				do = c.HTTP().Do
			}
			resp, err := do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if got := gotUA.Load(); got != tt.expectUA {
				t.Fatalf("User-Agent %q, want %q", got, tt.expectUA)
			}
			if got := gotHost.Load(); got != "acme.test:"+srv.port {
				t.Fatalf("Host %q, want the URL's name", got)
			}
			if tt.reqUA == "" && req.Header.Get("User-Agent") != "" {
				t.Fatal("caller's request was modified")
			}
		})
	}
}

func TestGetBodyStatus(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Accept") != "application/activity+json" {
			http.Error(w, "bad accept", http.StatusNotAcceptable)
			return
		}
		http.Error(w, "gone", http.StatusGone)
	})
	c := newClient(t, Options{AllowPrivate: loopback, AllowInsecureHTTP: true,
		Resolver: names(map[string][]string{"acme.test": {"127.0.0.1"}})})
	body, resp, err := c.GetBody(context.Background(), "http://acme.test:"+srv.port+"/", "application/activity+json")
	if !errors.Is(err, ErrStatus) || body != nil {
		t.Fatalf("GetBody = %q, %v; want ErrStatus", body, err)
	}
	if resp == nil || resp.StatusCode != http.StatusGone {
		t.Fatalf("resp = %v, want 410 returned alongside the error", resp)
	}
}

func TestDefaults(t *testing.T) {
	c := New(Options{})
	tr := c.base
	if tr.Proxy != nil || !tr.DisableCompression || !tr.ForceAttemptHTTP2 ||
		tr.MaxIdleConnsPerHost != 4 || tr.MaxIdleConns != 256 || tr.IdleConnTimeout != 90*time.Second ||
		tr.TLSHandshakeTimeout != 5*time.Second || tr.ResponseHeaderTimeout != 10*time.Second {
		t.Fatalf("transport not tuned as specified: %+v", tr)
	}
	if c.dialer.Timeout != DefaultConnectTimeout || c.http.Timeout != DefaultTimeout ||
		c.maxRedirects != DefaultMaxRedirects || c.maxBody != DefaultMaxBodyBytes {
		t.Fatal("defaults not applied")
	}
}
