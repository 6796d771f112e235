//! The MongoDB read model against a real MongoDB-wire server (SecantusDB, or the server at
//! `SHAREHOLDERS_TEST_MONGODB_URI`). Every test works in a database of its own.

mod common;

use common::{
    State, TestModel, WriteModel, collect, drop_database, fresh, organisation, orgnr, person,
    person_ref, scenario,
};
use mongodb::bson::doc;
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rstest::rstest;
use shareholders_domain::{
    CompanyState, Event, OwnerKind, OwnerRef, PersonId, Position, RecordedEvent, RegisterYear,
};
use shareholders_mongo::MongoReadModel;
use shareholders_ports::{
    PageRequest, Projection, ProjectionError, ReadModelLoader, ReadStore, Snapshot, SnapshotBatch,
    YearReadModel as _, YearRecord,
};
use std::time::{Duration, UNIX_EPOCH};

fn page(page: u32, size: u32) -> PageRequest {
    PageRequest::new(Some(page), Some(size)).expect("valid page")
}

#[tokio::test]
async fn applying_events_builds_the_records() {
    let read = fresh().await;
    let (model, events) = scenario();
    read.apply(&events).await.expect("applied");

    let (a, b, c) = (orgnr(1), orgnr(2), orgnr(3));
    let company = read
        .organisation(a)
        .await
        .expect("read")
        .expect("registered");
    assert_eq!(company.organisation, organisation(1, Some(1000), "NO"));
    assert_eq!(company.registered_shares, 720);
    assert_eq!(company.owner_count, 5);
    // bob (DK) and organisation 3 (SE).
    assert_eq!(company.foreign_owner_count, 2);
    assert_eq!(company.holding_count, 1, "it holds its own shares");
    let classes: Vec<_> = company
        .classes
        .iter()
        .map(|class| (class.share_class.as_str().to_owned(), class.shares))
        .collect();
    assert_eq!(
        classes,
        vec![("A-aksjer".to_owned(), 570), ("B-aksjer".to_owned(), 150)]
    );
    let holder = read
        .organisation(c)
        .await
        .expect("read")
        .expect("registered");
    assert_eq!((holder.holding_count, holder.owner_count), (2, 0));

    // Owners: shares desc, then kind (organization < person), then id.
    let owners = read.owners(a, page(1, 100)).await.expect("owners");
    let order: Vec<_> = owners
        .iter()
        .map(|h| (h.owner.owner.clone(), h.shares()))
        .collect();
    assert_eq!(
        order,
        vec![
            (person_ref("alice"), 300),
            (person_ref("bob"), 150),
            (person_ref("carol"), 150),
            (OwnerRef::Organisation(c), 100),
            (OwnerRef::Organisation(a), 20),
        ]
    );
    assert!(owners.iter().all(|h| h.company_registered_shares == 720));
    let bob = &owners[1];
    assert_eq!(bob.classes.len(), 2);
    assert_eq!(bob.owner.country.alpha2(), "DK");
    assert_eq!(
        bob.company.total_shares.map(|t| t.get()),
        Some(1000),
        "the declared total"
    );
    let second: Vec<_> = read
        .owners(a, page(2, 2))
        .await
        .expect("page 2")
        .into_iter()
        .map(|h| h.owner.owner)
        .collect();
    assert_eq!(second, vec![person_ref("carol"), OwnerRef::Organisation(c)]);
    assert!(read.owners(a, page(4, 2)).await.expect("page 4").is_empty());
    // Given the company's record, the same pages in one query, with the record's totals.
    for (number, size) in [(1, 100), (1, 2), (2, 2), (3, 2), (4, 2)] {
        assert_eq!(
            read.owners_given(&company, page(number, size))
                .await
                .expect("owners given the record"),
            read.owners(a, page(number, size)).await.expect("owners"),
            "page {number} of {size}"
        );
    }

    // Holdings: shares desc, then orgnr; each with its company's registered shares.
    let holdings = read
        .holdings(&OwnerRef::Organisation(c), page(1, 10))
        .await
        .expect("holdings");
    let seen: Vec<_> = holdings
        .iter()
        .map(|h| (h.company.orgnr, h.shares(), h.company_registered_shares))
        .collect();
    assert_eq!(seen, vec![(a, 100, 720), (b, 30, 40)]);
    let alice = read
        .holdings(&person_ref("alice"), page(1, 10))
        .await
        .expect("holdings");
    assert_eq!(
        alice
            .iter()
            .map(|h| (h.company.orgnr, h.shares()))
            .collect::<Vec<_>>(),
        vec![(a, 300), (b, 10)]
    );

    let person = read
        .person(&PersonId::parse("bob").expect("valid"))
        .await
        .expect("read")
        .expect("registered");
    assert_eq!(person.person, common::person("bob", "DK"));
    assert_eq!(person.holding_count, 1);
    assert!(
        read.person(&PersonId::parse("nobody").expect("valid"))
            .await
            .expect("read")
            .is_none()
    );

    assert_eq!(collect(&read.snapshot()).await, model.expected());
    drop_database(&read).await;
}

