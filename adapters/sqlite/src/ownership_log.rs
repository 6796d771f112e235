//! `OwnershipLog`: which companies' ownership changed in the live read model, kept by the
//! triggers of migration 0007 in the transaction that changed it, and the whole live register
//! streamed for a process to hold it in memory.

use anyhow::Context as _;
use async_trait::async_trait;
use futures::stream::{BoxStream, StreamExt as _};
use shareholders_ports::{
    HoldingRecord, OwnershipChange, OwnershipChanged, OwnershipLog, ReadError,
};

use crate::SqliteStore;
use crate::codec::{self, count, int};
use crate::snapshot::{READ_HOLDINGS, decoded};

/// The change a clear of the read model records: every company changed.
pub(crate) const EVERYTHING_CHANGED: &str = "INSERT INTO read_ownership_changes (company, seq) \
    VALUES ('', (SELECT COALESCE(MAX(seq), 0) + 1 FROM read_ownership_changes)) \
    ON CONFLICT (company) DO UPDATE SET seq = excluded.seq";

#[async_trait]
impl OwnershipLog for SqliteStore {
    async fn last_change(&self) -> Result<u64, ReadError> {
        let last: i64 =
            sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM read_ownership_changes")
                .fetch_one(&self.pool)
                .await
                .context("reading the last ownership change")?;
        Ok(count(last)?)
    }

    async fn changed_since(
        &self,
        after: u64,
        limit: u32,
    ) -> Result<Vec<OwnershipChange>, ReadError> {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT company, seq FROM read_ownership_changes WHERE seq > ? ORDER BY seq LIMIT ?",
        )
        .bind(int(after)?)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .context("reading the ownership changes")?;
        rows.into_iter()
            .map(|(company, seq)| {
                Ok(OwnershipChange {
                    seq: count(seq)?,
                    changed: if company.is_empty() {
                        OwnershipChanged::Everything
                    } else {
                        OwnershipChanged::Company(codec::orgnr(&company)?)
                    },
                })
            })
            .collect()
    }

    fn stakes(&self) -> BoxStream<'_, Result<HoldingRecord, ReadError>> {
        decoded(sqlx::query(READ_HOLDINGS), &self.pool, codec::holding)
            .map(|holding| Ok(holding?.record))
            .boxed()
    }
}
