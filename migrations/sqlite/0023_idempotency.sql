-- Idempotency-Key on POST /api/v1/statuses: an app that resends a post after a dropped
-- connection gets the post made the first time, not a second one. A key counts for an hour,
-- per account, as on Mastodon; the row is written in the post's own transaction.
CREATE TABLE idempotency_keys (
    account_id TEXT NOT NULL,
    key        TEXT NOT NULL,
    post_id    TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (account_id, key)
);
