//! The process's metrics: one Prometheus recorder for the whole process, and the gauges read
//! from the stores when `/metrics` is scraped.
//!
//! Counters and histograms are recorded where things happen (the HTTP server, the relay, the
//! projector, the pools). Gauges that describe shared state (the outbox's backlog, the
//! imported years, the pools' use) are read at scrape time, so every API process reports them
//! whichever process did the work. An import runs in its own process; what it did is part of
//! the year's provenance in the write model, which is where these gauges read it.

use std::sync::{Arc, OnceLock};
use std::time::SystemTime;

use async_trait::async_trait;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use shareholders_http::{Exposition, Operations};
use shareholders_ports::{Dependency, Outbox, YearSnapshots};

use crate::stack::Stack;

/// Gauge: events recorded and not yet published.
pub const OUTBOX_UNPUBLISHED: &str = "shareholders_outbox_unpublished_events";
/// Gauge: the age of the oldest unpublished event, in seconds (0 when there is none).
pub const OUTBOX_OLDEST_AGE: &str = "shareholders_outbox_oldest_unpublished_age_seconds";
/// Gauge, by `year` and `outcome` (`read`, `rejected`, `imported`): the lines of the last
/// import of each year.
pub const IMPORT_LINES: &str = "shareholders_import_lines";
/// Gauge, by `year`: how long the last import of each year took, in seconds.
pub const IMPORT_DURATION: &str = "shareholders_import_duration_seconds";
/// Gauge: how long the most recent import (of any year) took, in seconds.
pub const LAST_IMPORT_DURATION: &str = "shareholders_last_import_duration_seconds";
/// Gauge: when the most recent import finished, in seconds since the epoch.
pub const LAST_IMPORT_TIME: &str = "shareholders_last_import_timestamp_seconds";
/// Gauges, by `pool`: connections in use, open, and the most a pool opens.
pub const POOL_IN_USE: &str = "shareholders_pool_connections_in_use";
pub const POOL_OPEN: &str = "shareholders_pool_connections_open";
pub const POOL_MAX: &str = "shareholders_pool_connections_max";

/// Histogram buckets for every duration (seconds): from half a millisecond to a minute.
const SECONDS_BUCKETS: [f64; 16] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
    60.0,
];

/// The process's recorder, installed on first use.
///
/// # Panics
/// When another recorder was installed first (nothing else in this binary installs one).
pub fn recorder() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let handle = PrometheusBuilder::new()
                .set_buckets(&SECONDS_BUCKETS)
                .expect("the buckets are not empty")
                .install_recorder()
                .expect("no other metrics recorder is installed in this process");
            describe();
            keep_up(handle.clone(), UPKEEP_EVERY);
            handle
        })
        .clone()
}

/// How often the recorder's histograms are drained when nobody scrapes `/metrics`.
pub const UPKEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// Drains the recorder's histograms every `every`, on a thread of its own, for the life of
/// the process. The recorder keeps every recorded sample until it is drained (a scrape drains
/// it too), so a process nobody scrapes would otherwise grow by every request's latency:
/// the soak saw the API's memory rise by about 3 MB a minute before this.
fn keep_up(handle: PrometheusHandle, every: std::time::Duration) {
    let spawned = std::thread::Builder::new()
        .name("metrics-upkeep".to_owned())
        .spawn(move || {
            loop {
                std::thread::sleep(every);
                handle.run_upkeep();
            }
        });
    if let Err(error) = spawned {
        tracing::warn!(%error, "cannot start the metrics upkeep; histograms drain only when scraped");
    }
}

