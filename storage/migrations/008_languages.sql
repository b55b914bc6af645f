-- Language, end to end: each reply's language, the languages a facilitator handles besides
-- their own, and facilitators' translations of what is shared.

ALTER TABLE reply ADD COLUMN language TEXT NOT NULL DEFAULT '';
ALTER TABLE member ADD COLUMN handles TEXT NOT NULL DEFAULT '';   -- ';'-separated language codes

CREATE TABLE translation (
    discussion_id INTEGER NOT NULL REFERENCES discussion (id) ON DELETE CASCADE,
    kind          TEXT NOT NULL CHECK (kind IN ('question', 'consolidated')),
    language      TEXT NOT NULL,
    text          TEXT NOT NULL,
    by_member     INTEGER REFERENCES member (id),
    created_at    REAL NOT NULL,
    PRIMARY KEY (discussion_id, kind, language)
);
