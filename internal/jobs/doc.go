// Package jobs is the node's durable job queue: link previews, e-mail, federation delivery
// and inbox processing all run through it.
//
// # Why a table
//
// A job is a row in the jobs table, never only a value in memory, so nothing accepted is lost
// when the process stops, crashes or is killed. Enqueue writes through the caller's bun.IDB:
// inside a transaction the job commits or rolls back together with the change that caused it
// (a post and its delivery jobs, an invitation and its e-mail), so there is never a change
// without its job nor a job for a change that did not happen. After the commit, call Wake so
// workers pick the job up at once instead of at the next poll; EnqueueNow does both for work
// that belongs to no transaction.
//
// # Lifecycle
//
// A pending job is due when run_at has passed. A worker claims due jobs by setting
// locked_until (the lease, Options.Lease) and adding one to attempts, in one transaction
// (FOR UPDATE SKIP LOCKED on PostgreSQL, the single immediate writer on SQLite), so each
// claim belongs to exactly one worker in one process. Then:
//
//   - the handler returns nil: the row is deleted;
//   - it returns an error: run_at moves by the kind's backoff (full-jitter exponential from
//     30 s, capped at 6 h, by default) or by the delay given with RetryAfter, and last_error
//     keeps the message;
//   - it returns Permanent(err), or the job has used its MaxAttempts: the job becomes dead,
//     kept with last_error for an admin to see, never retried and never deleted by the queue;
//   - the process dies: nothing is written, and once locked_until passes any queue on the
//     database claims the job again.
//
// All times (run_at, leases, backoff, Stats' "running") come from the injected clock, never
// from the database's now(), so tests with a clock.Fake control retries and lease expiry.
//
// # At least once: handlers must be idempotent
//
// Delivery is at-least-once. A job runs again if its process crashes after the work but
// before the row is deleted, if writing the outcome fails, or if the handler outlives its
// lease (its context is cancelled when the lease runs out, but work already done stays
// done). Every handler must therefore be safe to run twice with the same payload: check
// whether the effect already exists (insert with ON CONFLICT DO NOTHING, key the remote side
// on a stable id such as the activity id, which receivers deduplicate), and keep payloads to
// identifiers rather than snapshots that may be stale by the retry. A handler that needs
// longer than the lease should split its work into several jobs.
//
// # Limits
//
// Options.Workers bounds the handlers running at once per process; Concurrency bounds one
// kind; Partition(key) and Options.PartitionLimit bound one partition, such as deliveries to
// one host (2-4 at a time per host, FEDERATION.md section 6). These limits are kept in memory
// by each process and enforced at claim time, which keeps the claim to two statements and
// needs no shared counters: with N processes on one PostgreSQL database a partition may have
// N * PartitionLimit jobs running. Saturated partitions are left out of the claim query, so a
// backlog for one dead host does not hold up the others.
//
// Order is roughly by run_at, never guaranteed: jobs run concurrently, across processes,
// and a failed job retries later than jobs enqueued after it. Work whose order matters
// (a Delete after its Create) must carry what the receiver needs to resolve it.
//
// HandleBatch hands a kind's due jobs to one handler call, up to a size per call, for work
// that is cheaper per call than per job (one read of many rows, one commit); each job keeps its
// own lease, attempts and outcome, and Concurrency then bounds the calls.
//
// Dedupe(key) makes a second enqueue of the same work a no-op while the first job is stored;
// jobs of a kind no queue handles stay pending and show in Stats. In tests, Drain runs every
// due job synchronously, so a test advances its clock.Fake and drains instead of sleeping.
package jobs
