-- Federation: remote accounts (sharing the id space of users), follow relationships that
-- cross nodes, the inbox log (raw activities, deduplicated by id), the outbox (activities we
-- sent, stored once and referenced by one delivery job per inbox), partner policy and the
-- health of every peer host.

CREATE TABLE remote_accounts (
    id             TEXT PRIMARY KEY,
    uri            TEXT NOT NULL UNIQUE,
    username       TEXT NOT NULL,
    domain         TEXT NOT NULL,
    acct_lower     TEXT NOT NULL,
    kind           TEXT NOT NULL DEFAULT 'Person',
    display_name   TEXT NOT NULL DEFAULT '',
    summary_html   TEXT NOT NULL DEFAULT '',
    url            TEXT NOT NULL DEFAULT '',
    avatar_url     TEXT NOT NULL DEFAULT '',
    header_url     TEXT NOT NULL DEFAULT '',
    inbox          TEXT NOT NULL,
    shared_inbox   TEXT NOT NULL DEFAULT '',
    outbox         TEXT NOT NULL DEFAULT '',
    followers_url  TEXT NOT NULL DEFAULT '',
    following_url  TEXT NOT NULL DEFAULT '',
    key_id         TEXT NOT NULL DEFAULT '',
    public_key_pem TEXT NOT NULL DEFAULT '',
    locked         BOOLEAN NOT NULL DEFAULT FALSE,
    fields         TEXT NOT NULL DEFAULT '[]',
    org_name       TEXT NOT NULL DEFAULT '',
    fetched_at     TIMESTAMPTZ NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL,
    deleted_at     TIMESTAMPTZ
);
CREATE INDEX remote_accounts_acct_idx ON remote_accounts (acct_lower);
CREATE INDEX remote_accounts_domain_idx ON remote_accounts (domain);

-- Follows that involve a remote account, with the Follow activity's id (Accept, Reject and
-- Undo refer to it). state is pending until the followee's node accepts; accepted follows
-- also have a row in follows.
CREATE TABLE federated_follows (
    follower_id  TEXT NOT NULL,
    followee_id  TEXT NOT NULL,
    activity_uri TEXT NOT NULL,
    state        TEXT NOT NULL DEFAULT 'pending',
    created_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (follower_id, followee_id)
);
CREATE INDEX federated_follows_uri_idx ON federated_follows (activity_uri);

-- Every activity a peer posted to one of our inboxes, kept raw. activity_uri is UNIQUE: a
-- redelivery is answered 202 and stored once.
CREATE TABLE inbox_activities (
    id           TEXT PRIMARY KEY,
    activity_uri TEXT NOT NULL UNIQUE,
    kind         TEXT NOT NULL,
    actor        TEXT NOT NULL,
    host         TEXT NOT NULL,
    raw          TEXT NOT NULL,
    received_at  TIMESTAMPTZ NOT NULL,
    processed_at TIMESTAMPTZ,
    outcome      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX inbox_activities_received_idx ON inbox_activities (received_at);

-- Every activity we sent, stored once; deliveries (jobs, one per inbox) refer to it by id and
-- sign it at send time with the key of signer_id.
CREATE TABLE outbox_activities (
    id          TEXT PRIMARY KEY,
    uri         TEXT NOT NULL UNIQUE,
    kind        TEXT NOT NULL,
    signer_id   TEXT NOT NULL,
    key_id      TEXT NOT NULL,
    object_uri  TEXT NOT NULL DEFAULT '',
    body        TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX outbox_activities_signer_idx ON outbox_activities (signer_id, id);

-- Partner policy: hosts an admin allowed (the allowlist) or blocked (both modes).
CREATE TABLE partners (
    host       TEXT PRIMARY KEY,
    state      TEXT NOT NULL,
    note       TEXT NOT NULL DEFAULT '',
    created_by TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

-- Delivery health per peer host.
CREATE TABLE peer_hosts (
    host            TEXT PRIMARY KEY,
    last_success_at TIMESTAMPTZ,
    last_failure_at TIMESTAMPTZ,
    failing_since   TIMESTAMPTZ,
    failures        INTEGER NOT NULL DEFAULT 0,
    delivered       INTEGER NOT NULL DEFAULT 0,
    received        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT NOT NULL DEFAULT '',
    unavailable     BOOLEAN NOT NULL DEFAULT FALSE,
    updated_at      TIMESTAMPTZ NOT NULL
);