#[tokio::test]
async fn an_organisation_is_unknown_until_its_registration_is_applied() {
    let read = fresh().await;
    let mut model = WriteModel::default();
    let registration = model.register_organisation(organisation(7, None, "NO"));
    let owner = model.register_person(person("dora", "NO"));
    let purchase = model.purchase(orgnr(7), &person_ref("dora"), "A", 5);

    read.apply(&[owner, purchase]).await.expect("applied");
    assert!(read.organisation(orgnr(7)).await.expect("read").is_none());
    assert_eq!(
        read.owners(orgnr(7), page(1, 10))
            .await
            .expect("owners")
            .len(),
        1
    );

    read.apply(&[registration]).await.expect("applied");
    let company = read
        .organisation(orgnr(7))
        .await
        .expect("read")
        .expect("now known");
    assert_eq!(
        (company.registered_shares, company.owner_count),
        (5, 1),
        "the late registration keeps the newer purchase state"
    );
    assert_eq!(collect(&read.snapshot()).await, model.expected());
    drop_database(&read).await;
}

#[rstest]
#[case(1)]
#[case(2)]
#[case(3)]
#[tokio::test]
async fn duplicates_and_shuffles_end_in_the_same_state(#[case] seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut model = WriteModel::default();
    let mut events = Vec::new();
    for n in 0..4 {
        events.push(model.register_organisation(organisation(
            10 + n,
            None,
            if n == 3 { "FI" } else { "NO" },
        )));
    }
    let persons = ["p0", "p1", "p2", "p3", "p4", "p5", "p6", "p7"];
    for (i, id) in persons.iter().enumerate() {
        events.push(model.register_person(person(id, if i % 3 == 0 { "US" } else { "NO" })));
    }
    let mut owners: Vec<OwnerRef> = persons.iter().map(|id| person_ref(id)).collect();
    owners.extend((0..4).map(|n| OwnerRef::Organisation(orgnr(10 + n))));
    let classes = ["A", "B", "Ordinære"];
    for i in 0..90u64 {
        let company = orgnr(10 + u32::try_from(i % 4).expect("small"));
        let owner = &owners[usize::try_from(i * 7 % 12).expect("small")];
        let class = classes[usize::try_from(i % 3).expect("small")];
        events.push(model.purchase(company, owner, class, 1 + i % 5));
    }

    let in_order = fresh().await;
    for batch in events.chunks(7) {
        in_order.apply(batch).await.expect("applied in order");
    }
    let expected = model.expected();
    assert_eq!(collect(&in_order.snapshot()).await, expected);

    let shuffled = fresh().await;
    let mut twice: Vec<RecordedEvent> = events.iter().chain(events.iter()).cloned().collect();
    twice.shuffle(&mut rng);
    // Two concurrent appliers, with batches of varying sizes, as competing consumers would.
    let (left, right) = twice.split_at(twice.len() / 2);
    tokio::join!(
        apply_all(&shuffled, left, 5),
        apply_all(&shuffled, right, 11)
    );

    let state = collect(&shuffled.snapshot()).await;
    assert_eq!(state, collect(&in_order.snapshot()).await);
    assert_eq!(state, expected);
    drop_database(&in_order).await;
    drop_database(&shuffled).await;
}

#[tokio::test]
async fn owners_profiles_read_together_are_those_of_their_largest_holdings() {
    let read = fresh().await;
    let (_, events) = scenario();
    read.apply(&events).await.expect("applied");
    let mut parties: Vec<OwnerRef> = (1..=3).map(|n| OwnerRef::Organisation(orgnr(n))).collect();
    parties.extend(["alice", "bob", "carol", "nobody"].map(person_ref));

    // What the port's default reads, one page of one holding a party.
    let mut wanted = Vec::new();
    for party in &parties {
        if let Some(holding) = read
            .holdings(party, PageRequest::one())
            .await
            .expect("read")
            .into_iter()
            .next()
        {
            wanted.push(holding.owner);
        }
    }
    let mut profiles = read.owner_profiles(&parties).await.expect("read");
    profiles.sort_by(|a, b| a.owner.cmp(&b.owner));
    wanted.sort_by(|a, b| a.owner.cmp(&b.owner));
    let holders: Vec<&OwnerRef> = wanted.iter().map(|profile| &profile.owner).collect();
    assert_eq!(
        holders,
        [
            &OwnerRef::Organisation(orgnr(1)),
            &OwnerRef::Organisation(orgnr(3)),
            &person_ref("alice"),
            &person_ref("bob"),
            &person_ref("carol"),
        ],
        "every party that holds shares, once (organisation 2 and nobody hold none)"
    );
    assert_eq!(profiles, wanted);
    assert!(
        read.owner_profiles(&[]).await.expect("read").is_empty(),
        "none asked, none read"
    );
    drop_database(&read).await;
}

