-- Members who prefer a daily or weekly digest: when, in their time zone, and the last one sent.

ALTER TABLE member ADD COLUMN digest_hour INTEGER NOT NULL DEFAULT 8;
ALTER TABLE member ADD COLUMN timezone TEXT NOT NULL DEFAULT 'UTC';
ALTER TABLE member ADD COLUMN digest_sent_at REAL;
