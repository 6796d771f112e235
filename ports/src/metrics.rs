//! The names of the metrics the pipeline emits (through the `metrics` facade; the binary
//! installs the recorder that `GET /metrics` renders), and the one place each is recorded
//! where more than one adapter records it.
//!
//! The names are a contract: dashboards and alerts refer to them.

use std::time::SystemTime;

use shareholders_domain::RecordedEvent;

/// Counter: events the relay handed on and the publisher confirmed.
pub const OUTBOX_PUBLISHED_TOTAL: &str = "shareholders_outbox_published_total";

/// Counter: relay passes whose publish failed (the events stay in the outbox and are retried).
pub const OUTBOX_PUBLISH_FAILURES_TOTAL: &str = "shareholders_outbox_publish_failures_total";

/// Counter: events the read model applied (acknowledged after applying them).
pub const PROJECTOR_APPLIED_TOTAL: &str = "shareholders_projector_applied_total";

/// Counter: deliveries the broker marked as redelivered, or delivered before
/// (`x-delivery-count` above 0); each delivery counts once.
pub const PROJECTOR_REDELIVERIES_TOTAL: &str = "shareholders_projector_redeliveries_total";

/// Counter: messages rejected to the dead-letter exchange (undecodable, poison, or failed too
/// often); on the embedded default, poison events the projection skipped.
pub const PROJECTOR_DEAD_LETTERED_TOTAL: &str = "shareholders_projector_dead_lettered_total";

/// Histogram, in seconds: from when the write model recorded an event to when the read model
/// applied it. Events whose recording time is unknown give no sample.
pub const PROJECTOR_LAG_SECONDS: &str = "shareholders_projector_lag_seconds";

/// Histogram, by `pool`, in seconds: how long work waited for a connection. MongoDB: every
/// checkout, from the driver's pool events. PostgreSQL: every command's transaction (the
/// writes, which contend for connections). SQLite: every write transaction, including the
/// wait for the file's one writer.
pub const POOL_WAIT_SECONDS: &str = "shareholders_pool_wait_seconds";

/// Counter, by `what` (`outbox_events`, `idempotency_keys`, `applied_positions`): rows or
/// documents the retention task deleted once they were older than their retention (see
/// [`crate::run_pruning`]).
pub const PRUNED_TOTAL: &str = "shareholders_pruned_total";

/// Gauge: the live register's holdings a process holds in memory for the ownership graph (see
/// [`crate::StakesInMemory`]; 0 while it loads).
pub const GRAPH_STAKES_HELD: &str = "shareholders_graph_stakes_held";

/// Gauge, by `year`: an imported year's holdings a process holds in memory beside the live
/// register (see [`crate::StakesInMemory::holding_years`]; 0 while it loads, and once it is
/// no longer held). A company's own (treasury) shares are not counted.
pub const GRAPH_YEAR_STAKES_HELD: &str = "shareholders_graph_year_stakes_held";

/// Gauge, by `year`: the bytes an imported year's ownership graph takes in memory (0 while
/// it loads, and once it is no longer held).
pub const GRAPH_YEAR_BYTES: &str = "shareholders_graph_year_bytes";

/// Counter, by `from` (`memory`, `read_model`): the ownership graph's reads of a level, and
/// where they were answered from.
pub const GRAPH_LEVEL_READS_TOTAL: &str = "shareholders_graph_level_reads_total";

/// Counter, by `read` (`organisation`, `owners`, `holdings`, `search`) and `from` (`memory`,
/// `read_model`): the register's reads that [`crate::StakesInMemory`] answers from memory once
/// it holds the live register, and where they were answered from.
pub const HELD_READS_TOTAL: &str = "shareholders_held_reads_total";

/// Counts one of the register's reads (`read`, its name in [`HELD_READS_TOTAL`]) as answered
/// from `memory` or the `read_model`, once it is told which.
pub(crate) fn register_count(read: &'static str) -> impl FnOnce(&'static str) {
    move |from| metrics::counter!(HELD_READS_TOTAL, "read" => read, "from" => from).increment(1)
}

/// Records that the read model applied `events`: one more applied each, and the lag of each
/// whose recording time is known (0 when the clocks disagree and it seems to be in the future).
pub fn record_applied(events: &[RecordedEvent]) {
    ::metrics::counter!(PROJECTOR_APPLIED_TOTAL).increment(events.len() as u64);
    let now = SystemTime::now();
    let lag = ::metrics::histogram!(PROJECTOR_LAG_SECONDS);
    for recorded_at in events.iter().filter_map(|event| event.recorded_at) {
        lag.record(
            now.duration_since(recorded_at)
                .unwrap_or_default()
                .as_secs_f64(),
        );
    }
}

/// Records that `count` messages were rejected to the dead-letter exchange (or skipped as
/// poison, as it would).
pub fn record_dead_lettered(count: usize) {
    ::metrics::counter!(PROJECTOR_DEAD_LETTERED_TOTAL).increment(count as u64);
}

/// What a test's [`metrics_util::debugging::DebuggingRecorder`] saw, by metric name (and
/// label): for the tests of the code that records (this crate's and the adapters').
#[cfg(any(test, feature = "conformance"))]
#[derive(Debug)]
pub struct Observed(Vec<(::metrics::Key, metrics_util::debugging::DebugValue)>);

#[cfg(any(test, feature = "conformance"))]
impl Observed {
    /// What the recorder holds now: counters' increments since the last look, histograms'
    /// samples.
    #[must_use]
    pub fn take(snapshotter: &metrics_util::debugging::Snapshotter) -> Self {
        Self(
            snapshotter
                .snapshot()
                .into_vec()
                .into_iter()
                .map(|(key, _, _, value)| (key.key().clone(), value))
                .collect(),
        )
    }

    /// The counter `name` summed over its labels, 0 when it was not incremented.
    #[must_use]
    pub fn counter(&self, name: &str) -> u64 {
        self.counter_where(name, |_| true)
    }

    /// The counter `name` with the label `label` = `value`, 0 when it was not incremented.
    #[must_use]
    pub fn labelled_counter(&self, name: &str, label: &str, value: &str) -> u64 {
        self.counter_where(name, |key| {
            key.labels().any(|l| l.key() == label && l.value() == value)
        })
    }

    fn counter_where(&self, name: &str, keep: impl Fn(&::metrics::Key) -> bool) -> u64 {
        self.0
            .iter()
            .filter(|(key, _)| key.name() == name && keep(key))
            .map(|(_, value)| match value {
                metrics_util::debugging::DebugValue::Counter(n) => *n,
                _ => 0,
            })
            .sum()
    }

    /// The samples of the histogram `name`, over all its labels.
    #[must_use]
    pub fn samples(&self, name: &str) -> Vec<f64> {
        self.0
            .iter()
            .filter(|(key, _)| key.name() == name)
            .flat_map(|(_, value)| match value {
                metrics_util::debugging::DebugValue::Histogram(samples) => {
                    samples.iter().map(|s| s.into_inner()).collect()
                }
                _ => Vec::new(),
            })
            .collect()
    }
}
