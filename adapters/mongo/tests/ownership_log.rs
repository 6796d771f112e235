//! The live register held in memory (`ports::StakesInMemory`) over the MongoDB read model and
//! its log of changes, against a real MongoDB-wire server: it follows concurrent projectors
//! applying events out of order and twice, each applied event seen by the next read; a change
//! number taken and not yet written holds a reader back without hiding the changes above it;
//! a clear, a finished load, pruning past a reader and a log numbering again from below it
//! (its database dropped) tell it to read everything again.

mod common;

use std::time::{Duration, SystemTime};

use common::{
    TestModel, WriteModel, drop_database, fresh, organisation, orgnr, person, person_ref,
};
use mongodb::bson::{DateTime, Document, doc};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use shareholders_domain::{OrgNr, OwnerRef, RecordedEvent};
use shareholders_ports::{
    AppliedRetention as _, HoldingRecord, OwnershipChanged, OwnershipLog as _, PageRequest,
    Projection as _, ReadModelLoader as _, ReadStore, StakesInMemory,
};

fn sorted(mut holdings: Vec<HoldingRecord>) -> Vec<HoldingRecord> {
    holdings.sort_by(|a, b| {
        (a.company.orgnr, a.owner.owner.clone()).cmp(&(b.company.orgnr, b.owner.owner.clone()))
    });
    holdings
}

const COMPANIES: u32 = 5;

fn companies() -> Vec<OrgNr> {
    (1..=COMPANIES).map(orgnr).collect()
}

/// The registrations, then purchases among them (companies owning companies too).
fn events() -> (Vec<RecordedEvent>, Vec<RecordedEvent>) {
    let mut model = WriteModel::default();
    let mut registrations = Vec::new();
    for n in 1..=COMPANIES {
        registrations.push(model.register_organisation(organisation(n, None, "NO")));
    }
    let persons = ["p0", "p1", "p2", "p3"];
    for id in persons {
        registrations.push(model.register_person(person(id, "NO")));
    }
    let mut owners: Vec<OwnerRef> = persons.iter().map(|id| person_ref(id)).collect();
    owners.extend((1..=COMPANIES).map(|n| OwnerRef::Organisation(orgnr(n))));
    let mut purchases = Vec::new();
    for i in 0..60u32 {
        let company = orgnr(1 + i % COMPANIES);
        let owner = &owners[(i as usize * 7) % owners.len()];
        if *owner == OwnerRef::Organisation(company) && i % 2 == 0 {
            continue;
        }
        purchases.push(model.purchase(company, owner, "A", 1 + u64::from(i % 4)));
    }
    (registrations, purchases)
}

/// What the held copy answers for every company and party equals the read model's.
async fn answers_as_the_read_model(read: &TestModel, held: &StakesInMemory, when: &str) {
    let companies = companies();
    assert_eq!(
        sorted(held.owners_of(&companies).await.expect("held")),
        sorted(read.owners_of(&companies).await.expect("read")),
        "the owners, {when}"
    );
    for company in &companies {
        assert_eq!(
            held.organisation(*company).await.expect("held"),
            read.organisation(*company).await.expect("read"),
            "the record of {company}, {when}"
        );
        let page = PageRequest::new(Some(1), Some(100)).expect("a page");
        assert_eq!(
            held.holdings(&OwnerRef::Organisation(*company), page)
                .await
                .expect("held"),
            read.holdings(&OwnerRef::Organisation(*company), page)
                .await
                .expect("read"),
            "the holdings of {company}, {when}"
        );
    }
}

