package jobs

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"
)

// claim leases up to n due jobs of kinds this queue handles, within the in-memory limits
// (per-kind Concurrency, PartitionLimit), and reserves their slots; run releases them.
//
// One transaction selects candidates and updates the chosen ones. On PostgreSQL the select
// takes FOR UPDATE SKIP LOCKED, so concurrent claimers in other processes pass over each
// other's rows instead of waiting; on SQLite the transaction is immediate (the DSN's
// _txlock), so claimers are serialised by the single writer lock. Either way a row is
// claimed by one claimer at a time, and the lease condition makes a job whose worker died
// claimable again once locked_until has passed.
//
// Partitions and kinds already at their limit are excluded in the query, so a backlog in one
// partition (a dead host with thousands of deliveries) cannot fill every batch and starve the
// others. The limits are per process by design: a database-wide count would cost a query
// against running rows on every claim and still race without a lock; with N processes the
// effective per-partition limit is N * PartitionLimit.
func (q *Queue) claim(ctx context.Context, n int) ([]*row, error) {
	kinds, fullParts := q.eligible()
	if n <= 0 || len(kinds) == 0 {
		return nil, nil
	}
	now := q.clock.Now().UTC()
	until := now.Add(q.o.Lease)
	var reserved, out []*row
	err := q.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		q.unreserve(reserved) // a retried callback starts over
		reserved, out = nil, nil
		var cands []*row
		// Read a few more than n: some candidates may not fit a partition's remaining slots.
		sel := tx.NewSelect().Model(&cands).Column("id", "kind", "partition_key").
			Where("state = ?", StatePending).
			Where("run_at <= ?", now).
			Where("(locked_until IS NULL OR locked_until <= ?)", now).
			Where("kind IN (?)", bun.In(kinds)).
			OrderExpr("run_at, id").
			Limit(int64(2 * n))
		if len(fullParts) > 0 {
			sel = sel.Where("partition_key NOT IN (?)", bun.In(fullParts))
		}
		if q.pg {
			sel = sel.For("UPDATE SKIP LOCKED")
		}
		if err := sel.Scan(ctx); err != nil {
			return fmt.Errorf("select due: %w", err)
		}
		reserved = q.reserve(cands, n)
		if len(reserved) == 0 {
			return nil
		}
		chosen := make([]string, len(reserved))
		for i, r := range reserved {
			chosen[i] = r.ID
		}
		err := tx.NewUpdate().Model((*row)(nil)).
			Set("attempts = attempts + 1").
			Set("locked_until = ?", until).
			Set("updated_at = ?", now).
			Where("id IN (?)", bun.In(chosen)).
			Where("state = ?", StatePending).
			Where("(locked_until IS NULL OR locked_until <= ?)", now).
			Returning("*").
			Scan(ctx, &out)
		if err != nil {
			return fmt.Errorf("lease: %w", err)
		}
		return nil
	})
	if err != nil {
		q.unreserve(reserved)
		return nil, fmt.Errorf("jobs: claim: %w", err)
	}
	// Release any reservation whose row was not updated (it cannot happen while the rows are
	// locked, but a slot must never leak).
	got := make(map[string]bool, len(out))
	for _, r := range out {
		got[r.ID] = true
	}
	var lost []*row
	for _, r := range reserved {
		if !got[r.ID] {
			lost = append(lost, r)
		}
	}
	q.unreserve(lost)
	return out, nil
}

// eligible lists the handled kinds below their concurrency and the partitions at their limit.
func (q *Queue) eligible() (kinds, fullParts []string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for k, h := range q.handlers {
		if h.concurrency <= 0 || h.running < h.concurrency {
			kinds = append(kinds, k)
		}
	}
	for p, c := range q.parts {
		if c >= q.o.PartitionLimit {
			fullParts = append(fullParts, p)
		}
	}
	return kinds, fullParts
}

// reserve takes slots for up to n of cands, in order, skipping those over a limit.
func (q *Queue) reserve(cands []*row, n int) []*row {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []*row
	for _, r := range cands {
		if len(out) == n {
			break
		}
		h := q.handlers[r.Kind]
		if h == nil || (h.concurrency > 0 && h.running >= h.concurrency) {
			continue
		}
		if r.PartitionKey != "" && q.parts[r.PartitionKey] >= q.o.PartitionLimit {
			continue
		}
		h.running++
		q.running++
		if r.PartitionKey != "" {
			q.parts[r.PartitionKey]++
		}
		out = append(out, r)
	}
	return out
}

// unreserve gives back the slots of rs.
func (q *Queue) unreserve(rs []*row) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, r := range rs {
		q.handlers[r.Kind].running--
		q.running--
		if r.PartitionKey != "" {
			if q.parts[r.PartitionKey]--; q.parts[r.PartitionKey] <= 0 {
				delete(q.parts, r.PartitionKey)
			}
		}
	}
}

// inFlight is the number of claimed jobs not yet finished.
func (q *Queue) inFlight() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.running
}
