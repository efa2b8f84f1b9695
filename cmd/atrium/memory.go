package main

import (
	"context"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// Memory tuning for `atrium serve` (PERFORMANCE.md P1 and P3). With Go's default GOGC=100 the
// collector runs whenever the heap doubles; a node's live heap is small (~10 MB), so under
// load it collected dozens of times a second, and the collection plus the goroutine
// preemptions it causes took a sixth of the CPU of a feed page. Idle, the opposite matters:
// the memory a burst left behind is handed back to the system only slowly, and counts as
// the node's resident memory until then.
//
// So the node keeps a minimum heap goal (collections are then rare while the live heap is
// small, and GOGC=100 applies again once the live heap is big, with thousands of open
// websockets for example), and when it turns quiet after work it collects once and returns
// the free memory at once. An operator's GOGC or GOMEMLIMIT turns both off.
const (
	minHeapGoal   = 64 << 20               // heap the collector may grow to before collecting
	maxGCPercent  = 800                    // bounds the goal with a tiny live heap
	tuneEvery     = 250 * time.Millisecond // how often the live heap and the activity are read
	quietAlloc    = 256 << 10              // less allocated than this in a tick: the node is quiet
	releaseAfter  = 1 << 20                // allocated since the last release for one to be worth it
	minGCPercent  = 100
	gcPercentStep = 10 // change GOGC only when the wanted value moves by more than this
)

// tuneMemory runs until ctx ends.
func tuneMemory(ctx context.Context, getenv func(string) string) {
	if getenv("GOGC") != "" || getenv("GOMEMLIMIT") != "" {
		return
	}
	samples := []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(samples)
	lastAlloc, releasedAt := samples[1].Value.Uint64(), samples[1].Value.Uint64()
	percent := 100
	t := time.NewTicker(tuneEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		metrics.Read(samples)
		live, alloc := samples[0].Value.Uint64(), samples[1].Value.Uint64()
		if want := gcPercentFor(live); want > percent+gcPercentStep || want < percent-gcPercentStep {
			percent = want
			debug.SetGCPercent(percent)
		}
		if alloc-lastAlloc < quietAlloc && alloc-releasedAt > releaseAfter {
			// Two collections: the first only moves what sync.Pools keep for reuse (response
			// compressors of ~1 MB each, buffers) to their victim caches, the second frees it.
			// FreeOSMemory then returns every free page to the system.
			runtime.GC()
			debug.FreeOSMemory()
			releasedAt = alloc
		}
		lastAlloc = alloc
	}
}

// gcPercentFor is the GOGC that puts the heap goal, live*(1+GOGC/100), at minHeapGoal or
// more, within [minGCPercent, maxGCPercent].
func gcPercentFor(live uint64) int {
	if live == 0 {
		return maxGCPercent
	}
	return int(max(minGCPercent, min(maxGCPercent, int64(minHeapGoal)*100/int64(live)-100)))
}
