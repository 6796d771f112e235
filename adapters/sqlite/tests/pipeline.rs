//! Outbox, projection and read model: the embedded CQRS path against a real SQLite file.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use common::*;
use rand::rngs::StdRng;
use rand::seq::SliceRandom as _;
use rand::{Rng as _, SeedableRng as _};
use shareholders_domain::{OwnerRef, Position, RecordedEvent};
use shareholders_ports::{
    EventPublisher, MockEventPublisher, Outbox, OutboxBacklog, PageRequest, Projection,
    PublishError, ReadModelLoader, ReadStore, RelayError, Snapshot as _, SnapshotBatch, WriteStore,
    diff, rebuild,
};
use shareholders_sqlite::SqliteStore;
use sqlx::Connection as _;

/// Two companies, an organisation owner, a treasury holding, persons at home and abroad.
async fn populate(store: &SqliteStore) {
    record(
        store,
        &[
            organisation(orgnr(1), "TVIST 1 AS", Some(120)),
            organisation(orgnr(2), "CANICA INVESTOR AS", None),
            foreign_organisation(orgnr(3), "SVENSKA AB"),
        ],
        &[
            person("p1", "HAGEN STEIN ERIK", "NO"),
            person("p2", "KJOS CAROLINE", "CHE"),
            person("p3", "HAGEN CARL ERIK", "NOR"),
        ],
        &[
            purchase(orgnr(1), person_ref("p1"), "A-aksjer", 3),
            purchase(orgnr(1), person_ref("p2"), "B-aksjer", 60),
            purchase(orgnr(1), person_ref("p2"), "B-aksjer", 57),
            purchase(orgnr(2), person_ref("p1"), "B-aksjer", 9),
            purchase(orgnr(2), OwnerRef::Organisation(orgnr(3)), "B-aksjer", 36),
            purchase(orgnr(2), OwnerRef::Organisation(orgnr(2)), "A-aksjer", 36),
            purchase(orgnr(2), OwnerRef::Organisation(orgnr(1)), "B-aksjer", 9),
            purchase(orgnr(2), person_ref("p3"), "B-aksjer", 9),
        ],
    )
    .await;
}

fn page(n: u32, size: u32) -> PageRequest {
    PageRequest::new(Some(n), Some(size)).expect("a valid page")
}