#[tokio::test]
async fn an_older_event_never_overwrites_a_newer_state() {
    let read = fresh().await;
    let mut model = WriteModel::default();
    let setup = vec![
        model.register_organisation(organisation(20, None, "NO")),
        model.register_person(person("erik", "NO")),
        model.register_person(person("frida", "NO")),
    ];
    let first = model.purchase(orgnr(20), &person_ref("erik"), "A", 10);
    let second = model.purchase(orgnr(20), &person_ref("erik"), "B", 5);
    let third = model.purchase(orgnr(20), &person_ref("frida"), "A", 1);

    read.apply(&setup).await.expect("applied");
    read.apply(std::slice::from_ref(&third))
        .await
        .expect("newest first");
    read.apply(std::slice::from_ref(&second))
        .await
        .expect("then older");
    read.apply(std::slice::from_ref(&first))
        .await
        .expect("then oldest");
    // A registration replayed late must not reset the state either.
    read.apply(&setup).await.expect("replayed");

    let company = read
        .organisation(orgnr(20))
        .await
        .expect("read")
        .expect("known");
    assert_eq!((company.registered_shares, company.owner_count), (16, 2));
    assert_eq!(company.classes.len(), 2);
    let erik = read
        .person(&PersonId::parse("erik").expect("valid"))
        .await
        .expect("read")
        .expect("known");
    assert_eq!(erik.holding_count, 1);
    let owners = read.owners(orgnr(20), page(1, 10)).await.expect("owners");
    assert_eq!(owners[0].owner.owner, person_ref("erik"));
    assert_eq!(
        owners[0].shares(),
        15,
        "the holding after the second purchase"
    );
    let state = collect(&read.snapshot()).await;
    assert_eq!(state.holdings[0].version, 2);
    assert_eq!(state, model.expected());
    drop_database(&read).await;
}

#[tokio::test]
async fn applied_positions_and_the_watermark() {
    let read = fresh().await;
    let mut model = WriteModel::default();
    let events: Vec<_> = (1..=6)
        .map(|n| model.register_person(person(&format!("w{n}"), "NO")))
        .collect();
    assert!(!read.applied(Position::new(1)).await.expect("read"));
    assert_eq!(position(&read).await, None);

    read.apply(&[events[0].clone(), events[1].clone(), events[4].clone()])
        .await
        .expect("applied");
    let applied = |n| {
        let read = read.clone();
        async move { read.applied(Position::new(n)).await.expect("read") }
    };
    assert!(applied(1).await && applied(2).await && applied(5).await);
    assert!(!applied(3).await && !applied(4).await && !applied(6).await);
    assert_eq!(
        position(&read).await,
        Some(Position::new(2)),
        "every event through 2 is applied, 3 is not"
    );

    read.mark_applied_through(Position::new(4))
        .await
        .expect("marked");
    assert!(applied(3).await && applied(4).await && !applied(6).await);
    assert_eq!(position(&read).await, Some(Position::new(5)));
    read.mark_applied_through(Position::new(3))
        .await
        .expect("marked");
    assert!(applied(4).await, "the watermark never goes back");
    drop_database(&read).await;
}

async fn position(read: &MongoReadModel) -> Option<Position> {
    read.snapshot().position().await.expect("position")
}

async fn apply_all(read: &MongoReadModel, events: &[RecordedEvent], size: usize) {
    for batch in events.chunks(size) {
        read.apply(batch).await.expect("applied shuffled");
    }
}

