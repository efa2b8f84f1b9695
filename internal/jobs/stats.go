package jobs

import (
	"context"
	"fmt"
)

// Counts are the jobs in each state. Pending jobs wait for their run_at (due or scheduled for
// a retry); Running ones hold a live lease; Dead ones failed for good and wait for an admin.
type Counts struct {
	Pending int `json:"pending"`
	Running int `json:"running"`
	Dead    int `json:"dead"`
}

func (c *Counts) add(state string, running bool, n int) {
	switch {
	case state == StateDead:
		c.Dead += n
	case running:
		c.Running += n
	default:
		c.Pending += n
	}
}

// Stats are the counts of the whole table (every process's jobs), overall and broken down
// by kind and by partition key (jobs without a partition are under "").
type Stats struct {
	Counts
	ByKind      map[string]Counts `json:"by_kind"`
	ByPartition map[string]Counts `json:"by_partition"`
}

// Stats counts the stored jobs. A job counts as running while its lease is live on the
// queue's clock.
func (q *Queue) Stats(ctx context.Context) (Stats, error) {
	var groups []struct {
		Kind      string `bun:"kind"`
		Partition string `bun:"partition_key"`
		State     string `bun:"state"`
		Running   int    `bun:"running"`
		N         int    `bun:"n"`
	}
	now := q.clock.Now().UTC()
	err := q.db.NewSelect().TableExpr("jobs").
		ColumnExpr("kind, partition_key, state").
		ColumnExpr("CASE WHEN locked_until > ? THEN 1 ELSE 0 END AS running", now).
		ColumnExpr("COUNT(*) AS n").
		GroupExpr("1, 2, 3, 4").
		Scan(ctx, &groups)
	if err != nil {
		return Stats{}, fmt.Errorf("jobs: stats: %w", err)
	}
	st := Stats{ByKind: map[string]Counts{}, ByPartition: map[string]Counts{}}
	for _, g := range groups {
		running := g.Running == 1
		st.Counts.add(g.State, running, g.N)
		k := st.ByKind[g.Kind]
		k.add(g.State, running, g.N)
		st.ByKind[g.Kind] = k
		p := st.ByPartition[g.Partition]
		p.add(g.State, running, g.N)
		st.ByPartition[g.Partition] = p
	}
	return st, nil
}
