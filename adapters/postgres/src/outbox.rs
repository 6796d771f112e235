//! The outbox relay: claim unpublished rows, publish them, mark them published.

use std::sync::Arc;

use anyhow::Context as _;
use async_trait::async_trait;
use shareholders_domain::{Position, RecordedEvent};
use shareholders_ports::{EventPublisher, Outbox, OutboxBacklog, RelayError};
use sqlx::Row as _;

use crate::PostgresStore;
use crate::rows::{system_time, to_u64};

#[async_trait]
impl Outbox for PostgresStore {
    async fn relay(
        &self,
        limit: usize,
        publisher: Arc<dyn EventPublisher>,
    ) -> Result<usize, RelayError> {
        let limit = i64::try_from(limit.max(1)).unwrap_or(i64::MAX);
        let mut tx = self
            .pool
            .begin()
            .await
            .context("cannot begin the relay's transaction")?;
        // The rows stay locked until the transaction ends, so another relay skips them; once
        // committed as published, the partial index no longer holds them.
        let rows = sqlx::query(
            "SELECT position, payload::text AS payload,
                    (extract(epoch FROM created_at) * 1000)::bigint AS recorded_at_ms
             FROM outbox
             WHERE published_at IS NULL
             ORDER BY position
             LIMIT $1
             FOR UPDATE SKIP LOCKED",
        )
        .bind(limit)
        .fetch_all(&mut *tx)
        .await
        .context("cannot claim outbox rows")?;
        if rows.is_empty() {
            tx.commit()
                .await
                .context("cannot end the relay's transaction")?;
            return Ok(0);
        }
        let mut positions = Vec::with_capacity(rows.len());
        let mut events = Vec::with_capacity(rows.len());
        for row in rows {
            let position: i64 = row.try_get("position").context("outbox position")?;
            let payload: String = row.try_get("payload").context("outbox payload")?;
            let recorded_at: i64 = row.try_get("recorded_at_ms").context("outbox time")?;
            positions.push(position);
            match shareholders_event_json::decode_event(payload.as_bytes()) {
                Ok(event) => events.push(RecordedEvent {
                    position: Position::new(to_u64(position, "position")?),
                    event,
                    recorded_at: Some(system_time(recorded_at)),
                }),
                // A row that cannot be decoded never will be: it is marked published so that
                // the relay goes on, and stays in the table for inspection.
                Err(error) => {
                    tracing::error!(position, %error, "an outbox row cannot be decoded; it is skipped");
                }
            }
        }
        if !events.is_empty() {
            if let Err(error) = publisher.publish(&events).await {
                // The rows stay unpublished. Rolled back now, not on drop: a dropped
                // transaction's rollback reaches the server only later, and until then its
                // row locks hide the rows from the next claim (SKIP LOCKED).
                if let Err(rollback) = tx.rollback().await {
                    tracing::warn!(error = %rollback, "cannot roll back the relay's claim; the connection's close will");
                }
                return Err(RelayError::Publish(error));
            }
        }
        sqlx::query("UPDATE outbox SET published_at = now() WHERE position = ANY($1)")
            .bind(&positions)
            .execute(&mut *tx)
            .await
            .context("cannot mark outbox rows published")?;
        tx.commit()
            .await
            .context("cannot commit the published outbox rows")?;
        Ok(positions.len())
    }

    async fn backlog(&self) -> Result<OutboxBacklog, RelayError> {
        let (count, oldest): (i64, Option<i64>) = sqlx::query_as(
            "SELECT count(*), (extract(epoch FROM min(created_at)) * 1000)::bigint
             FROM outbox WHERE published_at IS NULL",
        )
        .fetch_one(&self.pool)
        .await
        .context("cannot count the outbox's backlog")?;
        Ok(OutboxBacklog {
            events: to_u64(count, "backlog")?,
            oldest_recorded_at: oldest.map(system_time),
        })
    }
}
