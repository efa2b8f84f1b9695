-- Large live-update messages between the processes sharing this database
-- (internal/realtime/pgbridge): NOTIFY carries at most 8000 bytes, so a bigger message is
-- stored here and its id notified; each process reads it once, and rows are deleted after
-- two minutes. Unlogged: nothing here needs to survive a crash, and skipping the WAL makes
-- each insert cheaper.
CREATE UNLOGGED TABLE realtime_payloads (
    id         BIGSERIAL PRIMARY KEY,
    body       BYTEA NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
