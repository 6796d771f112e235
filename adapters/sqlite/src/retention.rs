//! Retention ([`WriteRetention`], [`AppliedRetention`]): each batch is one `BEGIN IMMEDIATE`
//! transaction of at most `limit` rows, found through the indexes of migration 0006, so the
//! file's one writer is held only as long as one batch takes.

use std::time::SystemTime;

use anyhow::Context as _;
use async_trait::async_trait;
use shareholders_ports::{AppliedRetention, WriteRetention};

use crate::SqliteStore;
use crate::codec::millis;

/// Runs one `DELETE` of a batch in its own write transaction; returns how many rows it took.
async fn delete_batch(
    store: &SqliteStore,
    sql: &'static str,
    before: SystemTime,
    limit: usize,
    what: &str,
) -> anyhow::Result<usize> {
    let mut writer = store.writer().await?;
    let deleted = sqlx::query(sql)
        .bind(millis(before))
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .execute(&mut *writer.tx)
        .await
        .with_context(|| format!("pruning {what}"))?
        .rows_affected();
    writer.commit().await?;
    Ok(usize::try_from(deleted).unwrap_or(usize::MAX))
}

#[async_trait]
impl WriteRetention for SqliteStore {
    async fn prune_idempotency_keys(
        &self,
        before: SystemTime,
        limit: usize,
    ) -> anyhow::Result<usize> {
        delete_batch(
            self,
            "DELETE FROM idempotency_keys WHERE key IN ( \
                 SELECT key FROM idempotency_keys WHERE created_at_ms < ? \
                 ORDER BY created_at_ms LIMIT ?)",
            before,
            limit,
            "idempotency keys",
        )
        .await
    }

    async fn prune_outbox(&self, before: SystemTime, limit: usize) -> anyhow::Result<usize> {
        delete_batch(
            self,
            "DELETE FROM outbox WHERE position IN ( \
                 SELECT o.position FROM outbox o \
                 WHERE o.published = 1 AND o.published_at_ms < ? \
                   AND NOT EXISTS (SELECT 1 FROM idempotency_keys k WHERE k.position = o.position) \
                 ORDER BY o.published_at_ms LIMIT ?)",
            before,
            limit,
            "published outbox events",
        )
        .await
    }
}

#[async_trait]
impl AppliedRetention for SqliteStore {
    async fn prune_applied(&self, before: SystemTime, limit: usize) -> anyhow::Result<usize> {
        let mut writer = self.writer().await?;
        sqlx::query(
            "INSERT INTO read_watermark (id, position) \
             SELECT 1, position FROM read_applied WHERE applied_at_ms < ? \
             ORDER BY applied_at_ms DESC, position DESC LIMIT 1 \
             ON CONFLICT (id) DO UPDATE SET position = MAX(position, excluded.position)",
        )
        .bind(millis(before))
        .execute(&mut *writer.tx)
        .await
        .context("raising the applied watermark")?;
        let deleted = sqlx::query(
            "DELETE FROM read_applied WHERE position IN ( \
                 SELECT position FROM read_applied \
                 WHERE position <= (SELECT position FROM read_watermark WHERE id = 1) \
                 ORDER BY position LIMIT ?)",
        )
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .execute(&mut *writer.tx)
        .await
        .context("pruning applied positions")?
        .rows_affected();
        writer.commit().await?;
        Ok(usize::try_from(deleted).unwrap_or(usize::MAX))
    }
}
