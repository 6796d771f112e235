-- Which companies' ownership changed in the live read model, in the order the changes were
-- committed, so that a process holding the live register's holdings in memory for the
-- ownership graph (ports::StakesInMemory) reads again only what changed since it last looked.
-- One row per company, with the sequence number of its last change, so the table never holds
-- more rows than there are companies. The company '' stands for every company: the read
-- model was cleared (to be rebuilt), and is loaded again whole. Only the writers of the live
-- read model write here, in their own transaction (one writer at a time, so numbers are
-- committed in order).
CREATE TABLE read_ownership_changes (
    company TEXT    NOT NULL PRIMARY KEY,
    seq     INTEGER NOT NULL UNIQUE
) WITHOUT ROWID;

-- A holding written (a purchase applied, or a snapshot loaded).
CREATE TRIGGER read_holdings_logged_on_insert AFTER INSERT ON read_holdings
BEGIN
    INSERT INTO read_ownership_changes (company, seq)
    VALUES (NEW.company, (SELECT COALESCE(MAX(seq), 0) + 1 FROM read_ownership_changes))
    ON CONFLICT (company) DO UPDATE SET seq = excluded.seq;
END;

CREATE TRIGGER read_holdings_logged_on_update AFTER UPDATE ON read_holdings
BEGIN
    INSERT INTO read_ownership_changes (company, seq)
    VALUES (NEW.company, (SELECT COALESCE(MAX(seq), 0) + 1 FROM read_ownership_changes))
    ON CONFLICT (company) DO UPDATE SET seq = excluded.seq;
END;

-- What a holding shows of its company: its name, declared total and registered shares.
CREATE TRIGGER read_organisations_logged_on_insert AFTER INSERT ON read_organisations
BEGIN
    INSERT INTO read_ownership_changes (company, seq)
    VALUES (NEW.orgnr, (SELECT COALESCE(MAX(seq), 0) + 1 FROM read_ownership_changes))
    ON CONFLICT (company) DO UPDATE SET seq = excluded.seq;
END;

CREATE TRIGGER read_organisations_logged_on_update
AFTER UPDATE OF name, total_shares, registered_shares ON read_organisations
WHEN OLD.name IS NOT NEW.name
  OR OLD.total_shares IS NOT NEW.total_shares
  OR OLD.registered_shares IS NOT NEW.registered_shares
BEGIN
    INSERT INTO read_ownership_changes (company, seq)
    VALUES (NEW.orgnr, (SELECT COALESCE(MAX(seq), 0) + 1 FROM read_ownership_changes))
    ON CONFLICT (company) DO UPDATE SET seq = excluded.seq;
END;