#[tokio::test]
async fn the_relay_feeds_the_read_model_until_it_matches_the_write_model() {
    let (_dir, store) = store().await;
    populate(&store).await;
    assert_eq!(store.backlog().await.expect("backlog").events, 14);
    assert!(store.organisation(orgnr(1)).await.expect("read").is_none());
    assert_eq!(project(&store).await, 14);
    assert_eq!(store.backlog().await.expect("backlog").events, 0);
    let differences = diff(&store.write_snapshot(), &store.read_snapshot())
        .await
        .expect("diff");
    assert!(differences.is_empty(), "{differences:#?}");
    assert_eq!(
        store.read_snapshot().position().await.expect("position"),
        Some(Position::new(14))
    );

    let tvist = store
        .organisation(orgnr(1))
        .await
        .expect("read")
        .expect("registered");
    assert_eq!(tvist.registered_shares, 120);
    assert_eq!(tvist.owner_count, 2);
    assert_eq!(tvist.foreign_owner_count, 1);
    assert_eq!(tvist.holding_count, 1);
    assert_eq!(tvist.classes.len(), 2);
    assert_eq!(
        tvist.organisation,
        organisation(orgnr(1), "TVIST 1 AS", Some(120))
    );

    let canica = store
        .organisation(orgnr(2))
        .await
        .expect("read")
        .expect("registered");
    assert_eq!(
        (
            canica.registered_shares,
            canica.owner_count,
            canica.foreign_owner_count
        ),
        (99, 5, 1)
    );
    assert_eq!(canica.holding_count, 1, "its treasury shares");

    // Owners by shares desc, then organisations before persons, then id.
    let owners = store.owners(orgnr(2), page(1, 10)).await.expect("owners");
    let order: Vec<(OwnerRef, u64)> = owners
        .iter()
        .map(|h| (h.owner.owner.clone(), h.shares()))
        .collect();
    assert_eq!(
        order,
        vec![
            (OwnerRef::Organisation(orgnr(2)), 36),
            (OwnerRef::Organisation(orgnr(3)), 36),
            (OwnerRef::Organisation(orgnr(1)), 9),
            (person_ref("p1"), 9),
            (person_ref("p3"), 9),
        ]
    );
    assert!(owners.iter().all(|h| h.company_registered_shares == 99));
    assert_eq!(owners[1].owner.country, country("SE"));
    let second_page = store.owners(orgnr(2), page(2, 2)).await.expect("owners");
    assert_eq!(second_page, owners[2..4].to_vec());
    assert!(
        store
            .owners(orgnr(2), page(3, 5))
            .await
            .expect("owners")
            .is_empty()
    );

    // Holdings by shares desc, then orgnr.
    let holdings = store
        .holdings(&person_ref("p1"), page(1, 10))
        .await
        .expect("holdings");
    let order: Vec<_> = holdings
        .iter()
        .map(|h| (h.company.orgnr, h.shares(), h.company_registered_shares))
        .collect();
    assert_eq!(order, vec![(orgnr(2), 9, 99), (orgnr(1), 3, 120)]);
    assert_eq!(holdings[1].company.total_shares, Some(shares(120)));
    assert_eq!(holdings[1].company.name, name("TVIST 1 AS"));

    let p2 = store
        .person(&shareholders_domain::PersonId::parse("p2").expect("valid"))
        .await
        .expect("read")
        .expect("registered");
    assert_eq!(p2.holding_count, 1);
    assert_eq!(p2.person, person("p2", "KJOS CAROLINE", "CHE"));
    let p2_holding = store
        .holdings(&person_ref("p2"), page(1, 10))
        .await
        .expect("holdings");
    assert_eq!(p2_holding.len(), 1);
    assert_eq!(p2_holding[0].shares(), 117);
    assert!(
        store
            .person(&shareholders_domain::PersonId::parse("nobody").expect("valid"))
            .await
            .expect("read")
            .is_none()
    );
}

#[tokio::test]
async fn duplicated_and_shuffled_events_give_the_same_read_model() {
    let (_dir, store) = store().await;
    populate(&store).await;
    let capture = Arc::new(Recorder::default());
    let publisher: Arc<dyn EventPublisher> = capture.clone();
    while store.relay(100, publisher.clone()).await.expect("relay") > 0 {}
    let events = capture.events();
    assert_eq!(events.len(), 14);
    store.apply(&events).await.expect("applied in order");
    let expected = state(&store.read_snapshot()).await;
    assert!(
        diff(&store.write_snapshot(), &store.read_snapshot())
            .await
            .expect("diff")
            .is_empty()
    );

    for seed in 0..8 {
        let (_other_dir, other) = common::store().await;
        let mut rng = StdRng::seed_from_u64(seed);
        let mut shuffled: Vec<RecordedEvent> = events.iter().chain(&events).cloned().collect();
        shuffled.extend(events.iter().filter(|_| rng.random_bool(0.5)).cloned());
        shuffled.shuffle(&mut rng);
        let mut rest = shuffled.as_slice();
        while !rest.is_empty() {
            let take = rng.random_range(1..=4).min(rest.len());
            other.apply(&rest[..take]).await.expect("applied");
            rest = &rest[take..];
        }
        assert_eq!(state(&other.read_snapshot()).await, expected, "seed {seed}");
        assert_eq!(
            other.read_snapshot().position().await.expect("position"),
            Some(Position::new(14))
        );
    }
}

