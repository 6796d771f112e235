//! Commands: registration, purchases and their rules, idempotency, concurrency.

use std::sync::Arc;

use futures::future::join_all;
use rstest::rstest;
use shareholders_domain::{Event, OwnerRef, PurchaseRefused};
use shareholders_ports::{
    Idempotency, IdempotencyKey, Outbox as _, PurchaseError, RegisterError, WriteStore as _,
};

use crate::common::{
    Recorder, TestDb, class, org_ref, organisation, orgnr, person, person_ref, purchase, state,
};

fn key(k: &str, fingerprint: &str) -> Option<Idempotency> {
    Some(Idempotency {
        key: IdempotencyKey::parse(k).expect("valid key"),
        fingerprint: fingerprint.to_owned(),
    })
}

#[tokio::test]
async fn a_taken_orgnr_or_person_id_is_refused_and_nothing_is_recorded() {
    let db = TestDb::new().await;
    let store = &db.store;
    let nr = orgnr(1);
    let first = store
        .register_organisation(&organisation(nr, "FIRST AS", Some(100)), None)
        .await
        .expect("registered");
    assert!(!first.replayed);
    let again = store
        .register_organisation(&organisation(nr, "SECOND AS", None), None)
        .await;
    assert!(matches!(again, Err(RegisterError::OrganisationExists(n)) if n == nr));
    store
        .register_person(&person("p1", "HAGEN STEIN", "NO"), None)
        .await
        .expect("registered");
    let again = store
        .register_person(&person("p1", "OTHER NAME", "NO"), None)
        .await;
    assert!(matches!(again, Err(RegisterError::PersonExists(id)) if id == "p1"));

    assert_eq!(store.backlog().await.expect("backlog").events, 2);
    let state = state(store).await;
    assert_eq!(state.companies.len(), 1);
    assert_eq!(
        state.company(nr).record.organisation.name().as_str(),
        "FIRST AS"
    );
    assert_eq!(
        state.person("p1").record.person.name().as_str(),
        "HAGEN STEIN"
    );
}

#[rstest]
#[case::unknown_company(false, true)]
#[case::unknown_owner(true, false)]
#[tokio::test]
async fn unknown_parties_are_refused(#[case] company_known: bool, #[case] owner_known: bool) {
    let db = TestDb::new().await;
    let store = &db.store;
    let (company, owner) = (orgnr(1), orgnr(2));
    if company_known {
        store
            .register_organisation(&organisation(company, "ISSUER AS", None), None)
            .await
            .expect("registered");
    }
    if owner_known {
        store
            .register_organisation(&organisation(owner, "OWNER AS", None), None)
            .await
            .expect("registered");
    }
    let backlog = store.backlog().await.expect("backlog");
    let result = store
        .purchase(&purchase(company, org_ref(owner), "A", 5), None)
        .await;
    match result {
        Err(PurchaseError::UnknownCompany(nr)) => {
            assert!(!company_known);
            assert_eq!(nr, company);
        }
        Err(PurchaseError::UnknownOwner(o)) => {
            assert!(company_known && !owner_known);
            assert_eq!(o, org_ref(owner));
        }
        other => panic!("expected an unknown party, got {other:?}"),
    }
    // An unknown person too.
    if company_known {
        let result = store
            .purchase(&purchase(company, person_ref("nobody"), "A", 5), None)
            .await;
        assert!(matches!(result, Err(PurchaseError::UnknownOwner(_))));
    }
    assert_eq!(store.backlog().await.expect("backlog"), backlog);
    assert!(state(store).await.holdings.is_empty());
}

#[tokio::test]
async fn purchases_past_the_declared_total_are_refused() {
    let db = TestDb::new().await;
    let store = &db.store;
    let (company, owner) = (orgnr(1), orgnr(2));
    store
        .register_organisation(&organisation(company, "ISSUER AS", Some(100)), None)
        .await
        .expect("registered");
    store
        .register_organisation(&organisation(owner, "OWNER AS", None), None)
        .await
        .expect("registered");
    store
        .purchase(&purchase(company, org_ref(owner), "A", 60), None)
        .await
        .expect("within the total");
    let refused = store
        .purchase(&purchase(company, org_ref(owner), "B", 41), None)
        .await;
    assert!(matches!(
        refused,
        Err(PurchaseError::Refused(PurchaseRefused::ExceedsIssued {
            issued: 100,
            registered: 60,
            requested: 41
        }))
    ));
    store
        .purchase(&purchase(company, org_ref(owner), "B", 40), None)
        .await
        .expect("exactly the total");
    let state = state(store).await;
    let c = state.company(company);
    assert_eq!(c.record.registered_shares, 100);
    assert_eq!(c.version, 2);
    assert_eq!(store.backlog().await.expect("backlog").events, 4);
}

