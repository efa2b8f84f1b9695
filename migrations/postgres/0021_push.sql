-- Web Push (the Mastodon client API's push subscriptions): the node's VAPID key pair and one
-- subscription per access token.

-- The node's VAPID (RFC 8292) signing key: one ECDSA P-256 pair, made on first use. Push
-- services tie a subscription to the public key it was made with, so the pair must outlive
-- restarts and be shared by every process on the database.
CREATE TABLE vapid_keys (
    id          TEXT PRIMARY KEY,  -- 'node'
    private_pem TEXT NOT NULL,     -- PKCS#8
    public_key  TEXT NOT NULL,     -- base64url uncompressed point, as apps are shown it
    created_at  TIMESTAMPTZ NOT NULL
);

-- A browser's or app's push subscription. Mastodon keeps one per access token: a new one
-- replaces the old, and revoking the token ends it. alerts is a JSON object of booleans by
-- Mastodon notification type; policy is all, followed, follower or none.
CREATE TABLE push_subscriptions (
    id         TEXT PRIMARY KEY,
    token_id   TEXT NOT NULL UNIQUE,
    account_id TEXT NOT NULL,
    endpoint   TEXT NOT NULL,
    p256dh     TEXT NOT NULL,
    auth       TEXT NOT NULL,
    alerts     TEXT NOT NULL,
    policy     TEXT NOT NULL DEFAULT 'all',
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
-- Writing a notification asks which recipients have a subscription: one lookup by account.
CREATE INDEX push_subscriptions_account_idx ON push_subscriptions (account_id);
