-- Search that finds: the archive indexed as stems (stemmed in Python, per language, with
-- stopwords left out; see storage/search_index.py), ranked by relevance over every match.

CREATE VIRTUAL TABLE archive_search USING fts5 (
    title, question, summary, contributions,
    translations,  -- the facilitators' versions in other languages, each stemmed in its language
    at UNINDEXED,  -- when the reply was published: recency is a gentle boost
    tokenize = 'unicode61 remove_diacritics 2',
    prefix = '4 6'
);

-- The stems of each reply's title and question, by their bm25 weight in the reply: where a
-- search of only common words ("child poverty") finds its candidates without ranking every
-- reply that mentions them (see storage/search_index.py).
CREATE TABLE archive_search_headings (
    stem   TEXT NOT NULL,
    weight REAL NOT NULL,
    doc    INTEGER NOT NULL,
    PRIMARY KEY (stem, weight, doc)
) WITHOUT ROWID;
CREATE INDEX archive_search_headings_doc ON archive_search_headings (doc);

-- Replies whose stems are not (or no longer) in step with their text. Writes through the archive
-- index at once; any other write (a member forgotten, a translation saved) is caught by the
-- triggers below and indexed again before the next search. `changed` says old stems were
-- removed: their words may linger in the index's segments until it is rewritten.
CREATE TABLE archive_search_stale (
    discussion_id INTEGER PRIMARY KEY,
    changed       INTEGER NOT NULL DEFAULT 0
);
INSERT INTO archive_search_stale (discussion_id) SELECT discussion_id FROM consolidated_reply;

CREATE TRIGGER archive_search_added AFTER INSERT ON consolidated_reply BEGIN
    INSERT OR IGNORE INTO archive_search_stale (discussion_id) VALUES (new.discussion_id);
END;

CREATE TRIGGER archive_search_changed
AFTER UPDATE OF discussion_id, title, question, summary, contributions, language, published_at ON consolidated_reply BEGIN
    DELETE FROM archive_search WHERE rowid = old.discussion_id;
    DELETE FROM archive_search_headings WHERE doc = old.discussion_id;
    INSERT INTO archive_search_stale (discussion_id, changed) VALUES (new.discussion_id, 1)
        ON CONFLICT (discussion_id) DO UPDATE SET changed = 1;
END;

CREATE TRIGGER archive_search_removed AFTER DELETE ON consolidated_reply BEGIN
    DELETE FROM archive_search WHERE rowid = old.discussion_id;
    DELETE FROM archive_search_headings WHERE doc = old.discussion_id;
    INSERT INTO archive_search_stale (discussion_id, changed) VALUES (old.discussion_id, 1)
        ON CONFLICT (discussion_id) DO UPDATE SET changed = 1;
END;

CREATE TRIGGER archive_search_translation_added AFTER INSERT ON translation WHEN new.kind = 'consolidated' BEGIN
    INSERT OR IGNORE INTO archive_search_stale (discussion_id) VALUES (new.discussion_id);
END;

CREATE TRIGGER archive_search_translation_changed AFTER UPDATE ON translation WHEN old.kind = 'consolidated' BEGIN
    DELETE FROM archive_search WHERE rowid = old.discussion_id;
    DELETE FROM archive_search_headings WHERE doc = old.discussion_id;
    INSERT INTO archive_search_stale (discussion_id, changed) VALUES (old.discussion_id, 1)
        ON CONFLICT (discussion_id) DO UPDATE SET changed = 1;
END;

CREATE TRIGGER archive_search_translation_removed AFTER DELETE ON translation WHEN old.kind = 'consolidated' BEGIN
    DELETE FROM archive_search WHERE rowid = old.discussion_id;
    DELETE FROM archive_search_headings WHERE doc = old.discussion_id;
    INSERT INTO archive_search_stale (discussion_id, changed) VALUES (old.discussion_id, 1)
        ON CONFLICT (discussion_id) DO UPDATE SET changed = 1;
END;

-- Replies imported from another archive keep their id there, so importing again changes nothing.
ALTER TABLE consolidated_reply ADD COLUMN source_id TEXT;
CREATE UNIQUE INDEX consolidated_reply_source ON consolidated_reply (source_id);

-- Members' searches, so that a monthly report can list what the archive did not answer.
CREATE TABLE search_log (
    id        INTEGER PRIMARY KEY,
    at        REAL,
    words     TEXT,
    results   INTEGER,
    member_id INTEGER NULL
);
CREATE INDEX search_log_at ON search_log (at);

-- The first index (002) is replaced by archive_search: nothing reads it any more, and it
-- would hold a second copy of every reply's words.
DROP TRIGGER consolidated_reply_added;
DROP TRIGGER consolidated_reply_removed;
DROP TRIGGER consolidated_reply_changed;
DROP TABLE consolidated_reply_fts;
