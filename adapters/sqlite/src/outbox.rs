//! The outbox relay: oldest unpublished events first, marked published only once the
//! publisher confirms them.

use std::sync::Arc;

use anyhow::Context as _;
use async_trait::async_trait;
use shareholders_domain::{Position, RecordedEvent};
use shareholders_ports::{EventPublisher, Outbox, OutboxBacklog, RelayError};
use sqlx::Row as _;

use crate::SqliteStore;
use crate::codec::{count, int, system_time};

#[async_trait]
impl Outbox for SqliteStore {
    async fn relay(
        &self,
        limit: usize,
        publisher: Arc<dyn EventPublisher>,
    ) -> Result<usize, RelayError> {
        // One relay at a time: SQLite has no SKIP LOCKED, and two relays must not publish the
        // same batch. The write lock is not held while publishing, since an in-process
        // publisher writes the read model through this same store.
        let _relay = self.relay_lock.lock().await;
        let limit = i64::try_from(limit.max(1)).unwrap_or(i64::MAX);
        let rows = sqlx::query(
            "SELECT position, payload, recorded_at_ms FROM outbox \
             WHERE published = 0 ORDER BY position LIMIT ?",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .context("claiming outbox events")?;
        if rows.is_empty() {
            return Ok(0);
        }
        let events = rows
            .iter()
            .map(|row| {
                let position = count(row.try_get("position")?)?;
                let payload: Vec<u8> = row.try_get("payload")?;
                let event = shareholders_event_json::decode_event(&payload)
                    .with_context(|| format!("decoding outbox event {position}"))?;
                let recorded_at: Option<i64> = row.try_get("recorded_at_ms")?;
                Ok(RecordedEvent {
                    position: Position::new(position),
                    event,
                    recorded_at: recorded_at.map(system_time),
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        publisher.publish(&events).await?;
        let positions = events
            .iter()
            .map(|e| int(e.position.get()))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let mut writer = self.writer().await?;
        sqlx::query(
            "UPDATE outbox SET published = 1, published_at_ms = ? \
             WHERE position IN (SELECT value FROM json_each(?)) AND published = 0",
        )
        .bind(crate::codec::millis(std::time::SystemTime::now()))
        .bind(serde_json::to_string(&positions).context("encoding positions")?)
        .execute(&mut *writer.tx)
        .await
        .context("marking outbox events published")?;
        writer.commit().await?;
        Ok(events.len())
    }

    async fn backlog(&self) -> Result<OutboxBacklog, RelayError> {
        // Rows from before `recorded_at_ms` existed have none, and MIN passes over them.
        let (events, oldest): (i64, Option<i64>) =
            sqlx::query_as("SELECT COUNT(*), MIN(recorded_at_ms) FROM outbox WHERE published = 0")
                .fetch_one(&self.pool)
                .await
                .context("counting unpublished outbox events")?;
        Ok(OutboxBacklog {
            events: count(events)?,
            oldest_recorded_at: oldest.map(system_time),
        })
    }
}
