//! The adapter against a real RabbitMQ (`SHAREHOLDERS_TEST_AMQP_URL`, default the local
//! guest account). Each test declares its own topology and deletes it at the end.

mod support;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use lapin::options::QueueBindOptions;
use lapin::types::FieldTable;
use shareholders_ports::metrics::Observed;
use shareholders_ports::metrics::{
    OUTBOX_PUBLISH_FAILURES_TOTAL, OUTBOX_PUBLISHED_TOTAL, PROJECTOR_APPLIED_TOTAL,
    PROJECTOR_DEAD_LETTERED_TOTAL, PROJECTOR_LAG_SECONDS, PROJECTOR_REDELIVERIES_TOTAL,
};
use shareholders_ports::{EventPublisher, PublishError, RelaySettings, run_relay};
use shareholders_rabbitmq::{
    ConsumerSettings, PublisherSettings, RabbitPublisher, Topology, run_consumer,
};
use support::{
    Behaviour, Broker, MemoryOutbox, Metrics, Recording, eventually, people, person, unique,
};
use tokio::sync::watch;
use tokio::task::JoinHandle;

const WAIT: Duration = Duration::from_secs(30);

struct Running {
    stop: watch::Sender<bool>,
    task: JoinHandle<anyhow::Result<()>>,
}

impl Running {
    /// Stops the consumer and checks that it returned cleanly.
    async fn stop(self) {
        self.stop.send(true).expect("consumer alive");
        tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .expect("the consumer stops on shutdown")
            .expect("no panic")
            .expect("a clean stop");
    }
}

fn settings(name: &str) -> ConsumerSettings {
    ConsumerSettings {
        prefetch: 50,
        batch: 20,
        max_attempts: 3,
        retry_delay: Duration::from_millis(20),
        reconnect_backoff: Duration::from_millis(50),
        max_reconnect_backoff: Duration::from_millis(500),
        connection_name: name.to_owned(),
        ..ConsumerSettings::default()
    }
}

fn start(broker: &Broker, projection: Arc<Recording>, settings: ConsumerSettings) -> Running {
    let (stop, shutdown) = watch::channel(false);
    let url = broker.url.clone();
    let topology = broker.topology.clone();
    let task =
        tokio::spawn(
            async move { run_consumer(&url, topology, projection, settings, shutdown).await },
        );
    Running { stop, task }
}

async fn publisher(broker: &Broker, name: &str) -> Arc<RabbitPublisher> {
    let settings = PublisherSettings {
        connection_name: name.to_owned(),
        ..PublisherSettings::default()
    };
    Arc::new(
        RabbitPublisher::connect_with(&broker.url, broker.topology.clone(), settings)
            .await
            .expect("publisher connects"),
    )
}

fn all(range: std::ops::RangeInclusive<u64>) -> BTreeSet<u64> {
    range.collect()
}

#[tokio::test]
async fn published_events_are_applied_by_the_consumer() {
    let metrics = Metrics::new();
    let _recording = metrics.record();
    let broker = Broker::new("flow").await;
    let publisher = publisher(&broker, &unique("relay")).await;
    let projection = Recording::new();
    let consumer = start(&broker, projection.clone(), settings(&unique("projector")));

    // Every other event says it was recorded an hour ago: the header carries it across.
    let an_hour_ago = SystemTime::now() - Duration::from_secs(3600);
    let mut events = people(1..=120);
    for event in events.iter_mut().filter(|e| e.position.get() % 2 == 0) {
        event.recorded_at = Some(an_hour_ago);
    }
    for chunk in events.chunks(25) {
        publisher.publish(chunk).await.expect("published");
    }

    eventually(WAIT, "all events applied", || {
        projection.distinct() == all(1..=120)
    })
    .await;
    consumer.stop().await;
    assert_eq!(broker.ready(&broker.topology.queue).await, 0, "all acked");
    assert_eq!(broker.ready(&broker.topology.dead_letter_queue).await, 0);
    assert!(
        projection.calls() < 120,
        "deliveries at hand are applied in batches ({} calls)",
        projection.calls()
    );
    let seen = Observed::take(&metrics.snapshotter());
    assert_eq!(seen.counter(PROJECTOR_APPLIED_TOTAL), 120);
    let lag = seen.samples(PROJECTOR_LAG_SECONDS);
    assert_eq!(
        lag.len(),
        60,
        "a lag for each event that says when it was recorded"
    );
    assert!(
        lag.iter().all(|&s| (3600.0..3700.0).contains(&s)),
        "{lag:?}"
    );
    assert_eq!(seen.counter(PROJECTOR_REDELIVERIES_TOTAL), 0);
    assert_eq!(seen.counter(PROJECTOR_DEAD_LETTERED_TOTAL), 0);
    broker.teardown().await;
}

