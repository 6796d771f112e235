-- Retention (ports::retention): published outbox events, idempotency keys and the read model's
-- applied positions are deleted once older than their retention, a batch at a time. Each
-- gets the time it is measured from, in milliseconds since the epoch, and an index to find
-- each batch without scanning what is kept. Rows from before this migration get the best time
-- known (an event's recording; 0, long ago, when none was stored).

-- When the relay marked the event published.
ALTER TABLE outbox ADD COLUMN published_at_ms INTEGER;
UPDATE outbox SET published_at_ms = COALESCE(recorded_at_ms, 0) WHERE published = 1;
CREATE INDEX outbox_published ON outbox (published_at_ms) WHERE published = 1;

-- When the key was first used: with its event, in the same transaction.
ALTER TABLE idempotency_keys ADD COLUMN created_at_ms INTEGER;
UPDATE idempotency_keys SET created_at_ms = COALESCE(
    (SELECT recorded_at_ms FROM outbox WHERE outbox.position = idempotency_keys.position), 0);
CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at_ms);
-- The key that holds an outbox event (its replay answers from it); also what the foreign key
-- checks when an outbox event is deleted.
CREATE INDEX idempotency_keys_by_position ON idempotency_keys (position);

-- When the read model applied the position (NULL before this migration: such a position goes
-- once a later one, applied since, raises the watermark over it).
ALTER TABLE read_applied ADD COLUMN applied_at_ms INTEGER;
CREATE INDEX read_applied_by_age ON read_applied (applied_at_ms);
