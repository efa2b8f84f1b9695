package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

func TestDevSeedThenLoad(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"ATRIUM_DATA_DIR": dir, "ATRIUM_LOG_LEVEL": "warn"}
	code, out, stderr := atrium(t, env, "dev", "seed", "--users", "20", "--posts", "300", "--follows", "5", "--days", "3", "--tokens", "4")
	if code != 0 {
		t.Fatalf("seed: exit %d: %s", code, stderr)
	}
	if !strings.Contains(out, "seeded 20 users, 100 follows, 300 posts") || !strings.Contains(out, "home_feed") {
		t.Fatalf("seed output: %s", out)
	}
	tokens := filepath.Join(dir, "seed-tokens.txt")
	st, err := os.Stat(tokens)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("tokens file: %v, %v", st, err)
	}
	b, _ := os.ReadFile(tokens)
	if lines := strings.Fields(string(b)); len(lines) != 4 {
		t.Fatalf("tokens file has %d tokens", len(lines))
	}

	code, _, stderr = atrium(t, env, "dev", "seed", "--users", "20", "--posts", "300", "--follows", "5")
	if code == 0 || !strings.Contains(stderr, "--force") {
		t.Fatalf("second seed: exit %d: %s", code, stderr)
	}

	// The load command against a stand-in on loopback: it reads the tokens and reports.
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") || r.URL.Path != "/api/v1/timelines/home" {
			http.Error(w, "no", 400)
			return
		}
		w.Write([]byte("[]"))
	}))
	defer srv.Close()
	code, out, stderr = atrium(t, env, "dev", "load", "--target", srv.URL, "--requests", "50", "--concurrency", "2", "--warmup", "0s", "--duration", "30s")
	if code != 0 {
		t.Fatalf("load: exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var rep struct {
		Requests int `json:"requests"`
		Errors   int `json:"errors"`
	}
	if len(lines) != 2 || json.Unmarshal([]byte(lines[1]), &rep) != nil || rep.Requests != 50 || rep.Errors != 0 || hits.Load() != 50 {
		t.Fatalf("load output (%d hits): %s", hits.Load(), out)
	}
}

func TestDevLoadStaysOnThisMachine(t *testing.T) {
	env := map[string]string{"ATRIUM_DATA_DIR": t.TempDir()}
	for _, target := range []string{"http://example.com", "http://10.1.2.3:8080", "http://0.0.0.0:8080"} {
		code, _, stderr := atrium(t, env, "dev", "load", "--target", target)
		if code == 0 || !strings.Contains(stderr, "loopback") {
			t.Errorf("%s: exit %d: %s", target, code, stderr)
		}
	}
	if code, _, stderr := atrium(t, env, "dev", "nothing"); code == 0 || !strings.Contains(stderr, "unknown command") {
		t.Errorf("dev nothing: exit %d: %s", code, stderr)
	}
}