#[tokio::test]
async fn publish_returns_once_the_broker_holds_every_message() {
    let broker = Broker::new("confirm").await;
    let publisher = publisher(&broker, &unique("relay")).await;
    let events = people(1..=30);

    publisher.publish(&events).await.expect("published");

    // No consumer runs: the confirmed messages must already be in the queue.
    assert_eq!(broker.ready(&broker.topology.queue).await, 30);
    let mut got = Vec::new();
    for _ in 0..30 {
        let message = broker
            .channel
            .basic_get(
                broker.topology.queue.as_str().into(),
                lapin::options::BasicGetOptions { no_ack: true },
            )
            .await
            .expect("basic.get")
            .expect("a message");
        let properties = &message.delivery.properties;
        let decoded = shareholders_event_json::decode(&message.delivery.data).expect("decodes");
        assert_eq!(*properties.delivery_mode(), Some(2), "persistent");
        assert_eq!(
            properties.content_type().as_ref().map(|t| t.as_str()),
            Some("application/json")
        );
        assert_eq!(
            properties
                .message_id()
                .as_ref()
                .map(|t| t.as_str().to_owned()),
            Some(decoded.position.get().to_string())
        );
        assert_eq!(message.delivery.routing_key.as_str(), "person_registered");
        got.push(decoded);
    }
    got.sort_by_key(|e| e.position);
    assert_eq!(got, events);
    broker.teardown().await;
}

