//! Retention: what the stores keep only for a while, and the background task that prunes it.
//!
//! Three things would otherwise grow with every command for ever:
//! - the outbox's **published events** (the relay only needs the unpublished ones);
//! - the **idempotency keys** (a key replays its first answer for its retention, after which a
//!   repeat is a new request);
//! - the read model's **applied positions**, recorded one by one above the applied-through
//!   watermark so that `?min_position=` can wait for an event.
//!
//! Each is deleted once older than its retention, in batches of at most
//! [`RetentionSettings::batch`] rows per statement (each batch its own short transaction, so
//! no lock is held for long), by [`run_pruning`] in the process that owns the table.
//!
//! **Order.** A replay answers from the outbox event its key points at, so an outbox event is
//! kept while an idempotency key refers to it, whatever the outbox's retention. Each round
//! therefore prunes the keys first, then the outbox: an event whose key has just expired goes
//! in the same round.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use futures::future::BoxFuture;
use tokio::sync::watch;

use crate::metrics;

/// What the retention task prunes: the `what` label of [`metrics::PRUNED_TOTAL`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Pruned {
    OutboxEvents,
    IdempotencyKeys,
    AppliedPositions,
}

impl Pruned {
    /// The metric label and log field.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::OutboxEvents => "outbox_events",
            Self::IdempotencyKeys => "idempotency_keys",
            Self::AppliedPositions => "applied_positions",
        }
    }
}

/// Pruning the write model: published outbox events and idempotency keys.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait WriteRetention: Send + Sync + 'static {
    /// Deletes up to `limit` idempotency keys first used before `before`, oldest first, in one
    /// short transaction; returns how many. A request that repeats a deleted key is a new
    /// request.
    ///
    /// # Errors
    /// When the store fails; nothing is deleted.
    async fn prune_idempotency_keys(
        &self,
        before: SystemTime,
        limit: usize,
    ) -> anyhow::Result<usize>;

    /// Deletes up to `limit` outbox events published before `before`, oldest first, in one
    /// short transaction; returns how many. Never deletes an unpublished event, nor one an
    /// idempotency key still refers to (its replay answers from it). Positions are never given
    /// again, so [`crate::WriteStore::last_position`] is unchanged.
    ///
    /// # Errors
    /// When the store fails; nothing is deleted.
    async fn prune_outbox(&self, before: SystemTime, limit: usize) -> anyhow::Result<usize>;
}

/// Pruning the read model's record of the events it applied one by one.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait AppliedRetention: Send + Sync + 'static {
    /// Raises the applied-through watermark to the position of the event applied last before
    /// `before` (when that is higher), then deletes up to `limit` of the positions recorded one
    /// by one at or below the watermark, in one short step; returns how many.
    ///
    /// [`crate::ReadStore::applied`] keeps answering `true` for every applied event: a
    /// position at or below the watermark is applied, one above it is still recorded. A
    /// position below it that was never applied (a position no commit kept, or an event
    /// dead-lettered) counts as applied once an event after it has been applied for the
    /// retention: it is not coming.
    ///
    /// # Errors
    /// When the store fails.
    async fn prune_applied(&self, before: SystemTime, limit: usize) -> anyhow::Result<usize>;
}

/// How long each kind is kept, and how the task paces itself.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct RetentionSettings {
    /// Published outbox events, from their publication.
    pub outbox_events: Duration,
    /// Idempotency keys, from their first use.
    pub idempotency_keys: Duration,
    /// Applied positions, from their application.
    pub applied_positions: Duration,
    /// Pause between two rounds.
    pub interval: Duration,
    /// Rows deleted per statement (and transaction).
    pub batch: usize,
}

impl RetentionSettings {
    /// Published outbox events are kept 7 days.
    pub const OUTBOX_EVENTS: Duration = Duration::from_secs(7 * 24 * 3600);
    /// Idempotency keys are kept 24 hours.
    pub const IDEMPOTENCY_KEYS: Duration = Duration::from_secs(24 * 3600);
    /// Applied positions are kept 24 hours.
    pub const APPLIED_POSITIONS: Duration = Duration::from_secs(24 * 3600);
    /// A round every 60 seconds.
    pub const INTERVAL: Duration = Duration::from_secs(60);
    /// 10,000 rows per statement.
    pub const BATCH: usize = 10_000;
}

impl Default for RetentionSettings {
    fn default() -> Self {
        Self {
            outbox_events: Self::OUTBOX_EVENTS,
            idempotency_keys: Self::IDEMPOTENCY_KEYS,
            applied_positions: Self::APPLIED_POSITIONS,
            interval: Self::INTERVAL,
            batch: Self::BATCH,
        }
    }
}

/// The stores a process prunes: those whose tables it owns (the relay's process the write
/// model's, the projector's the read model's).
#[derive(Clone, Default)]
pub struct Retained {
    pub write: Option<Arc<dyn WriteRetention>>,
    pub applied: Option<Arc<dyn AppliedRetention>>,
}