/// Purchases of two classes of one company, concurrently: each waits for the company's lock
/// while another commits. Every event must carry the classes as the purchases before it left
/// them (their sum is its registered total), and the last one what the write model holds.
#[tokio::test]
async fn concurrent_purchases_of_several_classes_carry_consistent_classes() {
    let db = TestDb::new().await;
    let store = &db.store;
    let company = orgnr(1);
    store
        .register_organisation(&organisation(company, "CLASSES AS", None), None)
        .await
        .expect("registered");
    for i in 0..8 {
        store
            .register_person(&person(&format!("p{i}"), "BUYER", "NO"), None)
            .await
            .expect("registered");
    }
    let results = join_all((0..80).map(|i| {
        let store = store.clone();
        async move {
            let class = if i % 2 == 0 { "A" } else { "B" };
            store
                .purchase(
                    &purchase(
                        company,
                        person_ref(&format!("p{}", i % 8)),
                        class,
                        1 + i % 3,
                    ),
                    None,
                )
                .await
        }
    }))
    .await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    let recorder = Arc::new(Recorder::default());
    store.relay(1000, recorder.clone()).await.expect("relay");
    let mut states: Vec<_> = recorder
        .events()
        .into_iter()
        .filter_map(|e| match e.event {
            Event::SharesPurchased(p) => Some(p.company_state),
            _ => None,
        })
        .collect();
    assert_eq!(states.len(), 80);
    for state in &states {
        let classes: u64 = state.classes.iter().map(|c| c.shares).sum();
        assert_eq!(
            classes, state.registered_shares,
            "version {}: classes {:?}",
            state.version, state.classes
        );
    }
    states.sort_by_key(|s| s.version);
    let last = states.last().expect("events");
    let written = state(store).await;
    let c = written.company(company);
    assert_eq!(last.registered_shares, c.record.registered_shares);
    assert_eq!(last.classes, c.record.classes);
}

#[tokio::test]
async fn concurrent_purchases_never_exceed_the_total() {
    let db = TestDb::new().await;
    let store = &db.store;
    let company = orgnr(1);
    store
        .register_organisation(&organisation(company, "SCARCE AS", Some(20)), None)
        .await
        .expect("registered");
    for i in 0..50 {
        store
            .register_person(&person(&format!("p{i:02}"), "BUYER", "NO"), None)
            .await
            .expect("registered");
    }
    let results = join_all((0..50).map(|i| {
        let store = store.clone();
        async move {
            store
                .purchase(
                    &purchase(company, person_ref(&format!("p{i:02}")), "A", 1),
                    None,
                )
                .await
        }
    }))
    .await;
    let succeeded = results.iter().filter(|r| r.is_ok()).count();
    let refused = results
        .iter()
        .filter(|r| {
            matches!(
                r,
                Err(PurchaseError::Refused(PurchaseRefused::ExceedsIssued {
                    issued: 20,
                    registered: 20,
                    requested: 1
                }))
            )
        })
        .count();
    assert_eq!((succeeded, refused), (20, 30), "{results:?}");
    let state = state(store).await;
    let c = state.company(company);
    assert_eq!(c.record.registered_shares, 20);
    assert_eq!(c.record.owner_count, 20);
    assert_eq!(c.version, 20);
    assert_eq!(state.holdings.len(), 20);
    // Every successful purchase's event carries a distinct version 1..=20.
    let recorder = Arc::new(Recorder::default());
    store.relay(1000, recorder.clone()).await.expect("relay");
    let mut versions: Vec<u64> = recorder
        .events()
        .into_iter()
        .filter_map(|e| match e.event {
            Event::SharesPurchased(p) => Some(p.company_state.version),
            _ => None,
        })
        .collect();
    versions.sort_unstable();
    assert_eq!(versions, (1..=20).collect::<Vec<_>>());
}

