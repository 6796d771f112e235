-- The write model of the shareholder register.
--
-- Text keys use the "C" collation, so their indexes and ORDER BY are bytewise: the order the
-- snapshot streams and the class lists promise. Share counts are bigint (ShareCount::MAX is
-- i64::MAX).

CREATE TABLE organisations (
    orgnr        text COLLATE "C" PRIMARY KEY CHECK (orgnr ~ '^[0-9]{9}$'),
    name         text NOT NULL,
    postal_code  text,
    place        text,
    country      text NOT NULL CHECK (length(country) = 2),
    total_shares bigint CHECK (total_shares > 0)
);

CREATE TABLE persons (
    id          text COLLATE "C" PRIMARY KEY,
    name        text NOT NULL,
    birth_year  smallint,
    postal_code text,
    place       text,
    country     text NOT NULL CHECK (length(country) = 2)
);

-- Every organisation as an issuer of shares. A purchase locks its company's row.
CREATE TABLE company_state (
    orgnr               text COLLATE "C" PRIMARY KEY REFERENCES organisations (orgnr),
    version             bigint NOT NULL DEFAULT 0 CHECK (version >= 0),
    registered          bigint NOT NULL DEFAULT 0 CHECK (registered >= 0),
    owner_count         bigint NOT NULL DEFAULT 0 CHECK (owner_count >= 0),
    foreign_owner_count bigint NOT NULL DEFAULT 0 CHECK (foreign_owner_count >= 0)
);

-- Every organisation and person as a holder of shares. Kept apart from company_state so that
-- two companies buying each other's shares never lock the same rows in opposite orders.
CREATE TABLE owner_state (
    owner_kind    text COLLATE "C" NOT NULL CHECK (owner_kind IN ('organization', 'person')),
    owner_id      text COLLATE "C" NOT NULL,
    version       bigint NOT NULL DEFAULT 0 CHECK (version >= 0),
    holding_count bigint NOT NULL DEFAULT 0 CHECK (holding_count >= 0),
    PRIMARY KEY (owner_kind, owner_id)
);

-- One row per (company, owner, class). All rows of one (company, owner) holding carry the
-- holding's version: the company's version when the holding last changed.
CREATE TABLE holdings (
    company     text COLLATE "C" NOT NULL REFERENCES company_state (orgnr),
    owner_kind  text COLLATE "C" NOT NULL,
    owner_id    text COLLATE "C" NOT NULL,
    share_class text COLLATE "C" NOT NULL,
    shares      bigint NOT NULL CHECK (shares > 0),
    version     bigint NOT NULL CHECK (version >= 0),
    PRIMARY KEY (company, owner_kind, owner_id, share_class),
    FOREIGN KEY (owner_kind, owner_id) REFERENCES owner_state (owner_kind, owner_id)
);

CREATE INDEX holdings_by_owner ON holdings (owner_kind, owner_id, company);

-- A company's registered shares per class: the sum of its holdings' rows of that class.
CREATE TABLE company_classes (
    company     text COLLATE "C" NOT NULL REFERENCES company_state (orgnr),
    share_class text COLLATE "C" NOT NULL,
    shares      bigint NOT NULL CHECK (shares > 0),
    PRIMARY KEY (company, share_class)
);

CREATE TABLE purchases (
    id          bigserial PRIMARY KEY,
    company     text COLLATE "C" NOT NULL,
    owner_kind  text COLLATE "C" NOT NULL,
    owner_id    text COLLATE "C" NOT NULL,
    share_class text COLLATE "C" NOT NULL,
    shares      bigint NOT NULL CHECK (shares > 0),
    recorded_at timestamptz NOT NULL DEFAULT now()
);

-- The transactional outbox: each command's event, written in the command's transaction.
-- The payload is shareholders_wire::encode_event; the position is the event's position.
CREATE TABLE outbox (
    position     bigserial PRIMARY KEY,
    payload      jsonb NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz
);

CREATE INDEX outbox_unpublished ON outbox (position) WHERE published_at IS NULL;

-- Idempotency keys, written in the same transaction as the command they guard. `result` is
-- the command's result key (orgnr, person id or purchase id), `position` its event's.
CREATE TABLE idempotency_keys (
    key         text COLLATE "C" PRIMARY KEY,
    command     text NOT NULL,
    fingerprint text NOT NULL,
    result      text,
    position    bigint,
    created_at  timestamptz NOT NULL DEFAULT now()
);
