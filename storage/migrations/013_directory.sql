-- The member directory and introductions: what each member offers and looks for, in their own
-- words, whether they may be found with /members (no one is listed without saying yes), and the
-- introductions one member asked of another (/connect), nothing shared until the other accepts.

ALTER TABLE member ADD COLUMN offers TEXT NOT NULL DEFAULT '';
ALTER TABLE member ADD COLUMN seeks TEXT NOT NULL DEFAULT '';
ALTER TABLE member ADD COLUMN in_directory INTEGER NOT NULL DEFAULT 0;

CREATE TABLE introduction (
    id          INTEGER PRIMARY KEY,
    asker_id    INTEGER NOT NULL REFERENCES member (id) ON DELETE CASCADE,
    asked_id    INTEGER NOT NULL REFERENCES member (id) ON DELETE CASCADE,
    note        TEXT NOT NULL DEFAULT '',      -- why, in the asker's words
    state       TEXT NOT NULL DEFAULT 'pending'
                CHECK (state IN ('pending', 'accepted', 'declined', 'expired')),
    created_at  REAL NOT NULL,
    expires_at  REAL NOT NULL,
    answered_at REAL
);
CREATE INDEX introduction_asker ON introduction (asker_id, state);
CREATE INDEX introduction_asked ON introduction (asked_id, state);
CREATE INDEX introduction_pending ON introduction (expires_at) WHERE state = 'pending';