#[tokio::test]
async fn the_held_register_follows_concurrent_projectors_exactly() {
    let read = fresh().await;
    let (registrations, purchases) = events();
    let (first, rest) = purchases.split_at(10);
    read.apply(&registrations).await.expect("applied");
    read.apply(first).await.expect("applied");

    let held = StakesInMemory::new(
        std::sync::Arc::new(read.model.clone()),
        std::sync::Arc::new(read.model.clone()),
    );
    assert!(held.load().await.expect("loads").is_some_and(|n| n > 0));
    answers_as_the_read_model(&read, &held, "once loaded").await;

    // Each batch, the moment it is applied, is seen by the next read.
    let mut shuffled = rest.to_vec();
    shuffled.shuffle(&mut StdRng::seed_from_u64(7));
    let (left, right) = shuffled.split_at(shuffled.len() / 2);
    for (n, batch) in left.chunks(3).enumerate() {
        read.apply(batch).await.expect("applied");
        answers_as_the_read_model(&read, &held, &format!("after batch {n}")).await;
    }
    // Two projectors at once, each applying every event of the other half again.
    let twice: Vec<RecordedEvent> = right.iter().chain(left.iter()).cloned().collect();
    let (a, b) = twice.split_at(twice.len() / 2);
    let apply_all = |events: Vec<RecordedEvent>, size: usize| {
        let model = read.model.clone();
        async move {
            for batch in events.chunks(size) {
                model.apply(batch).await.expect("applied");
            }
        }
    };
    let reading = async {
        for _ in 0..20 {
            held.owners_of(&companies()).await.expect("held");
        }
    };
    tokio::join!(apply_all(a.to_vec(), 2), apply_all(b.to_vec(), 5), reading);
    answers_as_the_read_model(&read, &held, "after two projectors").await;
    drop_database(&read).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn projectors_taking_the_first_numbers_at_once_leave_none_unwritten() {
    let (registrations, _) = events();
    let count = u64::try_from(registrations.len()).expect("few");
    // The race is between the first takers only: tried on several fresh logs.
    for round in 0..8 {
        let read = fresh().await;
        // Every registration by its own projector, all at once, on a log with no numbers yet.
        let applying: Vec<_> = registrations
            .iter()
            .map(|event| {
                let model = read.model.clone();
                let event = event.clone();
                tokio::spawn(async move { model.apply(std::slice::from_ref(&event)).await })
            })
            .collect();
        for applied in futures::future::join_all(applying).await {
            applied
                .expect("the projector ran")
                .unwrap_or_else(|error| panic!("round {round}: a projector failed: {error:#}"));
        }
        let changes = read.changed_since(0, 100).await.expect("the log");
        let numbers: Vec<u64> = changes.changes.iter().map(|change| change.seq).collect();
        assert_eq!(
            numbers,
            (1..=count).collect::<Vec<_>>(),
            "round {round}: one number for each change, none taken and left unwritten"
        );
        assert_eq!(changes.through, count);
        drop_database(&read).await;
    }
}

async fn numbers(read: &TestModel) -> mongodb::Collection<Document> {
    read.db.collection("ownership_numbers")
}

async fn take_a_number(read: &TestModel) -> i64 {
    let taken = numbers(read)
        .await
        .find_one_and_update(doc! { "_id": "last" }, doc! { "$inc": { "n": 1_i64 } })
        .upsert(true)
        .return_document(mongodb::options::ReturnDocument::After)
        .await
        .expect("taken")
        .expect("the numbers");
    taken.get_i64("n").expect("a number")
}

/// A fresh read model with the registrations applied, the purchases not yet, and the last
/// change: one a registration.
async fn registered() -> (TestModel, Vec<RecordedEvent>, u64) {
    let read = fresh().await;
    let (registrations, purchases) = events();
    read.apply(&registrations).await.expect("applied");
    let last = read.last_change().await.expect("the log");
    assert!(last > 1, "the registrations are logged");
    (read, purchases, last)
}

#[tokio::test]
async fn a_number_not_yet_written_holds_the_reader_back_without_hiding_what_is_above() {
    let (read, purchases, before) = registered().await;
    // A projector took a number and has not written its change yet.
    let missing = take_a_number(&read).await;
    read.apply(&purchases[..1]).await.expect("applied");
    let company = purchases[0].event.clone();
    let changes = read.changed_since(before, 100).await.expect("the log");
    assert_eq!(
        changes.through, before,
        "not past the missing number {missing}"
    );
    assert!(
        changes
            .changes
            .iter()
            .any(|change| change.changed == OwnershipChanged::Company(orgnr(1))),
        "the change above it is given: {changes:?} ({company:?})"
    );
    assert_eq!(
        read.last_change().await.expect("the log"),
        before,
        "a copy read whole now reads the changes above it again"
    );
    let again = read.changed_since(before, 100).await.expect("the log");
    assert_eq!(again, changes, "given again while the number is missing");

    // The late change is written: the reader goes past it and every change above.
    read.db
        .collection::<Document>("ownership_changes")
        .insert_one(doc! { "_id": missing, "key": orgnr(2).as_str(), "at": DateTime::now() })
        .await
        .expect("written");
    let now = read.changed_since(before, 100).await.expect("the log");
    let last = now.changes.last().expect("changes").seq;
    assert_eq!(now.through, last);
    assert!(
        now.changes
            .iter()
            .any(|change| change.changed == OwnershipChanged::Company(orgnr(2)))
    );
    assert_eq!(read.last_change().await.expect("the log"), last);

    // A number missing before a change written long ago was abandoned (its projector died).
    let abandoned = take_a_number(&read).await;
    let long_ago = SystemTime::now() - Duration::from_secs(3_600);
    read.db
        .collection::<Document>("ownership_changes")
        .insert_one(doc! {
            "_id": take_a_number(&read).await,
            "key": orgnr(3).as_str(),
            "at": DateTime::from_system_time(long_ago),
        })
        .await
        .expect("written");
    let past = read.changed_since(last, 100).await.expect("the log");
    assert_eq!(
        past.through,
        u64::try_from(abandoned).expect("positive") + 1,
        "passed over {abandoned}"
    );
    drop_database(&read).await;
}

#[tokio::test]
async fn a_clear_a_finished_load_and_pruning_past_a_reader_mean_everything_changed() {
    let read = fresh().await;
    let (registrations, purchases) = events();
    read.apply(&registrations).await.expect("applied");
    read.apply(&purchases).await.expect("applied");
    let everything = |changes: &shareholders_ports::OwnershipChanges| {
        changes
            .changes
            .iter()
            .any(|change| change.changed == OwnershipChanged::Everything)
    };
    let all = read.changed_since(0, 10_000).await.expect("the log");
    assert!(!everything(&all));
    assert!(all.changes.iter().any(|change| matches!(
        change.changed,
        OwnershipChanged::Person(ref id) if id.as_str() == "p0"
    )));

    // Pruned past a reader at 0: it reads everything again; the last change is kept.
    read.prune_applied(SystemTime::now() + Duration::from_secs(60), 10_000)
        .await
        .expect("pruned");
    let behind = read.changed_since(0, 10_000).await.expect("the log");
    assert!(everything(&behind), "{behind:?}");
    assert_eq!(behind.through, all.through - 1);
    let caught_up = read.changed_since(all.through, 10).await.expect("the log");
    assert!(caught_up.changes.is_empty() && caught_up.through == all.through);

    let last = read.last_change().await.expect("the log");
    read.clear().await.expect("cleared");
    let cleared = read.changed_since(last, 10).await.expect("the log");
    assert!(everything(&cleared), "{cleared:?}");
    read.finish().await.expect("finished");
    let finished = read
        .changed_since(cleared.through, 10)
        .await
        .expect("the log");
    assert!(everything(&finished), "{finished:?}");
    drop_database(&read).await;
}

#[tokio::test]
async fn a_log_numbering_again_from_below_a_reader_means_everything_changed() {
    let (read, purchases, reader) = registered().await;
    // The database dropped under a reader and the read model built again: numbers from 1.
    for collection in ["ownership_changes", "ownership_numbers"] {
        read.db
            .collection::<Document>(collection)
            .drop()
            .await
            .expect("dropped");
    }
    read.apply(&purchases[..1]).await.expect("applied");
    let again = read.changed_since(reader, 100).await.expect("the log");
    assert_eq!(
        again
            .changes
            .iter()
            .map(|change| &change.changed)
            .collect::<Vec<_>>(),
        [&OwnershipChanged::Everything],
        "{again:?}"
    );
    let taken = read.last_change().await.expect("the log");
    assert!(taken < reader);
    assert_eq!(again.through, taken);
    let after = read
        .changed_since(again.through, 100)
        .await
        .expect("the log");
    assert!(
        after.changes.is_empty() && after.through == taken,
        "once read whole again, nothing more: {after:?}"
    );
    drop_database(&read).await;
}