#[tokio::test]
async fn applied_positions_and_the_watermark() {
    let (_dir, store) = store().await;
    populate(&store).await;
    let capture = Arc::new(Recorder::default());
    let publisher: Arc<dyn EventPublisher> = capture.clone();
    while store.relay(100, publisher.clone()).await.expect("relay") > 0 {}
    let events = capture.events();
    assert!(!store.applied(Position::new(3)).await.expect("applied"));
    assert_eq!(store.read_snapshot().position().await.expect("p"), None);
    store
        .apply(&[events[2].clone(), events[4].clone()])
        .await
        .expect("applied");
    assert!(store.applied(Position::new(3)).await.expect("applied"));
    assert!(store.applied(Position::new(5)).await.expect("applied"));
    assert!(!store.applied(Position::new(4)).await.expect("applied"));
    assert_eq!(store.read_snapshot().position().await.expect("p"), None);
    store.apply(&events[..2]).await.expect("applied");
    assert_eq!(
        store.read_snapshot().position().await.expect("p"),
        Some(Position::new(3))
    );
    store
        .mark_applied_through(Position::new(8))
        .await
        .expect("marked");
    assert!(store.applied(Position::new(4)).await.expect("applied"));
    assert!(store.applied(Position::new(8)).await.expect("applied"));
    assert!(!store.applied(Position::new(9)).await.expect("applied"));
    store.apply(&events[8..10]).await.expect("applied");
    assert_eq!(
        store.read_snapshot().position().await.expect("p"),
        Some(Position::new(10))
    );
    // A lower watermark never lowers it.
    store
        .mark_applied_through(Position::new(2))
        .await
        .expect("marked");
    assert!(store.applied(Position::new(7)).await.expect("applied"));
}

#[tokio::test]
async fn a_failing_publisher_leaves_events_for_a_later_relay() {
    let (_dir, store) = store().await;
    populate(&store).await;
    let mut failing = MockEventPublisher::new();
    failing
        .expect_publish()
        .times(1)
        .returning(|_| Err(PublishError::Unavailable(anyhow::anyhow!("broker down"))));
    let result = store.relay(5, Arc::new(failing)).await;
    assert!(
        matches!(
            result,
            Err(RelayError::Publish(PublishError::Unavailable(_)))
        ),
        "{result:?}"
    );
    assert_eq!(store.backlog().await.expect("backlog").events, 14);
    assert!(!store.applied(Position::new(1)).await.expect("applied"));
    assert_eq!(project(&store).await, 14);
    assert_eq!(store.backlog().await.expect("backlog").events, 0);
    assert!(
        diff(&store.write_snapshot(), &store.read_snapshot())
            .await
            .expect("diff")
            .is_empty()
    );
}

/// Counts what it is given, slowly, so that relays overlap.
#[derive(Default)]
struct SlowCounter {
    published: AtomicUsize,
}

#[async_trait]
impl EventPublisher for SlowCounter {
    async fn publish(&self, events: &[RecordedEvent]) -> Result<(), PublishError> {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        self.published.fetch_add(events.len(), Ordering::SeqCst);
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_relays_never_publish_an_event_twice() {
    let (_dir, store) = store().await;
    populate(&store).await;
    let counter = Arc::new(SlowCounter::default());
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let store = store.clone();
            let publisher: Arc<dyn EventPublisher> = counter.clone();
            tokio::spawn(async move {
                let mut sent = 0;
                loop {
                    let n = store.relay(3, publisher.clone()).await.expect("relay");
                    if n == 0 {
                        return sent;
                    }
                    sent += n;
                }
            })
        })
        .collect();
    let mut sent = 0;
    for task in tasks {
        sent += task.await.expect("the task ends");
    }
    assert_eq!(sent, 14);
    assert_eq!(counter.published.load(Ordering::SeqCst), 14);
}

#[tokio::test]
async fn the_data_survives_closing_and_reopening_the_file() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let before = {
        let store = SqliteStore::open(dir.path()).await.expect("open");
        populate(&store).await;
        project(&store).await;
        let write = state(&store.write_snapshot()).await;
        let read = state(&store.read_snapshot()).await;
        store.close().await;
        (write, read)
    };
    let store = SqliteStore::open(dir.path()).await.expect("reopen");
    assert_eq!(state(&store.write_snapshot()).await, before.0);
    assert_eq!(state(&store.read_snapshot()).await, before.1);
    assert_eq!(store.backlog().await.expect("backlog").events, 0);
    assert!(store.applied(Position::new(14)).await.expect("applied"));
    // It carries on where it was: the next purchase is the next position and version.
    let next = store
        .purchase(&purchase(orgnr(2), person_ref("p2"), "B-aksjer", 1), None)
        .await
        .expect("recorded");
    assert_eq!(next.position, Position::new(15));
}

