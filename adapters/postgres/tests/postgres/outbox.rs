//! The relay: exactly-once hand-over between concurrent relays, nothing lost on failure.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use shareholders_ports::{Outbox as _, OutboxBacklog, RelayError, WriteStore as _};
use shareholders_postgres::PostgresStore;

use crate::common::{Recorder, TestDb, organisation, orgnr};

async fn register_many(store: &PostgresStore, n: u32) {
    for i in 0..n {
        store
            .register_organisation(&organisation(orgnr(i), "MANY AS", None), None)
            .await
            .expect("registered");
    }
}

#[tokio::test]
async fn two_relays_publish_every_event_exactly_once() {
    let db = TestDb::new().await;
    register_many(&db.store, 120).await;
    let first = Arc::new(Recorder::slow(Duration::from_millis(5)));
    let second = Arc::new(Recorder::slow(Duration::from_millis(5)));
    let run = |store: PostgresStore, recorder: Arc<Recorder>| async move {
        let mut rounds = 0;
        while store.relay(7, recorder.clone()).await.expect("relay") > 0 {
            rounds += 1;
        }
        rounds
    };
    let (a, b) = tokio::join!(
        run(db.store.clone(), first.clone()),
        run(db.store.clone(), second.clone())
    );
    assert!(a > 0 && b > 0, "both relays took part ({a}, {b})");
    let mut all: Vec<u64> = first
        .events()
        .iter()
        .chain(second.events().iter())
        .map(|e| e.position.get())
        .collect();
    all.sort_unstable();
    let distinct: BTreeSet<u64> = all.iter().copied().collect();
    assert_eq!(all.len(), 120, "no event published twice");
    assert_eq!(distinct.len(), 120);
    assert_eq!(db.store.backlog().await.expect("backlog").events, 0);
}

#[tokio::test]
async fn a_failing_publisher_leaves_the_events_unpublished() {
    let db = TestDb::new().await;
    register_many(&db.store, 5).await;
    let failing = Arc::new(Recorder::failing());
    let result = db.store.relay(3, failing.clone()).await;
    assert!(matches!(result, Err(RelayError::Publish(_))));
    assert_eq!(db.store.backlog().await.expect("backlog").events, 5);

    let working = Arc::new(Recorder::default());
    assert_eq!(db.store.relay(3, working.clone()).await.expect("relay"), 3);
    assert_eq!(db.store.relay(3, working.clone()).await.expect("relay"), 2);
    assert_eq!(db.store.relay(3, working.clone()).await.expect("relay"), 0);
    let positions: Vec<u64> = working.events().iter().map(|e| e.position.get()).collect();
    assert_eq!(positions, [1, 2, 3, 4, 5]);
    assert_eq!(db.store.backlog().await.expect("backlog").events, 0);
}

#[tokio::test]
async fn the_backlog_says_when_its_oldest_event_was_recorded() {
    let db = TestDb::new().await;
    assert_eq!(
        db.store.backlog().await.expect("backlog"),
        OutboxBacklog::default()
    );
    // Kept to the millisecond (rounded): the bounds are widened by one.
    let millisecond = Duration::from_millis(1);
    let before = SystemTime::now() - millisecond;
    register_many(&db.store, 1).await;
    let between = SystemTime::now() + millisecond;
    tokio::time::sleep(Duration::from_millis(5)).await;
    let second = SystemTime::now() - millisecond;
    db.store
        .register_organisation(&organisation(orgnr(7), "LATER AS", None), None)
        .await
        .expect("registered");
    let after = SystemTime::now() + millisecond;

    let backlog = db.store.backlog().await.expect("backlog");
    assert_eq!(backlog.events, 2);
    let oldest = backlog.oldest_recorded_at.expect("a recorded time");
    assert!(before <= oldest && oldest <= between, "{oldest:?}");

    let recorder = Arc::new(Recorder::default());
    assert_eq!(db.store.relay(1, recorder.clone()).await.expect("relay"), 1);
    let recorded_at = recorder.events()[0]
        .recorded_at
        .expect("the event carries its time");
    assert!(before <= recorded_at && recorded_at <= between);
    let backlog = db.store.backlog().await.expect("backlog");
    assert_eq!(backlog.events, 1);
    let oldest = backlog.oldest_recorded_at.expect("a recorded time");
    assert!(second <= oldest && oldest <= after, "{oldest:?}");
}