#[tokio::test]
async fn load_and_snapshot_round_trip() {
    let (model, _) = scenario();
    let expected = model.expected();
    let read = fresh().await;
    // Loaded in small batches, twice: loading is idempotent.
    for _ in 0..2 {
        let batch = SnapshotBatch {
            companies: expected.companies.clone(),
            ..SnapshotBatch::default()
        };
        read.load(batch).await.expect("companies");
        for persons in expected.persons.chunks(2) {
            let batch = SnapshotBatch {
                persons: persons.to_vec(),
                ..SnapshotBatch::default()
            };
            read.load(batch).await.expect("persons");
        }
        for holdings in expected.holdings.chunks(3) {
            let batch = SnapshotBatch {
                holdings: holdings.to_vec(),
                ..SnapshotBatch::default()
            };
            read.load(batch).await.expect("holdings");
        }
    }
    read.mark_applied_through(expected.position.expect("events"))
        .await
        .expect("marked");
    assert_eq!(collect(&read.snapshot()).await, expected);

    // An older snapshot never undoes the newer state.
    let mut older = expected.clone();
    for company in &mut older.companies {
        company.version = company.version.saturating_sub(1);
        company.record.registered_shares += 1;
    }
    for holding in &mut older.holdings {
        holding.version = holding.version.saturating_sub(1);
        holding.record.classes[0].shares += 1;
    }
    read.load(SnapshotBatch {
        companies: older.companies,
        persons: Vec::new(),
        holdings: older.holdings,
    })
    .await
    .expect("older load");
    assert_eq!(collect(&read.snapshot()).await, expected);

    read.clear().await.expect("cleared");
    assert_eq!(collect(&read.snapshot()).await, State::default());
    assert!(read.organisation(orgnr(1)).await.expect("read").is_none());
    // The indexes are back after a clear.
    assert!(
        read.owners(orgnr(1), page(1, 10))
            .await
            .expect("read")
            .is_empty()
    );
    assert_holdings_indexes(&read).await;
    drop_database(&read).await;
}

async fn holdings_index_names(read: &TestModel) -> Vec<String> {
    read.db
        .collection::<mongodb::bson::Document>("holdings")
        .list_index_names()
        .await
        .unwrap_or_default()
}

async fn assert_holdings_indexes(read: &TestModel) {
    let names = holdings_index_names(read).await;
    assert!(names.iter().any(|n| n == "company_owners"), "{names:?}");
    assert!(names.iter().any(|n| n == "owner_holdings"), "{names:?}");
}

/// A rebuild after a clear: the indexes are there, and events projected while it runs (here:
/// some before the load, which the load's merged inserts then collide with) are kept.
#[rstest]
#[case::no_event_first(0)]
#[case::some_events_first(9)]
#[case::every_event_first(14)]
#[tokio::test]
async fn a_load_after_a_clear_keeps_projected_events_and_indexes(#[case] projected_first: usize) {
    let (model, events) = scenario();
    let expected = model.expected();
    let read = fresh().await;
    read.clear().await.expect("cleared");
    read.apply(&events[..projected_first])
        .await
        .expect("projected");
    read.load(SnapshotBatch {
        companies: expected.companies.clone(),
        persons: expected.persons.clone(),
        holdings: expected.holdings.clone(),
    })
    .await
    .expect("loaded");
    read.mark_applied_through(expected.position.expect("events"))
        .await
        .expect("marked");
    assert_holdings_indexes(&read).await;
    assert_eq!(collect(&read.snapshot()).await, expected);
    let owners = read.owners(orgnr(1), page(1, 10)).await.expect("owners");
    let ids: Vec<_> = owners
        .iter()
        .map(|h| (h.shares(), h.owner.owner.id().to_owned()))
        .collect();
    assert_eq!(
        ids,
        vec![
            (300, "alice".to_owned()),
            (150, "bob".to_owned()),
            (150, "carol".to_owned()),
            (100, orgnr(3).as_str().to_owned()),
            (20, orgnr(1).as_str().to_owned()),
        ]
    );
    let company = read
        .organisation(orgnr(1))
        .await
        .expect("read")
        .expect("known");
    assert_eq!(company.registered_shares, 720);
    drop_database(&read).await;
}

#[tokio::test]
async fn a_company_with_3000_owners_pages_correctly() {
    let read = fresh().await;
    let mut model = WriteModel::default();
    let company = orgnr(30);
    let mut events = vec![model.register_organisation(organisation(30, None, "NO"))];
    for i in 0..3000u64 {
        let id = format!("o{i:04}");
        events.push(model.register_person(person(&id, "NO")));
        // Many ties: shares repeat every 7 owners.
        events.push(model.purchase(company, &person_ref(&id), "A", 1 + i % 7));
    }
    for batch in events.chunks(1000) {
        read.apply(batch).await.expect("applied");
    }
    let company_record = read
        .organisation(company)
        .await
        .expect("read")
        .expect("known");
    assert_eq!(company_record.owner_count, 3000);

    let mut expected: Vec<(u64, String)> = (0..3000u64)
        .map(|i| (1 + i % 7, format!("o{i:04}")))
        .collect();
    expected.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    for size in [1000u32, 700] {
        let mut seen = Vec::new();
        for number in 1.. {
            let owners = read
                .owners(company, page(number, size))
                .await
                .expect("page");
            if owners.is_empty() {
                break;
            }
            assert!(owners.len() <= usize::try_from(size).expect("small"));
            seen.extend(owners.into_iter().map(|h| {
                assert_eq!(h.owner.owner.kind(), OwnerKind::Person);
                (h.shares(), h.owner.owner.id().to_owned())
            }));
        }
        assert_eq!(seen, expected, "pages of {size}");
    }
    drop_database(&read).await;
}

