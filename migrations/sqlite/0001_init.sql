-- The embedded default store: write model, outbox and read model in one SQLite file.
-- Share counts are INTEGER (i64); the domain caps them at i64::MAX.
-- Owner kinds are 'organization' and 'person', which sort in the order the API lists them.

-- ---------------------------------------------------------------------------------------
-- Write model
-- ---------------------------------------------------------------------------------------

-- Every organisation, with its state as an issuer (version, registered_shares, owner_count,
-- foreign_owner_count) and as an owner (owner_version, holding_count).
CREATE TABLE organisations (
    orgnr               TEXT    NOT NULL PRIMARY KEY,
    name                TEXT    NOT NULL,
    postal_code         TEXT,
    place               TEXT,
    country             TEXT    NOT NULL,
    total_shares        INTEGER CHECK (total_shares IS NULL OR total_shares > 0),
    version             INTEGER NOT NULL DEFAULT 0,
    registered_shares   INTEGER NOT NULL DEFAULT 0 CHECK (registered_shares >= 0),
    owner_count         INTEGER NOT NULL DEFAULT 0,
    foreign_owner_count INTEGER NOT NULL DEFAULT 0,
    owner_version       INTEGER NOT NULL DEFAULT 0,
    holding_count       INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

CREATE TABLE persons (
    id            TEXT    NOT NULL PRIMARY KEY,
    name          TEXT    NOT NULL,
    birth_year    INTEGER,
    postal_code   TEXT,
    place         TEXT,
    country       TEXT    NOT NULL,
    owner_version INTEGER NOT NULL DEFAULT 0,
    holding_count INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

-- A company's registered shares per class.
CREATE TABLE company_classes (
    company     TEXT    NOT NULL REFERENCES organisations (orgnr),
    share_class TEXT    NOT NULL,
    shares      INTEGER NOT NULL CHECK (shares > 0),
    PRIMARY KEY (company, share_class)
) WITHOUT ROWID;

-- One row per (company, owner, class). `version` is the company's version when the row last
-- changed; a holding's version is the largest over its rows.
CREATE TABLE holdings (
    company     TEXT    NOT NULL REFERENCES organisations (orgnr),
    owner_kind  TEXT    NOT NULL CHECK (owner_kind IN ('organization', 'person')),
    owner_id    TEXT    NOT NULL,
    share_class TEXT    NOT NULL,
    shares      INTEGER NOT NULL CHECK (shares > 0),
    version     INTEGER NOT NULL,
    PRIMARY KEY (company, owner_kind, owner_id, share_class)
) WITHOUT ROWID;

CREATE INDEX holdings_by_owner ON holdings (owner_kind, owner_id, company);

CREATE TABLE purchases (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    company     TEXT    NOT NULL REFERENCES organisations (orgnr),
    owner_kind  TEXT    NOT NULL,
    owner_id    TEXT    NOT NULL,
    share_class TEXT    NOT NULL,
    shares      INTEGER NOT NULL CHECK (shares > 0)
);

-- The transactional outbox. `position` is the event's position; `payload` is the event as
-- `shareholders_wire::encode_event` writes it.
CREATE TABLE outbox (
    position   INTEGER PRIMARY KEY AUTOINCREMENT,
    event_type TEXT    NOT NULL,
    payload    BLOB    NOT NULL,
    published  INTEGER NOT NULL DEFAULT 0
);

CREATE INDEX outbox_unpublished ON outbox (position) WHERE published = 0;

-- Idempotency keys; the result of the first request is the outbox event at `position`.
CREATE TABLE idempotency_keys (
    key         TEXT    NOT NULL PRIMARY KEY,
    fingerprint TEXT    NOT NULL,
    position    INTEGER NOT NULL REFERENCES outbox (position)
) WITHOUT ROWID;

-- ---------------------------------------------------------------------------------------
-- Read model: written only by the projection and the read model loader.
-- Each group of fields carries the version it was written at and is only overwritten by a
-- strictly newer one; -1 means the group has not been seen yet.
-- ---------------------------------------------------------------------------------------

CREATE TABLE read_organisations (
    orgnr               TEXT    NOT NULL PRIMARY KEY,
    -- static profile; complete once `registered` is 1
    registered          INTEGER NOT NULL DEFAULT 0,
    name                TEXT    NOT NULL,
    postal_code         TEXT,
    place               TEXT,
    country             TEXT,
    -- issuer state (the declared total goes with it: an import may change it)
    version             INTEGER NOT NULL DEFAULT -1,
    total_shares        INTEGER,
    registered_shares   INTEGER NOT NULL DEFAULT 0,
    owner_count         INTEGER NOT NULL DEFAULT 0,
    foreign_owner_count INTEGER NOT NULL DEFAULT 0,
    classes             TEXT    NOT NULL DEFAULT '[]',
    -- owner state
    owner_version       INTEGER NOT NULL DEFAULT -1,
    holding_count       INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

CREATE TABLE read_persons (
    id            TEXT    NOT NULL PRIMARY KEY,
    registered    INTEGER NOT NULL DEFAULT 0,
    name          TEXT    NOT NULL,
    birth_year    INTEGER,
    postal_code   TEXT,
    place         TEXT,
    country       TEXT    NOT NULL,
    owner_version INTEGER NOT NULL DEFAULT -1,
    holding_count INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

-- One row per (company, owner). The company's profile and registered shares are read from
-- read_organisations at query time.
CREATE TABLE read_holdings (
    company          TEXT    NOT NULL,
    owner_kind       TEXT    NOT NULL,
    owner_id         TEXT    NOT NULL,
    owner_name       TEXT    NOT NULL,
    owner_country    TEXT    NOT NULL,
    owner_birth_year INTEGER,
    classes          TEXT    NOT NULL,
    shares           INTEGER NOT NULL,
    version          INTEGER NOT NULL,
    PRIMARY KEY (company, owner_kind, owner_id)
) WITHOUT ROWID;

CREATE INDEX read_holdings_by_company ON read_holdings (company, shares DESC, owner_kind, owner_id);
CREATE INDEX read_holdings_by_owner ON read_holdings (owner_kind, owner_id, shares DESC, company);

-- Positions applied one by one, above the watermark.
CREATE TABLE read_applied (
    position INTEGER PRIMARY KEY
);

-- Every position up to `position` is applied (set by a rebuild).
CREATE TABLE read_watermark (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    position INTEGER NOT NULL
);
