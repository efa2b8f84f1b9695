package streaming

// The P7 load check (docs: PERFORMANCE.md): hold N websockets on one node and measure the
// node's extra memory, then time a message to 100 online members. It is a benchmark, so
// `go test ./...` never runs it:
//
//	go test -run '^$' -bench LoadWebsockets -benchtime 1x -timeout 15m ./internal/api/streaming
//
// ATRIUM_STREAMING_LOAD=n sets the number of sockets (default 10000).
//
// ATRIUM_STREAMING_LOAD_REDUCE=0 turns off fasthttp's ReduceMemoryUsage (on in the node's
// server), to show what the server's 16 KiB read buffer costs each hijacked connection;
// ATRIUM_STREAMING_LOAD_QUEUE=n sets Deps.Queue; ATRIUM_STREAMING_LOAD_HEAPPROFILE=file
// writes an exact heap profile while the sockets are held.
//
// The clients run in a child process (this test binary again, TestLoadClient), so the
// server's memory figures are the server's alone and each process stays under its file
// limit. Everything runs on loopback, is bounded in count and time, and stops by itself.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/realtime"
	"github.com/atrium-social/atrium/internal/server"
)

const (
	loadUsers    = 500 // distinct accounts; connection i belongs to user i % loadUsers
	loadRoom     = 100 // connections that follow the "room" stream (the online members)
	loadMessages = 200 // messages sent to the room, 20 per second
)

type memSnapshot struct {
	rss, heap, stack uint64
	goroutines       int
}

func snapshot() memSnapshot {
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	s := memSnapshot{heap: ms.HeapInuse, stack: ms.StackInuse, goroutines: runtime.NumGoroutine()}
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		for l := range strings.Lines(string(b)) {
			if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
				kb, _ := strconv.ParseUint(f[1], 10, 64)
				s.rss = kb << 10
			}
		}
	}
	return s
}

