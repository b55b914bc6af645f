-- Several workers on one database: see the SQLite migration of the same number.
ALTER TABLE outbox ADD COLUMN claimed_by TEXT;
ALTER TABLE outbox ADD COLUMN claimed_until DOUBLE PRECISION;

CREATE TABLE send_slot (
    platform  TEXT PRIMARY KEY,
    next_at   DOUBLE PRECISION NOT NULL
);
