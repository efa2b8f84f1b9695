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
    created_at    TIMESTAMP NOT NULL
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
    created_at     TIMESTAMP NOT NULL,
    expires_at     TIMESTAMP NOT NULL,
    used_at        TIMESTAMP,
    token_id       TEXT
);
CREATE INDEX oauth_codes_expires_idx ON oauth_codes (expires_at);

-- Tokens gain the app that holds them and a refresh token. An app-level token
-- (client_credentials) acts for no one, so user_id becomes optional; SQLite cannot drop a
-- NOT NULL constraint in place, hence the copy. Nothing references tokens.
CREATE TABLE tokens_new (
    id           TEXT PRIMARY KEY,
    user_id      TEXT REFERENCES users(id) ON DELETE CASCADE,
    app_id       TEXT REFERENCES oauth_apps(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    refresh_hash TEXT UNIQUE,
    scopes       TEXT NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP,
    revoked_at   TIMESTAMP,
    CHECK (user_id IS NOT NULL OR app_id IS NOT NULL)
);
INSERT INTO tokens_new (id, user_id, name, token_hash, scopes, created_at, last_used_at, revoked_at)
    SELECT id, user_id, name, token_hash, scopes, created_at, last_used_at, revoked_at FROM tokens;
DROP TABLE tokens;
ALTER TABLE tokens_new RENAME TO tokens;
CREATE INDEX tokens_user_idx ON tokens (user_id);
CREATE INDEX tokens_app_idx ON tokens (app_id, user_id);
