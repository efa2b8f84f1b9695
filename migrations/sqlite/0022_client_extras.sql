-- What Mastodon apps call beyond the social core: followed hashtags, private notes on
-- accounts, profile-pinned statuses and muted conversations.

-- A person following a hashtag: public and company posts with it reach their home feed at
-- fan-out. id (a ULID) pages GET /api/v1/followed_tags; the unique (tag, account_id) index is
-- the fan-out's lookup (one range per tag of the post).
CREATE TABLE tag_follows (
    id         TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    tag        TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX tag_follows_tag_idx ON tag_follows (tag, account_id);
CREATE INDEX tag_follows_account_idx ON tag_follows (account_id, id);

-- A private note about another account, shown only to its writer (Relationship.note).
CREATE TABLE account_notes (
    account_id TEXT NOT NULL,
    target_id  TEXT NOT NULL,
    note       TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (account_id, target_id)
);

-- Statuses pinned to their author's profile (at most 5 each), shown newest pin
-- first.
CREATE TABLE status_pins (
    account_id TEXT NOT NULL,
    post_id    TEXT NOT NULL,
    id         TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (account_id, post_id)
);

-- A conversation (thread) someone muted: no more notifications from it. The thread index
-- answers "who muted this thread" when a comment notifies its participants.
CREATE TABLE conversation_mutes (
    account_id TEXT NOT NULL,
    thread_id  TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (account_id, thread_id)
);
CREATE INDEX conversation_mutes_thread_idx ON conversation_mutes (thread_id, account_id);
