-- One-time links that sign a facilitator in to the dashboard: only a hash of the token is
-- kept, with whom it is for, until when, and when it was used (once).
CREATE TABLE sign_in_link (
    token_hash  TEXT PRIMARY KEY,
    member_id   INTEGER NOT NULL REFERENCES member (id) ON DELETE CASCADE,
    expires_at  REAL NOT NULL,
    used_at     REAL
);
