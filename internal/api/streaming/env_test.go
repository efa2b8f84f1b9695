package streaming

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/clock"
	"github.com/atrium-social/atrium/internal/mail"
	"github.com/atrium-social/atrium/internal/orgs"
	"github.com/atrium-social/atrium/internal/realtime"
	"github.com/atrium-social/atrium/internal/server"
	"github.com/atrium-social/atrium/internal/testutil/dbtest"
)

// env is a real node shell (server middleware, accounts on SQLite) with the streaming API,
// served by fasthttp on a loopback listener: websockets need a real hijackable connection.
type env struct {
	t          testing.TB
	addr       string // 127.0.0.1:port
	hub        *realtime.Hub
	acc        *accounts.Service
	srv        *server.Server
	alice, bob *accounts.User
	aliceToken string // scopes read write
	bobToken   string // scopes read:statuses
}

type envOptions struct {
	ping      time.Duration // heartbeat interval; 0 means the production 30 s
	queue     int           // Deps.Queue
	configure func(*server.Server)
}

func newEnv(t testing.TB, o envOptions) *env {
	t.Helper()
	ctx := context.Background()
	d := dbtest.Open(t, "sqlite")
	log := slog.New(slog.DiscardHandler)
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(testLog{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	clk := clock.System{}
	og := orgs.New(d, clk)
	base := func(context.Context) string { return "http://127.0.0.1" }
	acc := accounts.New(accounts.Deps{DB: d, Orgs: og, Clock: clk, Log: log, Mail: mail.LogSender{Log: log},
		Hasher: accounts.NewHasher(1024, 2), BaseURL: base})
	alice, err := acc.RunSetup(ctx, accounts.Setup{OrgName: "Acme", URL: "http://127.0.0.1", AllowedDomains: []string{"acme.example"},
		Admin: accounts.NewUser{Username: "alice", Email: "alice@acme.example", Password: "correct horse battery"}}, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	bob, err := acc.Create(ctx, accounts.CLIActor(), accounts.NewUser{Username: "bob", Email: "bob@acme.example", Password: "bob's long password"})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, acc: acc, alice: alice, bob: bob, hub: realtime.NewHub(log)}
	e.aliceToken = e.token(alice, "read write")
	e.bobToken = e.token(bob, "read:statuses")
	e.srv = server.New(server.Options{Accounts: acc, Orgs: og, Log: log, BaseURL: base,
		Secure: func() bool { return false }, BodyLimit: 1 << 20})
	if o.configure != nil {
		o.configure(e.srv)
	}
	ping := o.ping
	if ping == 0 {
		ping = pingEvery
	}
	register(Deps{Server: e.srv, Hub: e.hub, Log: log, Queue: o.queue}, ping)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.addr = ln.Addr().String()
	go func() { _ = e.srv.App.Listener(ln) }()
	t.Cleanup(func() {
		e.hub.Close() // tells open sockets to go, so shutdown does not wait on them
		_ = e.srv.App.ShutdownWithTimeout(5 * time.Second)
	})
	return e
}

type testLog struct{ t testing.TB }

func (w testLog) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func (e *env) token(u *accounts.User, scopes string) string {
	e.t.Helper()
	plain, _, err := e.acc.CreateToken(context.Background(), accounts.CLIActor(), u.ID, "app", scopes)
	if err != nil {
		e.t.Fatal(err)
	}
	return plain
}

// dial opens a websocket; it fails the test unless the handshake succeeds.
func (e *env) dial(query string, h http.Header) *websocket.Conn {
	e.t.Helper()
	c, resp, err := e.tryDial(query, h)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		e.t.Fatalf("dial ?%s: %v (status %d)", query, err, status)
	}
	e.t.Cleanup(func() { c.Close() })
	return c
}

func (e *env) tryDial(query string, h http.Header) (*websocket.Conn, *http.Response, error) {
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	return d.Dial("ws://"+e.addr+"/api/v1/streaming?"+query, h)
}

// waitRoutes waits until the hub has n index entries: a subscribe message is applied
// asynchronously, and publishing before it lands would (rightly) reach no one.
func (e *env) waitRoutes(n int) {
	e.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for e.hub.Stats().Routes != n {
		if time.Now().After(deadline) {
			e.t.Fatalf("hub has %d routes, want %d", e.hub.Stats().Routes, n)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func get(t testing.TB, url string, header ...string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}
