package main

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"
)

// atrium runs the command line in-process with a private environment.
func atrium(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb, func(k string) string { return env[k] })
	return code, out.String(), errb.String()
}

func TestInvalidConfigurationIsOneClearLine(t *testing.T) {
	for _, c := range []struct {
		env  map[string]string
		args []string
		want string
	}{
		{nil, []string{"serve", "--url", "ftp://acme.example"}, "--url (ATRIUM_URL)"},
		{nil, []string{"serve", "--url", "https://acme.example/path"}, "without path"},
		{map[string]string{"ATRIUM_LISTEN": "nonsense"}, []string{"serve"}, "--listen (ATRIUM_LISTEN)"},
		{map[string]string{"ATRIUM_LOG_LEVEL": "loud"}, []string{"migrate", "status"}, "--log-level (ATRIUM_LOG_LEVEL)"},
		{nil, []string{"serve", "--federation-mode", "anything"}, "--federation-mode"},
		{nil, []string{"serve", "--allow-private-networks", "10.0.0.0/33"}, "allow-private-networks"},
		{map[string]string{"ATRIUM_SMTP_PORT": "x"}, []string{"serve"}, "ATRIUM_SMTP_PORT"},
		{nil, []string{"serve", "--db", "mysql://x"}, "--db (ATRIUM_DB)"},
	} {
		code, _, stderr := atrium(t, c.env, c.args...)
		if code == 0 || !strings.Contains(stderr, c.want) {
			t.Errorf("%v %v: exit %d, stderr %q; want it to mention %q", c.env, c.args, code, stderr, c.want)
		}
		if lines := strings.Count(strings.TrimSpace(lastLine(stderr)), "\n"); lines != 0 {
			t.Errorf("%v: error is not one line: %q", c.args, stderr)
		}
	}
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

func TestServeHelpDocumentsEverySetting(t *testing.T) {
	code, _, stderr := atrium(t, nil, "serve", "--help")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, f := range []string{"-listen", "ATRIUM_LISTEN", "-url", "ATRIUM_URL", "-data-dir", "ATRIUM_DATA_DIR", "-db", "ATRIUM_DB",
		"-log-level", "-smtp-host", "ATRIUM_SMTP_HOST", "-allow-insecure-http", "-allow-private-networks", "ATRIUM_ALLOW_PRIVATE_NETWORKS"} {
		if !strings.Contains(stderr, f) {
			t.Errorf("help lacks %s", f)
		}
	}
}

func TestAdminCommands(t *testing.T) {
	env := map[string]string{"ATRIUM_DATA_DIR": t.TempDir(), "ATRIUM_URL": "https://acme.example"}
	ok := func(args ...string) string {
		t.Helper()
		code, out, stderr := atrium(t, env, args...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, stderr)
		}
		return out
	}
	fail := func(want string, args ...string) {
		t.Helper()
		code, _, stderr := atrium(t, env, args...)
		if code == 0 || !strings.Contains(stderr, want) {
			t.Fatalf("%v: exit %d, stderr %q, want %q", args, code, stderr, want)
		}
	}
	fail("--org-name is required", "admin", "setup")
	out := ok("admin", "setup", "--org-name", "Acme", "--admin-username", "alice", "--admin-email", "alice@acme.example", "--admin-password", "correct horse battery")
	if !strings.Contains(out, "https://acme.example/login") {
		t.Fatalf("setup output: %q", out)
	}
	fail("set up already", "admin", "setup", "--org-name", "X", "--admin-username", "x", "--admin-email", "x@x.example", "--admin-password", "0123456789ab")
	ok("admin", "create-user", "--username", "bob", "--email", "bob@acme.example", "--password", "bob's long password")
	fail("taken", "admin", "create-user", "--username", "bob", "--email", "bob2@acme.example", "--password", "bob's long password")
	tok := strings.TrimSpace(ok("admin", "token", "--username", "bob", "--scopes", "read write follow"))
	if len(tok) < 40 {
		t.Fatalf("token %q", tok)
	}
	fail("not a scope", "admin", "token", "--username", "bob", "--scopes", "everything")
	ok("admin", "set-role", "--username", "bob", "--role", "admin")
	fail("not admin or member", "admin", "set-role", "--username", "bob", "--role", "king")
	ok("admin", "deactivate", "--username", "bob")
	ok("admin", "reactivate", "--username", "bob")
	fail("no person", "admin", "deactivate", "--username", "ghost")
	if out := ok("admin", "invite", "--email", "carol@acme.example"); !strings.Contains(out, "https://acme.example/signup?invite=") {
		t.Fatalf("invite output %q", out)
	}
	if out := ok("migrate", "status"); !strings.Contains(out, "0001_init") || !strings.Contains(out, "applied") {
		t.Fatalf("migrate status: %q", out)
	}
	if out := ok("migrate", "up"); !strings.Contains(out, "up to date") {
		t.Fatalf("migrate up: %q", out)
	}
	fail("differs from this node's identity", "admin", "token", "--username", "bob", "--url", "https://elsewhere.example")
	if out := ok("version"); !strings.HasPrefix(out, "atrium ") {
		t.Fatalf("version: %q", out)
	}
}

// lockedBuffer is a bytes.Buffer safe for the server goroutine and the test to share.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
func (l *lockedBuffer) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

func TestServeStartsAndShutsDownOnSignal(t *testing.T) {
	env := map[string]string{"ATRIUM_DATA_DIR": t.TempDir(), "ATRIUM_LISTEN": "127.0.0.1:0"}
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb lockedBuffer
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"serve"}, &out, &errb, func(k string) string { return env[k] }) }()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(out.String(), "/setup") {
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start: %s", errb.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel() // what SIGTERM does through signal.NotifyContext
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("serve exited %d: %s", code, errb.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not shut down within 15 s")
	}
	if !strings.Contains(errb.String(), "shutting down") {
		t.Errorf("no shutdown log line: %s", errb.String())
	}
}
