-- Search by name (ports::ReadStore::search) over the live read model's registered
-- organisations and persons. read_search is an FTS5 index of their names, each spelt twice
-- as shareholders_domain::search_words spells the Norwegian letters (æ ø å as ae oe aa, and
-- as ae o a); its unicode61 tokenizer then splits the words, folds case and drops other
-- accents. It keeps
-- no copy of the names (content = ''), so a row is found through read_search_parties, whose
-- rowid is the FTS row's. Triggers keep both in step with the read tables, in the same
-- transaction as the write. A year's read tables get the same pair when the year is published
-- (adapters/sqlite/src/years/read_model.rs).
CREATE TABLE read_search_parties (
    rowid INTEGER PRIMARY KEY,
    kind  TEXT NOT NULL CHECK (kind IN ('organization', 'person')),
    id    TEXT NOT NULL,
    UNIQUE (kind, id)
);

CREATE VIRTUAL TABLE read_search USING fts5(
    name,
    content = '',
    contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 2'
);

CREATE TRIGGER read_organisations_search_insert AFTER INSERT ON read_organisations
WHEN NEW.registered = 1
BEGIN
    INSERT OR IGNORE INTO read_search_parties (kind, id) VALUES ('organization', NEW.orgnr);
    INSERT INTO read_search (rowid, name)
    SELECT rowid, replace(replace(replace(replace(replace(replace(replace(NEW.name, 'Æ', 'ae'), 'æ', 'ae'), 'Ø', 'oe'), 'ø', 'oe'), 'Å', 'aa'), 'å', 'aa'), 'ß', 'ss')
           || ' ' || replace(replace(replace(replace(replace(replace(replace(NEW.name, 'Æ', 'ae'), 'æ', 'ae'), 'Ø', 'o'), 'ø', 'o'), 'Å', 'a'), 'å', 'a'), 'ß', 'ss')
    FROM read_search_parties WHERE kind = 'organization' AND id = NEW.orgnr;
END;

CREATE TRIGGER read_organisations_search_update AFTER UPDATE OF name, registered
ON read_organisations
WHEN NEW.registered = 1 AND (OLD.registered = 0 OR OLD.name IS NOT NEW.name)
BEGIN
    INSERT OR IGNORE INTO read_search_parties (kind, id) VALUES ('organization', NEW.orgnr);
    DELETE FROM read_search WHERE rowid =
        (SELECT rowid FROM read_search_parties WHERE kind = 'organization' AND id = NEW.orgnr);
    INSERT INTO read_search (rowid, name)
    SELECT rowid, replace(replace(replace(replace(replace(replace(replace(NEW.name, 'Æ', 'ae'), 'æ', 'ae'), 'Ø', 'oe'), 'ø', 'oe'), 'Å', 'aa'), 'å', 'aa'), 'ß', 'ss')
           || ' ' || replace(replace(replace(replace(replace(replace(replace(NEW.name, 'Æ', 'ae'), 'æ', 'ae'), 'Ø', 'o'), 'ø', 'o'), 'Å', 'a'), 'å', 'a'), 'ß', 'ss')
    FROM read_search_parties WHERE kind = 'organization' AND id = NEW.orgnr;
END;

CREATE TRIGGER read_organisations_search_delete AFTER DELETE ON read_organisations
BEGIN
    DELETE FROM read_search WHERE rowid =
        (SELECT rowid FROM read_search_parties WHERE kind = 'organization' AND id = OLD.orgnr);
    DELETE FROM read_search_parties WHERE kind = 'organization' AND id = OLD.orgnr;
END;

CREATE TRIGGER read_persons_search_insert AFTER INSERT ON read_persons
WHEN NEW.registered = 1
BEGIN
    INSERT OR IGNORE INTO read_search_parties (kind, id) VALUES ('person', NEW.id);
    INSERT INTO read_search (rowid, name)
    SELECT rowid, replace(replace(replace(replace(replace(replace(replace(NEW.name, 'Æ', 'ae'), 'æ', 'ae'), 'Ø', 'oe'), 'ø', 'oe'), 'Å', 'aa'), 'å', 'aa'), 'ß', 'ss')
           || ' ' || replace(replace(replace(replace(replace(replace(replace(NEW.name, 'Æ', 'ae'), 'æ', 'ae'), 'Ø', 'o'), 'ø', 'o'), 'Å', 'a'), 'å', 'a'), 'ß', 'ss')
    FROM read_search_parties WHERE kind = 'person' AND id = NEW.id;
END;

CREATE TRIGGER read_persons_search_update AFTER UPDATE OF name, registered ON read_persons
WHEN NEW.registered = 1 AND (OLD.registered = 0 OR OLD.name IS NOT NEW.name)
BEGIN
    INSERT OR IGNORE INTO read_search_parties (kind, id) VALUES ('person', NEW.id);
    DELETE FROM read_search WHERE rowid =
        (SELECT rowid FROM read_search_parties WHERE kind = 'person' AND id = NEW.id);
    INSERT INTO read_search (rowid, name)
    SELECT rowid, replace(replace(replace(replace(replace(replace(replace(NEW.name, 'Æ', 'ae'), 'æ', 'ae'), 'Ø', 'oe'), 'ø', 'oe'), 'Å', 'aa'), 'å', 'aa'), 'ß', 'ss')
           || ' ' || replace(replace(replace(replace(replace(replace(replace(NEW.name, 'Æ', 'ae'), 'æ', 'ae'), 'Ø', 'o'), 'ø', 'o'), 'Å', 'a'), 'å', 'a'), 'ß', 'ss')
    FROM read_search_parties WHERE kind = 'person' AND id = NEW.id;
END;

CREATE TRIGGER read_persons_search_delete AFTER DELETE ON read_persons
BEGIN
    DELETE FROM read_search WHERE rowid =
        (SELECT rowid FROM read_search_parties WHERE kind = 'person' AND id = OLD.id);
    DELETE FROM read_search_parties WHERE kind = 'person' AND id = OLD.id;
END;

-- What the live read model already holds.
INSERT INTO read_search_parties (kind, id)
SELECT 'organization', orgnr FROM read_organisations WHERE registered = 1
UNION ALL
SELECT 'person', id FROM read_persons WHERE registered = 1;

INSERT INTO read_search (rowid, name)
SELECT s.rowid, replace(replace(replace(replace(replace(replace(replace(o.name, 'Æ', 'ae'), 'æ', 'ae'), 'Ø', 'oe'), 'ø', 'oe'), 'Å', 'aa'), 'å', 'aa'), 'ß', 'ss')
           || ' ' || replace(replace(replace(replace(replace(replace(replace(o.name, 'Æ', 'ae'), 'æ', 'ae'), 'Ø', 'o'), 'ø', 'o'), 'Å', 'a'), 'å', 'a'), 'ß', 'ss')
FROM read_search_parties s JOIN read_organisations o ON s.kind = 'organization' AND o.orgnr = s.id
UNION ALL
SELECT s.rowid, replace(replace(replace(replace(replace(replace(replace(p.name, 'Æ', 'ae'), 'æ', 'ae'), 'Ø', 'oe'), 'ø', 'oe'), 'Å', 'aa'), 'å', 'aa'), 'ß', 'ss')
           || ' ' || replace(replace(replace(replace(replace(replace(replace(p.name, 'Æ', 'ae'), 'æ', 'ae'), 'Ø', 'o'), 'ø', 'o'), 'Å', 'a'), 'å', 'a'), 'ß', 'ss')
FROM read_search_parties s JOIN read_persons p ON s.kind = 'person' AND p.id = s.id;