impl std::fmt::Debug for Retained {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Retained")
            .field("write", &self.write.is_some())
            .field("applied", &self.applied.is_some())
            .finish()
    }
}

impl Retained {
    /// Whether there is anything to prune.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.write.is_none() && self.applied.is_none()
    }
}

/// What one round deleted, by kind.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct PruneReport {
    pub outbox_events: u64,
    pub idempotency_keys: u64,
    pub applied_positions: u64,
}

/// Prunes until `shutdown` turns true: a round at once, then one every
/// [`RetentionSettings::interval`]. A failure is logged and the next round tries again.
pub async fn run_pruning(
    retained: Retained,
    settings: RetentionSettings,
    mut shutdown: watch::Receiver<bool>,
) {
    if retained.is_empty() {
        return;
    }
    tracing::info!(
        outbox_events = ?settings.outbox_events,
        idempotency_keys = ?settings.idempotency_keys,
        applied_positions = ?settings.applied_positions,
        interval = ?settings.interval,
        "pruning what is older than its retention"
    );
    loop {
        if *shutdown.borrow() {
            return;
        }
        prune(&retained, &settings, SystemTime::now(), &shutdown).await;
        tokio::select! {
            () = tokio::time::sleep(settings.interval) => {}
            _ = shutdown.changed() => {}
        }
    }
}

