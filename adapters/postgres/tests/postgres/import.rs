//! The bulk import: set-based semantics, idempotence, snapshot order, and the COPY baseline.

use futures::StreamExt as _;
use futures::stream;
use shareholders_domain::{Country, OrgNr, Organisation, OwnerKind, PersonId, ShareCount};
use shareholders_ports::{
    RegisterHolder, RegisterImport as _, RegisterLine, Snapshot as _, WriteStore as _,
};
use shareholders_postgres::PostgresStore;

use crate::common::{
    TestDb, class, count, country, name, org_owner, organisation, orgnr, person, person_owner,
    purchase, state,
};

fn issuer(nr: OrgNr, label: &str, total: Option<u64>) -> Organisation {
    Organisation::new(
        nr,
        name(label),
        None,
        None,
        Country::NORWAY,
        total.map(count),
    )
}

fn org_line(
    n: u64,
    company: &Organisation,
    holder: OrgNr,
    class_name: &str,
    shares: u64,
) -> RegisterLine {
    RegisterLine {
        line: n,
        company: company.clone(),
        holder: RegisterHolder::Organisation(organisation(holder, "HOLDER AS", None)),
        share_class: class(class_name),
        shares: count(shares),
    }
}

fn person_line(n: u64, company: &Organisation, id: &str, code: &str, shares: u64) -> RegisterLine {
    RegisterLine {
        line: n,
        company: company.clone(),
        holder: RegisterHolder::Person(person(id, "PERSON", code)),
        share_class: class("Ordinære aksjer"),
        shares: count(shares),
    }
}

async fn import(
    store: &PostgresStore,
    lines: Vec<RegisterLine>,
) -> shareholders_ports::ImportReport {
    // Batches of two, to exercise the streaming.
    let batches: Vec<Vec<RegisterLine>> = lines.chunks(2).map(<[_]>::to_vec).collect();
    store
        .import(stream::iter(batches).boxed())
        .await
        .expect("import")
}

/// c1: total 120, lines 3 + 117 in two classes, one person twice (adds up).
/// c2: treasury, conflicting totals (100 and 90), sum 50.
/// c3: total 10 but lines sum to 12 (sums past it).
/// holder h: an organisation that issues nothing.
fn lines() -> (Vec<RegisterLine>, [OrgNr; 4]) {
    let (c1, c2, c3, h) = (orgnr(1), orgnr(2), orgnr(3), orgnr(4));
    let i1 = issuer(c1, "TVIST 1 AS", Some(120));
    let i2a = issuer(c2, "SELF AS", Some(100));
    let i2b = issuer(c2, "SELF AS", Some(90));
    let i3 = issuer(c3, "OVER AS", Some(10));
    let lines = vec![
        person_line(1, &i1, "alice", "NO", 1),
        org_line(2, &i1, h, "B-aksjer", 117),
        person_line(3, &i1, "alice", "NO", 2),
        org_line(4, &i2a, c2, "A", 20),
        org_line(5, &i2b, h, "A", 30),
        person_line(6, &i3, "bob", "SE", 12),
    ];
    (lines, [c1, c2, c3, h])
}

#[tokio::test]
async fn an_import_registers_parties_and_sets_holdings() {
    let db = TestDb::new().await;
    let store = &db.store;
    let (lines, [c1, c2, c3, h]) = lines();
    let report = import(store, lines).await;
    assert_eq!(report.lines, 6);
    assert_eq!(report.companies, 3);
    assert_eq!(report.organisations_added, 4);
    assert_eq!(report.persons_added, 2);
    assert_eq!(report.holdings, 5);
    assert_eq!(report.position, None);
    let conflicts: Vec<_> = report
        .total_conflicts
        .iter()
        .map(|c| (c.company, c.declared.clone(), c.registered, c.used))
        .collect();
    assert_eq!(
        conflicts,
        [(c2, vec![90, 100], 50, 100), (c3, vec![10], 12, 12)]
    );

    let state = state(store).await;
    let s1 = state.company(c1);
    assert_eq!(
        s1.record.organisation.total_shares().map(ShareCount::get),
        Some(120)
    );
    assert_eq!(s1.record.registered_shares, 120);
    assert_eq!(
        (s1.record.owner_count, s1.record.foreign_owner_count),
        (2, 0)
    );
    assert_eq!(s1.version, 1);
    let alice = person_owner(PersonId::parse("alice").expect("valid").as_str());
    let holding = state.holding(c1, &alice).expect("alice holds c1");
    assert_eq!(holding.record.shares(), 3);
    assert_eq!(holding.version, 1);

    let s2 = state.company(c2);
    assert_eq!(
        s2.record.organisation.total_shares().map(ShareCount::get),
        Some(100)
    );
    assert_eq!(s2.record.holding_count, 1, "treasury");
    assert!(state.holding(c2, &org_owner(c2)).is_some());
    let s3 = state.company(c3);
    assert_eq!(
        s3.record.organisation.total_shares().map(ShareCount::get),
        Some(12)
    );
    assert_eq!(s3.record.foreign_owner_count, 1);

    let holder = state.company(h);
    assert_eq!(holder.record.organisation.total_shares(), None);
    assert_eq!(
        holder.record.organisation.place().map(|p| p.as_str()),
        Some("OSLO")
    );
    assert_eq!((holder.record.holding_count, holder.owner_version), (2, 1));
    assert_eq!((holder.record.owner_count, holder.version), (0, 0));
    assert_eq!(state.person("bob").record.person.country(), country("SE"));
    assert_eq!(state.person("alice").record.holding_count, 1);
}

