-- What software each peer host runs, read from its NodeInfo: a group hosted here sends Atrium
-- nodes the FEP-1b12 Announce of each activity, and Mastodon, GoToSocial and other servers,
-- which ignore Announce{Create}, a followers-only copy of each post written by the group
-- (FEDERATION.md §3.3, compat relay). software is '' when the host did not say.
CREATE TABLE peer_software (
    host       TEXT PRIMARY KEY,
    software   TEXT NOT NULL DEFAULT '',
    checked_at TIMESTAMPTZ NOT NULL
);
