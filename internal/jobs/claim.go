package jobs

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"
)

// claim leases up to n due jobs of kinds this queue handles, within the in-memory limits
// (per-kind Concurrency, PartitionLimit), and reserves their slots; run releases them. Jobs of
// a batch kind (HandleBatch) come back grouped (row.group) into calls of at most its size.
//
// One transaction selects candidates and updates the chosen ones. On PostgreSQL the select
// takes FOR UPDATE SKIP LOCKED, so concurrent claimers in other processes pass over each
// other's rows instead of waiting; on SQLite the transaction is immediate (the DSN's
// _txlock), so claimers are serialised by the single writer lock, and it goes through db.Tx,
// which queues it behind the process's other writers in Go rather than in SQLite's busy
// handler. Either way a row is claimed by one claimer at a time, and the lease condition
// makes a job whose worker died claimable again once locked_until has passed.
//
// Candidates are read in (run_at, id) order, which jobs_claim_idx provides without a sort,
// and only as far as needed: reading stops once n are reserved or no eligible kind has a slot
// left, so a claim for one free slot reads a row or two however long the backlog is.
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
	err := q.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		q.release(reserved) // a retried callback starts over
		reserved, out = nil, nil
		// Read a few more than n: some candidates may not fit a partition's remaining slots.
		sel := tx.NewSelect().Model((*row)(nil)).Column("id", "kind", "partition_key").
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
		rows, err := sel.Rows(ctx)
		if err != nil {
			return fmt.Errorf("select due: %w", err)
		}
		r := q.newReservation(n)
		for rows.Next() {
			c := new(row)
			if err := rows.Scan(&c.ID, &c.Kind, &c.PartitionKey); err != nil {
				rows.Close()
				return fmt.Errorf("select due: %w", err)
			}
			if r.take(c) {
				reserved = append(reserved, c)
			}
			if r.done() {
				break
			}
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return fmt.Errorf("select due: %w", err)
		}
		if len(reserved) == 0 {
			return nil
		}
		chosen := make([]string, len(reserved))
		for i, r := range reserved {
			chosen[i] = r.ID
		}
		err = tx.NewUpdate().Model((*row)(nil)).
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
		q.release(reserved)
		return nil, fmt.Errorf("jobs: claim: %w", err)
	}
	// Release any reservation whose row was not updated (it cannot happen while the rows are
	// locked, but a slot must never leak), and keep the batch groups of the others.
	got := make(map[string]*row, len(out))
	for _, r := range out {
		got[r.ID] = r
	}
	var lost []*row
	for _, r := range reserved {
		if o := got[r.ID]; o != nil {
			o.group = r.group
		} else {
			lost = append(lost, r)
		}
	}
	if len(lost) > 0 {
		q.unreserve(lost)
		q.endGroups(lost, out)
	}
	return out, nil
}

// eligible lists the handled kinds below their concurrency and the partitions at their limit.
func (q *Queue) eligible() (kinds, fullParts []string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for k, h := range q.handlers {
		if h.concurrency <= 0 || h.busy() < h.concurrency {
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

// busy is what Concurrency bounds: running jobs, or calls for a batch kind. Queue.mu is held.
func (h *handler) busy() int {
	if h.batch != nil {
		return h.calls
	}
	return h.running
}

// reservation takes slots for candidates one at a time, in order, skipping those over a
// limit, for at most n jobs.
type reservation struct {
	q    *Queue
	n    int
	got  int
	open map[string]int // batch kind -> room left in the group this claim opened last
	grp  map[string]int // batch kind -> that group
}

func (q *Queue) newReservation(n int) *reservation { return &reservation{q: q, n: n} }

// take reserves c's slots, or reports false when a limit is reached.
func (r *reservation) take(c *row) bool {
	q := r.q
	q.mu.Lock()
	defer q.mu.Unlock()
	if r.got == r.n {
		return false
	}
	h := q.handlers[c.Kind]
	if h == nil {
		return false
	}
	if c.PartitionKey != "" && q.parts[c.PartitionKey] >= q.o.PartitionLimit {
		return false
	}
	if h.batch != nil {
		if r.open[c.Kind] == 0 { // a new call
			if h.concurrency > 0 && h.calls >= h.concurrency {
				return false
			}
			if r.open == nil {
				r.open, r.grp = map[string]int{}, map[string]int{}
			}
			h.calls++
			q.groups++
			r.open[c.Kind], r.grp[c.Kind] = h.size, q.groups
		}
		r.open[c.Kind]--
		c.group = r.grp[c.Kind]
	} else if h.concurrency > 0 && h.running >= h.concurrency {
		return false
	}
	h.running++
	q.running++
	if c.PartitionKey != "" {
		q.parts[c.PartitionKey]++
	}
	r.got++
	return true
}

// done reports whether no further candidate can be taken: n are reserved, or every kind that
// could run more is at its limit. (Partitions are not counted: a later row may be in another.)
func (r *reservation) done() bool {
	q := r.q
	q.mu.Lock()
	defer q.mu.Unlock()
	if r.got == r.n {
		return true
	}
	for k, h := range q.handlers {
		if h.concurrency <= 0 || h.busy() < h.concurrency || r.open[k] > 0 {
			return false
		}
	}
	return true
}

// unreserve gives back the job slots of rs (not their batch calls: see release, endCall).
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

// release gives back everything rs reserved: their job slots and their batch calls.
func (q *Queue) release(rs []*row) {
	q.unreserve(rs)
	q.endGroups(rs, nil)
}

// endGroups ends the batch calls of lost that kept no job of (kept being the claimed jobs).
func (q *Queue) endGroups(lost, kept []*row) {
	live := map[int]bool{}
	for _, r := range kept {
		live[r.group] = true
	}
	ended := map[int]bool{}
	for _, r := range lost {
		if r.group != 0 && !live[r.group] && !ended[r.group] {
			ended[r.group] = true
			q.endCall(r.Kind)
		}
	}
}

// endCall frees the batch call slot of kind.
func (q *Queue) endCall(kind string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.handlers[kind].calls--
}

// inFlight is the number of claimed jobs not yet finished.
func (q *Queue) inFlight() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.running
}
