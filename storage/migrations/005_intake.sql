-- Events are kept as JSON and handled after they are kept; those not handled when the bot
-- stopped are handled at the next start. Events from before this migration were handled.

ALTER TABLE inbound ADD COLUMN event TEXT;
ALTER TABLE inbound ADD COLUMN handled_at REAL;
ALTER TABLE inbound ADD COLUMN outcome TEXT NOT NULL DEFAULT '';
UPDATE inbound SET handled_at = received_at;
CREATE INDEX inbound_pending ON inbound (id) WHERE handled_at IS NULL;
