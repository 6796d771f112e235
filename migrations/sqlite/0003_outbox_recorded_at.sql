-- When each outbox event was recorded, in milliseconds since the epoch: the outbox's backlog
-- reports its oldest unpublished event, and the read model's lag is measured from it.
-- Nullable: SQLite cannot add a column with a non-constant default, and the rows recorded
-- before this migration have no time (they are left out of the backlog's age).
ALTER TABLE outbox ADD COLUMN recorded_at_ms INTEGER;
