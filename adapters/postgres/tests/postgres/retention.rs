//! Retention against a real PostgreSQL: the ports' conformance scenario, and replays
//! against the retention task.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use shareholders_ports::{
    Idempotency, IdempotencyKey, Outbox as _, WriteRetention as _, WriteStore as _,
};
use sqlx::Connection as _;

use crate::common::{Recorder, TestDb, organisation, orgnr};

#[tokio::test]
async fn published_events_and_idempotency_keys_go_after_their_retention() {
    let db = TestDb::new().await;
    shareholders_ports::conformance::retention::published_events_and_idempotency_keys_go_after_their_retention(&db.store).await;
}

/// A replay locks its key `FOR SHARE` while it reads the event; the retention task skips a
/// locked key (and so keeps its event) instead of waiting for it or pulling the event away.
#[tokio::test]
async fn a_key_being_replayed_is_neither_pruned_nor_waited_for() {
    let db = TestDb::new().await;
    let idempotency = Idempotency {
        key: IdempotencyKey::parse("replayed").expect("a key"),
        fingerprint: "request".into(),
    };
    db.store
        .register_organisation(&organisation(orgnr(1), "ALFA AS", None), Some(idempotency))
        .await
        .expect("registered");
    let recorder = Arc::new(Recorder::default());
    assert_eq!(db.store.relay(10, recorder).await.expect("relayed"), 1);
    let later = SystemTime::now() + Duration::from_secs(60);

    let mut replay = sqlx::PgConnection::connect(&db.url).await.expect("connect");
    let mut tx = replay.begin().await.expect("begin");
    sqlx::query("SELECT 1 FROM idempotency_keys WHERE key = 'replayed' FOR SHARE")
        .execute(&mut *tx)
        .await
        .expect("locked as a replay locks it");
    let pruning = tokio::time::timeout(Duration::from_secs(5), async {
        (
            db.store
                .prune_idempotency_keys(later, 10)
                .await
                .expect("pruned"),
            db.store.prune_outbox(later, 10).await.expect("pruned"),
        )
    })
    .await
    .expect("the retention task does not wait for the replay");
    assert_eq!(pruning, (0, 0), "the key and its event stay while replayed");
    tx.commit().await.expect("commit");

    assert_eq!(
        db.store
            .prune_idempotency_keys(later, 10)
            .await
            .expect("pruned"),
        1
    );
    assert_eq!(db.store.prune_outbox(later, 10).await.expect("pruned"), 1);
}
