-- The ceiling of `POST /api/share/` on the embedded default (scripts/bench-writes, STACK=embedded):
-- the statements a purchase runs in adapters/sqlite/src/write.rs (`record_purchase` and
-- `append`), in the same order, driven straight at the same SQLite file by
-- `shareholders-bench sqlite-transactions`, each run of them one `BEGIN IMMEDIATE` transaction.
-- A person buys 1-1000 A-shares of a random company of the ones the HTTP load registered.
-- Parameters: ?1 the company's orgnr, ?2 the person's id, ?3 the shares, ?4 and ?5 the event
-- type and payload of a real purchase event of the same load, ?6 now in milliseconds. What Rust
-- computes between the statements (the new state, the event's JSON) is done by SQL arithmetic
-- here. Statements end with a semicolon at the end of a line.
SELECT name, total_shares, version, registered_shares, owner_count, foreign_owner_count
  FROM organisations WHERE orgnr = ?1;
SELECT name, country, birth_year, owner_version, holding_count FROM persons WHERE id = ?2;
SELECT share_class, shares FROM company_classes WHERE company = ?1 ORDER BY share_class;
SELECT share_class, shares FROM holdings
  WHERE company = ?1 AND owner_kind = 'person' AND owner_id = ?2 ORDER BY share_class;
INSERT INTO holdings (company, owner_kind, owner_id, share_class, shares, version)
  VALUES (?1, 'person', ?2, 'A-aksjer', ?3, (SELECT version + 1 FROM organisations WHERE orgnr = ?1))
  ON CONFLICT (company, owner_kind, owner_id, share_class)
  DO UPDATE SET shares = holdings.shares + excluded.shares, version = excluded.version;
INSERT INTO company_classes (company, share_class, shares) VALUES (?1, 'A-aksjer', ?3)
  ON CONFLICT (company, share_class) DO UPDATE SET shares = company_classes.shares + excluded.shares;
UPDATE organisations SET version = version + 1, registered_shares = registered_shares + ?3,
       owner_count = owner_count, foreign_owner_count = foreign_owner_count
  WHERE orgnr = ?1;
UPDATE persons SET owner_version = owner_version + 1, holding_count = holding_count WHERE id = ?2;
INSERT INTO purchases (company, owner_kind, owner_id, share_class, shares)
  VALUES (?1, 'person', ?2, 'A-aksjer', ?3);
INSERT INTO outbox (event_type, payload, recorded_at_ms) VALUES (?4, ?5, ?6);
