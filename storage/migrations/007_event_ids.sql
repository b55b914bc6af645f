-- The platform's own id of an event, so an event delivered twice is handled once.

ALTER TABLE inbound ADD COLUMN event_id TEXT;
CREATE UNIQUE INDEX inbound_event_id ON inbound (platform, event_id) WHERE event_id IS NOT NULL;
