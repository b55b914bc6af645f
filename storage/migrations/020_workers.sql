-- Several workers on one database (PostgreSQL): a row handed to a worker's sender is claimed by
-- it for a while, so no other worker sends it too; a claim that outlives its worker (killed)
-- runs out and the row goes to another. (SQLite has one worker; its claims are cleared at start.)
ALTER TABLE outbox ADD COLUMN claimed_by TEXT;
ALTER TABLE outbox ADD COLUMN claimed_until REAL;

-- The next free sending slot of each platform, shared by every worker: together they stay
-- under the platform's rate.
CREATE TABLE send_slot (
    platform  TEXT PRIMARY KEY,
    next_at   REAL NOT NULL
);