#[tokio::test]
async fn a_rebuild_reproduces_the_projected_read_model() {
    let (_dir, store) = store().await;
    populate(&store).await;
    project(&store).await;
    let projected = state(&store.read_snapshot()).await;
    let report = rebuild(&store.write_snapshot(), &store, true, 4, &|_| {})
        .await
        .expect("rebuilt");
    assert_eq!(
        (report.companies, report.persons, report.holdings),
        (3, 3, 7)
    );
    assert_eq!(state(&store.read_snapshot()).await, projected);
    assert!(store.applied(Position::new(14)).await.expect("applied"));
    // An old event delivered late changes nothing.
    let capture = Arc::new(Recorder::default());
    let publisher: Arc<dyn EventPublisher> = capture.clone();
    let (_other_dir, other) = common::store().await;
    populate(&other).await;
    while other.relay(100, publisher.clone()).await.expect("relay") > 0 {}
    store.apply(&capture.events()[..8]).await.expect("applied");
    assert_eq!(state(&store.read_snapshot()).await, projected);
}

/// A document and an older copy of it: the older first for even `i`, last for odd.
fn either_order<T: Clone>(i: usize, current: &T, older: T) -> [T; 2] {
    if i % 2 == 0 {
        [older, current.clone()]
    } else {
        [current.clone(), older]
    }
}

/// A loaded batch is upserted many rows to a statement: each row still wins only with a newer
/// version, whether its older copy comes before it in the same statement, after it, or is
/// already in the read model.
#[tokio::test]
async fn a_batch_loaded_in_one_statement_keeps_the_newest_version_of_each_row() {
    let (_dir, store) = store().await;
    populate(&store).await;
    project(&store).await;
    let projected = state(&store.read_snapshot()).await;
    let current = state(&store.write_snapshot()).await;
    let mut batch = SnapshotBatch::default();
    for (i, company) in current.companies.iter().enumerate() {
        let mut older = company.clone();
        older.record.owner_count += 100;
        older.record.holding_count += 100;
        let (Some(version), Some(owner_version)) = (
            company.version.checked_sub(1),
            company.owner_version.checked_sub(1),
        ) else {
            batch.companies.push(company.clone());
            continue;
        };
        (older.version, older.owner_version) = (version, owner_version);
        batch.companies.extend(either_order(i, company, older));
    }
    for (i, person) in current.persons.iter().enumerate() {
        let mut older = person.clone();
        older.record.holding_count += 100;
        let Some(owner_version) = person.owner_version.checked_sub(1) else {
            batch.persons.push(person.clone());
            continue;
        };
        older.owner_version = owner_version;
        batch.persons.extend(either_order(i, person, older));
    }
    for (i, holding) in current.holdings.iter().enumerate() {
        let mut older = holding.clone();
        older.record.classes[0].shares += 1_000;
        older.version = holding.version - 1;
        batch.holdings.extend(either_order(i, holding, older));
    }
    assert!(batch.companies.len() > current.companies.len());
    assert!(batch.persons.len() > current.persons.len());
    assert_eq!(batch.holdings.len(), 2 * current.holdings.len());
    store.load(batch.clone()).await.expect("loaded");
    assert_eq!(state(&store.read_snapshot()).await, projected);
    // Into an empty read model too: the newer copy wins within the statement.
    store.clear().await.expect("cleared");
    store.load(batch).await.expect("loaded");
    let loaded = state(&store.read_snapshot()).await;
    assert_eq!(loaded.holdings, projected.holdings);
    assert_eq!(loaded.companies, projected.companies);
    assert_eq!(loaded.persons, projected.persons);
}