#[tokio::test]
async fn importing_the_same_file_again_changes_nothing() {
    let db = TestDb::new().await;
    let store = &db.store;
    let (lines, _) = lines();
    import(store, lines.clone()).await;
    let before = state(store).await;
    let report = import(store, lines).await;
    assert_eq!((report.organisations_added, report.persons_added), (0, 0));
    assert_eq!(state(store).await, before);
}

#[tokio::test]
async fn a_new_extract_replaces_the_listed_companies_holdings_only() {
    let db = TestDb::new().await;
    let store = &db.store;
    let (lines, [c1, c2, _, h]) = lines();
    import(store, lines).await;
    let before = state(store).await;
    // c1 now: alice sold out, h holds everything; c2, c3 are not listed.
    let i1 = issuer(c1, "TVIST 1 AS", Some(120));
    import(store, vec![org_line(1, &i1, h, "B-aksjer", 120)]).await;
    let after = state(store).await;
    assert_eq!(after.company(c1).version, before.company(c1).version + 1);
    assert_eq!(after.company(c1).record.owner_count, 1);
    assert_eq!(after.company(c2), before.company(c2));
    let alice = person_owner("alice");
    assert!(after.holding(c1, &alice).is_none());
    let p = after.person("alice");
    assert_eq!((p.record.holding_count, p.owner_version), (0, 2));
    // h still holds the same companies: its owner state is unchanged.
    assert_eq!(
        after.company(h).owner_version,
        before.company(h).owner_version
    );
    assert_eq!(after.holding(c1, &org_owner(h)).expect("held").version, 2);
    assert_eq!(after.holdings.len(), before.holdings.len() - 1);

    // A purchase after an import continues from the imported state.
    store
        .register_person(&person("carol", "CAROL", "NO"), None)
        .await
        .expect("registered");
    let refused = store
        .purchase(&purchase(c1, person_owner("carol"), "A", 1), None)
        .await;
    assert!(refused.is_err(), "c1's 120 shares are all owned");
    let i2 = orgnr(2);
    let bought = store
        .purchase(&purchase(i2, person_owner("carol"), "A", 50), None)
        .await
        .expect("c2 has 50 shares left");
    assert_eq!(bought.value.purchase.company(), i2);
    let last = state(store).await;
    assert_eq!(last.company(i2).version, before.company(i2).version + 1);
    assert_eq!(last.company(i2).record.registered_shares, 100);
}

#[tokio::test]
async fn snapshots_are_ordered_bytewise() {
    let db = TestDb::new().await;
    let store = &db.store;
    let company = issuer(orgnr(7), "ORDER AS", None);
    let lines = vec![
        person_line(1, &company, "b", "NO", 1),
        person_line(2, &company, "B", "NO", 1),
        person_line(3, &company, "a_", "NO", 1),
        org_line(4, &company, orgnr(9), "A", 1),
        org_line(5, &company, orgnr(2), "A", 1),
        person_line(6, &issuer(orgnr(1), "FIRST AS", None), "Z", "NO", 1),
    ];
    import(store, lines).await;
    let state = state(store).await;
    let ids: Vec<&str> = state
        .persons
        .iter()
        .map(|p| p.record.person.id().as_str())
        .collect();
    assert_eq!(ids, ["B", "Z", "a_", "b"]);
    let orgnrs: Vec<OrgNr> = state
        .companies
        .iter()
        .map(|c| c.record.organisation.orgnr())
        .collect();
    let mut sorted = orgnrs.clone();
    sorted.sort();
    assert_eq!(orgnrs, sorted);
    let keys: Vec<(OrgNr, OwnerKind, String)> = state
        .holdings
        .iter()
        .map(|h| {
            (
                h.record.company.orgnr,
                h.record.owner.owner.kind(),
                h.record.owner.owner.id().to_owned(),
            )
        })
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
    assert_eq!(keys.len(), 6);
    assert_eq!(keys[1].1, OwnerKind::Organisation);
    assert_eq!(keys[5].1, OwnerKind::Person);
    assert!(
        store
            .snapshot()
            .position()
            .await
            .expect("position")
            .is_none()
    );
}

#[tokio::test]
async fn the_baseline_copies_every_line_of_the_sample() {
    let db = TestDb::new().await;
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .find(|p| p.join("Cargo.lock").exists() || p.join("domain").is_dir())
        .expect("the repository root")
        .to_path_buf();
    let sample = root.join("../shared/data/register-sample.csv");
    let rows = db.store.raw_copy_baseline(&sample).await.expect("copied");
    assert_eq!(rows, 20);
}
