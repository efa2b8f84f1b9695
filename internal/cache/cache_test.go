package cache

import (
	"strconv"
	"testing"
	"time"
)

func TestTTL(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	c := New[int](time.Second, 100)
	c.Put(c.Generation(), "a", 1, t0)
	if v, ok := c.Get("a", t0.Add(time.Second)); !ok || v != 1 {
		t.Fatalf("within the TTL: %d %v", v, ok)
	}
	if _, ok := c.Get("a", t0.Add(1001*time.Millisecond)); ok {
		t.Fatal("served after the TTL")
	}

	// A value loaded before a change must not be stored after the change forgot its key.
	gen := c.Generation()
	c.Forget("b")
	c.Put(gen, "b", 2, t0)
	if _, ok := c.Get("b", t0); ok {
		t.Fatal("a value older than a forget was stored")
	}
	c.Put(c.Generation(), "b", 2, t0)
	c.ForgetIf(func(v int) bool { return v == 2 })
	if _, ok := c.Get("b", t0); ok {
		t.Fatal("ForgetIf kept a match")
	}

	// Bounded: never more than max entries, whatever is put.
	for i := range 1000 {
		c.Put(c.Generation(), strconv.Itoa(i), i, t0)
		if c.Len() > 100 {
			t.Fatalf("%d entries after %d puts", c.Len(), i+1)
		}
	}
}
