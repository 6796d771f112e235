-- Retention (ports::retention): published outbox events and idempotency keys are deleted once
-- older than their retention, oldest first, a batch at a time. These indexes find each batch
-- without scanning what is kept, and find the key that still holds an outbox event (a replay
-- answers from it, so the event stays while its key does).
CREATE INDEX outbox_published ON outbox (published_at) WHERE published_at IS NOT NULL;

CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);

CREATE INDEX idempotency_keys_by_position ON idempotency_keys (position) WHERE position IS NOT NULL;
