-- OAuth 2 as Mastodon does it: apps register themselves (POST /api/v1/apps), people approve
-- them (GET /oauth/authorize), and the codes they get become bearer tokens in the one tokens
-- table, so the server keeps a single token lookup path. Secrets, codes and tokens are kept
-- only as SHA-256 hashes, like sessions and personal tokens.
CREATE TABLE oauth_apps (
    id            TEXT PRIMARY KEY,
    client_id     TEXT NOT NULL UNIQUE,
    secret_hash   TEXT NOT NULL,
    name          TEXT NOT NULL,
    website       TEXT NOT NULL DEFAULT '',
    redirect_uris TEXT NOT NULL, -- one per line, matched exactly
    scopes        TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL
);

-- An authorization code works once, for ten minutes, for one app and one redirect URI.
-- token_id is the token it became, revoked if the code is ever presented again (RFC 6749
-- 4.1.2: a replayed code means it leaked).
CREATE TABLE oauth_codes (
    code_hash      TEXT PRIMARY KEY,
    app_id         TEXT NOT NULL REFERENCES oauth_apps(id) ON DELETE CASCADE,
    user_id        TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    redirect_uri   TEXT NOT NULL,
    scopes         TEXT NOT NULL,
    code_challenge TEXT NOT NULL DEFAULT '',
    created_at     TIMESTAMPTZ NOT NULL,
    expires_at     TIMESTAMPTZ NOT NULL,
    used_at        TIMESTAMPTZ,
    token_id       TEXT
);
CREATE INDEX oauth_codes_expires_idx ON oauth_codes (expires_at);

-- Tokens gain the app that holds them and a refresh token. An app-level token
-- (client_credentials) acts for no one, so user_id becomes optional. (SQLite rebuilds the
-- table for this; here each change is one statement, and the comment keeps the two files
-- step for step.)
ALTER TABLE tokens ALTER COLUMN user_id DROP NOT NULL;
COMMENT ON COLUMN tokens.user_id IS 'NULL for an app-level OAuth token (client_credentials)';
ALTER TABLE tokens ADD COLUMN app_id TEXT REFERENCES oauth_apps(id) ON DELETE CASCADE;
ALTER TABLE tokens ADD COLUMN refresh_hash TEXT UNIQUE;
ALTER TABLE tokens ADD CONSTRAINT tokens_owner_check CHECK (user_id IS NOT NULL OR app_id IS NOT NULL);
CREATE INDEX tokens_app_idx ON tokens (app_id, user_id);
