-- Every imported year of the register is a snapshot of its own; the live register (the tables
-- of 0001) is the newest imported year plus the purchases recorded through the API since.
--
-- A year's rows live in one partition per table (LIST on year). An import loads fresh tables
-- with COPY while they have no index, builds their indexes, links its persons to the adjacent
-- years' and attaches them in place of the year's old partitions, so importing a year never
-- rewrites another year and costs the same whichever year it is.

-- Imported years, with where each came from.
CREATE TABLE register_years (
    year                    smallint PRIMARY KEY CHECK (year BETWEEN 1900 AND 2100),
    file_name               text NOT NULL,
    sha256                  text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    imported_at             timestamptz NOT NULL DEFAULT now(),
    lines                   bigint NOT NULL CHECK (lines >= 0),
    rejects                 bigint NOT NULL CHECK (rejects >= 0),
    companies               bigint NOT NULL CHECK (companies >= 0),
    holdings                bigint NOT NULL CHECK (holdings >= 0),
    persons_linked          bigint NOT NULL CHECK (persons_linked >= 0),
    persons_ambiguous       bigint NOT NULL CHECK (persons_ambiguous >= 0),
    superseded_live_changes bigint NOT NULL CHECK (superseded_live_changes >= 0)
);

-- The year the live register last moved to: the purchases recorded before the move (their
-- largest id) and the version every live company and owner was given by it.
CREATE TABLE live_register (
    id               boolean PRIMARY KEY DEFAULT true CHECK (id),
    year             smallint NOT NULL REFERENCES register_years (year),
    purchases_before bigint NOT NULL CHECK (purchases_before >= 0),
    version_floor    bigint NOT NULL CHECK (version_floor >= 0)
);

-- Every organisation of a year's extract: issuers with the total used and their aggregates,
-- and organisations that only hold shares (no total, zero aggregates, no classes).
CREATE TABLE year_organisations (
    year                smallint NOT NULL,
    orgnr               text COLLATE "C" NOT NULL CHECK (orgnr ~ '^[0-9]{9}$'),
    name                text NOT NULL,
    postal_code         text,
    place               text,
    country             text NOT NULL CHECK (length(country) = 2),
    total_shares        bigint CHECK (total_shares > 0),
    registered          bigint NOT NULL CHECK (registered >= 0),
    owner_count         bigint NOT NULL CHECK (owner_count >= 0),
    foreign_owner_count bigint NOT NULL CHECK (foreign_owner_count >= 0),
    class_names         text[] NOT NULL,
    class_shares        bigint[] NOT NULL,
    PRIMARY KEY (year, orgnr)
) PARTITION BY LIST (year);

CREATE TABLE year_persons (
    year        smallint NOT NULL,
    id          text COLLATE "C" NOT NULL,
    name        text NOT NULL,
    birth_year  smallint,
    postal_code text,
    place       text,
    country     text NOT NULL CHECK (length(country) = 2),
    PRIMARY KEY (year, id)
) PARTITION BY LIST (year);

-- One row per (company, owner, class), as the extract's lines add up.
CREATE TABLE year_holdings (
    year        smallint NOT NULL,
    company     text COLLATE "C" NOT NULL,
    owner_kind  text COLLATE "C" NOT NULL CHECK (owner_kind IN ('organization', 'person')),
    owner_id    text COLLATE "C" NOT NULL,
    share_class text COLLATE "C" NOT NULL,
    shares      bigint NOT NULL CHECK (shares > 0),
    PRIMARY KEY (year, company, owner_kind, owner_id, share_class)
) PARTITION BY LIST (year);

CREATE INDEX year_holdings_by_owner ON year_holdings (year, owner_kind, owner_id, company);

-- How many companies each owner of a year holds shares in.
CREATE TABLE year_holding_counts (
    year          smallint NOT NULL,
    owner_kind    text COLLATE "C" NOT NULL CHECK (owner_kind IN ('organization', 'person')),
    owner_id      text COLLATE "C" NOT NULL,
    holding_count bigint NOT NULL CHECK (holding_count > 0),
    PRIMARY KEY (year, owner_kind, owner_id)
) PARTITION BY LIST (year);
