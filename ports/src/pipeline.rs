//! The long-running loops of the CQRS pipeline, written against the ports: the outbox relay,
//! an in-process publisher for the embedded default, and the rebuild of the read model.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use shareholders_domain::RecordedEvent;
use tokio::sync::watch;

use crate::{
    EventPublisher, Outbox, Projection, ProjectionError, PublishError, ReadModelLoader, RelayError,
    Snapshot, SnapshotBatch, metrics,
};

/// Publishes straight into a projection in the same process: the embedded default's broker.
/// Events still go through the outbox, so the read side is fed exactly as on the real stack.
#[derive(Clone)]
pub struct DirectPublisher {
    projection: Arc<dyn Projection>,
}

impl std::fmt::Debug for DirectPublisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DirectPublisher").finish_non_exhaustive()
    }
}

impl DirectPublisher {
    #[must_use]
    pub fn new(projection: Arc<dyn Projection>) -> Self {
        Self { projection }
    }
}

#[async_trait]
impl EventPublisher for DirectPublisher {
    async fn publish(&self, events: &[RecordedEvent]) -> Result<(), PublishError> {
        match self.projection.apply(events).await {
            Ok(()) => {
                metrics::record_applied(events);
                Ok(())
            }
            // A poison event cannot be applied however often it is retried: log it and let
            // the relay move on, as a dead-letter queue would.
            Err(ProjectionError::Poison(reason)) => {
                tracing::error!(%reason, "an event could not be projected; it is skipped");
                metrics::record_dead_lettered(events.len());
                Ok(())
            }
            Err(ProjectionError::Unknown(error)) => Err(PublishError::Unavailable(error)),
        }
    }
}

/// How the relay paces itself.
#[derive(Clone, Copy, Debug)]
pub struct RelaySettings {
    /// Events claimed per round.
    pub batch: usize,
    /// Pause when the outbox is empty.
    pub idle: Duration,
    /// First pause after a failure; it doubles up to `max_backoff`.
    pub backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for RelaySettings {
    fn default() -> Self {
        Self {
            batch: 500,
            idle: Duration::from_millis(20),
            backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(10),
        }
    }
}

/// Moves events from the outbox to the publisher until `shutdown` turns true. Failures are
/// logged and retried with exponential backoff; nothing is lost, since an event leaves the
/// outbox only once the publisher has confirmed it. Counts the events published
/// ([`metrics::OUTBOX_PUBLISHED_TOTAL`]) and the failed publishes
/// ([`metrics::OUTBOX_PUBLISH_FAILURES_TOTAL`]).
pub async fn run_relay(
    outbox: Arc<dyn Outbox>,
    publisher: Arc<dyn EventPublisher>,
    settings: RelaySettings,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut backoff = settings.backoff;
    loop {
        if *shutdown.borrow() {
            return;
        }
        let pause = match outbox.relay(settings.batch, publisher.clone()).await {
            Ok(0) => settings.idle,
            Ok(published) => {
                ::metrics::counter!(metrics::OUTBOX_PUBLISHED_TOTAL).increment(published as u64);
                backoff = settings.backoff;
                Duration::ZERO
            }
            Err(error) => {
                if matches!(error, RelayError::Publish(_)) {
                    ::metrics::counter!(metrics::OUTBOX_PUBLISH_FAILURES_TOTAL).increment(1);
                }
                let chain = format!("{:#}", anyhow::Error::new(error));
                tracing::warn!(error = %chain, retry_in = ?backoff, "outbox relay failed");
                let pause = backoff;
                backoff = (backoff * 2).min(settings.max_backoff);
                pause
            }
        };
        if !pause.is_zero() {
            tokio::select! {
                () = tokio::time::sleep(pause) => {}
                _ = shutdown.changed() => {}
            }
        }
    }
}

/// What a rebuild wrote.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct RebuildReport {
    pub companies: u64,
    pub persons: u64,
    pub holdings: u64,
}

/// Rebuilds the read model from the write model's snapshot, in batches of `batch` documents:
/// optionally clears it first, loads every company, person and holding, then marks the write
/// model's position as applied. Reading the next batch overlaps with loading the previous one
/// (at most two batches are held in memory). `progress` is called with the documents written
/// so far.
///
/// # Errors
/// When either store fails; a rebuild can simply be run again.
pub async fn rebuild(
    source: &dyn Snapshot,
    target: &dyn ReadModelLoader,
    clear: bool,
    batch: usize,
    progress: &(dyn Fn(u64) + Sync),
) -> anyhow::Result<RebuildReport> {
    let position = source.position().await?;
    if clear {
        target.clear().await?;
    }
    let batch = batch.max(1);
    let (sender, mut receiver) = tokio::sync::mpsc::channel::<SnapshotBatch>(1);
    let read = async move {
        let mut report = RebuildReport::default();
        let mut pending = SnapshotBatch::default();
        let mut companies = source.companies();
        while let Some(company) = companies.next().await {
            pending.companies.push(company?);
            report.companies += 1;
            hand_over(&sender, &mut pending, batch).await?;
        }
        drop(companies);
        let mut persons = source.persons();
        while let Some(person) = persons.next().await {
            pending.persons.push(person?);
            report.persons += 1;
            hand_over(&sender, &mut pending, batch).await?;
        }
        drop(persons);
        let mut holdings = source.holdings();
        while let Some(holding) = holdings.next().await {
            pending.holdings.push(holding?);
            report.holdings += 1;
            hand_over(&sender, &mut pending, batch).await?;
        }
        drop(holdings);
        hand_over(&sender, &mut pending, 1).await?;
        anyhow::Ok(report)
    };
    let write = async move {
        let mut written = 0u64;
        while let Some(next) = receiver.recv().await {
            written += next.len() as u64;
            target.load(next).await?;
            progress(written);
        }
        anyhow::Ok(())
    };
    // If loading fails, the receiver is dropped and reading stops at its next hand-over.
    let (read, write) = tokio::join!(read, write);
    write?;
    let report = read?;
    target.finish().await?;
    if let Some(position) = position {
        target.mark_applied_through(position).await?;
    }
    Ok(report)
}

