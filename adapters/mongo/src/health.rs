//! MongoDB as a dependency: it answers `ping`, and its connection pool's use, followed through
//! the driver's pool events (the driver has no other view of it). Each checkout's wait is
//! recorded as it happens.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use anyhow::Context;
use async_trait::async_trait;
use mongodb::bson::doc;
use mongodb::event::EventHandler;
use mongodb::event::cmap::CmapEvent;
use shareholders_ports::metrics::POOL_WAIT_SECONDS;
use shareholders_ports::{Dependency, PoolUsage};

use crate::MongoReadModel;

/// The pool as its events tell it.
#[derive(Debug, Default)]
pub(crate) struct PoolEvents {
    open: AtomicU32,
    in_use: AtomicU32,
    max: AtomicU32,
}

impl PoolEvents {
    /// A handler that keeps `self` up to date.
    pub(crate) fn handler(self: &Arc<Self>) -> EventHandler<CmapEvent> {
        let pool = Arc::clone(self);
        EventHandler::callback(move |event| pool.observe(&event))
    }

    fn observe(&self, event: &CmapEvent) {
        let decrement = |counter: &AtomicU32| {
            let _ = counter.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                Some(n.saturating_sub(1))
            });
        };
        match event {
            CmapEvent::PoolCreated(created) => {
                let max = created
                    .options
                    .as_ref()
                    .and_then(|options| options.max_pool_size)
                    .unwrap_or(DRIVER_MAX_POOL_SIZE);
                self.max.fetch_add(max, Ordering::Relaxed);
            }
            CmapEvent::ConnectionCreated(_) => {
                self.open.fetch_add(1, Ordering::Relaxed);
            }
            CmapEvent::ConnectionClosed(_) => decrement(&self.open),
            CmapEvent::ConnectionCheckedOut(checked_out) => {
                self.in_use.fetch_add(1, Ordering::Relaxed);
                metrics::histogram!(POOL_WAIT_SECONDS, "pool" => "mongodb")
                    .record(checked_out.duration.as_secs_f64());
            }
            CmapEvent::ConnectionCheckedIn(_) => decrement(&self.in_use),
            _ => {}
        }
    }

    fn usage(&self) -> PoolUsage {
        let open = self.open.load(Ordering::Relaxed);
        let in_use = self.in_use.load(Ordering::Relaxed).min(open);
        PoolUsage {
            open,
            idle: open - in_use,
            max: self.max.load(Ordering::Relaxed),
        }
    }
}

/// The driver's default `maxPoolSize`, per server.
const DRIVER_MAX_POOL_SIZE: u32 = 10;

#[async_trait]
impl Dependency for MongoReadModel {
    fn name(&self) -> &'static str {
        "mongodb"
    }

    async fn check(&self) -> anyhow::Result<()> {
        self.db
            .run_command(doc! { "ping": 1 })
            .await
            .context("MongoDB did not answer ping")?;
        Ok(())
    }

    fn pool_usage(&self) -> Option<PoolUsage> {
        Some(self.pool.usage())
    }
}
