-- Groups: open, closed and secret, hosted here (domain '') or on a partner node (domain is
-- its host; the row mirrors the remote Group actor so that posts can name it). Members are
-- local people or remote accounts; a membership is requested (closed groups), invited (all
-- kinds; the only way into secret groups) or granted (state 'member').
CREATE TABLE groups (
    id            TEXT PRIMARY KEY,
    handle        TEXT NOT NULL,
    handle_lower  TEXT NOT NULL,
    domain        TEXT NOT NULL DEFAULT '',
    uri           TEXT NOT NULL UNIQUE,
    display_name  TEXT NOT NULL,
    note          TEXT NOT NULL DEFAULT '',
    visibility    TEXT NOT NULL,
    posting       TEXT NOT NULL DEFAULT 'members',
    cover_key     TEXT NOT NULL DEFAULT '',
    cover_url     TEXT NOT NULL DEFAULT '',
    creator_id    TEXT NOT NULL DEFAULT '',
    inbox         TEXT NOT NULL DEFAULT '',
    shared_inbox  TEXT NOT NULL DEFAULT '',
    followers_url TEXT NOT NULL DEFAULT '',
    key_id        TEXT NOT NULL DEFAULT '',
    members_count INTEGER NOT NULL DEFAULT 0,
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL,
    deleted_at    TIMESTAMP
);
CREATE UNIQUE INDEX groups_handle_idx ON groups (domain, handle_lower);
CREATE INDEX groups_key_idx ON groups (key_id);

-- role: admin, moderator or member. state: member, requested or invited. activity_uri is the
-- Follow (or Invite) that crosses nodes, which Accept, Reject and Undo refer to. notify: the
-- member follows the group closely (a notification for every new post).
CREATE TABLE group_members (
    group_id     TEXT NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
    account_id   TEXT NOT NULL,
    role         TEXT NOT NULL DEFAULT 'member',
    state        TEXT NOT NULL,
    invited_by   TEXT NOT NULL DEFAULT '',
    notify       BOOLEAN NOT NULL DEFAULT FALSE,
    activity_uri TEXT NOT NULL DEFAULT '',
    created_at   TIMESTAMP NOT NULL,
    PRIMARY KEY (group_id, account_id)
);
CREATE INDEX group_members_account_idx ON group_members (account_id, state, group_id);
CREATE INDEX group_members_state_idx ON group_members (group_id, state, role);

CREATE TABLE group_pins (
    group_id   TEXT NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
    post_id    TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (group_id, post_id)
);

-- Partner nodes a closed or secret group admits members from (open groups follow the node's
-- partner policy). confirmed_by: the group admin who acknowledged that the partner's
-- administrators can read what their node receives.
CREATE TABLE group_partners (
    group_id     TEXT NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
    host         TEXT NOT NULL,
    confirmed_by TEXT NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    PRIMARY KEY (group_id, host)
);

CREATE INDEX posts_group_idx ON posts (group_id, id);

-- Notifications about a group (a request to join, an invitation, an approval) name it.
ALTER TABLE notifications ADD COLUMN group_id TEXT;