#[tokio::test]
async fn holdings_sum_per_class_and_counts_follow_new_holdings() {
    let db = TestDb::new().await;
    let store = &db.store;
    let (company, other) = (orgnr(1), orgnr(2));
    store
        .register_organisation(&organisation(company, "ISSUER AS", None), None)
        .await
        .expect("registered");
    store
        .register_organisation(&organisation(other, "OTHER AS", None), None)
        .await
        .expect("registered");
    store
        .register_person(&person("swiss", "KJOS CAROLINE", "CHE"), None)
        .await
        .expect("registered");
    let swiss = person_ref("swiss");
    for (c, class_name, n) in [
        (company, "B-aksjer", 10),
        (company, "A-aksjer", 3),
        (company, "B-aksjer", 7),
        (other, "Ordinære aksjer", 1),
    ] {
        store
            .purchase(&purchase(c, swiss.clone(), class_name, n), None)
            .await
            .expect("purchased");
    }
    let state = state(store).await;
    let c = state.company(company);
    assert_eq!(c.record.registered_shares, 20);
    assert_eq!((c.record.owner_count, c.record.foreign_owner_count), (1, 1));
    assert_eq!(c.version, 3);
    assert_eq!(
        c.record
            .classes
            .iter()
            .map(|k| (k.share_class.as_str(), k.shares))
            .collect::<Vec<_>>(),
        [("A-aksjer", 3), ("B-aksjer", 17)]
    );
    let holding = state.holding(company, &swiss).expect("a holding");
    assert_eq!(holding.record.shares(), 20);
    assert_eq!(holding.version, 3);
    assert_eq!(holding.record.company_registered_shares, 20);
    let p = state.person("swiss");
    assert_eq!(p.record.holding_count, 2);
    // The holding count changed twice: once per new company.
    assert_eq!(p.owner_version, 2);
}

#[tokio::test]
async fn a_company_may_hold_its_own_shares() {
    let db = TestDb::new().await;
    let store = &db.store;
    let company = orgnr(1);
    store
        .register_organisation(&organisation(company, "TREASURY AS", Some(10)), None)
        .await
        .expect("registered");
    let bought = store
        .purchase(&purchase(company, org_ref(company), "A", 4), None)
        .await
        .expect("treasury shares");
    assert!(bought.value.purchase.is_treasury());
    let state = state(store).await;
    let c = state.company(company);
    assert_eq!(c.record.owner_count, 1);
    assert_eq!(c.record.holding_count, 1);
    assert_eq!((c.version, c.owner_version), (1, 1));
    assert!(state.holding(company, &org_ref(company)).is_some());
}

#[tokio::test]
async fn companies_buying_each_other_concurrently_all_succeed() {
    let db = TestDb::new().await;
    let store = &db.store;
    let (a, b) = (orgnr(1), orgnr(2));
    for nr in [a, b] {
        store
            .register_organisation(&organisation(nr, "CROSS AS", None), None)
            .await
            .expect("registered");
    }
    let results = join_all((0..40).map(|i| {
        let store = store.clone();
        let (company, owner) = if i % 2 == 0 { (a, b) } else { (b, a) };
        let class_name = if i % 3 == 0 { "A" } else { "B" };
        async move {
            store
                .purchase(&purchase(company, org_ref(owner), class_name, 1), None)
                .await
        }
    }))
    .await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    let state = state(store).await;
    assert_eq!(state.company(a).record.registered_shares, 20);
    assert_eq!(state.company(b).record.registered_shares, 20);
    assert_eq!(state.company(a).record.holding_count, 1);
}

#[tokio::test]
async fn an_idempotency_key_replays_its_result_or_is_refused_for_another_request() {
    let db = TestDb::new().await;
    let store = &db.store;
    let company = orgnr(1);
    let first = store
        .register_organisation(
            &organisation(company, "ISSUER AS", None),
            key("org", "f-org"),
        )
        .await
        .expect("registered");
    let replay = store
        .register_organisation(
            &organisation(company, "ISSUER AS", None),
            key("org", "f-org"),
        )
        .await
        .expect("replayed");
    assert!(replay.replayed);
    assert_eq!(replay.position, first.position);

    // The service gives a person a fresh id per request: the replay returns the first one.
    let first_person = store
        .register_person(&person("id1", "HAGEN", "NO"), key("person", "f-person"))
        .await
        .expect("registered");
    let replay = store
        .register_person(&person("id2", "HAGEN", "NO"), key("person", "f-person"))
        .await
        .expect("replayed");
    assert!(replay.replayed);
    assert_eq!(replay.value.id().as_str(), "id1");
    assert_eq!(replay.position, first_person.position);

    let p = purchase(company, person_ref("id1"), "A", 5);
    let bought = store
        .purchase(&p, key("buy", "f-buy"))
        .await
        .expect("bought");
    let replay = store
        .purchase(&p, key("buy", "f-buy"))
        .await
        .expect("replayed");
    assert!(replay.replayed && !bought.replayed);
    assert_eq!(replay.value, bought.value);
    assert_eq!(replay.position, bought.position);
    let reused = store.purchase(&p, key("buy", "another request")).await;
    assert!(matches!(reused, Err(PurchaseError::IdempotencyKeyReused)));
    let reused = store
        .register_organisation(&organisation(orgnr(2), "X AS", None), key("buy", "f-buy"))
        .await;
    assert!(matches!(reused, Err(RegisterError::IdempotencyKeyReused)));

    assert_eq!(store.backlog().await.expect("backlog").events, 3);
    let state = state(store).await;
    assert_eq!(state.company(company).record.registered_shares, 5);
    assert_eq!(state.persons.len(), 1);
}

