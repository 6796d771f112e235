//! Test doubles and helpers for the broker tests: a recording projection, an in-memory outbox,
//! a unique topology per test, and `rabbitmqctl` to break connections.
#![allow(dead_code)]

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use lapin::options::{BasicGetOptions, BasicPublishOptions, QueueDeclareOptions};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties};
use metrics_util::debugging::{DebuggingRecorder, Snapshotter};
use shareholders_domain::{Country, Event, Name, Person, PersonId, Position, RecordedEvent};
use shareholders_ports::{
    EventPublisher, Outbox, OutboxBacklog, Projection, ProjectionError, RelayError,
};
use shareholders_rabbitmq::Topology;
#[allow(unused_imports)] // each test binary uses its own part
pub use shareholders_rabbitmq::testkit::{amqp_url, close_connections};

pub fn unique(label: &str) -> String {
    format!("test-{label}-{}", uuid::Uuid::new_v4().simple())
}

pub fn person(position: u64) -> RecordedEvent {
    RecordedEvent {
        position: Position::new(position),
        event: Event::PersonRegistered(Person::new(
            PersonId::parse(&format!("p{position}")).expect("valid id"),
            Name::parse(&format!("Person {position}")).expect("valid name"),
            None,
            None,
            None,
            Country::parse("NO").expect("valid country"),
        )),
        recorded_at: None,
    }
}

pub fn people(positions: std::ops::RangeInclusive<u64>) -> Vec<RecordedEvent> {
    positions.map(person).collect()
}

/// The metrics a test emits on its own thread (a `#[tokio::test]` runs every task it spawns
/// there), apart from the other tests'.
pub struct Metrics {
    recorder: DebuggingRecorder,
}

impl Metrics {
    pub fn new() -> Self {
        Self {
            recorder: DebuggingRecorder::new(),
        }
    }

    /// Records this thread's metrics until the guard is dropped.
    pub fn record(&self) -> metrics::LocalRecorderGuard<'_> {
        metrics::set_default_local_recorder(&self.recorder)
    }

    pub fn snapshotter(&self) -> Snapshotter {
        self.recorder.snapshotter()
    }
}

/// A topology of its own, declared through a test connection, deleted by `teardown`.
pub struct Broker {
    pub url: String,
    pub topology: Topology,
    pub connection: Connection,
    pub channel: Channel,
    clean: bool,
}

impl Broker {
    pub async fn new(label: &str) -> Self {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
                    "shareholders_rabbitmq=info,shareholders_ports=info".into()
                }),
            )
            .with_test_writer()
            .try_init();
        let url = amqp_url();
        let topology = Topology::named(&unique(label));
        let connection = Connection::connect(
            &url,
            ConnectionProperties::default().with_connection_name(unique("inspector").into()),
        )
        .await
        .expect("the test broker is reachable");
        let channel = connection.create_channel().await.expect("channel");
        topology.declare(&channel).await.expect("declare");
        Self {
            url,
            topology,
            connection,
            channel,
            clean: false,
        }
    }

    pub async fn teardown(mut self) {
        self.topology
            .delete(&self.channel)
            .await
            .expect("delete topology");
        self.clean = true;
        let _ = self.connection.close(200, "done".into()).await;
    }

    /// Messages ready in a queue.
    pub async fn ready(&self, queue: &str) -> u32 {
        self.channel
            .queue_declare(
                queue.into(),
                QueueDeclareOptions {
                    passive: true,
                    ..QueueDeclareOptions::default()
                },
                FieldTable::default(),
            )
            .await
            .expect("passive declare")
            .message_count()
    }

    /// Takes every message from a queue (acknowledging it), returning the payloads.
    pub async fn drain(&self, queue: &str) -> Vec<Vec<u8>> {
        let mut payloads = Vec::new();
        while let Some(message) = self
            .channel
            .basic_get(queue.into(), BasicGetOptions { no_ack: true })
            .await
            .expect("basic.get")
        {
            payloads.push(message.delivery.data);
        }
        payloads
    }

    /// Publishes raw bytes to the events exchange, as a foreign producer might.
    pub async fn publish_raw(&self, payload: &[u8]) {
        self.channel
            .basic_publish(
                self.topology.exchange.as_str().into(),
                "garbage".into(),
                BasicPublishOptions::default(),
                payload,
                BasicProperties::default().with_delivery_mode(2),
            )
            .await
            .expect("publish")
            .await
            .expect("confirm");
    }
}

impl Drop for Broker {
    /// A test that failed before `teardown` still deletes its topology, on a thread of its own
    /// (the test's runtime may be unwinding).
    fn drop(&mut self) {
        if self.clean {
            return;
        }
        let (url, topology) = (self.url.clone(), self.topology.clone());
        let cleanup = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async {
                let connection = Connection::connect(&url, ConnectionProperties::default()).await?;
                let channel = connection.create_channel().await?;
                topology.delete(&channel).await?;
                connection.close(200, "done".into()).await?;
                anyhow::Ok(())
            })
        });
        if let Ok(Err(error)) = cleanup.join() {
            eprintln!("could not delete the test topology: {error:#}");
        }
    }
}

