//! The embedded store as a dependency: its file is still there and answers a query, and its
//! pool's use.

use anyhow::Context;
use async_trait::async_trait;
use shareholders_ports::{Dependency, PoolUsage};

use crate::SqliteStore;

#[async_trait]
impl Dependency for SqliteStore {
    fn name(&self) -> &'static str {
        "sqlite"
    }

    async fn check(&self) -> anyhow::Result<()> {
        // A deleted file keeps answering through the connections that have it open, so the
        // file itself is looked at too.
        tokio::fs::metadata(self.path.as_ref())
            .await
            .with_context(|| format!("the SQLite file {} is gone", self.path.display()))?;
        sqlx::query("SELECT count(*) FROM sqlite_master")
            .execute(&self.pool)
            .await
            .context("the SQLite file did not answer a query")?;
        Ok(())
    }

    fn pool_usage(&self) -> Option<PoolUsage> {
        Some(PoolUsage::from_counts(
            self.pool.size(),
            self.pool.num_idle(),
            self.pool.options().get_max_connections(),
        ))
    }
}
