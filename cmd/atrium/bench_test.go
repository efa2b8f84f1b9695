package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// BenchmarkServe measures the real binary (PERFORMANCE.md P1 and P10): time from exec to the
// first healthy /healthz on an existing database, resident memory after a warm-up of page and
// API requests, and the binary's size. Run:
//
//	go test ./cmd/atrium -run '^$' -bench Serve -benchtime 5x
func BenchmarkServe(b *testing.B) {
	dir := b.TempDir()
	bin := filepath.Join(dir, "atrium")
	build := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		b.Fatalf("build: %v", err)
	}
	st, _ := os.Stat(bin)
	data := filepath.Join(dir, "data")
	env := append(os.Environ(), "ATRIUM_DATA_DIR="+data, "ATRIUM_LOG_LEVEL=warn")
	addr := freeAddr(b)
	env = append(env, "ATRIUM_LISTEN="+addr, "ATRIUM_URL=http://"+addr)
	setup := exec.Command(bin, "admin", "setup", "--org-name", "Bench", "--admin-username", "admin",
		"--admin-email", "admin@bench.example", "--admin-password", "bench password 1")
	setup.Env = env
	if out, err := setup.CombinedOutput(); err != nil {
		b.Fatalf("setup: %v: %s", err, out)
	}
	tokCmd := exec.Command(bin, "admin", "token", "--username", "admin", "--scopes", "read")
	tokCmd.Env = env
	tokOut, err := tokCmd.Output()
	if err != nil {
		b.Fatalf("token: %v", err)
	}
	tok := strings.TrimSpace(string(tokOut))

	var readyTotal time.Duration
	var rssMB float64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		cmd := exec.Command(bin, "serve")
		cmd.Env = env
		start := time.Now()
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		if err := waitHealthy("http://"+addr+"/healthz", 10*time.Second); err != nil {
			cmd.Process.Kill()
			b.Fatal(err)
		}
		readyTotal += time.Since(start)
		b.StopTimer()
		warmUp(b, "http://"+addr, tok)
		time.Sleep(2 * time.Second) // let the GC settle, as an idle node would
		rssMB = rss(cmd.Process.Pid)
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
			b.Fatal("serve did not stop on SIGTERM within 15 s")
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(readyTotal.Milliseconds())/float64(b.N), "ready-ms")
	b.ReportMetric(rssMB, "idle-rss-MB")
	b.ReportMetric(float64(st.Size())/(1<<20), "binary-MB")
}

func freeAddr(b *testing.B) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func waitHealthy(url string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	c := &http.Client{Timeout: time.Second}
	for time.Now().Before(deadline) {
		if resp, err := c.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	return fmt.Errorf("%s not healthy after %s", url, limit)
}

// warmUp exercises the pages and APIs a person would, so the measured memory includes
// templates, pools and caches that real traffic fills.
func warmUp(b *testing.B, base, tok string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	paths := []string{"/login", "/healthz", "/api/v1/instance", "/api/v1/accounts/verify_credentials", "/static/app.css", "/metrics"}
	for i := 0; i < 300; i++ {
		req, _ := http.NewRequestWithContext(ctx, "GET", base+paths[i%len(paths)], nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
	}
}

// rss reads the resident set size of a process in MB from /proc.
func rss(pid int) float64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb / 1024
		}
	}
	return -1
}
