-- The durable job queue (internal/jobs). A job is a row: pending until a worker claims it by
-- setting locked_until (its lease) and bumping attempts; deleted on success; 'dead' (kept with
-- last_error for the admin) after a permanent error or its last attempt. A pending job whose
-- lease has passed is claimable again, which is how a crashed worker's job gets re-run.
-- dedupe_key is UNIQUE and NULL when unused (NULLs never clash), so a second enqueue with the
-- same key is a no-op while the first job is still stored.
CREATE TABLE jobs (
    id            TEXT PRIMARY KEY,
    kind          TEXT NOT NULL,
    payload       TEXT NOT NULL,
    partition_key TEXT NOT NULL DEFAULT '',
    dedupe_key    TEXT UNIQUE,
    state         TEXT NOT NULL DEFAULT 'pending',
    attempts      INTEGER NOT NULL DEFAULT 0,
    max_attempts  INTEGER NOT NULL DEFAULT 0,
    run_at        TIMESTAMPTZ NOT NULL,
    locked_until  TIMESTAMPTZ,
    last_error    TEXT NOT NULL DEFAULT '',
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX jobs_due_idx ON jobs (state, run_at);
