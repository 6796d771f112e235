//! Retention: what a store prunes, and what it must keep ([`crate::retention`]).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use shareholders_domain::{Event, Organisation, Position, RecordedEvent};

use crate::conformance::years::company;
use crate::{
    AppliedRetention, EventPublisher, Idempotency, IdempotencyKey, Outbox, Projection,
    PublishError, ReadStore, Recorded, RegisterError, WriteRetention, WriteStore,
};

/// A publisher that confirms everything.
struct Confirming;

#[async_trait]
impl EventPublisher for Confirming {
    async fn publish(&self, _events: &[RecordedEvent]) -> Result<(), PublishError> {
        Ok(())
    }
}

/// A cutoff with time on both sides of it, so that the stores' clocks (a millisecond in
/// SQLite, the server's in PostgreSQL) put everything before it before and everything after
/// it after.
async fn cutoff() -> SystemTime {
    tokio::time::sleep(Duration::from_millis(30)).await;
    let now = SystemTime::now();
    tokio::time::sleep(Duration::from_millis(30)).await;
    now
}

fn key(key: &str, request: &str) -> Option<Idempotency> {
    Some(Idempotency {
        key: IdempotencyKey::parse(key).expect("a key"),
        fingerprint: request.to_owned(),
    })
}

/// Registers `organisation` again with the key and request it was first registered with: the
/// answer is the first one, replayed.
async fn assert_replays(
    store: &dyn WriteStore,
    organisation: &Organisation,
    key_used: &str,
    request: &str,
    first: &Recorded<Organisation>,
) {
    let replay = store
        .register_organisation(organisation, key(key_used, request))
        .await
        .expect("replayed within the retention");
    assert!(replay.replayed, "{key_used} replays");
    assert_eq!(replay.position, first.position);
    assert_eq!(replay.value, first.value);
}

async fn relay_all(store: &dyn Outbox) -> usize {
    store
        .relay(100, Arc::new(Confirming))
        .await
        .expect("relayed")
}

/// Published outbox events go once published before the cutoff, and idempotency keys once
/// first used before theirs, at most `limit` per call; unpublished events, events published
/// later and events a kept key refers to stay; a key replays until it goes, and a repeat is a
/// new request after.
pub async fn published_events_and_idempotency_keys_go_after_their_retention<S>(store: &S)
where
    S: WriteStore + Outbox + WriteRetention,
{
    let first = store
        .register_organisation(&company(1, "ALFA AS", 100), key("first", "alfa"))
        .await
        .expect("registered");
    for n in 2..=4 {
        store
            .register_organisation(&company(n, "BETA AS", 100), None)
            .await
            .expect("registered");
    }
    let keys_before = cutoff().await;
    let kept = store
        .register_organisation(&company(5, "GAMMA AS", 100), key("kept", "gamma"))
        .await
        .expect("registered");
    assert_eq!(relay_all(store).await, 5);
    store
        .register_organisation(&company(6, "DELTA AS", 100), None)
        .await
        .expect("registered, and left unpublished for now");
    let outbox_before = cutoff().await;
    store
        .register_organisation(&company(7, "EPSILON AS", 100), None)
        .await
        .expect("registered");
    assert_eq!(relay_all(store).await, 2, "both published after the cutoff");
    store
        .register_organisation(&company(8, "ZETA AS", 100), None)
        .await
        .expect("registered, never published");
    let last = store.last_position().await.expect("read");

    // Both keys are kept, so only the three events without a key go, at most two at a time.
    assert_eq!(
        store.prune_outbox(outbox_before, 2).await.expect("pruned"),
        2
    );
    assert_eq!(
        store.prune_outbox(outbox_before, 2).await.expect("pruned"),
        1
    );
    assert_eq!(
        store.prune_outbox(outbox_before, 2).await.expect("pruned"),
        0
    );
    assert_eq!(
        store.last_position().await.expect("read"),
        last,
        "a pruned position is never given again"
    );
    assert_eq!(store.backlog().await.expect("read").events, 1);
    assert_replays(store, &company(1, "ALFA AS", 100), "first", "alfa", &first).await;

    let keys = |limit| store.prune_idempotency_keys(keys_before, limit);
    assert_eq!(keys(1).await.expect("pruned"), 1);
    assert_eq!(
        keys(1).await.expect("pruned"),
        0,
        "the key first used after the cutoff stays"
    );
    assert!(
        matches!(
            store
                .register_organisation(&company(1, "ALFA AS", 100), key("first", "alfa"))
                .await,
            Err(RegisterError::OrganisationExists(_))
        ),
        "past its retention, a repeat is a new request"
    );
    assert_replays(store, &company(5, "GAMMA AS", 100), "kept", "gamma", &kept).await;

    // The first event goes with its key; the kept key's event, the events published after the
    // cutoff and the unpublished one stay.
    assert_eq!(
        store.prune_outbox(outbox_before, 10).await.expect("pruned"),
        1
    );
    assert_eq!(
        store.prune_outbox(outbox_before, 10).await.expect("pruned"),
        0
    );
    assert_eq!(store.backlog().await.expect("read").events, 1);
    let later = cutoff().await;
    assert_eq!(
        store.prune_outbox(later, 10).await.expect("pruned"),
        2,
        "every published event without a kept key, once the cutoff passes it"
    );
    assert_eq!(
        store.backlog().await.expect("read").events,
        1,
        "the unpublished event stays"
    );
    assert_eq!(relay_all(store).await, 1, "and is still relayed");
}

fn registered(n: u32) -> RecordedEvent {
    RecordedEvent {
        position: Position::new(u64::from(n)),
        event: Event::OrganisationRegistered(company(n, "ETA AS", 100)),
        recorded_at: None,
    }
}

async fn applied(store: &dyn ReadStore, n: u64) -> bool {
    store.applied(Position::new(n)).await.expect("read")
}

/// Applied positions go once an event applied before the cutoff raised the watermark over
/// them, at most `limit` per call, and every applied event is still answered as applied.
pub async fn applied_positions_go_after_their_retention<S>(store: &S)
where
    S: Projection + ReadStore + AppliedRetention,
{
    // Position 4 never arrives (a rolled-back position, or an event dead-lettered).
    for n in [1, 2, 3, 5] {
        store.apply(&[registered(n)]).await.expect("applied");
    }
    let before = cutoff().await;
    store.apply(&[registered(7)]).await.expect("applied");
    for n in [1, 2, 3, 5, 7] {
        assert!(applied(store, n).await, "{n} is applied");
    }
    assert!(!applied(store, 4).await);

    assert_eq!(store.prune_applied(before, 3).await.expect("pruned"), 3);
    assert_eq!(store.prune_applied(before, 3).await.expect("pruned"), 1);
    assert_eq!(store.prune_applied(before, 3).await.expect("pruned"), 0);
    for n in [1, 2, 3, 5, 7] {
        assert!(applied(store, n).await, "{n} is still applied once pruned");
    }
    assert!(
        applied(store, 4).await,
        "a position below one applied before the cutoff is not coming"
    );
    assert!(!applied(store, 6).await, "6 may still come");
    assert!(!applied(store, 8).await);

    let later = cutoff().await;
    assert_eq!(store.prune_applied(later, 3).await.expect("pruned"), 1);
    assert!(applied(store, 7).await);
    assert!(applied(store, 6).await);
    assert!(!applied(store, 8).await);
    store.apply(&[registered(8)]).await.expect("applied");
    assert!(applied(store, 8).await, "applied after pruning, answered");
}
