package mastodon

import (
	"testing"

	"github.com/atrium-social/atrium/internal/filters"
)

// Remote accounts' domains are only reachable with a partner node in API tests, so the rule
// is checked here on rendered statuses.
func TestScreenHidesMutedAndBlockedDomains(t *testing.T) {
	s := &screen{muted: map[string]filters.Mute{"m": {}}, domains: map[string]bool{"spam.example": true}}
	for _, c := range []struct {
		acc  Account
		want bool
	}{
		{Account{ID: "m", Acct: "muted"}, true},
		{Account{ID: "r", Acct: "bot@Spam.Example"}, true},
		{Account{ID: "r2", Acct: "bob@partner.example"}, false},
		{Account{ID: "l", Acct: "carol"}, false},
	} {
		if got := s.hidesAccount(&c.acc); got != c.want {
			t.Errorf("%s: hidden %v, want %v", c.acc.Acct, got, c.want)
		}
	}
}

func TestStatusTextIsPlain(t *testing.T) {
	st := &Status{SpoilerText: "CW", Content: `<p>one</p><p>two &amp; <a href="x">three</a></p>`}
	if got := statusText(st); got != "CW\n one  two &  three  " {
		t.Fatalf("%q", got)
	}
}
