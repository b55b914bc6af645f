-- Good practices: shared by members (approved by a facilitator) or imported from a CSV file,
-- tagged by country, theme and SDG, searchable with FTS5; and the themes and countries a
-- facilitator accepted for a consolidated reply.

CREATE TABLE practice (
    id                    INTEGER PRIMARY KEY,
    title                 TEXT NOT NULL,
    summary               TEXT NOT NULL,
    implementing_entities TEXT NOT NULL DEFAULT '',
    status                TEXT NOT NULL CHECK (status IN ('idea', 'ongoing', 'completed')),
    primary_sdg           INTEGER CHECK (primary_sdg BETWEEN 1 AND 17),
    secondary_sdgs        TEXT NOT NULL DEFAULT '',        -- goal numbers, space-separated
    source_organization   TEXT NOT NULL DEFAULT '',
    source_link           TEXT NOT NULL DEFAULT '',
    language              TEXT NOT NULL DEFAULT '',
    submitted_by          INTEGER REFERENCES member (id) ON DELETE SET NULL,  -- NULL: imported, or forgotten
    state                 TEXT NOT NULL CHECK (state IN ('submitted', 'approved', 'rejected')),
    state_by              INTEGER REFERENCES member (id) ON DELETE SET NULL,
    reason                TEXT NOT NULL DEFAULT '',        -- a rejection's words
    import_key            TEXT UNIQUE,                     -- an imported row's id (or title and link)
    created_at            REAL NOT NULL,
    updated_at            REAL NOT NULL
);
CREATE INDEX practice_state ON practice (state);
CREATE INDEX practice_submitter ON practice (submitted_by);

CREATE TABLE practice_country (
    practice_id INTEGER NOT NULL REFERENCES practice (id) ON DELETE CASCADE,
    code        TEXT NOT NULL,                             -- ISO 3166 alpha-2
    position    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (practice_id, code)
);
CREATE INDEX practice_country_code ON practice_country (code);

CREATE TABLE practice_theme (
    practice_id INTEGER NOT NULL REFERENCES practice (id) ON DELETE CASCADE,
    theme       TEXT NOT NULL,
    position    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (practice_id, theme)
);
CREATE INDEX practice_theme_name ON practice_theme (theme);

-- The facilitators' cards of a practice waiting for approval, to edit them all when one acts.
CREATE TABLE practice_card (
    practice_id INTEGER NOT NULL REFERENCES practice (id) ON DELETE CASCADE,
    outbox_id   INTEGER NOT NULL REFERENCES outbox (id) ON DELETE CASCADE,
    language    TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (practice_id, outbox_id)
);

-- Themes and countries a facilitator accepted for a discussion's consolidated reply.
CREATE TABLE reply_tag (
    discussion_id INTEGER NOT NULL REFERENCES discussion (id) ON DELETE CASCADE,
    kind          TEXT NOT NULL CHECK (kind IN ('theme', 'country')),
    value         TEXT NOT NULL,
    PRIMARY KEY (discussion_id, kind, value)
);
CREATE INDEX reply_tag_value ON reply_tag (kind, value);

CREATE VIRTUAL TABLE practice_fts USING fts5 (
    title, summary,
    content = 'practice', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2',
    prefix = '4 6'
);

CREATE TRIGGER practice_added AFTER INSERT ON practice BEGIN
    INSERT INTO practice_fts (rowid, title, summary) VALUES (new.id, new.title, new.summary);
END;

CREATE TRIGGER practice_removed AFTER DELETE ON practice BEGIN
    INSERT INTO practice_fts (practice_fts, rowid, title, summary) VALUES ('delete', old.id, old.title, old.summary);
END;

CREATE TRIGGER practice_changed AFTER UPDATE OF title, summary ON practice BEGIN
    INSERT INTO practice_fts (practice_fts, rowid, title, summary) VALUES ('delete', old.id, old.title, old.summary);
    INSERT INTO practice_fts (rowid, title, summary) VALUES (new.id, new.title, new.summary);
END;

-- A word in the title counts more than one in the summary.
INSERT INTO practice_fts (practice_fts, rank) VALUES ('rank', 'bm25(4.0, 1.0)');