#[tokio::test]
async fn concurrent_requests_with_one_key_take_effect_once() {
    let db = TestDb::new().await;
    let store = &db.store;
    let company = orgnr(1);
    store
        .register_organisation(&organisation(company, "ISSUER AS", None), None)
        .await
        .expect("registered");
    store
        .register_person(&person("buyer", "BUYER", "NO"), None)
        .await
        .expect("registered");
    let p = purchase(company, person_ref("buyer"), "A", 5);
    let results = join_all((0..20).map(|_| {
        let store = store.clone();
        let p = p.clone();
        async move { store.purchase(&p, key("same", "fingerprint")).await }
    }))
    .await;
    let results: Vec<_> = results
        .into_iter()
        .map(|r| r.expect("every request succeeds"))
        .collect();
    assert_eq!(results.iter().filter(|r| !r.replayed).count(), 1);
    assert!(results.iter().all(|r| r.value == results[0].value));
    assert!(results.iter().all(|r| r.position == results[0].position));
    let state = state(store).await;
    assert_eq!(state.company(company).record.registered_shares, 5);
    assert_eq!(store.backlog().await.expect("backlog").events, 3);
}

#[tokio::test]
async fn each_command_records_one_event_with_the_state_after_it() {
    let db = TestDb::new().await;
    let store = &db.store;
    let (company, holder) = (orgnr(1), orgnr(2));
    let issuer = organisation(company, "ISSUER AS", Some(1000));
    store
        .register_organisation(&issuer, None)
        .await
        .expect("registered");
    store
        .register_organisation(&organisation(holder, "HOLDER AS", None), None)
        .await
        .expect("registered");
    let swiss = person("swiss", "KJOS", "CHE");
    store
        .register_person(&swiss, None)
        .await
        .expect("registered");
    let first = store
        .purchase(&purchase(company, org_ref(holder), "B", 100), None)
        .await
        .expect("bought");
    let second = store
        .purchase(&purchase(company, person_ref("swiss"), "A", 30), None)
        .await
        .expect("bought");
    let third = store
        .purchase(&purchase(company, org_ref(holder), "A", 5), None)
        .await
        .expect("bought");

    let recorder = Arc::new(Recorder::default());
    assert_eq!(store.relay(100, recorder.clone()).await.expect("relay"), 6);
    let events = recorder.events();
    assert_eq!(events.len(), 6);
    assert!(events.windows(2).all(|w| w[0].position < w[1].position));
    assert_eq!(events[0].event, Event::OrganisationRegistered(issuer));
    assert_eq!(events[2].event, Event::PersonRegistered(swiss));
    assert_eq!(
        [first.position, second.position, third.position],
        [events[3].position, events[4].position, events[5].position]
    );
    let Event::SharesPurchased(last) = &events[5].event else {
        panic!("a purchase event");
    };
    assert_eq!(last.purchase_id, third.value.id);
    assert_eq!(last.company.total_shares.map(|t| t.get()), Some(1000));
    assert_eq!(last.owner.owner, OwnerRef::Organisation(holder));
    assert_eq!(
        last.holding
            .iter()
            .map(|c| (c.share_class.clone(), c.shares))
            .collect::<Vec<_>>(),
        [(class("A"), 5), (class("B"), 100)]
    );
    let s = &last.company_state;
    assert_eq!(
        (
            s.version,
            s.registered_shares,
            s.owner_count,
            s.foreign_owner_count
        ),
        (3, 135, 2, 1)
    );
    assert_eq!(
        s.classes
            .iter()
            .map(|c| (c.share_class.as_str(), c.shares))
            .collect::<Vec<_>>(),
        [("A", 35), ("B", 100)]
    );
    assert_eq!(
        (last.owner_state.version, last.owner_state.holding_count),
        (1, 1)
    );
    let Event::SharesPurchased(middle) = &events[4].event else {
        panic!("a purchase event");
    };
    assert_eq!(middle.owner.birth_year.map(|y| y.get()), Some(1970));
    assert_eq!(
        (
            middle.company_state.version,
            middle.company_state.foreign_owner_count
        ),
        (2, 1)
    );
    assert_eq!(store.backlog().await.expect("backlog").events, 0);
}

#[tokio::test]
async fn the_last_position_is_the_largest_given() {
    let db = TestDb::new().await;
    let store = &db.store;
    shareholders_ports::conformance::write::the_last_position_is_the_largest_given(store).await;
}
