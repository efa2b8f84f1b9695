package main

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestDevnetFederatesThreeCompanies runs `atrium devnet` and reads Acme's public timeline: the
// other two companies' public posts must have arrived over signed ActivityPub.
func TestDevnetFederatesThreeCompanies(t *testing.T) {
	// A port free on the devnet's first address (Linux routes all of 127.0.0.0/8 to lo).
	ln, err := net.Listen("tcp", "127.0.0.11:0")
	if err != nil {
		t.Skipf("loopback address 127.0.0.11 not usable here (not installed): %v", err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb lockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"devnet", "--data-dir", t.TempDir(), "--port", strconv.Itoa(port)}, &out, &errb,
			func(string) string { return "" })
	}()
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(out.String(), "Ctrl-C stops all three") {
		select {
		case code := <-done:
			t.Fatalf("devnet exited %d: %s %s", code, out.String(), errb.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("devnet did not come up: %s %s", out.String(), errb.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	acme := "http://127.0.0.11:" + strconv.Itoa(port)
	want := map[string]bool{"Globex supply schedule": false, "Initech finished the security review": false}
	for time.Now().Before(deadline) {
		resp, err := http.Get(acme + "/api/v1/timelines/public")
		if err != nil {
			t.Fatal(err)
		}
		var sts []struct {
			Content string `json:"content"`
			Account struct {
				Acct string `json:"acct"`
			} `json:"account"`
		}
		json.NewDecoder(resp.Body).Decode(&sts)
		resp.Body.Close()
		for _, s := range sts {
			for k := range want {
				if strings.Contains(s.Content, k) && strings.Contains(s.Account.Acct, "@127.0.0.1") {
					want[k] = true
				}
			}
		}
		if want["Globex supply schedule"] && want["Initech finished the security review"] {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	for k, ok := range want {
		if !ok {
			t.Errorf("Acme's public timeline lacks %q", k)
		}
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("devnet exited %d: %s", code, errb.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("devnet did not stop")
	}
}