#[tokio::test]
async fn an_unwritable_event_is_poison_and_the_others_are_applied() {
    let read = fresh().await;
    let mut model = WriteModel::default();
    let good = model.register_organisation(organisation(40, None, "NO"));
    let owner = model.register_person(person("gro", "NO"));
    let mut bad = model.purchase(orgnr(40), &person_ref("gro"), "A", 1);
    if let Event::SharesPurchased(purchased) = &mut bad.event {
        purchased.company_state = CompanyState {
            version: u64::MAX,
            ..purchased.company_state.clone()
        };
    }
    let result = read.apply(&[good.clone(), owner, bad.clone()]).await;
    assert!(
        matches!(result, Err(ProjectionError::Poison(_))),
        "{result:?}"
    );
    assert!(read.applied(good.position).await.expect("read"));
    assert!(!read.applied(bad.position).await.expect("read"));
    assert!(read.organisation(orgnr(40)).await.expect("read").is_some());
    assert!(
        read.owners(orgnr(40), page(1, 10))
            .await
            .expect("read")
            .is_empty()
    );
    drop_database(&read).await;
}

#[tokio::test]
async fn a_served_year_keeps_how_long_its_import_took() {
    let read = fresh().await;
    let record = |y: i64, duration: Option<Duration>| YearRecord {
        year: RegisterYear::new(y).expect("a year"),
        file_name: format!("aksjeeiebok__{y}.csv"),
        sha256: "a".repeat(64),
        imported_at: UNIX_EPOCH + Duration::from_millis(1_700_000_000_123),
        lines: 10,
        rejects: 1,
        companies: 0,
        holdings: 0,
        persons_linked: 0,
        persons_ambiguous: 0,
        superseded_live_changes: 0,
        duration,
    };
    let timed = record(2023, Some(Duration::from_millis(83_250)));
    let untimed = record(2022, None);
    for year in [&untimed, &timed] {
        let load = read.begin_year(year.year).await.expect("the load begins");
        load.publish(year.clone())
            .await
            .expect("the year is served");
    }
    assert_eq!(
        read.served_years().await.expect("reads"),
        vec![untimed.clone(), timed.clone()]
    );
    assert_eq!(
        ReadStore::years(&read.model).await.expect("reads"),
        vec![untimed, timed]
    );
    drop_database(&read).await;
}

/// Documents written before search existed get their search field at the next start, once:
/// a start after that does not scan the parties again.
#[tokio::test]
async fn documents_from_before_search_are_given_their_words_at_the_next_start_once() {
    use mongodb::bson::Document;
    use shareholders_domain::SearchQuery;

    let read = fresh().await;
    let organisations = read.db.collection::<Document>("organisations");
    let old = |n: u32, name: &str| {
        doc! { "_id": orgnr(n).as_str(), "registered": true, "name": name, "country": "NO" }
    };
    organisations
        .insert_one(old(1, "RØKKE AS"))
        .await
        .expect("an old document");
    // As a database from before this version has no marker.
    read.db
        .collection::<Document>("meta")
        .delete_one(doc! { "_id": "search_words_backfilled" })
        .await
        .expect("no marker");
    let database = read.db.name().to_owned();
    let restarted = MongoReadModel::connect(common::uri(), &database)
        .await
        .expect("connects");
    let found = restarted
        .search(&SearchQuery::parse("rokke", None).expect("a query"), 10)
        .await
        .expect("searches");
    assert_eq!(found.total, 1, "the old document is found");

    organisations
        .insert_one(old(2, "RØKKE TO AS"))
        .await
        .expect("another document without the field");
    MongoReadModel::connect(common::uri(), &database)
        .await
        .expect("connects");
    let untouched = organisations
        .find_one(doc! { "_id": orgnr(2).as_str() })
        .await
        .expect("reads")
        .expect("there");
    assert!(
        !untouched.contains_key("search"),
        "the second start did not scan again: {untouched}"
    );
    drop_database(&read).await;
}
