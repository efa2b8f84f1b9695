-- Large live-update messages between the processes sharing a PostgreSQL database
-- (internal/realtime/pgbridge). A SQLite node is one process and never uses this table; it
-- exists so that both engines keep the same migration steps.
CREATE TABLE realtime_payloads (
    id         INTEGER PRIMARY KEY,
    body       BLOB NOT NULL,
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);
