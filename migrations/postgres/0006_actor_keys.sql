-- Each actor's RSA key pair for HTTP signatures (people by user id, the node as 'instance').
CREATE TABLE actor_keys (
    owner_id    TEXT PRIMARY KEY,
    public_pem  TEXT NOT NULL,
    private_pem TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);
