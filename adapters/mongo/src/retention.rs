//! Retention of the applied positions ([`AppliedRetention`]): the watermark is raised to the
//! position applied last before the cutoff (found through the `applied_at` index), then the
//! positions at or below it are deleted, at most `limit` per `deleteMany`.

use std::time::SystemTime;

use anyhow::Context as _;
use async_trait::async_trait;
use mongodb::bson::{DateTime, doc};
use shareholders_domain::Position;
use shareholders_ports::{AppliedRetention, ReadModelLoader as _};

use crate::codec::{self, int};
use crate::{APPLIED_AT, MongoReadModel};

#[async_trait]
impl AppliedRetention for MongoReadModel {
    async fn prune_applied(&self, before: SystemTime, limit: usize) -> anyhow::Result<usize> {
        if self.frozen {
            return Ok(0);
        }
        // The ownership changes kept as long as the applied positions.
        let changes = self.prune_changes(before, limit).await?;
        tracing::debug!(changes, "pruned ownership changes");
        let last = self
            .applied
            .find_one(doc! { APPLIED_AT: { "$lt": DateTime::from_system_time(before) } })
            .sort(doc! { APPLIED_AT: -1 })
            .projection(doc! { "_id": 1 })
            .await
            .context("finding the position applied last before the cutoff")?;
        if let Some(last) = last {
            self.mark_applied_through(Position::new(codec::get_u64(&last, "_id")?))
                .await?;
        }
        let Some(through) = self.watermark().await? else {
            return Ok(0);
        };
        let through = int(through, "position")?;
        // The batch ends at the limit-th position at or below the watermark, or at the
        // watermark when fewer are left.
        let skip = u64::try_from(limit.max(1) - 1).unwrap_or(u64::MAX);
        let end = self
            .applied
            .find_one(doc! { "_id": { "$lte": &through } })
            .sort(doc! { "_id": 1 })
            .skip(skip)
            .projection(doc! { "_id": 1 })
            .await
            .context("finding the end of a batch of applied positions")?;
        let end = match end {
            Some(end) => end.get("_id").cloned().unwrap_or(through),
            None => through,
        };
        let deleted = self
            .applied
            .delete_many(doc! { "_id": { "$lte": end } })
            .await
            .context("pruning applied positions")?
            .deleted_count;
        Ok(usize::try_from(deleted).unwrap_or(usize::MAX))
    }
}