/// Every metric's help text and unit, as the exposition's `# HELP` lines show them.
fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    use shareholders_http::server::{HTTP_REQUEST_DURATION, HTTP_REQUESTS};
    use shareholders_ports::metrics as pipeline;

    describe_counter!(
        HTTP_REQUESTS,
        "HTTP requests answered, by route template, method and status class."
    );
    describe_histogram!(
        HTTP_REQUEST_DURATION,
        Unit::Seconds,
        "Time from a request's arrival to its response, by route template and method."
    );
    describe_counter!(
        pipeline::OUTBOX_PUBLISHED_TOTAL,
        "Events the relay published and the broker (or the in-process projection) confirmed."
    );
    describe_counter!(
        pipeline::OUTBOX_PUBLISH_FAILURES_TOTAL,
        "Relay passes whose publish failed; their events stay in the outbox and are retried."
    );
    describe_gauge!(
        OUTBOX_UNPUBLISHED,
        "Events recorded in the outbox and not yet published."
    );
    describe_gauge!(
        OUTBOX_OLDEST_AGE,
        Unit::Seconds,
        "Age of the oldest unpublished event (0 when there is none)."
    );
    describe_counter!(
        pipeline::PROJECTOR_APPLIED_TOTAL,
        "Events the read model applied."
    );
    describe_counter!(
        pipeline::PROJECTOR_REDELIVERIES_TOTAL,
        "Deliveries of events delivered before."
    );
    describe_counter!(
        pipeline::PROJECTOR_DEAD_LETTERED_TOTAL,
        "Events sent to the dead-letter queue (or skipped as poison in-process)."
    );
    describe_histogram!(
        pipeline::PROJECTOR_LAG_SECONDS,
        Unit::Seconds,
        "Time from an event's recording in the write model to its application to the read model."
    );
    describe_gauge!(
        IMPORT_LINES,
        "Lines of the last import of each year: read, rejected and imported."
    );
    describe_gauge!(
        IMPORT_DURATION,
        Unit::Seconds,
        "How long the last import of each year took."
    );
    describe_gauge!(
        LAST_IMPORT_DURATION,
        Unit::Seconds,
        "How long the most recent import took."
    );
    describe_gauge!(
        LAST_IMPORT_TIME,
        Unit::Seconds,
        "When the most recent import finished, in seconds since the epoch."
    );
    describe_gauge!(POOL_IN_USE, "Connections of each pool in use.");
    describe_gauge!(POOL_OPEN, "Connections of each pool open, in use or idle.");
    describe_gauge!(POOL_MAX, "The most connections each pool opens.");
    describe_histogram!(
        pipeline::POOL_WAIT_SECONDS,
        Unit::Seconds,
        "Time spent waiting for a connection (MongoDB checkouts; PostgreSQL and SQLite write transactions)."
    );
    describe_gauge!(
        pipeline::GRAPH_STAKES_HELD,
        "Holdings of the live register held in memory for the ownership graph (0 while loading)."
    );
    describe_gauge!(
        pipeline::GRAPH_YEAR_STAKES_HELD,
        "Holdings of each imported year held in memory for its ownership graph (0 while loading and once dropped)."
    );
    describe_gauge!(
        pipeline::GRAPH_YEAR_BYTES,
        Unit::Bytes,
        "Bytes each imported year's ownership graph takes in memory (0 while loading and once dropped)."
    );
    describe_counter!(
        pipeline::GRAPH_LEVEL_READS_TOTAL,
        "Levels of ownership graphs read, by where from: memory or read_model."
    );
    describe_counter!(
        pipeline::HELD_READS_TOTAL,
        "Organisation records, owner pages, holding pages, searches, ultimate owners and ultimate holdings read, by read and by where from: memory or read_model."
    );
    describe_counter!(
        pipeline::PRUNED_TOTAL,
        "Records deleted once older than their retention, by what: outbox_events, idempotency_keys, applied_positions."
    );
    // Counters without labels are shown from the start, at 0, so a rate over them is defined
    // before the first event.
    for counter in [
        pipeline::OUTBOX_PUBLISHED_TOTAL,
        pipeline::OUTBOX_PUBLISH_FAILURES_TOTAL,
        pipeline::PROJECTOR_APPLIED_TOTAL,
        pipeline::PROJECTOR_REDELIVERIES_TOTAL,
        pipeline::PROJECTOR_DEAD_LETTERED_TOTAL,
    ] {
        metrics::counter!(counter).increment(0);
    }
}

/// The operational endpoints of a process serving `stack`: readiness asks each of its
/// dependencies, `/metrics` renders `handle` with the stack's gauges.
///
/// # Errors
/// When the broker's URL is not an AMQP URL.
pub fn operations(stack: &Stack, handle: PrometheusHandle) -> anyhow::Result<Operations> {
    let dependencies = stack.dependencies()?;
    Ok(Operations {
        dependencies: dependencies.clone(),
        metrics: Some(Arc::new(StackMetrics {
            handle,
            outbox: stack.outbox(),
            years: stack.year_snapshots(),
            dependencies,
        })),
    })
}

/// `/metrics` for a process serving a stack.
pub struct StackMetrics {
    pub handle: PrometheusHandle,
    pub outbox: Arc<dyn Outbox>,
    pub years: Arc<dyn YearSnapshots>,
    pub dependencies: Vec<Arc<dyn Dependency>>,
}

impl std::fmt::Debug for StackMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StackMetrics").finish_non_exhaustive()
    }
}

#[async_trait]
impl Exposition for StackMetrics {
    async fn render(&self) -> String {
        // A store that does not answer leaves its gauges as they were; readiness reports it.
        match self.outbox.backlog().await {
            Ok(backlog) => {
                metrics::gauge!(OUTBOX_UNPUBLISHED).set(backlog.events as f64);
                let age = backlog
                    .oldest_recorded_at
                    .and_then(|at| SystemTime::now().duration_since(at).ok())
                    .map_or(0.0, |age| age.as_secs_f64());
                metrics::gauge!(OUTBOX_OLDEST_AGE).set(age);
            }
            Err(error) => tracing::warn!(error = %error, "reading the outbox's backlog failed"),
        }
        match self.years.years().await {
            Ok(years) => {
                for record in &years {
                    let year = record.year.to_string();
                    let outcomes = [
                        ("read", record.lines),
                        ("rejected", record.rejects),
                        ("imported", record.lines.saturating_sub(record.rejects)),
                    ];
                    for (outcome, lines) in outcomes {
                        metrics::gauge!(IMPORT_LINES, "year" => year.clone(), "outcome" => outcome)
                            .set(lines as f64);
                    }
                    if let Some(duration) = record.duration {
                        metrics::gauge!(IMPORT_DURATION, "year" => year.clone())
                            .set(duration.as_secs_f64());
                    }
                }
                if let Some(last) = years.iter().max_by_key(|record| record.imported_at) {
                    if let Some(duration) = last.duration {
                        metrics::gauge!(LAST_IMPORT_DURATION).set(duration.as_secs_f64());
                    }
                    let at = last
                        .imported_at
                        .duration_since(SystemTime::UNIX_EPOCH)
                        .map_or(0.0, |at| at.as_secs_f64());
                    metrics::gauge!(LAST_IMPORT_TIME).set(at);
                }
            }
            Err(error) => tracing::warn!(error = %error, "reading the imported years failed"),
        }
        for dependency in &self.dependencies {
            if let Some(usage) = dependency.pool_usage() {
                let pool = dependency.name();
                metrics::gauge!(POOL_IN_USE, "pool" => pool).set(f64::from(usage.in_use()));
                metrics::gauge!(POOL_OPEN, "pool" => pool).set(f64::from(usage.open));
                metrics::gauge!(POOL_MAX, "pool" => pool).set(f64::from(usage.max));
            }
        }
        self.handle.run_upkeep();
        self.handle.render()
    }
}
