-- The social core: follows, posts (with comments and shares as posts), edits, mentions,
-- hashtags, attachments, reactions, bookmarks, announcement reads, the materialised home
-- feed, notifications and cached link previews. Author and account ids are not foreign keys
-- to users: remote accounts (federation) share the same id space.
CREATE TABLE follows (
    follower_id TEXT NOT NULL,
    followee_id TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (follower_id, followee_id)
);
CREATE INDEX follows_followee_idx ON follows (followee_id, follower_id);

CREATE TABLE posts (
    id              TEXT PRIMARY KEY,
    uri             TEXT NOT NULL UNIQUE,
    author_id       TEXT NOT NULL,
    audience        TEXT NOT NULL,
    group_id        TEXT,
    in_reply_to_id  TEXT,
    thread_id       TEXT NOT NULL,
    reblog_of_id    TEXT,
    source          TEXT NOT NULL DEFAULT '',
    content_html    TEXT NOT NULL DEFAULT '',
    content_text    TEXT NOT NULL DEFAULT '',
    spoiler_text    TEXT NOT NULL DEFAULT '',
    sensitive       BOOLEAN NOT NULL DEFAULT FALSE,
    language        TEXT NOT NULL DEFAULT '',
    important       BOOLEAN NOT NULL DEFAULT FALSE,
    important_until TIMESTAMPTZ,
    replies_count   INTEGER NOT NULL DEFAULT 0,
    reblogs_count   INTEGER NOT NULL DEFAULT 0,
    reactions_count INTEGER NOT NULL DEFAULT 0,
    created_at      TIMESTAMPTZ NOT NULL,
    edited_at       TIMESTAMPTZ,
    deleted_at      TIMESTAMPTZ
);
CREATE INDEX posts_author_idx ON posts (author_id, id);
CREATE INDEX posts_audience_idx ON posts (audience, id);
CREATE INDEX posts_thread_idx ON posts (thread_id, id);
CREATE INDEX posts_reply_idx ON posts (in_reply_to_id, id);
CREATE INDEX posts_reblog_idx ON posts (reblog_of_id, author_id);
CREATE INDEX posts_important_idx ON posts (important, id);

CREATE TABLE post_edits (
    id           TEXT PRIMARY KEY,
    post_id      TEXT NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
    source       TEXT NOT NULL,
    content_html TEXT NOT NULL,
    spoiler_text TEXT NOT NULL DEFAULT '',
    sensitive    BOOLEAN NOT NULL DEFAULT FALSE,
    created_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX post_edits_post_idx ON post_edits (post_id, id);

CREATE TABLE post_recipients (
    post_id    TEXT NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
    account_id TEXT NOT NULL,
    mentioned  BOOLEAN NOT NULL DEFAULT FALSE,
    acct       TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (post_id, account_id)
);
CREATE INDEX post_recipients_account_idx ON post_recipients (account_id, post_id);

CREATE TABLE post_tags (
    post_id TEXT NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
    tag     TEXT NOT NULL,
    PRIMARY KEY (post_id, tag)
);
CREATE INDEX post_tags_tag_idx ON post_tags (tag, post_id);

CREATE TABLE attachments (
    id           TEXT PRIMARY KEY,
    owner_id     TEXT NOT NULL,
    post_id      TEXT REFERENCES posts(id) ON DELETE SET NULL,
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
    created_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX attachments_post_idx ON attachments (post_id, position);
CREATE INDEX attachments_owner_idx ON attachments (owner_id, id);

CREATE TABLE reactions (
    post_id    TEXT NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
    account_id TEXT NOT NULL,
    emoji      TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (post_id, account_id)
);
CREATE INDEX reactions_account_idx ON reactions (account_id, created_at);

CREATE TABLE bookmarks (
    account_id TEXT NOT NULL,
    post_id    TEXT NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
    created_at TIMESTAMPTZ NOT NULL,
    seq        TEXT NOT NULL,
    PRIMARY KEY (account_id, post_id)
);
CREATE INDEX bookmarks_seq_idx ON bookmarks (account_id, seq);

CREATE TABLE announcement_reads (
    post_id    TEXT NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
    account_id TEXT NOT NULL,
    read_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (post_id, account_id)
);

CREATE TABLE home_feed (
    account_id TEXT NOT NULL,
    post_id    TEXT NOT NULL,
    PRIMARY KEY (account_id, post_id)
);

CREATE TABLE notifications (
    id         TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    kind       TEXT NOT NULL,
    from_id    TEXT NOT NULL,
    post_id    TEXT,
    emoji      TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL,
    read_at    TIMESTAMPTZ
);
CREATE INDEX notifications_account_idx ON notifications (account_id, id);

CREATE TABLE link_previews (
    url          TEXT PRIMARY KEY,
    status       TEXT NOT NULL,
    title        TEXT NOT NULL DEFAULT '',
    description  TEXT NOT NULL DEFAULT '',
    image_url    TEXT NOT NULL DEFAULT '',
    site_name    TEXT NOT NULL DEFAULT '',
    fetched_at   TIMESTAMPTZ NOT NULL
);

CREATE TABLE post_links (
    post_id TEXT NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
    url     TEXT NOT NULL,
    PRIMARY KEY (post_id, url)
);
