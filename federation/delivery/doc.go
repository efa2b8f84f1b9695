// Package delivery sends our activities to remote inboxes: durably, signed at send time,
// retried on a schedule that survives a peer being down for days, bounded per host and
// overall, and with a record of every peer's health for the admin pages.
//
// # Shape
//
// Send runs inside the caller's transaction (the one that wrote the post, the follow, the
// group change). It stores the activity once in outbox_activities (a second Send of the same
// URI reuses the row) and enqueues one internal/jobs job of kind "deliver" per distinct inbox
// URL. The job's payload names the outbox row and the inbox, never the body, so a fan-out to
// 1,000 inboxes stores the body once. Because the jobs commit with the change that caused
// them, a crash can delay a delivery but never lose it; Send wakes the workers after the
// commit (db.AfterCommit).
//
// # Why one job per inbox
//
// Mastodon does the same (one DeliveryWorker job per inbox); Lemmy 0.19 walks one ordered
// queue per instance instead, and pays with head-of-line blocking: one slow or failing
// receiver stalls everything behind it (FEDERATION.md section 6). With a job per inbox:
//
//   - each delivery has its own attempts, backoff and outcome, so a 410 from one inbox or a
//     dead host never holds up the others;
//   - the dedupe key "deliver:<outbox id> <inbox URL>" makes a repeated Send a no-op while the
//     first job is stored (the outbox id stands for the activity URI: the two are one to one,
//     and the id is short and free of LIKE wildcards), and inboxes shared by many recipients
//     (sharedInbox) collapse to one job because the URLs are identical;
//   - the partition key is the inbox host (host[:port], lower case), so jobs.Options.PartitionLimit
//     bounds the requests running at once against one peer (2-4, as FEDERATION.md asks)
//     while the kind's Concurrency bounds the whole fan-out;
//   - crash safety comes from the queue: a job is deleted only after the peer answered, so a
//     crash between the POST and the delete sends it again (at least once; receivers
//     deduplicate by activity id, as Mastodon, GoToSocial and our inbox all do).
//
// # Outcomes
//
// Every attempt signs afresh (signature.Sign with the signer's key and the clock's now),
// because peers reject a Date older than about an hour and a retry may come days later.
// Redirects are not followed: a POST turned into a GET by a 301/302, or resent to another host
// whose Host no longer matches the signature, cannot succeed.
//
//	answer                          job                                   peer_hosts
//	2xx                             done (deleted)                        success: failures reset
//	410 Gone                        dropped (dead, kept for the admin)    answered: host is up
//	other 4xx except 401/408/429    dropped (dead), logged                answered
//	501 Not Implemented             dropped (dead), as Mastodon does      answered
//	401 Unauthorized                retried with backoff until attempt 4  failure; answered
//	                                (the peer may be refreshing our key),  when dropped
//	                                then dropped
//	429, 503                        retried no earlier than Retry-After   failure
//	                                (seconds or HTTP date, capped at 6 h)
//	                                and no earlier than the backoff
//	408, other 5xx, 3xx             retried with backoff                  failure
//	network error, timeout          retried with backoff                  failure
//	blocked address, bad URL        dropped (dead)                        failure
//	host no longer allowed          dropped (deleted), logged, not sent   untouched
//	cannot sign (bad key id)        dropped (dead), not sent              untouched
//
// "Answered" clears the host's failure run (the host works; this inbox refused) but counts
// nothing as delivered.
//
// # Retry schedule
//
// Full-jitter exponential backoff (jobs.DefaultBackoff): after failed attempt n the next one
// waits a uniformly random time in [0, min(6 h, 30 s * 2^(n-1))], so the caps run 30 s, 1 m,
// 2 m, 4 m, 8 m, 16 m, 32 m, 64 m, 128 m, 256 m, then 6 h for every further attempt. Jitter
// spreads the retries of the thousands of deliveries that failed together when a partner went
// down, so they do not return in one burst. The expected waits add up to 4.3 h over the first
// ten retries and 3 h per retry after that, so about 34 attempts fill three days.
//
// What ends a delivery is time, not the count: a retryable failure more than Window (72 h)
// after the job was enqueued is final. MaxAttempts (48) is only a backstop; reaching it
// before the window closes needs about 37 capped draws to sum to under 68 h where 111 h is
// expected, roughly four standard deviations away. Retry-After is a floor on the delay, never
// a shortcut past the backoff, so a peer answering "429, Retry-After: 1" cannot burn the
// attempts in a minute.
//
// # Unavailable hosts
//
// A host whose failures have run for 7 days (failing_since) is marked unavailable. Deliveries
// to it are not attempted but parked: the job is rescheduled a day after the host's last
// attempt. Once a day one job becomes the probe: it claims the slot with one conditional
// UPDATE of last_failure_at (so concurrent workers and processes agree on a single probe)
// and really sends. A success, or any answer that shows the host is up, clears the state and
// makes the parked deliveries of that host due at once. Parked jobs still end with the 72 h
// window.
//
// # Health
//
// peer_hosts gets one dialect-neutral upsert (INSERT ... ON CONFLICT (host) DO UPDATE) per
// outcome: successes counted, consecutive failures, failing_since, the last error (truncated),
// unavailable. Health adds the number of pending deliveries per host; RecordReceived counts
// activities the inbox accepted from a host.
//
// # Deleted objects
//
// CancelObject, called in the transaction that deletes an object, drops the deliveries of
// activities about that object that have not been sent yet (not running, not finished),
// except the Delete itself, as GoToSocial does: nobody needs the Create of a post that no
// longer exists, and sending it would resurrect it on peers that see it before the Delete.
//
// # Limits
//
// Concurrency (Deps.Concurrency, default 64 per CPU) bounds the deliveries running at once
// in one process; jobs.Options.PartitionLimit bounds those to one host. A delivery is CPU for
// its signature (RSA-2048, ~0.8 ms of a core here) and then a network round trip of waiting,
// so the cap has to cover throughput x RTT: at a 50 ms RTT, keeping two cores signing takes
// over a hundred deliveries in flight, while 16 in flight would cap the fan-out at 320/s.
// Measured on loopback, 16 or 128 in flight cost the same CPU per delivery, so the generous
// cap is free when peers are fast (BenchmarkFanOut1000, figures in bench_test.go). The jobs
// queue's Options.Workers (default 4) bounds every kind together and must be raised to at
// least this cap, or it limits deliveries first.
//
// The package reads and writes the jobs table directly in three places that internal/jobs has
// no API for: the queue depth per host (Health), dropping deliveries of deleted objects
// (CancelObject) and waking parked deliveries when a host recovers.
package delivery
