//! PostgreSQL as a dependency: it answers `SELECT 1`, and its pool's use.

use anyhow::Context;
use async_trait::async_trait;
use shareholders_ports::{Dependency, PoolUsage};

use crate::PostgresStore;

#[async_trait]
impl Dependency for PostgresStore {
    fn name(&self) -> &'static str {
        "postgresql"
    }

    async fn check(&self) -> anyhow::Result<()> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .context("PostgreSQL did not answer SELECT 1")?;
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
