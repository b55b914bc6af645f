-- The archive: published consolidated replies, searchable with FTS5.

CREATE TABLE consolidated_reply (
    discussion_id INTEGER PRIMARY KEY REFERENCES discussion (id),
    title         TEXT NOT NULL,
    question      TEXT NOT NULL,
    summary       TEXT NOT NULL,
    contributions TEXT NOT NULL,
    language      TEXT NOT NULL DEFAULT '',
    published_at  REAL NOT NULL
);

-- External content: the text lives once, in consolidated_reply; triggers keep the index in step.
CREATE VIRTUAL TABLE consolidated_reply_fts USING fts5 (
    title, question, summary, contributions,
    content = 'consolidated_reply', content_rowid = 'discussion_id',
    tokenize = 'unicode61 remove_diacritics 2',
    -- Prefix indexes make a search for an unfinished word ("educa") as fast as for a word.
    prefix = '4 6'
);

CREATE TRIGGER consolidated_reply_added AFTER INSERT ON consolidated_reply BEGIN
    INSERT INTO consolidated_reply_fts (rowid, title, question, summary, contributions)
    VALUES (new.discussion_id, new.title, new.question, new.summary, new.contributions);
END;

CREATE TRIGGER consolidated_reply_removed AFTER DELETE ON consolidated_reply BEGIN
    INSERT INTO consolidated_reply_fts (consolidated_reply_fts, rowid, title, question, summary, contributions)
    VALUES ('delete', old.discussion_id, old.title, old.question, old.summary, old.contributions);
END;

CREATE TRIGGER consolidated_reply_changed AFTER UPDATE ON consolidated_reply BEGIN
    INSERT INTO consolidated_reply_fts (consolidated_reply_fts, rowid, title, question, summary, contributions)
    VALUES ('delete', old.discussion_id, old.title, old.question, old.summary, old.contributions);
    INSERT INTO consolidated_reply_fts (rowid, title, question, summary, contributions)
    VALUES (new.discussion_id, new.title, new.question, new.summary, new.contributions);
END;

-- Rank with bm25 weighting title, question, summary, contributions: a title match counts most.
INSERT INTO consolidated_reply_fts (consolidated_reply_fts, rank) VALUES ('rank', 'bm25(8.0, 4.0, 2.0, 1.0)');
