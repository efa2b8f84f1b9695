package web

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/atrium-social/atrium/internal/orgs"
)

// The partners page shows each partner's delivery health as the worker reports it, and still
// shows the policy when health cannot be read.
func TestPartnersPageHealth(t *testing.T) {
	e := newEnv(t)
	admin := e.setup()
	for _, h := range []string{"globex.example", "initech.example", "quiet.example"} {
		if _, err := e.partners.Add(context.Background(), orgs.CLIActor(), h, ""); err != nil {
			t.Fatal(err)
		}
	}
	ok, bad := time.Now().Add(-2*time.Hour), time.Now().Add(-3*time.Minute)
	var asked []string
	e.health = func(_ context.Context, hosts []string) (map[string]orgs.PeerHealth, error) {
		asked = hosts
		return map[string]orgs.PeerHealth{
			"globex.example":  {Host: "globex.example", LastSuccessAt: &ok, Delivered: 12, QueueDepth: 0},
			"initech.example": {Host: "initech.example", LastSuccessAt: &ok, LastFailureAt: &bad, FailingSince: &bad, Failures: 7, QueueDepth: 42, LastError: "503 <Service Unavailable>", Unavailable: true},
			"quiet.example":   {Host: "quiet.example"}, // asked for, never dealt with
		}, nil
	}
	resp, body := admin.get("/admin/partners")
	wantStatus(t, "partners page", resp, body, 200)
	if strings.Join(asked, ",") != "globex.example,initech.example,quiet.example" {
		t.Fatalf("health asked for %v", asked)
	}
	wantContains(t, "health", body, "<dt>Last success</dt><dd><time", ">2 h<", "<dt>Failures in a row</dt><dd>7</dd>",
		"<dt>Waiting</dt><dd>42</dd>", `<span class="badge danger">unavailable</span>`, "503 &lt;Service Unavailable&gt;",
		"<dt>Last failure</dt><dd>never</dd>", "no deliveries yet")

	e.health = func(context.Context, []string) (map[string]orgs.PeerHealth, error) { return nil, errors.New("db down") }
	resp, body = admin.get("/admin/partners")
	wantStatus(t, "partners page without health", resp, body, 200)
	wantContains(t, "partners page without health", body, "Delivery health could not be read", "globex.example")

	// The own host is refused with the field named.
	resp, body = admin.post("/admin/partners", url.Values{"host": {testHost}, "action": {"allow"}})
	wantStatus(t, "own host", resp, body, 422)
	wantContains(t, "own host", body, "this node&#39;s own host", `id="partner-host" name="host" type="text" value="http://atrium.test"`)
}