/// Waits until `check` holds, polling; panics with `what` after `timeout`.
pub async fn eventually(timeout: Duration, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + timeout;
    while !check() {
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// What the recording projection does with an event's position.
#[derive(Clone, Copy, Debug)]
pub enum Behaviour {
    /// Fails with `Unknown` this many more times, then applies.
    FailTimes(u32),
    FailAlways,
    Poison,
}

/// An in-memory projection that records what it applied and fails on demand.
#[derive(Default)]
pub struct Recording {
    state: Mutex<RecordingState>,
    /// Pause in every apply, to let competing consumers interleave.
    pub delay: Duration,
}

#[derive(Default)]
struct RecordingState {
    applied: Vec<u64>,
    attempts: HashMap<u64, u32>,
    alone: HashMap<u64, u32>,
    calls: usize,
    behaviour: HashMap<u64, Behaviour>,
}

impl Recording {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    pub fn with_delay(delay: Duration) -> Arc<Self> {
        Arc::new(Self {
            delay,
            ..Self::default()
        })
    }

    pub fn set(&self, position: u64, behaviour: Behaviour) {
        self.state
            .lock()
            .unwrap()
            .behaviour
            .insert(position, behaviour);
    }

    /// Every position applied, with repeats, in order.
    pub fn applied(&self) -> Vec<u64> {
        self.state.lock().unwrap().applied.clone()
    }

    pub fn distinct(&self) -> BTreeSet<u64> {
        self.applied().into_iter().collect()
    }

    pub fn attempts(&self, position: u64) -> u32 {
        self.state
            .lock()
            .unwrap()
            .attempts
            .get(&position)
            .copied()
            .unwrap_or(0)
    }

    /// How often the event was applied on its own (not in a batch).
    pub fn alone(&self, position: u64) -> u32 {
        self.state
            .lock()
            .unwrap()
            .alone
            .get(&position)
            .copied()
            .unwrap_or(0)
    }

    pub fn calls(&self) -> usize {
        self.state.lock().unwrap().calls
    }
}

#[async_trait]
impl Projection for Recording {
    async fn apply(&self, events: &[RecordedEvent]) -> Result<(), ProjectionError> {
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
        let mut state = self.state.lock().unwrap();
        state.calls += 1;
        for event in events {
            *state.attempts.entry(event.position.get()).or_default() += 1;
        }
        if let [event] = events {
            *state.alone.entry(event.position.get()).or_default() += 1;
        }
        // All or nothing, like a transaction.
        for event in events {
            let position = event.position.get();
            match state.behaviour.get(&position).copied() {
                None => {}
                Some(Behaviour::Poison) => {
                    return Err(ProjectionError::Poison(format!("event {position}")));
                }
                Some(Behaviour::FailAlways) => {
                    return Err(anyhow::anyhow!("store down for {position}").into());
                }
                Some(Behaviour::FailTimes(0)) => {}
                Some(Behaviour::FailTimes(n)) => {
                    state
                        .behaviour
                        .insert(position, Behaviour::FailTimes(n - 1));
                    return Err(anyhow::anyhow!("transient failure for {position}").into());
                }
            }
        }
        state
            .applied
            .extend(events.iter().map(|e| e.position.get()));
        Ok(())
    }
}

/// An in-memory outbox: events are appended, and relayed in order from a cursor that moves only
/// when the publisher confirms.
#[derive(Default)]
pub struct MemoryOutbox {
    state: tokio::sync::Mutex<(Vec<RecordedEvent>, usize)>,
    pub failures: std::sync::atomic::AtomicUsize,
}

impl MemoryOutbox {
    pub async fn push(&self, event: RecordedEvent) {
        self.state.lock().await.0.push(event);
    }
}

#[async_trait]
impl Outbox for MemoryOutbox {
    async fn relay(
        &self,
        limit: usize,
        publisher: Arc<dyn EventPublisher>,
    ) -> Result<usize, RelayError> {
        let mut state = self.state.lock().await;
        let (events, cursor) = &mut *state;
        let end = (*cursor + limit).min(events.len());
        if end == *cursor {
            return Ok(0);
        }
        match publisher.publish(&events[*cursor..end]).await {
            Ok(()) => {
                let count = end - *cursor;
                *cursor = end;
                Ok(count)
            }
            Err(error) => {
                self.failures
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                Err(error.into())
            }
        }
    }

    async fn backlog(&self) -> Result<OutboxBacklog, RelayError> {
        let state = self.state.lock().await;
        let (events, cursor) = &*state;
        Ok(OutboxBacklog {
            events: (events.len() - cursor) as u64,
            oldest_recorded_at: events.get(*cursor).and_then(|e| e.recorded_at),
        })
    }
}