/// Sends `pending` to the loader once it holds at least `batch` documents.
async fn hand_over(
    sender: &tokio::sync::mpsc::Sender<SnapshotBatch>,
    pending: &mut SnapshotBatch,
    batch: usize,
) -> anyhow::Result<()> {
    if pending.len() >= batch && !pending.is_empty() {
        sender
            .send(std::mem::take(pending))
            .await
            .map_err(|_| anyhow::anyhow!("the read model stopped loading"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use metrics_util::debugging::DebuggingRecorder;

    use super::*;
    use crate::metrics::Observed;
    use crate::{MockEventPublisher, MockOutbox, MockProjection};

    #[tokio::test(start_paused = true)]
    async fn the_relay_retries_failures_and_stops_on_shutdown() {
        // The test's runtime runs the relay on this thread, so a local recorder sees it.
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        let _recording = ::metrics::set_default_local_recorder(&recorder);
        let calls = Arc::new(AtomicUsize::new(0));
        let mut outbox = MockOutbox::new();
        let seen = calls.clone();
        outbox.expect_relay().returning(move |limit, _| {
            assert_eq!(limit, 500);
            match seen.fetch_add(1, Ordering::SeqCst) {
                0 | 1 => Err(RelayError::Publish(PublishError::Unavailable(
                    anyhow::anyhow!("broker down"),
                ))),
                2 => Ok(7),
                _ => Ok(0),
            }
        });
        let (stop, signal) = watch::channel(false);
        let relay = tokio::spawn(run_relay(
            Arc::new(outbox),
            Arc::new(MockEventPublisher::new()),
            RelaySettings::default(),
            signal,
        ));
        // Two failures back off 100 ms then 200 ms; then a batch, then idle polling.
        tokio::time::sleep(Duration::from_millis(250)).await;
        assert_eq!(
            calls.load(Ordering::SeqCst),
            2,
            "still backing off after the second failure"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(
            calls.load(Ordering::SeqCst) >= 4,
            "published, then polled an empty outbox"
        );
        stop.send(true).expect("relay listening");
        tokio::time::timeout(Duration::from_secs(1), relay)
            .await
            .expect("the relay stops on shutdown")
            .expect("no panic");
        let metrics = Observed::take(&snapshotter);
        assert_eq!(metrics.counter(crate::metrics::OUTBOX_PUBLISHED_TOTAL), 7);
        assert_eq!(
            metrics.counter(crate::metrics::OUTBOX_PUBLISH_FAILURES_TOTAL),
            2
        );
    }

    fn person(position: u64, recorded_at: Option<std::time::SystemTime>) -> RecordedEvent {
        let person = shareholders_domain::Person::new(
            shareholders_domain::PersonId::parse(&format!("p{position}")).expect("an id"),
            shareholders_domain::Name::parse("KARI NORDMANN").expect("a name"),
            None,
            None,
            None,
            shareholders_domain::Country::NORWAY,
        );
        RecordedEvent {
            position: shareholders_domain::Position::new(position),
            event: shareholders_domain::Event::PersonRegistered(person),
            recorded_at,
        }
    }

    #[tokio::test]
    async fn the_direct_publisher_skips_poison_and_reports_outages() {
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        let _recording = ::metrics::set_default_local_recorder(&recorder);
        let mut projection = MockProjection::new();
        let mut call = 0;
        projection.expect_apply().times(3).returning(move |_| {
            call += 1;
            match call {
                1 => Ok(()),
                2 => Err(ProjectionError::Poison("bad".into())),
                _ => Err(ProjectionError::Unknown(anyhow::anyhow!("disk full"))),
            }
        });
        let publisher = DirectPublisher::new(Arc::new(projection));
        let two_seconds_ago = std::time::SystemTime::now() - Duration::from_secs(2);
        let applied = [person(1, Some(two_seconds_ago)), person(2, None)];
        assert!(publisher.publish(&applied).await.is_ok());
        let metrics = Observed::take(&snapshotter);
        assert_eq!(metrics.counter(crate::metrics::PROJECTOR_APPLIED_TOTAL), 2);
        let lag = metrics.samples(crate::metrics::PROJECTOR_LAG_SECONDS);
        assert_eq!(
            lag.len(),
            1,
            "only an event with a recording time has a lag"
        );
        assert!((2.0..60.0).contains(&lag[0]), "{lag:?}");

        assert!(
            publisher.publish(&[person(3, None)]).await.is_ok(),
            "poison is skipped, as a dead-letter queue would"
        );
        assert!(matches!(
            publisher.publish(&[person(4, None)]).await,
            Err(PublishError::Unavailable(_))
        ));
        let metrics = Observed::take(&snapshotter);
        assert_eq!(
            metrics.counter(crate::metrics::PROJECTOR_DEAD_LETTERED_TOTAL),
            1
        );
        assert_eq!(
            metrics.counter(crate::metrics::PROJECTOR_APPLIED_TOTAL),
            0,
            "nothing else was applied"
        );
    }
}