#[tokio::test]
async fn an_unroutable_event_is_not_taken_as_published() {
    let broker = Broker::new("unroutable").await;
    let publisher = publisher(&broker, &unique("relay")).await;
    let unbind = || {
        broker.channel.queue_unbind(
            broker.topology.queue.as_str().into(),
            broker.topology.exchange.as_str().into(),
            "#".into(),
            FieldTable::default(),
        )
    };
    unbind().await.expect("unbind");

    let refused = publisher.publish(&people(1..=3)).await;
    assert!(
        matches!(refused, Err(PublishError::Unavailable(_))),
        "got {refused:?}"
    );

    broker
        .channel
        .queue_bind(
            broker.topology.queue.as_str().into(),
            broker.topology.exchange.as_str().into(),
            "#".into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
        .expect("bind");
    publisher
        .publish(&people(1..=3))
        .await
        .expect("routable again");
    assert_eq!(broker.ready(&broker.topology.queue).await, 3);
    broker.teardown().await;
}

#[tokio::test]
async fn poison_goes_to_the_dead_letter_queue_and_the_consumer_goes_on() {
    let metrics = Metrics::new();
    let _recording = metrics.record();
    let broker = Broker::new("poison").await;
    let publisher = publisher(&broker, &unique("relay")).await;
    let projection = Recording::new();
    projection.set(3, Behaviour::Poison);
    let consumer = start(&broker, projection.clone(), settings(&unique("projector")));

    broker.publish_raw(b"\x00 not an event").await;
    publisher.publish(&people(1..=5)).await.expect("published");
    broker.publish_raw(b"{\"v\":99}").await;
    publisher.publish(&people(6..=8)).await.expect("published");

    eventually(WAIT, "the good events applied", || {
        projection.distinct() == BTreeSet::from([1, 2, 4, 5, 6, 7, 8])
    })
    .await;
    let deadline = tokio::time::Instant::now() + WAIT;
    while broker.ready(&broker.topology.dead_letter_queue).await < 3 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "dead letters missing"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    consumer.stop().await;

    let mut dead = broker.drain(&broker.topology.dead_letter_queue).await;
    dead.sort();
    let poisoned = shareholders_event_json::encode(&person(3));
    let mut expected = vec![
        b"\x00 not an event".to_vec(),
        b"{\"v\":99}".to_vec(),
        poisoned,
    ];
    expected.sort();
    assert_eq!(dead, expected);
    // A batch holding it fails as a whole, then each event is applied alone: the poison once.
    assert_eq!(projection.alone(3), 1, "poison is not retried");
    assert_eq!(broker.ready(&broker.topology.queue).await, 0);
    let seen = Observed::take(&metrics.snapshotter());
    assert_eq!(seen.counter(PROJECTOR_DEAD_LETTERED_TOTAL), 3);
    assert_eq!(seen.counter(PROJECTOR_APPLIED_TOTAL), 7);
    assert!(
        seen.samples(PROJECTOR_LAG_SECONDS).is_empty(),
        "no event said when it was recorded"
    );
    broker.teardown().await;
}

#[tokio::test]
async fn failing_events_are_retried_then_dead_lettered() {
    let metrics = Metrics::new();
    let _recording = metrics.record();
    let broker = Broker::new("retry").await;
    let publisher = publisher(&broker, &unique("relay")).await;
    let projection = Recording::new();
    projection.set(1, Behaviour::FailAlways);
    projection.set(2, Behaviour::FailTimes(1));
    let consumer = start(
        &broker,
        projection.clone(),
        ConsumerSettings {
            batch: 1,
            max_attempts: 4,
            ..settings(&unique("projector"))
        },
    );

    publisher.publish(&people(1..=3)).await.expect("published");

    let deadline = tokio::time::Instant::now() + WAIT;
    while broker.ready(&broker.topology.dead_letter_queue).await < 1 {
        assert!(tokio::time::Instant::now() < deadline, "no dead letter");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    eventually(WAIT, "events 2 and 3 applied", || {
        projection.distinct() == BTreeSet::from([2, 3])
    })
    .await;
    consumer.stop().await;

    assert_eq!(
        projection.attempts(1),
        4,
        "max_attempts deliveries, then the DLQ"
    );
    assert_eq!(projection.attempts(2), 2, "failed once, then applied");
    assert_eq!(projection.applied().iter().filter(|&&p| p == 2).count(), 1);
    assert_eq!(
        broker.drain(&broker.topology.dead_letter_queue).await,
        vec![shareholders_event_json::encode(&person(1))]
    );
    assert_eq!(broker.ready(&broker.topology.queue).await, 0);
    let seen = Observed::take(&metrics.snapshotter());
    assert_eq!(
        seen.counter(PROJECTOR_REDELIVERIES_TOTAL),
        3 + 1,
        "event 1 delivered again three times, event 2 once"
    );
    assert_eq!(seen.counter(PROJECTOR_DEAD_LETTERED_TOTAL), 1);
    assert_eq!(seen.counter(PROJECTOR_APPLIED_TOTAL), 2);
    broker.teardown().await;
}

#[tokio::test]
async fn every_event_arrives_though_the_broker_drops_connections() {
    let metrics = Metrics::new();
    let _recording = metrics.record();
    let broker = Broker::new("faults").await;
    let relay_name = unique("relay");
    let projector_name = unique("projector");
    let publisher = publisher(&broker, &relay_name).await;
    let projection = Recording::new();
    let consumer = start(&broker, projection.clone(), settings(&projector_name));

    let outbox = Arc::new(MemoryOutbox::default());
    let (stop_relay, relay_shutdown) = watch::channel(false);
    let relay = tokio::spawn(run_relay(
        outbox.clone(),
        publisher.clone(),
        RelaySettings {
            batch: 10,
            idle: Duration::from_millis(5),
            backoff: Duration::from_millis(20),
            max_backoff: Duration::from_millis(200),
        },
        relay_shutdown,
    ));

    // A steady stream of events into the outbox while the broker drops both connections.
    let (stop_producing, mut producing) = watch::channel(false);
    let producer = tokio::spawn({
        let outbox = outbox.clone();
        async move {
            let mut position = 0;
            while !*producing.borrow_and_update() {
                position += 1;
                outbox.push(person(position)).await;
                if position % 5 == 0 {
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
            }
            position
        }
    });
    let (mut closed_relay, mut closed_projector) = (0, 0);
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(300)).await;
        closed_relay += support::close_connections(&relay_name).await;
        closed_projector += support::close_connections(&projector_name).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop_producing.send(true).expect("producer alive");
    let total = producer.await.expect("producer");

    eventually(Duration::from_secs(60), "every event applied", || {
        projection.distinct() == all(1..=total)
    })
    .await;
    stop_relay.send(true).expect("relay alive");
    tokio::time::timeout(Duration::from_secs(10), relay)
        .await
        .expect("the relay stops")
        .expect("no panic");
    consumer.stop().await;

    assert!(
        closed_relay >= 3,
        "the publisher's connection was closed ({closed_relay})"
    );
    assert!(
        closed_projector >= 3,
        "the consumer's connection was closed ({closed_projector})"
    );
    assert_eq!(
        shareholders_ports::Outbox::backlog(outbox.as_ref())
            .await
            .expect("backlog")
            .events,
        0
    );
    assert_eq!(broker.ready(&broker.topology.dead_letter_queue).await, 0);
    let seen = Observed::take(&metrics.snapshotter());
    assert_eq!(seen.counter(OUTBOX_PUBLISHED_TOTAL), total);
    assert_eq!(
        seen.counter(OUTBOX_PUBLISH_FAILURES_TOTAL),
        outbox.failures.load(std::sync::atomic::Ordering::Relaxed) as u64,
        "each failed publish counted once"
    );
    assert!(seen.counter(PROJECTOR_APPLIED_TOTAL) >= total);
    broker.teardown().await;
}

#[tokio::test]
async fn competing_consumers_share_the_work() {
    let broker = Broker::new("compete").await;
    let publisher = publisher(&broker, &unique("relay")).await;
    let first = Recording::with_delay(Duration::from_millis(5));
    let second = Recording::with_delay(Duration::from_millis(5));
    let narrow = |name: &str| ConsumerSettings {
        prefetch: 5,
        batch: 5,
        ..settings(name)
    };
    let one = start(&broker, first.clone(), narrow(&unique("projector-a")));
    let two = start(&broker, second.clone(), narrow(&unique("projector-b")));
    // Both are consuming before the events arrive.
    tokio::time::sleep(Duration::from_millis(300)).await;

    for chunk in people(1..=300).chunks(50) {
        publisher.publish(chunk).await.expect("published");
    }

    eventually(
        WAIT,
        "all events applied by one consumer or the other",
        || first.distinct().union(&second.distinct()).count() == 300,
    )
    .await;
    one.stop().await;
    two.stop().await;
    let (a, b) = (first.distinct().len(), second.distinct().len());
    assert!(a > 30 && b > 30, "the work is shared: {a} and {b}");
    broker.teardown().await;
}

#[tokio::test]
async fn a_bad_url_is_an_error_that_hides_the_password() {
    let topology = Topology::named(&unique("bad"));
    let error = RabbitPublisher::connect("amqp://user:hunter2@127.0.0.1:1/%2f", topology.clone())
        .await
        .expect_err("nothing listens on port 1");
    let message = format!("{error:#}");
    assert!(!message.contains("hunter2"), "{message}");
    assert!(message.contains("user:***@127.0.0.1:1"), "{message}");

    let (_stop, shutdown) = watch::channel(false);
    let error = run_consumer(
        "http//user:hunter2@nowhere",
        topology,
        Recording::new(),
        ConsumerSettings::default(),
        shutdown,
    )
    .await
    .expect_err("not an AMQP URL");
    assert!(!format!("{error:#}").contains("hunter2"));
}

#[tokio::test]
async fn a_consumer_keeps_retrying_until_shutdown_when_the_broker_is_unreachable() {
    let (stop, shutdown) = watch::channel(false);
    let task = tokio::spawn(run_consumer(
        "amqp://guest:guest@127.0.0.1:1/%2f",
        Topology::named(&unique("down")),
        Recording::new(),
        settings(&unique("projector")),
        shutdown,
    ));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!task.is_finished(), "it keeps retrying");
    stop.send(true).expect("alive");
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("stops on shutdown")
        .expect("no panic")
        .expect("clean stop");
}
