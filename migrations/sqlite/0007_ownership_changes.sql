-- Which companies' ownership changed in the live read model, in the order the changes were
-- committed, so that a process holding the live register's holdings in memory for the
-- ownership graph (ports::StakesInMemory) reads again only what changed since it last looked.
-- One row per company, with the sequence number of its last change, so the table never holds
-- more rows than there are companies. The company '' stands for every company: the read
-- model was cleared or loaded in bulk (a rebuild), and is read again whole.
--
-- The projection writes a company's row in the transaction that applies an event to it (its
-- holdings, its profile or its registered shares); the bulk loader writes '' in each of its
-- transactions instead of a row per document. Only one transaction writes at a time, so the
-- numbers are committed in order.
CREATE TABLE read_ownership_changes (
    company TEXT    NOT NULL PRIMARY KEY,
    seq     INTEGER NOT NULL UNIQUE
) WITHOUT ROWID;
