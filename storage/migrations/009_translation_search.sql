-- Translations are searched too: a discussion is found by words in any of its versions.

CREATE VIRTUAL TABLE translation_fts USING fts5 (
    text,
    content = 'translation', content_rowid = 'rowid',
    tokenize = 'unicode61 remove_diacritics 2'
);

CREATE TRIGGER translation_added AFTER INSERT ON translation BEGIN
    INSERT INTO translation_fts (rowid, text) VALUES (new.rowid, new.text);
END;

CREATE TRIGGER translation_removed AFTER DELETE ON translation BEGIN
    INSERT INTO translation_fts (translation_fts, rowid, text) VALUES ('delete', old.rowid, old.text);
END;

CREATE TRIGGER translation_changed AFTER UPDATE ON translation BEGIN
    INSERT INTO translation_fts (translation_fts, rowid, text) VALUES ('delete', old.rowid, old.text);
    INSERT INTO translation_fts (rowid, text) VALUES (new.rowid, new.text);
END;
