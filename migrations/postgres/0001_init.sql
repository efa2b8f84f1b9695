-- The node's foundation: settings, accounts, work profiles, sessions, tokens, invitations,
-- password resets and the audit log.
CREATE TABLE settings (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE users (
    id                 TEXT PRIMARY KEY,
    username           TEXT NOT NULL,
    username_lower     TEXT NOT NULL UNIQUE,
    email              TEXT NOT NULL,
    email_lower        TEXT NOT NULL UNIQUE,
    password_hash      TEXT NOT NULL,
    role               TEXT NOT NULL DEFAULT 'member',
    state              TEXT NOT NULL DEFAULT 'active',
    display_name       TEXT NOT NULL DEFAULT '',
    avatar_key         TEXT NOT NULL DEFAULT '',
    job_title          TEXT NOT NULL DEFAULT '',
    department         TEXT NOT NULL DEFAULT '',
    location           TEXT NOT NULL DEFAULT '',
    phone              TEXT NOT NULL DEFAULT '',
    manager_id         TEXT REFERENCES users(id) ON DELETE SET NULL,
    bio                TEXT NOT NULL DEFAULT '',
    pronouns           TEXT NOT NULL DEFAULT '',
    time_zone          TEXT NOT NULL DEFAULT '',
    open_to_moves      BOOLEAN NOT NULL DEFAULT FALSE,
    open_to_moves_note TEXT NOT NULL DEFAULT '',
    search_text        TEXT NOT NULL DEFAULT '',
    created_at         TIMESTAMPTZ NOT NULL,
    updated_at         TIMESTAMPTZ NOT NULL,
    deactivated_at     TIMESTAMPTZ
);
CREATE INDEX users_manager_idx ON users (manager_id);
CREATE INDEX users_department_idx ON users (department);

CREATE TABLE user_skills (
    user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    skill       TEXT NOT NULL,
    skill_lower TEXT NOT NULL,
    PRIMARY KEY (user_id, skill_lower)
);
CREATE INDEX user_skills_skill_idx ON user_skills (skill_lower);

CREATE TABLE sessions (
    id_hash      TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at   TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL,
    last_seen_at TIMESTAMPTZ NOT NULL,
    user_agent   TEXT NOT NULL DEFAULT '',
    ip           TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user_idx ON sessions (user_id);

CREATE TABLE tokens (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    scopes       TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    last_used_at TIMESTAMPTZ,
    revoked_at   TIMESTAMPTZ
);
CREATE INDEX tokens_user_idx ON tokens (user_id);

CREATE TABLE invitations (
    id         TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    email      TEXT NOT NULL DEFAULT '',
    role       TEXT NOT NULL DEFAULT 'member',
    created_by TEXT REFERENCES users(id) ON DELETE SET NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    used_at    TIMESTAMPTZ,
    used_by    TEXT REFERENCES users(id) ON DELETE SET NULL,
    revoked_at TIMESTAMPTZ
);

CREATE TABLE password_resets (
    token_hash TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    used_at    TIMESTAMPTZ
);

CREATE TABLE audit_log (
    id         TEXT PRIMARY KEY,
    actor_id   TEXT NOT NULL DEFAULT '',
    actor_name TEXT NOT NULL DEFAULT '',
    action     TEXT NOT NULL,
    target     TEXT NOT NULL DEFAULT '',
    detail     TEXT NOT NULL DEFAULT '',
    ip         TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX audit_log_created_idx ON audit_log (created_at);
