//! What the service depends on, as readiness sees it: each store or broker it was configured
//! with answers a cheap request, and says how busy its connection pool is.

use async_trait::async_trait;

/// A connection pool's use at one moment.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct PoolUsage {
    /// Connections open (in use or idle).
    pub open: u32,
    /// Connections open but not in use.
    pub idle: u32,
    /// The most the pool opens.
    pub max: u32,
}

impl PoolUsage {
    /// From a pool's counts as drivers give them (idle as a `usize`).
    #[must_use]
    pub fn from_counts(open: u32, idle: usize, max: u32) -> Self {
        Self {
            open,
            idle: u32::try_from(idle).unwrap_or(u32::MAX),
            max,
        }
    }

    /// Connections handed out and not yet returned.
    #[must_use]
    pub fn in_use(&self) -> u32 {
        self.open.saturating_sub(self.idle)
    }
}

/// A store or broker the service was configured with.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait Dependency: Send + Sync + 'static {
    /// Its name in readiness answers and metric labels: `postgresql`, `sqlite`, `mongodb` or
    /// `rabbitmq`.
    fn name(&self) -> &'static str;

    /// Asks it the cheapest question that proves it serves (a `SELECT 1`, a `ping`, opening a
    /// connection). The caller bounds how long it waits.
    ///
    /// # Errors
    /// When it does not answer, or answers with an error; the error says why, for the log.
    async fn check(&self) -> anyhow::Result<()>;

    /// Its connection pool's use, when it has a pool whose use can be read.
    fn pool_usage(&self) -> Option<PoolUsage> {
        None
    }
}
