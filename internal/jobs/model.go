package jobs

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// The states a stored job can be in. A running job is a pending one with a live lease
// (locked_until in the future); there is no "done" state because finished jobs are deleted.
const (
	StatePending = "pending"
	StateDead    = "dead"
)

// Job is one unit of work as a handler sees it.
type Job struct {
	ID          string
	Kind        string
	Payload     json.RawMessage // the JSON the caller enqueued
	Partition   string          // "" when the job belongs to no partition
	DedupeKey   *string
	Attempts    int // 1 on the first run; counts every claim, including ones a crash cut short
	MaxAttempts int // the job is dead after this many failed attempts
	RunAt       time.Time
	LastError   string // the previous attempt's error, "" on the first run
	CreatedAt   time.Time
}

// Decode unmarshals the payload into v.
func (j *Job) Decode(v any) error {
	if err := json.Unmarshal(j.Payload, v); err != nil {
		return fmt.Errorf("jobs: decode %s payload of %s: %w", j.Kind, j.ID, err)
	}
	return nil
}

// row is the stored form of a job. The payload is a string because the column is TEXT on
// both engines and bun would write a []byte as bytea on PostgreSQL.
type row struct {
	bun.BaseModel `bun:"table:jobs"`

	ID           string     `bun:"id,pk"`
	Kind         string     `bun:"kind"`
	Payload      string     `bun:"payload"`
	PartitionKey string     `bun:"partition_key"`
	DedupeKey    *string    `bun:"dedupe_key"`
	State        string     `bun:"state"`
	Attempts     int        `bun:"attempts"`
	MaxAttempts  int        `bun:"max_attempts"`
	RunAt        time.Time  `bun:"run_at"`
	LockedUntil  *time.Time `bun:"locked_until"`
	LastError    string     `bun:"last_error"`
	CreatedAt    time.Time  `bun:"created_at"`
	UpdatedAt    time.Time  `bun:"updated_at"`

	group int `bun:"-"` // the batch call this claimed job belongs to (0: run alone)
}

func (r *row) job() *Job {
	return &Job{
		ID:          r.ID,
		Kind:        r.Kind,
		Payload:     json.RawMessage(r.Payload),
		Partition:   r.PartitionKey,
		DedupeKey:   r.DedupeKey,
		Attempts:    r.Attempts,
		MaxAttempts: r.MaxAttempts,
		RunAt:       r.RunAt.UTC(),
		LastError:   r.LastError,
		CreatedAt:   r.CreatedAt.UTC(),
	}
}
