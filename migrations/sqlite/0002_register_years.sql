-- Every imported year of the register is a snapshot of its own; the live register (the write
-- model of 0001) is the newest imported year plus the purchases recorded through the API since.
-- A year's rows are written once, by its import, and replaced whole when it is imported again.

-- Imported years, with where each came from. `imported_at_ms` is milliseconds since the epoch.
CREATE TABLE register_years (
    year                    INTEGER NOT NULL PRIMARY KEY CHECK (year BETWEEN 1900 AND 2100),
    file_name               TEXT    NOT NULL,
    sha256                  TEXT    NOT NULL CHECK (length(sha256) = 64),
    imported_at_ms          INTEGER NOT NULL,
    lines                   INTEGER NOT NULL CHECK (lines >= 0),
    rejects                 INTEGER NOT NULL CHECK (rejects >= 0),
    companies               INTEGER NOT NULL CHECK (companies >= 0),
    holdings                INTEGER NOT NULL CHECK (holdings >= 0),
    persons_linked          INTEGER NOT NULL CHECK (persons_linked >= 0),
    persons_ambiguous       INTEGER NOT NULL CHECK (persons_ambiguous >= 0),
    superseded_live_changes INTEGER NOT NULL CHECK (superseded_live_changes >= 0)
);

-- The year the live register last moved to: the purchases recorded before the move (their
-- largest id) and the version every live company and owner was given by it.
CREATE TABLE live_register (
    id               INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    year             INTEGER NOT NULL REFERENCES register_years (year),
    purchases_before INTEGER NOT NULL CHECK (purchases_before >= 0),
    version_floor    INTEGER NOT NULL CHECK (version_floor >= 0)
);

-- Every organisation of a year's extract: issuers with the total used and their aggregates,
-- and organisations that only hold shares (no total, zero aggregates). A company's classes
-- are the sums of its year_holdings.
CREATE TABLE year_organisations (
    year                INTEGER NOT NULL,
    orgnr               TEXT    NOT NULL,
    name                TEXT    NOT NULL,
    postal_code         TEXT,
    place               TEXT,
    country             TEXT    NOT NULL,
    total_shares        INTEGER CHECK (total_shares IS NULL OR total_shares > 0),
    registered          INTEGER NOT NULL CHECK (registered >= 0),
    owner_count         INTEGER NOT NULL CHECK (owner_count >= 0),
    foreign_owner_count INTEGER NOT NULL CHECK (foreign_owner_count >= 0),
    PRIMARY KEY (year, orgnr)
) WITHOUT ROWID;

CREATE TABLE year_persons (
    year        INTEGER NOT NULL,
    id          TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    birth_year  INTEGER,
    postal_code TEXT,
    place       TEXT,
    country     TEXT    NOT NULL,
    PRIMARY KEY (year, id)
) WITHOUT ROWID;

-- One row per (company, owner, class), as the extract's lines add up.
CREATE TABLE year_holdings (
    year        INTEGER NOT NULL,
    company     TEXT    NOT NULL,
    owner_kind  TEXT    NOT NULL CHECK (owner_kind IN ('organization', 'person')),
    owner_id    TEXT    NOT NULL,
    share_class TEXT    NOT NULL,
    shares      INTEGER NOT NULL CHECK (shares > 0),
    PRIMARY KEY (year, company, owner_kind, owner_id, share_class)
) WITHOUT ROWID;

CREATE INDEX year_holdings_by_owner ON year_holdings (year, owner_kind, owner_id, company);

-- How many companies each owner of a year holds shares in.
CREATE TABLE year_holding_counts (
    year          INTEGER NOT NULL,
    owner_kind    TEXT    NOT NULL CHECK (owner_kind IN ('organization', 'person')),
    owner_id      TEXT    NOT NULL,
    holding_count INTEGER NOT NULL CHECK (holding_count > 0),
    PRIMARY KEY (year, owner_kind, owner_id)
) WITHOUT ROWID;

-- ---------------------------------------------------------------------------------------
-- Read model of the years: written only by the year projection (`project_year`).
-- Each served year has its own tables, read_y<year>g<generation>_{organisations,persons,
-- holdings}, shaped as read_organisations, read_persons and read_holdings; a year imported
-- again is built into the next generation's tables, then served in one transaction that
-- drops the previous ones.
-- ---------------------------------------------------------------------------------------

CREATE TABLE read_years (
    year                    INTEGER NOT NULL PRIMARY KEY,
    generation              INTEGER NOT NULL,
    file_name               TEXT    NOT NULL,
    sha256                  TEXT    NOT NULL,
    imported_at_ms          INTEGER NOT NULL,
    lines                   INTEGER NOT NULL,
    rejects                 INTEGER NOT NULL,
    companies               INTEGER NOT NULL,
    holdings                INTEGER NOT NULL,
    persons_linked          INTEGER NOT NULL,
    persons_ambiguous       INTEGER NOT NULL,
    superseded_live_changes INTEGER NOT NULL
);

-- The last generation handed out, so that a new build never reuses a served one's tables.
CREATE TABLE read_year_generations (
    id         INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    generation INTEGER NOT NULL
);
