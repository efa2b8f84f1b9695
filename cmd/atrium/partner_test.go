package main

import (
	"strings"
	"testing"
)

func TestAdminPartnerCommands(t *testing.T) {
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
		if strings.Contains(strings.TrimSpace(lastLine(stderr)), "\n") || !strings.HasPrefix(lastLine(stderr), "atrium: ") {
			t.Fatalf("%v: error is not one clear line: %q", args, stderr)
		}
	}

	out := ok("admin", "partner", "list")
	if !strings.Contains(out, "federation mode: allowlist") || !strings.Contains(out, "no partners yet") {
		t.Fatalf("empty list: %q", out)
	}
	// The flag may follow the host; a pasted URL is reduced to its host.
	out = ok("admin", "partner", "add", "https://Globex.example/about", "--note", "project Falcon")
	if !strings.Contains(out, "globex.example is an allowed partner") || !strings.Contains(out, "can read what this node sends") {
		t.Fatalf("add: %q", out)
	}
	// The port is dropped: the policy names hosts.
	if out := ok("admin", "partner", "add", "--note=test network", "initech.test:8443"); !strings.HasPrefix(out, "initech.test is") {
		t.Fatalf("add with port: %q", out)
	}
	if out := ok("admin", "partner", "block", "spam.example", "--note", "abuse"); !strings.Contains(out, "spam.example is blocked") {
		t.Fatalf("block: %q", out)
	}

	out = ok("admin", "partner", "list")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 5 || !strings.HasPrefix(lines[1], "HOST") || !strings.Contains(lines[1], "STATE") ||
		!strings.Contains(lines[1], "NOTE") || !strings.Contains(lines[1], "ADDED") {
		t.Fatalf("list:\n%s", out)
	}
	for _, want := range []string{"globex.example  ", "allowed", "project Falcon", "initech.test  ", "spam.example", "blocked", "abuse"} {
		if !strings.Contains(out, want) {
			t.Errorf("list lacks %q:\n%s", want, out)
		}
	}
	if !strings.HasPrefix(lines[4], "spam.example") {
		t.Errorf("blocked hosts are not listed after allowed ones:\n%s", out)
	}
	if out := ok("admin", "partner", "list", "--federation-mode", "open"); !strings.Contains(out, "federation mode: open") {
		t.Fatalf("open mode line: %q", out)
	}

	if out := ok("admin", "partner", "remove", "GLOBEX.example"); !strings.Contains(out, "globex.example removed") {
		t.Fatalf("remove: %q", out)
	}
	if out := ok("admin", "partner", "list"); strings.Contains(out, "globex.example") {
		t.Fatalf("removed partner still listed:\n%s", out)
	}

	fail("not on the partner list", "admin", "partner", "remove", "globex.example")
	fail("name the host", "admin", "partner", "add")
	fail("name one host", "admin", "partner", "add", "a.example", "b.example")
	fail(`"nonsense" is not a host name`, "admin", "partner", "add", "nonsense")
	fail("this node's own host", "admin", "partner", "add", "acme.example")
	fail("note", "admin", "partner", "block", "x.example", "--note", strings.Repeat("n", 501))
	fail("name add, block, remove or list", "admin", "partner")
	fail(`unknown command "partner fly"`, "admin", "partner", "fly", "x.example")
	fail("flag provided but not defined: -note", "admin", "partner", "remove", "x.example", "--note", "x")
}
