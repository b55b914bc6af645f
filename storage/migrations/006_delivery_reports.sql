-- What platforms report later about messages they accepted (WhatsApp's status callbacks).

ALTER TABLE outbox ADD COLUMN delivered_at REAL;
ALTER TABLE outbox ADD COLUMN read_at REAL;
