// Package fedtest holds the federation tests that run several whole nodes in one process:
// each node has its own database, keys and loopback listener, and is named like a real
// company (acme.test, globex.test, initech.test). Requests between them are real HTTP with
// real signatures through each node's SSRF-safe client (allowed to reach 127.0.0.0/8 for the
// test). Nodes run with background work off; nodetest.Settle drains every node's job queue
// until all are quiet, so the tests never sleep.
package fedtest
