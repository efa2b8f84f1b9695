-- What a person arranges and hides on their own timelines (the Mastodon client API): lists of
-- people they follow, keyword filters, mutes and domain blocks. Each row belongs to one
-- person; nothing here changes what others see or what the fan-out writes.

-- A list of accounts the owner follows, with its own timeline. replies_policy is Mastodon's
-- followed|list|none; exclusive lists keep their members' posts out of the home timeline.
CREATE TABLE lists (
    id             TEXT PRIMARY KEY,
    owner_id       TEXT NOT NULL,
    title          TEXT NOT NULL,
    replies_policy TEXT NOT NULL DEFAULT 'list',
    exclusive      BOOLEAN NOT NULL DEFAULT FALSE,
    created_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX lists_owner_idx ON lists (owner_id, id);

CREATE TABLE list_members (
    list_id    TEXT NOT NULL,
    account_id TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (list_id, account_id)
);
CREATE INDEX list_members_account_idx ON list_members (account_id, list_id);

-- A keyword filter (Mastodon's filters v2). contexts is a comma-separated subset of
-- home,notifications,public,thread,account; action is warn or hide.
CREATE TABLE filters (
    id         TEXT PRIMARY KEY,
    owner_id   TEXT NOT NULL,
    title      TEXT NOT NULL,
    contexts   TEXT NOT NULL,
    action     TEXT NOT NULL DEFAULT 'warn',
    expires_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX filters_owner_idx ON filters (owner_id, id);

CREATE TABLE filter_keywords (
    id         TEXT PRIMARY KEY,
    filter_id  TEXT NOT NULL,
    keyword    TEXT NOT NULL,
    whole_word BOOLEAN NOT NULL DEFAULT TRUE
);
CREATE INDEX filter_keywords_filter_idx ON filter_keywords (filter_id, id);

-- muter_id no longer sees muted_id's posts on timelines (and, with notifications, their
-- notifications) until expires_at, if set.
CREATE TABLE mutes (
    muter_id      TEXT NOT NULL,
    muted_id      TEXT NOT NULL,
    notifications BOOLEAN NOT NULL DEFAULT TRUE,
    expires_at    TIMESTAMPTZ,
    created_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (muter_id, muted_id)
);

-- account_id hides everything from accounts on domain (lower case).
CREATE TABLE domain_blocks (
    account_id TEXT NOT NULL,
    domain     TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (account_id, domain)
);
