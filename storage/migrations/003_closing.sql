-- The life after the broadcast: reminders sent, and the consolidated reply's draft.

ALTER TABLE discussion ADD COLUMN reminded_at REAL;

CREATE TABLE consolidated_draft (
    discussion_id INTEGER PRIMARY KEY REFERENCES discussion (id) ON DELETE CASCADE,
    summary       TEXT NOT NULL,              -- the key points, one per line
    full_text     TEXT,                       -- set when a facilitator replaced the whole text
    discarded     INTEGER NOT NULL DEFAULT 0,
    updated_at    REAL NOT NULL
);
