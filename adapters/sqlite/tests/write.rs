//! The write model against a real SQLite file.

mod common;

use std::sync::Arc;

use common::*;
use shareholders_domain::{ClassShares, Event, OwnerRef, PurchaseRefused, SharesPurchased};
use shareholders_ports::{
    EventPublisher, Idempotency, IdempotencyKey, Outbox, PurchaseError, RegisterError,
    Snapshot as _, WriteStore,
};
use shareholders_sqlite::SqliteStore;

fn key(k: &str, fingerprint: &str) -> Option<Idempotency> {
    Some(Idempotency {
        key: IdempotencyKey::parse(k).expect("a valid key"),
        fingerprint: fingerprint.to_owned(),
    })
}

fn classes(pairs: &[(&str, u64)]) -> Vec<ClassShares> {
    pairs
        .iter()
        .map(|(c, n)| ClassShares {
            share_class: class(c),
            shares: *n,
        })
        .collect()
}

async fn purchased_events(store: &SqliteStore) -> Vec<SharesPurchased> {
    let capture = Arc::new(Recorder::default());
    let publisher: Arc<dyn EventPublisher> = capture.clone();
    while store.relay(100, publisher.clone()).await.expect("relay") > 0 {}
    capture
        .events()
        .into_iter()
        .filter_map(|recorded| match recorded.event {
            Event::SharesPurchased(e) => Some(*e),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn a_duplicate_orgnr_or_person_id_is_refused_and_nothing_is_recorded() {
    let (_dir, store) = store().await;
    let company = organisation(orgnr(1), "TVIST 1 AS", Some(120));
    let first = store
        .register_organisation(&company, None)
        .await
        .expect("registered");
    assert!(!first.replayed);
    let again = store.register_organisation(&company, None).await;
    assert!(
        matches!(again, Err(RegisterError::OrganisationExists(nr)) if nr == orgnr(1)),
        "{again:?}"
    );
    let someone = person("p1", "HAGEN STEIN ERIK", "NO");
    store
        .register_person(&someone, None)
        .await
        .expect("registered");
    let again = store.register_person(&someone, None).await;
    assert!(
        matches!(&again, Err(RegisterError::PersonExists(id)) if id == "p1"),
        "{again:?}"
    );
    assert_eq!(store.backlog().await.expect("backlog").events, 2);
}

#[tokio::test]
async fn unknown_companies_and_owners_are_refused() {
    let (_dir, store) = store().await;
    store
        .register_organisation(&organisation(orgnr(1), "TVIST 1 AS", None), None)
        .await
        .expect("registered");
    let unknown_company = store
        .purchase(
            &purchase(orgnr(2), OwnerRef::Organisation(orgnr(1)), "A", 1),
            None,
        )
        .await;
    assert!(
        matches!(unknown_company, Err(PurchaseError::UnknownCompany(nr)) if nr == orgnr(2)),
        "{unknown_company:?}"
    );
    let unknown_person = store
        .purchase(&purchase(orgnr(1), person_ref("nobody"), "A", 1), None)
        .await;
    assert!(
        matches!(&unknown_person, Err(PurchaseError::UnknownOwner(o)) if *o == person_ref("nobody")),
        "{unknown_person:?}"
    );
    let unknown_org = store
        .purchase(
            &purchase(orgnr(1), OwnerRef::Organisation(orgnr(3)), "A", 1),
            None,
        )
        .await;
    assert!(
        matches!(&unknown_org, Err(PurchaseError::UnknownOwner(OwnerRef::Organisation(nr))) if *nr == orgnr(3)),
        "{unknown_org:?}"
    );
    assert_eq!(store.backlog().await.expect("backlog").events, 1);
}

#[tokio::test]
async fn a_purchase_past_the_declared_total_is_refused_and_changes_nothing() {
    let (_dir, store) = store().await;
    store
        .register_organisation(&organisation(orgnr(1), "TVIST 1 AS", Some(120)), None)
        .await
        .expect("registered");
    store
        .register_person(&person("p1", "HAGEN STEIN ERIK", "NO"), None)
        .await
        .expect("registered");
    store
        .purchase(&purchase(orgnr(1), person_ref("p1"), "A", 100), None)
        .await
        .expect("within the total");
    let before = state(&store.write_snapshot()).await;
    let refused = store
        .purchase(&purchase(orgnr(1), person_ref("p1"), "B", 21), None)
        .await;
    assert!(
        matches!(
            refused,
            Err(PurchaseError::Refused(PurchaseRefused::ExceedsIssued {
                issued: 120,
                registered: 100,
                requested: 21
            }))
        ),
        "{refused:?}"
    );
    assert_eq!(state(&store.write_snapshot()).await, before);
    assert_eq!(store.backlog().await.expect("backlog").events, 3);
    store
        .purchase(&purchase(orgnr(1), person_ref("p1"), "B", 20), None)
        .await
        .expect("exactly the total");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_purchases_never_exceed_a_declared_total() {
    let (dir, store) = store().await;
    // A second store on the same file: its writes serialise with the first's through
    // SQLite's own lock (BEGIN IMMEDIATE), not through the in-process mutex.
    let other = SqliteStore::open(dir.path()).await.expect("open again");
    store
        .register_organisation(&organisation(orgnr(1), "TVIST 1 AS", Some(100)), None)
        .await
        .expect("registered");
    for i in 0..50 {
        store
            .register_person(&person(&format!("p{i}"), "HAGEN STEIN ERIK", "NO"), None)
            .await
            .expect("registered");
    }
    let mut tasks = Vec::new();
    for i in 0..50 {
        let writer = if i % 2 == 0 {
            store.clone()
        } else {
            other.clone()
        };
        tasks.push(tokio::spawn(async move {
            writer
                .purchase(
                    &purchase(orgnr(1), person_ref(&format!("p{i}")), "A", 3),
                    None,
                )
                .await
        }));
    }
    let mut accepted = 0;
    let mut refused = 0;
    for task in tasks {
        match task.await.expect("the task ends") {
            Ok(_) => accepted += 1,
            Err(PurchaseError::Refused(PurchaseRefused::ExceedsIssued { .. })) => refused += 1,
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((accepted, refused), (33, 17));
    let companies = state(&store.write_snapshot()).await.companies;
    let company = companies
        .iter()
        .find(|c| c.record.organisation.orgnr() == orgnr(1))
        .expect("the company");
    assert_eq!(company.record.registered_shares, 99);
    assert_eq!(company.record.owner_count, 33);
    assert_eq!(company.version, 33);
    let holdings = state(&store.write_snapshot()).await.holdings;
    assert_eq!(holdings.iter().map(|h| h.record.shares()).sum::<u64>(), 99);
    // Every accepted purchase has its own event and a distinct company version.
    let events = purchased_events(&store).await;
    let mut versions: Vec<u64> = events.iter().map(|e| e.company_state.version).collect();
    versions.sort_unstable();
    assert_eq!(versions, (1..=33).collect::<Vec<_>>());
}

#[tokio::test]
async fn purchases_of_one_owner_add_up_and_the_event_carries_the_state_after() {
    let (_dir, store) = store().await;
    store
        .register_organisation(&organisation(orgnr(1), "TVIST 1 AS", Some(120)), None)
        .await
        .expect("registered");
    store
        .register_person(&person("p1", "HAGEN STEIN ERIK", "NO"), None)
        .await
        .expect("registered");
    store
        .register_person(&person("p2", "KJOS CAROLINE", "CHE"), None)
        .await
        .expect("registered");
    for purchase in [
        purchase(orgnr(1), person_ref("p1"), "B-aksjer", 3),
        purchase(orgnr(1), person_ref("p1"), "B-aksjer", 4),
        purchase(orgnr(1), person_ref("p2"), "A-aksjer", 10),
        purchase(orgnr(1), person_ref("p1"), "A-aksjer", 5),
    ] {
        store.purchase(&purchase, None).await.expect("recorded");
    }
    let events = purchased_events(&store).await;
    assert_eq!(events.len(), 4);
    let second = &events[1];
    assert_eq!(second.holding, classes(&[("B-aksjer", 7)]));
    assert_eq!(second.owner_state.version, 1);
    assert_eq!(second.owner_state.holding_count, 1);
    let third = &events[2];
    assert_eq!(third.company_state.foreign_owner_count, 1);
    assert_eq!(third.owner.country, country("CH"));
    let last = &events[3];
    assert_eq!(last.holding, classes(&[("A-aksjer", 5), ("B-aksjer", 7)]));
    assert_eq!(last.company_state.version, 4);
    assert_eq!(last.company_state.registered_shares, 22);
    assert_eq!(last.company_state.owner_count, 2);
    assert_eq!(last.company_state.foreign_owner_count, 1);
    assert_eq!(
        last.company_state.classes,
        classes(&[("A-aksjer", 15), ("B-aksjer", 7)])
    );
    assert_eq!(last.owner_state.version, 1);
    assert_eq!(last.owner_state.holding_count, 1);
    assert_eq!(last.company.total_shares, Some(shares(120)));
    assert!(last.purchase_id > events[2].purchase_id);
}

#[tokio::test]
async fn a_company_may_hold_its_own_shares() {
    let (_dir, store) = store().await;
    store
        .register_organisation(&organisation(orgnr(1), "TVIST 1 AS", Some(120)), None)
        .await
        .expect("registered");
    let treasury = purchase(orgnr(1), OwnerRef::Organisation(orgnr(1)), "A", 20);
    assert!(treasury.is_treasury());
    store.purchase(&treasury, None).await.expect("recorded");
    let events = purchased_events(&store).await;
    let event = &events[0];
    assert_eq!(event.company_state.owner_count, 1);
    assert_eq!(event.company_state.registered_shares, 20);
    assert_eq!(event.owner_state.holding_count, 1);
    assert_eq!(event.owner_state.version, 1);
    let companies = state(&store.write_snapshot()).await.companies;
    assert_eq!(companies[0].record.holding_count, 1);
    assert_eq!(companies[0].record.owner_count, 1);
}

#[tokio::test]
async fn an_idempotency_key_replays_its_first_result_and_refuses_another_request() {
    let (_dir, store) = store().await;
    let company = organisation(orgnr(1), "TVIST 1 AS", Some(120));
    let first = store
        .register_organisation(&company, key("org-1", "f-org"))
        .await
        .expect("registered");
    let replay = store
        .register_organisation(&company, key("org-1", "f-org"))
        .await
        .expect("replayed");
    assert_eq!(
        (replay.value, replay.position, replay.replayed),
        (company.clone(), first.position, true)
    );
    store
        .register_person(&person("p1", "HAGEN STEIN ERIK", "NO"), key("p-1", "f-p"))
        .await
        .expect("registered");
    let first = purchase(orgnr(1), person_ref("p1"), "A", 3);
    let bought = store
        .purchase(&first, key("buy-1", "f-buy"))
        .await
        .expect("bought");
    assert!(!bought.replayed);
    let before = state(&store.write_snapshot()).await;
    let backlog = store.backlog().await.expect("backlog");
    let again = store
        .purchase(&first, key("buy-1", "f-buy"))
        .await
        .expect("replayed");
    assert_eq!(again.value, bought.value);
    assert_eq!(again.position, bought.position);
    assert!(again.replayed);
    assert_eq!(state(&store.write_snapshot()).await, before);
    assert_eq!(store.backlog().await.expect("backlog"), backlog);
    assert_eq!(
        store.write_snapshot().position().await.expect("position"),
        Some(bought.position)
    );

    let reused = store
        .purchase(
            &purchase(orgnr(1), person_ref("p1"), "A", 4),
            key("buy-1", "another"),
        )
        .await;
    assert!(
        matches!(reused, Err(PurchaseError::IdempotencyKeyReused)),
        "{reused:?}"
    );
    let reused = store
        .register_organisation(
            &organisation(orgnr(2), "OTHER AS", None),
            key("org-1", "another"),
        )
        .await;
    assert!(
        matches!(reused, Err(RegisterError::IdempotencyKeyReused)),
        "{reused:?}"
    );
    // A key first used for a purchase, replayed as a registration, is not the same request.
    let crossed = store
        .register_organisation(&company, key("buy-1", "f-buy"))
        .await;
    assert!(
        matches!(crossed, Err(RegisterError::IdempotencyKeyReused)),
        "{crossed:?}"
    );
    assert_eq!(state(&store.write_snapshot()).await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_requests_with_one_key_take_effect_once() {
    let (_dir, store) = store().await;
    store
        .register_organisation(&organisation(orgnr(1), "TVIST 1 AS", None), None)
        .await
        .expect("registered");
    store
        .register_person(&person("p1", "HAGEN STEIN ERIK", "NO"), None)
        .await
        .expect("registered");
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .purchase(&purchase(orgnr(1), person_ref("p1"), "A", 5), key("k", "f"))
                    .await
                    .expect("recorded or replayed")
            })
        })
        .collect();
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.expect("the task ends"));
    }
    assert_eq!(results.iter().filter(|r| !r.replayed).count(), 1);
    assert!(results.iter().all(|r| r.position == results[0].position));
    let holdings = state(&store.write_snapshot()).await.holdings;
    assert_eq!(holdings[0].record.shares(), 5);
}

#[tokio::test]
async fn the_last_position_is_the_largest_given() {
    let (_dir, store) = store().await;
    shareholders_ports::conformance::write::the_last_position_is_the_largest_given(&store).await;
}
