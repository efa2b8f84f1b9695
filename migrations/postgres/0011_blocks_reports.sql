-- Moderation between people and nodes: blocks (a local person blocking anyone, or a remote
-- account blocking one of our people, as its node told us with Block) and reports (filed here
-- through the API, or received from a partner as Flag).

-- blocker_id blocks blocked_id. activity_uri is the id of the Block activity when the block
-- crosses nodes (ours when a local person blocks a remote account, theirs when a remote
-- account blocks one of our people), which Undo{Block} refers to; '' otherwise.
CREATE TABLE blocks (
    blocker_id   TEXT NOT NULL,
    blocked_id   TEXT NOT NULL,
    activity_uri TEXT NOT NULL DEFAULT '',
    created_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (blocker_id, blocked_id)
);
CREATE INDEX blocks_blocked_idx ON blocks (blocked_id, blocker_id);

-- Reports of an account (and some of its posts, post_ids being a JSON array of post ids) for
-- the admins. forwarded: a Flag went to the target's node. activity_uri is the id of the Flag
-- a partner sent ('' for reports filed here), so a Flag applied twice is stored once.
CREATE TABLE reports (
    id           TEXT PRIMARY KEY,
    reporter_id  TEXT NOT NULL,
    target_id    TEXT NOT NULL,
    post_ids     TEXT NOT NULL DEFAULT '[]',
    comment      TEXT NOT NULL DEFAULT '',
    forwarded    BOOLEAN NOT NULL DEFAULT FALSE,
    activity_uri TEXT NOT NULL DEFAULT '',
    created_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX reports_target_idx ON reports (target_id);
CREATE UNIQUE INDEX reports_activity_idx ON reports (activity_uri) WHERE activity_uri <> '';