/// One round as of `now`: the idempotency keys, then the outbox, then the applied positions,
/// each batch after batch until one comes back short (or `shutdown` turns true). Counts what
/// it deleted in [`metrics::PRUNED_TOTAL`]; logs failures and goes on with the next kind.
pub async fn prune(
    retained: &Retained,
    settings: &RetentionSettings,
    now: SystemTime,
    shutdown: &watch::Receiver<bool>,
) -> PruneReport {
    let batch = settings.batch.max(1);
    // Each kind in its order, with its retention and one batch's deletion.
    let mut kinds: Vec<(Pruned, Duration, Batch<'_>)> = Vec::with_capacity(3);
    if let Some(write) = &retained.write {
        kinds.push((
            Pruned::IdempotencyKeys,
            settings.idempotency_keys,
            Box::new(move |before| write.prune_idempotency_keys(before, batch)),
        ));
        kinds.push((
            Pruned::OutboxEvents,
            settings.outbox_events,
            Box::new(move |before| write.prune_outbox(before, batch)),
        ));
    }
    if let Some(applied) = &retained.applied {
        kinds.push((
            Pruned::AppliedPositions,
            settings.applied_positions,
            Box::new(move |before| applied.prune_applied(before, batch)),
        ));
    }
    let mut report = PruneReport::default();
    for (what, retention, step) in kinds {
        // Nothing is older than the epoch.
        let before = now
            .checked_sub(retention)
            .filter(|before| *before > SystemTime::UNIX_EPOCH);
        let deleted = prune_kind(what, before, batch, shutdown, step).await;
        *match what {
            Pruned::IdempotencyKeys => &mut report.idempotency_keys,
            Pruned::OutboxEvents => &mut report.outbox_events,
            Pruned::AppliedPositions => &mut report.applied_positions,
        } = deleted;
    }
    report
}

/// One batch's deletion of a kind, given its cutoff: a port's method.
type Batch<'a> = Box<dyn Fn(SystemTime) -> BoxFuture<'a, anyhow::Result<usize>> + Send + Sync + 'a>;

/// Deletes one kind, a batch at a time, yielding between batches so that the store's other
/// work gets its turn. `before` is `None` when the retention reaches back past the epoch.
async fn prune_kind(
    what: Pruned,
    before: Option<SystemTime>,
    batch: usize,
    shutdown: &watch::Receiver<bool>,
    step: Batch<'_>,
) -> u64 {
    let Some(before) = before else {
        return 0;
    };
    let counter = ::metrics::counter!(metrics::PRUNED_TOTAL, "what" => what.label());
    let mut total = 0u64;
    loop {
        match step(before).await {
            Ok(deleted) => {
                total += deleted as u64;
                counter.increment(deleted as u64);
                if deleted < batch || *shutdown.borrow() {
                    break;
                }
                tokio::task::yield_now().await;
            }
            Err(error) => {
                let chain = format!("{error:#}");
                tracing::warn!(what = what.label(), error = %chain, "pruning failed");
                break;
            }
        }
    }
    if total > 0 {
        tracing::info!(what = what.label(), deleted = total, "pruned");
    }
    total
}

#[cfg(test)]
mod tests {
    use metrics_util::debugging::DebuggingRecorder;
    use mockall::Sequence;

    use super::*;
    use crate::metrics::Observed;

    const HOUR: Duration = Duration::from_secs(3600);

    fn settings() -> RetentionSettings {
        RetentionSettings {
            outbox_events: 7 * 24 * HOUR,
            idempotency_keys: 24 * HOUR,
            applied_positions: 2 * HOUR,
            interval: Duration::from_secs(60),
            batch: 100,
        }
    }

    #[tokio::test]
    async fn a_round_prunes_keys_before_the_outbox_in_batches_and_counts_each_kind() {
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        let _recording = ::metrics::set_default_local_recorder(&recorder);
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
        let mut order = Sequence::new();
        let mut write = MockWriteRetention::new();
        // Keys: two full batches, then a short one ends the kind.
        for deleted in [100, 100, 7] {
            write
                .expect_prune_idempotency_keys()
                .withf(move |before, limit| *before == now - 24 * HOUR && *limit == 100)
                .times(1)
                .in_sequence(&mut order)
                .returning(move |_, _| Ok(deleted));
        }
        write
            .expect_prune_outbox()
            .withf(move |before, limit| *before == now - 7 * 24 * HOUR && *limit == 100)
            .times(1)
            .in_sequence(&mut order)
            .returning(|_, _| Ok(0));
        let mut applied = MockAppliedRetention::new();
        applied
            .expect_prune_applied()
            .withf(move |before, limit| *before == now - 2 * HOUR && *limit == 100)
            .times(1)
            .in_sequence(&mut order)
            .returning(|_, _| Ok(42));
        let retained = Retained {
            write: Some(Arc::new(write)),
            applied: Some(Arc::new(applied)),
        };
        let (_stop, shutdown) = watch::channel(false);

        let report = prune(&retained, &settings(), now, &shutdown).await;

        assert_eq!(
            report,
            PruneReport {
                outbox_events: 0,
                idempotency_keys: 207,
                applied_positions: 42,
            }
        );
        let seen = Observed::take(&snapshotter);
        let pruned = |what| seen.labelled_counter(metrics::PRUNED_TOTAL, "what", what);
        assert_eq!(pruned("idempotency_keys"), 207);
        assert_eq!(pruned("outbox_events"), 0);
        assert_eq!(pruned("applied_positions"), 42);
    }

    #[tokio::test]
    async fn a_failing_kind_is_logged_and_the_others_are_still_pruned() {
        let mut write = MockWriteRetention::new();
        write
            .expect_prune_idempotency_keys()
            .times(1)
            .returning(|_, _| Err(anyhow::anyhow!("connection refused")));
        write.expect_prune_outbox().times(1).returning(|_, _| Ok(3));
        let retained = Retained {
            write: Some(Arc::new(write)),
            applied: None,
        };
        let (_stop, shutdown) = watch::channel(false);
        let report = prune(&retained, &settings(), SystemTime::now(), &shutdown).await;
        assert_eq!(report.idempotency_keys, 0);
        assert_eq!(
            report.outbox_events, 3,
            "the outbox is pruned after the keys failed"
        );
    }

    #[tokio::test]
    async fn a_retention_longer_than_the_clock_prunes_nothing() {
        let mut write = MockWriteRetention::new();
        write.expect_prune_idempotency_keys().never();
        write.expect_prune_outbox().never();
        let retained = Retained {
            write: Some(Arc::new(write)),
            applied: None,
        };
        let (_stop, shutdown) = watch::channel(false);
        let report = prune(
            &retained,
            &settings(),
            SystemTime::UNIX_EPOCH + HOUR,
            &shutdown,
        )
        .await;
        assert_eq!(report, PruneReport::default());
    }

    #[tokio::test(start_paused = true)]
    async fn the_task_prunes_at_once_then_each_interval_and_stops_on_shutdown() {
        let rounds = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut applied = MockAppliedRetention::new();
        let seen = rounds.clone();
        applied.expect_prune_applied().returning(move |_, _| {
            seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Ok(0)
        });
        let retained = Retained {
            write: None,
            applied: Some(Arc::new(applied)),
        };
        let (stop, shutdown) = watch::channel(false);
        let task = tokio::spawn(run_pruning(retained, settings(), shutdown));
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(
            rounds.load(std::sync::atomic::Ordering::SeqCst),
            1,
            "a round at once"
        );
        tokio::time::sleep(Duration::from_secs(120)).await;
        assert_eq!(
            rounds.load(std::sync::atomic::Ordering::SeqCst),
            3,
            "then one a minute"
        );
        stop.send(true).expect("the task listens");
        tokio::time::timeout(Duration::from_secs(1), task)
            .await
            .expect("the task stops on shutdown")
            .expect("no panic");
    }

    #[tokio::test]
    async fn nothing_to_prune_ends_at_once() {
        let (_stop, shutdown) = watch::channel(false);
        tokio::time::timeout(
            Duration::from_secs(1),
            run_pruning(Retained::default(), settings(), shutdown),
        )
        .await
        .expect("no store, no task");
    }
}
