package accounts

import (
	"testing"
	"time"
)

func TestPeopleCache(t *testing.T) {
	c := newPeopleCache()
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	c.put(&User{ID: "u1", DisplayName: "Ada", Skills: []string{"Go"}}, now)
	got, ok := c.get("u1", now.Add(time.Second))
	if !ok || got.DisplayName != "Ada" {
		t.Fatal("fresh entry missing")
	}
	got.Skills[0] = "changed by a caller"
	if again, _ := c.get("u1", now); again.Skills[0] != "Go" {
		t.Fatal("callers share the cached slice")
	}
	if _, ok := c.get("u1", now.Add(c.ttl+time.Millisecond)); ok {
		t.Fatal("entry outlived its TTL")
	}
	c.forget("u1")
	if _, ok := c.get("u1", now); ok {
		t.Fatal("forgotten entry still there")
	}
}
