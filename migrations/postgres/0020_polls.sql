-- Polls attached to local posts, and statuses scheduled for later (the Mastodon client API).
-- Polls stay on this node: they are not federated as ActivityPub Questions.

-- has_poll lets a page of statuses skip the poll lookup when none of its posts has one (the
-- home feed reads full post rows already, so the flag costs no query).
ALTER TABLE posts ADD COLUMN has_poll BOOLEAN NOT NULL DEFAULT FALSE;

-- One poll per post. options is a JSON array of titles; the counts are kept with the votes
-- (votes_count: choices made, voters_count: people who voted) in the voting transaction.
CREATE TABLE polls (
    id           TEXT PRIMARY KEY,
    post_id      TEXT NOT NULL UNIQUE,
    author_id    TEXT NOT NULL,
    options      TEXT NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL,
    multiple     BOOLEAN NOT NULL DEFAULT FALSE,
    hide_totals  BOOLEAN NOT NULL DEFAULT FALSE,
    votes_count  INTEGER NOT NULL DEFAULT 0,
    voters_count INTEGER NOT NULL DEFAULT 0,
    created_at   TIMESTAMPTZ NOT NULL
);

-- One row per person who voted: its primary key is what refuses a second vote, even two
-- sent at once.
CREATE TABLE poll_voters (
    poll_id    TEXT NOT NULL,
    account_id TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (poll_id, account_id)
);

-- The options each voter chose (0-based indexes into polls.options).
CREATE TABLE poll_votes (
    poll_id    TEXT NOT NULL,
    account_id TEXT NOT NULL,
    choice     INTEGER NOT NULL,
    PRIMARY KEY (poll_id, account_id, choice)
);

-- A status to publish at scheduled_at. params is the JSON of what was submitted; version
-- changes on each reschedule, so the job queued for an earlier time knows it is stale.
CREATE TABLE scheduled_statuses (
    id           TEXT PRIMARY KEY,
    account_id   TEXT NOT NULL,
    scheduled_at TIMESTAMPTZ NOT NULL,
    params       TEXT NOT NULL,
    version      INTEGER NOT NULL DEFAULT 0,
    created_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX scheduled_statuses_account_idx ON scheduled_statuses (account_id, id);