/// The live holdings' secondary indexes, as the file has them now.
async fn holdings_indexes(dir: &std::path::Path) -> Vec<String> {
    let mut conn = sqlx::SqliteConnection::connect(&format!(
        "sqlite://{}",
        dir.join("shareholders.db").display()
    ))
    .await
    .expect("a second connection");
    sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'read_holdings' \
         AND sql IS NOT NULL ORDER BY name",
    )
    .fetch_all(&mut conn)
    .await
    .expect("the indexes")
}

/// A cleared read model is loaded without its holdings' secondary indexes, which are built
/// once the load ends, or when the file is opened again after a load that never ended.
#[tokio::test]
async fn the_holdings_are_indexed_again_after_a_load_and_after_a_load_that_stopped() {
    let (dir, store) = store().await;
    populate(&store).await;
    let indexed = ["read_holdings_by_company", "read_holdings_by_owner"];
    assert_eq!(holdings_indexes(dir.path()).await, indexed);
    rebuild(&store.write_snapshot(), &store, true, 4, &|_| {})
        .await
        .expect("rebuilt");
    assert_eq!(holdings_indexes(dir.path()).await, indexed);
    store.clear().await.expect("cleared");
    assert!(holdings_indexes(dir.path()).await.is_empty());
    store.close().await;
    let reopened = SqliteStore::open(dir.path()).await.expect("reopened");
    assert_eq!(holdings_indexes(dir.path()).await, indexed);
    // The owners' pages still come in their order.
    project(&reopened).await;
    let owners = reopened
        .owners(orgnr(1), page(1, 10))
        .await
        .expect("owners")
        .into_iter()
        .map(|h| h.owner.owner)
        .collect::<Vec<_>>();
    assert_eq!(owners, [person_ref("p2"), person_ref("p1")]);
}

#[tokio::test]
async fn the_backlog_says_when_its_oldest_event_was_recorded() {
    let (dir, store) = store().await;
    assert_eq!(
        store.backlog().await.expect("backlog"),
        OutboxBacklog::default()
    );
    // Stored to the millisecond: the bounds are widened to it.
    let before = SystemTime::now() - Duration::from_millis(1);
    store
        .register_organisation(&organisation(orgnr(1), "TVIST 1 AS", Some(10)), None)
        .await
        .expect("registered");
    let between = SystemTime::now();
    tokio::time::sleep(Duration::from_millis(5)).await;
    store
        .register_person(&person("p1", "HAGEN STEIN ERIK", "NO"), None)
        .await
        .expect("registered");
    let after = SystemTime::now();

    let backlog = store.backlog().await.expect("backlog");
    assert_eq!(backlog.events, 2);
    let oldest = backlog.oldest_recorded_at.expect("a recorded time");
    assert!(before <= oldest && oldest <= between, "{oldest:?}");

    let capture = Arc::new(Recorder::default());
    assert_eq!(store.relay(1, capture.clone()).await.expect("relayed"), 1);
    let backlog = store.backlog().await.expect("backlog");
    assert_eq!(backlog.events, 1);
    let oldest = backlog.oldest_recorded_at.expect("a recorded time");
    assert!(between - Duration::from_millis(1) <= oldest && oldest <= after);
    let relayed = capture.events();
    let recorded_at = relayed[0].recorded_at.expect("the event carries its time");
    assert!(before <= recorded_at && recorded_at <= between);

    // A row from before the outbox kept a time counts, but has no age.
    let mut conn = sqlx::SqliteConnection::connect(&format!(
        "sqlite://{}",
        dir.path().join("shareholders.db").display()
    ))
    .await
    .expect("a second connection");
    sqlx::query("UPDATE outbox SET recorded_at_ms = NULL")
        .execute(&mut conn)
        .await
        .expect("the time is forgotten");
    assert_eq!(
        store.backlog().await.expect("backlog"),
        OutboxBacklog {
            events: 1,
            oldest_recorded_at: None
        }
    );
    store.relay(10, capture.clone()).await.expect("relayed");
    assert_eq!(capture.events()[1].recorded_at, None);
}
