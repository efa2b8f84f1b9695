package nodetest

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/atrium-social/atrium/internal/orgs"
)

// resolveTest maps every *.test name to 127.0.0.1, where all test nodes listen (each on its
// own port, which is part of its URL); other names are not resolvable in tests.
func resolveTest(_ context.Context, host string) ([]netip.Addr, error) {
	if strings.HasSuffix(host, ".test") {
		return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
	}
	return nil, fmt.Errorf("nodetest: %s is not a test host", host)
}

// Host is the node's host as peers see it ("acme.test:41234").
func (n *Node) Host() string {
	u := n.URL(context.Background())
	return u[strings.Index(u, "://")+3:]
}

// Partner makes every node a partner of every other (the allowlist is the default policy).
func Partner(t testing.TB, nodes ...*Node) {
	t.Helper()
	for _, a := range nodes {
		for _, b := range nodes {
			if a == b {
				continue
			}
			// The policy is by host name: test nodes differ by name, and share 127.0.0.1.
			name, _, _ := strings.Cut(b.Host(), ":")
			if _, err := a.Partners.Add(context.Background(), orgs.CLIActor(), name, "test partner"); err != nil {
				t.Fatalf("partner %s -> %s: %v", a.Host(), b.Host(), err)
			}
		}
	}
}

// Settle runs every node's due jobs, round after round, until a whole round over all nodes
// runs none: deliveries, inbox processing and everything they cause have happened. Nodes
// must have been started with Manual. Jobs scheduled for later (retries) stay scheduled.
func Settle(t testing.TB, nodes ...*Node) {
	t.Helper()
	ctx := context.Background()
	for round := 0; round < 100; round++ {
		ran := 0
		for _, n := range nodes {
			k, err := n.Jobs.DrainCount(ctx)
			if err != nil {
				t.Fatalf("settle %s: %v", n.Host(), err)
			}
			ran += k
		}
		if ran == 0 {
			return
		}
	}
	t.Fatalf("settle: jobs still running after 100 rounds (a delivery loop?)")
}
