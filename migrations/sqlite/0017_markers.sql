-- Where each person stopped reading their home feed and notifications, so every app they use
-- (Mastodon's markers API) opens at the same place. version counts the updates: apps use it
-- to notice another device moved the marker.
CREATE TABLE markers (
    account_id   TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    timeline     TEXT NOT NULL,
    last_read_id TEXT NOT NULL,
    version      INTEGER NOT NULL,
    updated_at   TIMESTAMP NOT NULL,
    PRIMARY KEY (account_id, timeline)
);
