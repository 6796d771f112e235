//! Retention ([`WriteRetention`]): each batch is one `DELETE` of at most `limit` rows (its own
//! transaction), found through the indexes of migration 20250101000005 and locked with
//! `SKIP LOCKED`, so it never waits for a command or a relay, nor they for long on it.

use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use shareholders_ports::WriteRetention;

use crate::PostgresStore;

/// `before` as microseconds since the epoch, for `to_timestamp($1::float8 / 1e6)` (a double
/// holds today's microseconds exactly).
fn micros(before: SystemTime) -> i64 {
    let since = before.duration_since(UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since.as_micros()).unwrap_or(i64::MAX)
}

async fn delete_batch(
    store: &PostgresStore,
    sql: &'static str,
    before: SystemTime,
    limit: usize,
    what: &'static str,
) -> anyhow::Result<usize> {
    let deleted = sqlx::query(sql)
        .bind(micros(before))
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .execute(&store.pool)
        .await
        .map_err(|e| anyhow::Error::new(e).context(what))?
        .rows_affected();
    Ok(usize::try_from(deleted).unwrap_or(usize::MAX))
}

#[async_trait]
impl WriteRetention for PostgresStore {
    async fn prune_idempotency_keys(
        &self,
        before: SystemTime,
        limit: usize,
    ) -> anyhow::Result<usize> {
        delete_batch(
            self,
            "DELETE FROM idempotency_keys WHERE key IN (
                 SELECT key FROM idempotency_keys
                 WHERE created_at < to_timestamp($1::float8 / 1e6)
                 ORDER BY created_at
                 LIMIT $2
                 FOR UPDATE SKIP LOCKED)",
            before,
            limit,
            "cannot prune idempotency keys",
        )
        .await
    }

    async fn prune_outbox(&self, before: SystemTime, limit: usize) -> anyhow::Result<usize> {
        delete_batch(
            self,
            "DELETE FROM outbox WHERE position IN (
                 SELECT o.position FROM outbox o
                 WHERE o.published_at < to_timestamp($1::float8 / 1e6)
                   AND NOT EXISTS (
                       SELECT 1 FROM idempotency_keys k WHERE k.position = o.position)
                 ORDER BY o.published_at
                 LIMIT $2
                 FOR UPDATE OF o SKIP LOCKED)",
            before,
            limit,
            "cannot prune published outbox events",
        )
        .await
    }
}
