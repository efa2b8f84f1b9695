-- Chat: 1:1 ("direct") and group conversations between people here and on partner nodes.
-- Account ids are not foreign keys to users: remote accounts share the id space. Message ids
-- are ULIDs of their created_at (truncated to the millisecond), so ordering by id is ordering
-- by (created_at, id), and keyset pages work on one index.
--
-- uri is the conversation's stable ActivityPub context. domain is the host of the node that
-- keeps the member list ('' here). pair_key makes a direct chat unique per pair of people
-- (the two account ids, sorted, joined by a space; NULL for group chats). activity_id is the
-- newest message id (or the chat's own id before any message): the order of chat lists. seq
-- counts changes to the chat's messages; each message keeps the seq of its last change, so a
-- client catches up with everything (late arrivals, edits, deletions, reactions) in order.
CREATE TABLE chat_conversations (
    id          TEXT PRIMARY KEY,
    uri         TEXT NOT NULL UNIQUE,
    kind        TEXT NOT NULL,
    name        TEXT NOT NULL DEFAULT '',
    creator_id  TEXT NOT NULL,
    domain      TEXT NOT NULL DEFAULT '',
    pair_key    TEXT UNIQUE,
    activity_id TEXT NOT NULL,
    seq         BIGINT NOT NULL DEFAULT 0,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX chat_conversations_activity_idx ON chat_conversations (activity_id);

-- Every context URI that names a chat: its own, and others a partner used for the same pair
-- of people (two nodes starting the same 1:1 at once, a Mastodon thread's context).
CREATE TABLE chat_contexts (
    uri             TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL REFERENCES chat_conversations(id) ON DELETE CASCADE
);
CREATE INDEX chat_contexts_conversation_idx ON chat_contexts (conversation_id);

-- local: the account is one of this node's people (live events go to them). history_from:
-- the lowest message id the member may read ('' for everything; people added later read from
-- the moment they were added). last_read_id starts at history_from and only moves forward.
-- hidden: removed from the member's list (Mastodon's "delete conversation") until the next
-- message arrives.
CREATE TABLE chat_members (
    conversation_id TEXT NOT NULL REFERENCES chat_conversations(id) ON DELETE CASCADE,
    account_id      TEXT NOT NULL,
    local           BOOLEAN NOT NULL,
    role            TEXT NOT NULL DEFAULT 'member',
    history_from    TEXT NOT NULL DEFAULT '',
    last_read_id    TEXT NOT NULL DEFAULT '',
    last_read_at    TIMESTAMPTZ,
    muted           BOOLEAN NOT NULL DEFAULT FALSE,
    hidden          BOOLEAN NOT NULL DEFAULT FALSE,
    added_by        TEXT NOT NULL DEFAULT '',
    joined_at       TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (conversation_id, account_id)
);
CREATE INDEX chat_members_account_idx ON chat_members (account_id, conversation_id);

-- A deleted message is a tombstone: deleted_at set, its text, link and files gone.
CREATE TABLE chat_messages (
    id              TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL REFERENCES chat_conversations(id) ON DELETE CASCADE,
    uri             TEXT NOT NULL UNIQUE,
    author_id       TEXT NOT NULL,
    in_reply_to_id  TEXT,
    source          TEXT NOT NULL DEFAULT '',
    content_html    TEXT NOT NULL DEFAULT '',
    content_text    TEXT NOT NULL DEFAULT '',
    link_url        TEXT NOT NULL DEFAULT '',
    seq             BIGINT NOT NULL DEFAULT 0,
    created_at      TIMESTAMPTZ NOT NULL,
    edited_at       TIMESTAMPTZ,
    deleted_at      TIMESTAMPTZ
);
CREATE INDEX chat_messages_conversation_idx ON chat_messages (conversation_id, id);
CREATE INDEX chat_messages_seq_idx ON chat_messages (conversation_id, seq);

-- Files of a message: an upload (which the message takes over from the attachments table,
-- keeping its id) or a partner's file copied here.
CREATE TABLE chat_attachments (
    id           TEXT PRIMARY KEY,
    message_id   TEXT NOT NULL REFERENCES chat_messages(id) ON DELETE CASCADE,
    owner_id     TEXT NOT NULL,
    kind         TEXT NOT NULL,
    file_key     TEXT NOT NULL,
    thumb_key    TEXT NOT NULL DEFAULT '',
    content_type TEXT NOT NULL,
    file_name    TEXT NOT NULL DEFAULT '',
    size_bytes   INTEGER NOT NULL DEFAULT 0,
    width        INTEGER NOT NULL DEFAULT 0,
    height       INTEGER NOT NULL DEFAULT 0,
    description  TEXT NOT NULL DEFAULT '',
    position     INTEGER NOT NULL DEFAULT 0,
    remote       BOOLEAN NOT NULL DEFAULT FALSE,
    created_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX chat_attachments_message_idx ON chat_attachments (message_id, position);

-- One reaction per person per message, from the same set as posts.
CREATE TABLE chat_reactions (
    message_id TEXT NOT NULL REFERENCES chat_messages(id) ON DELETE CASCADE,
    account_id TEXT NOT NULL,
    emoji      TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (message_id, account_id)
);
