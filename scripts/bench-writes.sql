-- The ceiling of `POST /api/share/` on PostgreSQL (scripts/bench-writes): the transaction a
-- purchase runs in adapters/postgres/src/write.rs (`purchase_once`), statement for statement
-- and round trip for round trip, driven straight at the server by pgbench. A person buys
-- 1-1000 A-shares of a random company of the ones the HTTP load registered (bench_companies
-- and bench_persons number them, and the orgnr and id are looked up inside each statement, so
-- no round trip is added); the event appended to the outbox is a real one of the same load
-- (bench_payload). What Rust computes between the statements (the new state, the event's
-- JSON) is done by SQL arithmetic here.
\set c random(1, :companies)
\set p random(1, :persons)
\set shares random(1, 1000)
BEGIN;
SELECT o.name, o.total_shares, c.version, c.registered, c.owner_count, c.foreign_owner_count
  FROM company_state c JOIN organisations o ON o.orgnr = c.orgnr
  WHERE c.orgnr = (SELECT orgnr FROM bench_companies WHERE i = :c)
  FOR NO KEY UPDATE OF c;
SELECT array_agg(share_class ORDER BY share_class) AS class_names,
       array_agg(shares ORDER BY share_class) AS class_shares
  FROM company_classes WHERE company = (SELECT orgnr FROM bench_companies WHERE i = :c);
SELECT p.name, p.country, p.birth_year, s.version, s.holding_count,
       array(SELECT share_class FROM holdings h
             WHERE h.company = (SELECT orgnr FROM bench_companies WHERE i = :c)
             AND h.owner_kind = 'person' AND h.owner_id = p.id ORDER BY share_class) AS class_names,
       array(SELECT shares FROM holdings h
             WHERE h.company = (SELECT orgnr FROM bench_companies WHERE i = :c)
             AND h.owner_kind = 'person' AND h.owner_id = p.id ORDER BY share_class) AS class_shares
  FROM persons p JOIN owner_state s ON s.owner_kind = 'person' AND s.owner_id = p.id
  WHERE p.id = (SELECT id FROM bench_persons WHERE i = :p)
  FOR NO KEY UPDATE OF s;
INSERT INTO holdings (company, owner_kind, owner_id, share_class, shares, version)
  VALUES ((SELECT orgnr FROM bench_companies WHERE i = :c), 'person',
          (SELECT id FROM bench_persons WHERE i = :p), 'A-aksjer', :shares,
          (SELECT version + 1 FROM company_state
           WHERE orgnr = (SELECT orgnr FROM bench_companies WHERE i = :c)))
  ON CONFLICT (company, owner_kind, owner_id, share_class)
  DO UPDATE SET shares = holdings.shares + excluded.shares, version = excluded.version;
UPDATE holdings SET version = (SELECT version + 1 FROM company_state
                               WHERE orgnr = (SELECT orgnr FROM bench_companies WHERE i = :c))
  WHERE company = (SELECT orgnr FROM bench_companies WHERE i = :c) AND owner_kind = 'person'
  AND owner_id = (SELECT id FROM bench_persons WHERE i = :p)
  AND version <> (SELECT version + 1 FROM company_state
                  WHERE orgnr = (SELECT orgnr FROM bench_companies WHERE i = :c));
INSERT INTO company_classes (company, share_class, shares)
  VALUES ((SELECT orgnr FROM bench_companies WHERE i = :c), 'A-aksjer', :shares)
  ON CONFLICT (company, share_class) DO UPDATE SET shares = company_classes.shares + excluded.shares;
UPDATE company_state SET version = version + 1, registered = registered + :shares,
       owner_count = owner_count, foreign_owner_count = foreign_owner_count
  WHERE orgnr = (SELECT orgnr FROM bench_companies WHERE i = :c);
UPDATE owner_state SET version = version + 1, holding_count = holding_count
  WHERE owner_kind = 'person' AND owner_id = (SELECT id FROM bench_persons WHERE i = :p);
INSERT INTO purchases (company, owner_kind, owner_id, share_class, shares)
  VALUES ((SELECT orgnr FROM bench_companies WHERE i = :c), 'person',
          (SELECT id FROM bench_persons WHERE i = :p), 'A-aksjer', :shares)
  RETURNING id;
INSERT INTO outbox (payload) SELECT payload FROM bench_payload RETURNING position;
COMMIT;