func mib(b uint64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

func BenchmarkLoadWebsockets(t *testing.B) {
	n, _ := strconv.Atoi(os.Getenv("ATRIUM_STREAMING_LOAD"))
	if n <= 0 {
		n = 10000
	}
	os.Setenv("ATRIUM_STREAMING_LOAD", strconv.Itoa(n)) // read by the client process
	reduce := os.Getenv("ATRIUM_STREAMING_LOAD_REDUCE") != "0"
	if os.Getenv("ATRIUM_STREAMING_LOAD_HEAPPROFILE") != "" {
		runtime.MemProfileRate = 1 // exact per-connection figures; slows the run
	}
	queue, _ := strconv.Atoi(os.Getenv("ATRIUM_STREAMING_LOAD_QUEUE"))
	e := newEnv(t, envOptions{queue: queue, configure: func(s *server.Server) { s.App.Server().ReduceMemoryUsage = reduce }})
	ctx := context.Background()
	var tokens []string
	for i := range loadUsers {
		u, err := e.acc.Create(ctx, accounts.CLIActor(), accounts.NewUser{Username: fmt.Sprint("load", i),
			Email: fmt.Sprintf("load%d@acme.example", i), Password: "load test password"})
		if err != nil {
			t.Fatal(err)
		}
		tokens = append(tokens, e.token(u, "read"))
	}
	tokFile := filepath.Join(t.TempDir(), "tokens")
	if err := os.WriteFile(tokFile, []byte(strings.Join(tokens, "\n")), 0o600); err != nil {
		t.Fatal(err)
	}

	before := snapshot()
	cmd := exec.Command(os.Args[0], "-test.run=^TestLoadClient$", "-test.timeout=10m")
	cmd.Env = append(os.Environ(), "ATRIUM_STREAMING_LOAD_CLIENT="+e.addr, "ATRIUM_STREAMING_LOAD_TOKENS="+tokFile)
	cmd.Stderr = os.Stderr
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { stdin.Close(); _ = cmd.Wait() }()
	out := bufio.NewScanner(stdout)
	expect := func(prefix string) string {
		for out.Scan() {
			if strings.HasPrefix(out.Text(), prefix) {
				return out.Text()
			}
		}
		t.Fatalf("load client ended before %q", prefix)
		return ""
	}
	start := time.Now()
	t.Log(expect("READY"), "in", time.Since(start).Round(time.Millisecond))
	for e.hub.Stats().Subscriptions < n {
		if time.Since(start) > 5*time.Minute {
			t.Fatalf("only %d of %d subscribed", e.hub.Stats().Subscriptions, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(time.Second) // let handshake garbage and pools settle
	held := snapshot()
	if p := os.Getenv("ATRIUM_STREAMING_LOAD_HEAPPROFILE"); p != "" {
		if f, err := os.Create(p); err == nil {
			_ = pprof.Lookup("heap").WriteTo(f, 0)
			f.Close()
		}
	}
	per := func(a, b uint64) string {
		return fmt.Sprintf("%.1f KiB/conn", float64(int64(a)-int64(b))/float64(n)/1024)
	}
	t.Logf("%d websockets held (ReduceMemoryUsage=%v, queue %d): RSS +%s (%s), heap in use +%s (%s), stacks +%s (%s), goroutines +%d",
		n, reduce, queue, mib(held.rss-before.rss), per(held.rss, before.rss), mib(held.heap-before.heap), per(held.heap, before.heap),
		mib(held.stack-before.stack), per(held.stack, before.stack), held.goroutines-before.goroutines)

	// A chat message of ~1 KiB to the 100 members online, 20 messages a second.
	text := strings.Repeat("a chat message ", 64)
	for i := range loadMessages {
		p, _ := json.Marshal(map[string]any{"t": time.Now().UnixNano(), "n": i, "content": text})
		e.hub.Publish(realtime.Event{Stream: realtime.HashtagStream("room"), Kind: realtime.KindUpdate, Payload: p})
		time.Sleep(50 * time.Millisecond)
	}
	t.Log(expect("LATENCY"))
	t.Logf("hub: %+v", e.hub.Stats())
}

// TestLoadClient is the load generator: it does its work only as BenchmarkLoadWebsockets'
// child process (the re-exec idiom of os/exec's tests), and passes at once otherwise.
func TestLoadClient(t *testing.T) {
	addr := os.Getenv("ATRIUM_STREAMING_LOAD_CLIENT")
	if addr == "" {
		return
	}
	n, _ := strconv.Atoi(os.Getenv("ATRIUM_STREAMING_LOAD"))
	b, err := os.ReadFile(os.Getenv("ATRIUM_STREAMING_LOAD_TOKENS"))
	if err != nil {
		t.Fatal(err)
	}
	tokens := strings.Split(string(b), "\n")
	d := websocket.Dialer{HandshakeTimeout: 30 * time.Second, ReadBufferSize: 1024, WriteBufferSize: 256}
	lat := make(chan time.Duration, loadRoom*loadMessages)
	conns := make([]*websocket.Conn, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			q := "access_token=" + tokens[i%len(tokens)] + "&stream=user"
			if i < loadRoom {
				q = "access_token=" + tokens[i%len(tokens)] + "&stream=hashtag&tag=room"
			}
			var c *websocket.Conn
			var err error
			for try := 0; try < 5; try++ {
				if c, _, err = d.Dial("ws://"+addr+"/api/v1/streaming?"+q, nil); err == nil {
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			if err != nil {
				fmt.Fprintln(os.Stderr, "dial:", err)
				os.Exit(1)
			}
			conns[i] = c
		})
	}
	wg.Wait()
	for _, c := range conns {
		go func() {
			for {
				_, b, err := c.ReadMessage()
				if err != nil {
					return
				}
				now := time.Now()
				var m struct{ Payload string }
				var p struct{ T int64 }
				if json.Unmarshal(b, &m) == nil && json.Unmarshal([]byte(m.Payload), &p) == nil && p.T != 0 {
					lat <- now.Sub(time.Unix(0, p.T))
				}
			}
		}()
	}
	fmt.Println("READY", n, "connections")

	var got []time.Duration
	timeout := time.After(2 * time.Minute)
collect:
	for len(got) < loadRoom*loadMessages {
		select {
		case l := <-lat:
			got = append(got, l)
		case <-timeout:
			break collect
		}
	}
	slices.Sort(got)
	pct := func(p float64) time.Duration {
		if len(got) == 0 {
			return 0
		}
		return got[min(len(got)-1, int(float64(len(got))*p))].Round(10 * time.Microsecond)
	}
	fmt.Printf("LATENCY %d of %d deliveries: p50 %v p99 %v max %v\n", len(got), loadRoom*loadMessages, pct(.5), pct(.99), pct(1))
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n') // hold the sockets until the server is done
}
