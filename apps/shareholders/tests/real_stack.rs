//! The full pipeline on real servers: POST over HTTP → PostgreSQL + outbox → relay →
//! RabbitMQ → projector → MongoDB ← GET, and the faults it must survive.

mod support;

use std::time::{Duration, Instant};

use serde_json::json;
use shareholders::cli::ServeArgs;
use shareholders::serve::{Running, start};
use shareholders::stack::ReadSide;
use support::real::{RealStack, close_broker_connections};
use support::{Api, check_sample, check_the_graph_follows_purchases, load_sample, local};

/// Waits (up to a minute) until the read model has converged to the write model, as
/// `shareholders verify` checks it, and fails with the differences left if it does not.
async fn verify_clean(running: &Running) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let differences = shareholders_ports::diff(
            running.stack.write_snapshot().as_ref(),
            running.stack.read_snapshot().as_ref(),
        )
        .await
        .expect("diff");
        if differences.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{} differences, first: {:?}",
            differences.len(),
            differences.iter().take(5).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Polls until the read model has applied `position` (through the API's read-your-writes).
async fn wait_applied(api: &Api, position: u64, limit: Duration) {
    let deadline = Instant::now() + limit;
    loop {
        let (status, _) = api
            .get(&format!(
                "/api/organization/123456785?min_position={position}"
            ))
            .await;
        if status != 503 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the read model did not apply {position} in {limit:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_register_sample_adds_up_on_the_real_stack() {
    let stack = RealStack::new().await;
    let running = start(&stack.storage, local())
        .await
        .expect("starts on the real stack");
    assert!(
        matches!(running.stack.read, ReadSide::Mongo(_)),
        "reads come from MongoDB"
    );
    let api = Api::new(running.addr);
    let position = load_sample(&api).await;
    check_sample(&api, position).await;
    verify_clean(&running).await;
    running.stop().await.expect("stops");
    stack.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_graph_follows_purchases_on_the_real_stack() {
    let stack = RealStack::new().await;
    let running = start(&stack.storage, local())
        .await
        .expect("starts on the real stack");
    check_the_graph_follows_purchases(&Api::new(running.addr)).await;
    verify_clean(&running).await;
    running.stop().await.expect("stops");
    stack.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_graph_read_from_mongodb_a_level_at_a_time_follows_purchases_alike() {
    let stack = RealStack::new().await;
    let args = ServeArgs {
        reads_from_read_model: true,
        ..local()
    };
    let running = start(&stack.storage, args)
        .await
        .expect("starts on the real stack");
    check_the_graph_follows_purchases(&Api::new(running.addr)).await;
    running.stop().await.expect("stops");
    stack.cleanup().await;
}

/// Companies, persons and a deterministic stream of purchases for the fault tests.
struct Workload {
    companies: Vec<String>,
    persons: Vec<String>,
}

impl Workload {
    async fn create(api: &Api, companies: usize, persons: usize) -> Self {
        let mut orgnrs = Vec::new();
        let mut n = 0u64;
        while orgnrs.len() < companies {
            n += 1;
            let candidate = format!("9{:07}", 1_000_000 + n * 37);
            let weights = [3u64, 2, 7, 6, 5, 4, 3, 2];
            let sum: u64 = candidate
                .bytes()
                .zip(weights)
                .map(|(d, w)| u64::from(d - b'0') * w)
                .sum();
            let check = match 11 - sum % 11 {
                10 => continue,
                11 => 0,
                c => c,
            };
            let orgnr = format!("{candidate}{check}");
            let (status, body) = api
                .post(
                    "/api/organization/",
                    &json!({"orgnr": orgnr, "name": format!("FAULT {n} AS")}),
                )
                .await;
            assert_eq!(status, 201, "{body}");
            orgnrs.push(orgnr);
        }
        let mut ids = Vec::new();
        for i in 0..persons {
            let country = if i % 10 == 0 { "SE" } else { "NO" };
            let (status, body) = api
                .post(
                    "/api/person/",
                    &json!({"name": format!("PERSON {i}"), "country": country}),
                )
                .await;
            assert_eq!(status, 201, "{body}");
            ids.push(body["id"].as_str().expect("id").to_owned());
        }
        Self {
            companies: orgnrs,
            persons: ids,
        }
    }

    fn purchase(&self, i: usize) -> serde_json::Value {
        let company = &self.companies[(i * 7) % self.companies.len()];
        let owner = if i % 3 == 0 {
            json!({"kind": "organization", "id": self.companies[(i * 13 + 1) % self.companies.len()]})
        } else {
            json!({"kind": "person", "id": self.persons[(i * 11) % self.persons.len()]})
        };
        let class = if i % 17 == 0 { "B-aksjer" } else { "A-aksjer" };
        json!({"company": company, "owner": owner, "share_class": class, "shares": 1 + i % 50})
    }

    /// Sends purchases `range` with `concurrency` clients; returns (max position, shares bought).
    async fn buy(
        &self,
        api: &Api,
        range: std::ops::Range<usize>,
        concurrency: usize,
    ) -> (u64, u64) {
        use futures::StreamExt;
        let results: Vec<(u64, u64)> = futures::stream::iter(range)
            .map(|i| {
                let body = self.purchase(i);
                async move {
                    let (status, response) = api.post("/api/share/", &body).await;
                    assert_eq!(status, 201, "{response}");
                    (
                        response["position"].as_u64().expect("position"),
                        body["shares"].as_u64().expect("n"),
                    )
                }
            })
            .buffer_unordered(concurrency)
            .collect()
            .await;
        results.iter().fold((0, 0), |(p, s), (position, shares)| {
            (p.max(*position), s + shares)
        })
    }
}

/// The registered shares of all the companies, or `None` while one of them is not yet in the
/// read model.
async fn registered_total(api: &Api, companies: &[String]) -> Option<u64> {
    let mut total = 0;
    for company in companies {
        let (status, summary) = api.get(&format!("/api/{company}/summary")).await;
        if status != 200 {
            return None;
        }
        total += summary["registered_shares"].as_u64().expect("registered");
    }
    Some(total)
}

/// Waits until the read model shows exactly `bought` shares over `companies`.
async fn wait_for_total(api: &Api, companies: &[String], bought: u64) {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let total = registered_total(api, companies).await;
        if total == Some(bought) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "registered {total:?}, bought {bought}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn spawn_projector(stack: &RealStack) -> std::process::Child {
    std::process::Command::new(env!("CARGO_BIN_EXE_shareholders"))
        .arg("project")
        .envs(stack.env())
        .env("RUST_LOG", "warn")
        .spawn()
        .expect("a projector process")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_projector_killed_mid_stream_loses_and_doubles_nothing() {
    let stack = RealStack::new().await;
    let running = start(
        &stack.storage,
        ServeArgs {
            no_projector: true,
            ..local()
        },
    )
    .await
    .expect("starts");
    let api = Api::new(running.addr);
    let workload = Workload::create(&api, 40, 60).await;

    let mut projector = spawn_projector(&stack);
    let (first, bought_a) = workload.buy(&api, 0..2_500, 16).await;
    // The projector dies without warning, with messages in flight and unacknowledged.
    projector.kill().expect("kill -9");
    let _ = projector.wait();
    let (second, bought_b) = workload.buy(&api, 2_500..5_000, 16).await;
    let mut projector = spawn_projector(&stack);
    wait_applied(&api, first.max(second), Duration::from_secs(120)).await;
    // Every purchase counted once: the registered shares add up to what was bought.
    wait_for_total(&api, &workload.companies, bought_a + bought_b).await;
    verify_clean(&running).await;
    projector.kill().expect("kill");
    let _ = projector.wait();
    running.stop().await.expect("stops");
    stack.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_relay_survives_its_broker_connection_closing() {
    let stack = RealStack::new().await;
    let running = start(&stack.storage, local()).await.expect("starts");
    let api = Api::new(running.addr);
    let workload = Workload::create(&api, 20, 30).await;
    let relay_name = format!("{}.relay", stack.storage.amqp_prefix);
    let projector_name = format!("{}.projector", stack.storage.amqp_prefix);
    let writer = async {
        let mut last = 0;
        for chunk in 0..10 {
            let (position, _) = workload.buy(&api, chunk * 100..(chunk + 1) * 100, 8).await;
            last = last.max(position);
        }
        last
    };
    let breaker = async {
        let mut closed = 0;
        for _ in 0..3 {
            tokio::time::sleep(Duration::from_millis(700)).await;
            closed += close_broker_connections(&relay_name).await
                + close_broker_connections(&projector_name).await;
        }
        closed
    };
    let (last, closed) = tokio::join!(writer, breaker);
    assert!(
        closed >= 2,
        "the test closed the relay's and projector's connections ({closed})"
    );
    wait_applied(&api, last, Duration::from_secs(120)).await;
    let bought: u64 = (0..1_000)
        .map(|i| workload.purchase(i)["shares"].as_u64().expect("n"))
        .sum();
    wait_for_total(&api, &workload.companies, bought).await;
    verify_clean(&running).await;
    running.stop().await.expect("stops");
    stack.cleanup().await;
}

/// Takes every event out of the outbox as a relay would, without publishing.
#[derive(Default)]
struct Collector(std::sync::Mutex<Vec<shareholders_domain::RecordedEvent>>);

#[async_trait::async_trait]
impl shareholders_ports::EventPublisher for Collector {
    async fn publish(
        &self,
        events: &[shareholders_domain::RecordedEvent],
    ) -> Result<(), shareholders_ports::PublishError> {
        self.0.lock().expect("lock").extend_from_slice(events);
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_twice_in_shuffled_order_converges() {
    let stack = RealStack::new().await;
    let running = start(
        &stack.storage,
        ServeArgs {
            no_relay: true,
            ..local()
        },
    )
    .await
    .expect("starts");
    let api = Api::new(running.addr);
    let workload = Workload::create(&api, 15, 20).await;
    let (last, bought) = workload.buy(&api, 0..800, 8).await;
    load_sample(&api).await;

    // Drain the outbox, then publish every event twice, in a shuffled order.
    let collector = std::sync::Arc::new(Collector::default());
    let outbox = running.stack.outbox();
    while outbox.relay(1000, collector.clone()).await.expect("relay") > 0 {}
    let mut events = collector.0.lock().expect("lock").clone();
    assert!(events.len() > 800);
    events.extend(events.clone());
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    for i in (1..events.len()).rev() {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        events.swap(i, usize::try_from(seed % (i as u64 + 1)).expect("index"));
    }
    let publisher = running.stack.publisher().await.expect("publisher");
    for chunk in events.chunks(97) {
        publisher
            .publish(chunk)
            .await
            .expect("published with confirms");
    }
    let max = events
        .iter()
        .map(|e| e.position.get())
        .max()
        .expect("events");
    assert!(max >= last);
    wait_applied(&api, max, Duration::from_secs(120)).await;
    wait_for_total(&api, &workload.companies, bought).await;
    verify_clean(&running).await;
    check_sample(&api, max).await;
    running.stop().await.expect("stops");
    stack.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poison_message_is_dead_lettered_and_the_projector_goes_on() {
    use lapin::options::{BasicPublishOptions, QueueDeclareOptions};
    let stack = RealStack::new().await;
    let running = start(&stack.storage, local()).await.expect("starts");
    let api = Api::new(running.addr);
    let workload = Workload::create(&api, 5, 5).await;
    let topology = stack.topology();

    let connection = lapin::Connection::connect(
        &support::real::amqp_url(),
        lapin::ConnectionProperties::default(),
    )
    .await
    .expect("broker");
    let channel = connection.create_channel().await.expect("channel");
    for poison in [
        b"not json at all".as_slice(),
        br#"{"v":1,"position":1,"event":{"type":"shares_purchased"}}"#,
    ] {
        channel
            .basic_publish(
                topology.exchange.as_str().into(),
                "shares_purchased".into(),
                BasicPublishOptions::default(),
                poison,
                lapin::BasicProperties::default().with_delivery_mode(2),
            )
            .await
            .expect("publish")
            .await
            .expect("confirm");
    }
    let (last, bought) = workload.buy(&api, 0..200, 4).await;
    wait_applied(&api, last, Duration::from_secs(60)).await;
    wait_for_total(&api, &workload.companies, bought).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let dead = channel
            .queue_declare(
                topology.dead_letter_queue.as_str().into(),
                QueueDeclareOptions {
                    passive: true,
                    ..QueueDeclareOptions::default()
                },
                lapin::types::FieldTable::default(),
            )
            .await
            .expect("the dead-letter queue exists");
        if dead.message_count() == 2 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{} dead letters",
            dead.message_count()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    verify_clean(&running).await;
    let _ = connection.close(200, "done".into()).await;
    running.stop().await.expect("stops");
    stack.cleanup().await;
}
