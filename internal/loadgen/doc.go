// Package loadgen makes Atrium's performance measurable (docs PERFORMANCE.md, P3 and P4):
//
//   - Seed writes a realistic company into a migrated database directly through SQL, in large
//     transactions of multi-row INSERTs: people with work profiles, a skewed follow graph,
//     open, closed and secret groups with their members, posts (some in groups) spread over
//     months with ULID ids matching their times, hashtags, and every home feed materialised
//     exactly as the live fan-out and the periodic trim would have left it.
//   - Load is a closed-loop HTTP load generator for the Mastodon API (home timeline reads,
//     post creation, or a mix). It refuses any target that is not a loopback address, is
//     bounded in requests and time, and reports latency percentiles from every sample.
//
// `atrium dev seed` and `atrium dev load` are thin wrappers; the benchmarks in this package
// seed through the same code.
package loadgen
