package orgs

import "time"

// PeerHealth is how deliveries to one partner host are going, as the federation delivery
// worker records it. It lives here so the admin pages can show it next to the partner policy
// without importing federation code.
type PeerHealth struct {
	Host          string
	LastSuccessAt *time.Time
	LastFailureAt *time.Time
	FailingSince  *time.Time // start of the current run of failures; nil when healthy
	Failures      int        // consecutive failed attempts
	Delivered     int        // activities delivered in total
	Received      int        // activities accepted from this host in total
	QueueDepth    int        // deliveries waiting (pending or retrying)
	LastError     string
	Unavailable   bool // failing for a week: deliveries are parked until it answers again
}
