mod incremental;
mod years;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use futures::StreamExt as _;
use rstest::rstest;
use shareholders_domain::{
    ClassShares, CompanyProfile, Country, Name, OrgNr, OwnerProfile, OwnerRef, ShareCount,
};

use super::index::Stakes;
use super::{
    MockOwnershipLog, OwnershipChange, OwnershipChanged, OwnershipChanges, OwnershipLog,
    StakesInMemory,
};
use crate::testkit::{class, org_ref, orgnr, person_ref};
use crate::{CompanyRecord, HoldingRecord, MockReadStore, PageRequest, PersonRecord, ReadStore};

/// A holding of `owner` in company `company`, with the given shares per class, in a company
/// whose registered shares are `registered`.
fn holding(
    company: u32,
    owner: &OwnerRef,
    classes: &[(&str, u64)],
    registered: u64,
) -> HoldingRecord {
    HoldingRecord {
        company: CompanyProfile {
            orgnr: orgnr(company),
            name: Name::parse(&format!("COMPANY {company} AS")).expect("a name"),
            total_shares: Some(ShareCount::new(1_000).expect("positive")),
        },
        company_registered_shares: registered,
        owner: OwnerProfile {
            name: Name::parse(&format!("OWNER {}", owner.id())).expect("a name"),
            owner: owner.clone(),
            country: Country::NORWAY,
            birth_year: None,
        },
        classes: classes
            .iter()
            .map(|&(name, shares)| ClassShares {
                share_class: class(name),
                shares,
            })
            .collect(),
    }
}

/// Holdings in an order that does not depend on how they were found.
fn sorted(mut holdings: Vec<HoldingRecord>) -> Vec<HoldingRecord> {
    holdings.sort_by(|a, b| {
        (a.company.orgnr, a.owner.owner.clone()).cmp(&(b.company.orgnr, b.owner.owner.clone()))
    });
    holdings
}

fn in_company(all: &[HoldingRecord], companies: &[OrgNr]) -> Vec<HoldingRecord> {
    sorted(
        all.iter()
            .filter(|h| companies.contains(&h.company.orgnr))
            .cloned()
            .collect(),
    )
}

fn of_owner(all: &[HoldingRecord], owners: &[OwnerRef]) -> Vec<HoldingRecord> {
    sorted(
        all.iter()
            .filter(|h| owners.contains(&h.owner.owner))
            .cloned()
            .collect(),
    )
}

/// Companies 1..=4, held by two persons, by each other and in a cycle (1 holds 2, 2 holds 1).
fn register() -> Vec<HoldingRecord> {
    let (p, q) = (person_ref("p"), person_ref("q"));
    vec![
        holding(1, &p, &[("A-aksjer", 10), ("B-aksjer", 5)], 115),
        holding(1, &org_ref(orgnr(2)), &[("A-aksjer", 100)], 115),
        holding(2, &org_ref(orgnr(1)), &[("Ordinære aksjer", 40)], 60),
        holding(2, &q, &[("Ordinære aksjer", 20)], 60),
        holding(3, &org_ref(orgnr(2)), &[("Ordinære aksjer", 7)], 7),
        holding(4, &q, &[("Ordinære aksjer", 1)], 1),
    ]
}

fn loaded(holdings: &[HoldingRecord]) -> Stakes {
    Stakes::of(holdings.iter().cloned())
}

#[rstest]
#[case::a_company(OwnershipChanged::Company(orgnr(1)))]
#[case::a_person(OwnershipChanged::Person(
    shareholders_domain::PersonId::parse("p-1").expect("an id")
))]
#[case::everything(OwnershipChanged::Everything)]
fn a_change_is_read_back_from_its_key(#[case] change: OwnershipChanged) {
    assert_eq!(
        OwnershipChanged::from_key(&change.key()).expect("a key"),
        change
    );
}

#[rstest]
#[case::everything("", true)]
#[case::not_an_orgnr("12345", false)]
#[case::an_empty_person("person:", false)]
fn a_key_is_a_change_or_an_error(#[case] key: &str, #[case] valid: bool) {
    assert_eq!(OwnershipChanged::from_key(key).is_ok(), valid, "{key:?}");
}

#[rstest]
#[case::one_company(vec![1])]
#[case::a_cycle(vec![1, 2])]
#[case::every_company(vec![1, 2, 3, 4])]
#[case::unknown(vec![9])]
fn owners_of_answers_as_the_read_model(#[case] companies: Vec<u32>) {
    let all = register();
    let companies: Vec<OrgNr> = companies.into_iter().map(orgnr).collect();
    assert_eq!(
        sorted(loaded(&all).owners_of(&companies)),
        in_company(&all, &companies)
    );
}

#[rstest]
#[case::a_person(vec![person_ref("p")])]
#[case::a_person_in_two(vec![person_ref("q")])]
#[case::organisations(vec![org_ref(orgnr(1)), org_ref(orgnr(2))])]
#[case::unknown(vec![person_ref("nobody")])]
fn holdings_of_answers_as_the_read_model(#[case] owners: Vec<OwnerRef>) {
    let all = register();
    assert_eq!(
        sorted(loaded(&all).holdings_of(&owners)),
        of_owner(&all, &owners)
    );
}

/// Company 5 held by four owners, three of them with 10 shares each, and person "a" holding
/// 10 shares in each of companies 5, 6 and 7: ties the read model breaks by owner kind and id,
/// and by orgnr.
fn ties() -> Vec<HoldingRecord> {
    let ordinary = [("Ordinære aksjer", 10)];
    vec![
        holding(5, &person_ref("b"), &ordinary, 50),
        holding(5, &person_ref("a"), &ordinary, 50),
        holding(
            5,
            &org_ref(orgnr(9)),
            &[("A-aksjer", 15), ("B-aksjer", 5)],
            50,
        ),
        holding(5, &org_ref(orgnr(3)), &ordinary, 50),
        holding(7, &person_ref("a"), &ordinary, 10),
        holding(6, &person_ref("a"), &ordinary, 10),
    ]
}

fn page(page: u32, size: u32) -> PageRequest {
    PageRequest::new(Some(page), Some(size)).expect("a page")
}

fn owners_in(holdings: &[HoldingRecord]) -> Vec<OwnerRef> {
    holdings.iter().map(|h| h.owner.owner.clone()).collect()
}

fn companies_in(holdings: &[HoldingRecord]) -> Vec<OrgNr> {
    holdings.iter().map(|h| h.company.orgnr).collect()
}

/// A page of owners comes in the read model's order: by shares over all classes, largest
/// first, then organisations before persons, then by id.
#[rstest]
#[case::by_shares(1, (1, 10), vec![org_ref(orgnr(2)), person_ref("p")])]
#[case::by_kind_then_id(5, (1, 10), vec![org_ref(orgnr(9)), org_ref(orgnr(3)), person_ref("a"), person_ref("b")])]
#[case::first_page(5, (1, 2), vec![org_ref(orgnr(9)), org_ref(orgnr(3))])]
#[case::second_page(5, (2, 2), vec![person_ref("a"), person_ref("b")])]
#[case::a_short_last_page(5, (2, 3), vec![person_ref("b")])]
#[case::past_the_end(5, (3, 2), vec![])]
#[case::unknown(8, (1, 10), vec![])]
fn a_page_of_owners_is_in_the_read_models_order(
    #[case] company: u32,
    #[case] (number, size): (u32, u32),
    #[case] expected: Vec<OwnerRef>,
) {
    let stakes = loaded(&[register(), ties()].concat());
    let owners = stakes.owners(orgnr(company), page(number, size));
    assert_eq!(owners_in(&owners), expected);
    // Each is the whole holding.
    let all = [register(), ties()].concat();
    for owner in owners {
        assert!(all.contains(&owner), "{owner:?}");
    }
}

/// A page of holdings comes in the read model's order: by shares over all classes, largest
/// first, then by orgnr.
#[rstest]
#[case::by_shares(person_ref("q"), (1, 10), vec![2, 4])]
#[case::by_orgnr(person_ref("a"), (1, 10), vec![5, 6, 7])]
#[case::second_page(person_ref("a"), (2, 2), vec![7])]
#[case::an_organisation(org_ref(orgnr(2)), (1, 10), vec![1, 3])]
#[case::unknown(person_ref("nobody"), (1, 10), vec![])]
fn a_page_of_holdings_is_in_the_read_models_order(
    #[case] owner: OwnerRef,
    #[case] (number, size): (u32, u32),
    #[case] expected: Vec<u32>,
) {
    let stakes = loaded(&[register(), ties()].concat());
    let holdings = stakes.holdings(&owner, page(number, size));
    assert_eq!(
        companies_in(&holdings),
        expected.into_iter().map(orgnr).collect::<Vec<_>>()
    );
}

/// Each step replaces one company's holdings; after each, every read of every company and
/// every owner answers as the register after the step does.
#[rstest]
#[case::an_owner_leaves(2, vec![(person_ref("q"), 20)])]
#[case::every_owner_leaves(1, vec![])]
#[case::a_new_owner(4, vec![(person_ref("q"), 1), (person_ref("r"), 3)])]
#[case::a_new_company(7, vec![(person_ref("p"), 2)])]
#[case::shares_change(3, vec![(org_ref(orgnr(2)), 9)])]
#[case::the_owners_order_changes(1, vec![(org_ref(orgnr(2)), 100), (person_ref("p"), 500)])]
#[case::a_holdings_order_changes(4, vec![(person_ref("q"), 50)])]
fn a_replaced_company_answers_as_its_new_holdings(
    #[case] company: u32,
    #[case] owners: Vec<(OwnerRef, u64)>,
) {
    let mut all = register();
    let mut stakes = loaded(&all);
    let registered = owners.iter().map(|(_, n)| n).sum();
    let new: Vec<HoldingRecord> = owners
        .iter()
        .map(|(owner, n)| holding(company, owner, &[("Ordinære aksjer", *n)], registered))
        .collect();
    stakes.replace(orgnr(company), new.clone());
    all.retain(|h| h.company.orgnr != orgnr(company));
    all.extend(new);
    // Slots freed by the replace are reused, and the count is what is held.
    stakes.replace(orgnr(company), in_company(&all, &[orgnr(company)]));
    assert_eq!(stakes.len(), all.len());
    let companies: Vec<OrgNr> = (1..=7).map(orgnr).collect();
    for orgnr in &companies {
        assert_eq!(
            sorted(stakes.owners_of(&[*orgnr])),
            in_company(&all, &[*orgnr])
        );
    }
    let parties: BTreeSet<OwnerRef> = register()
        .into_iter()
        .chain(all.clone())
        .map(|h| h.owner.owner)
        .collect();
    // The pages keep the read model's order, as a register loaded whole has it.
    let whole = loaded(&all);
    let every = page(1, 100);
    for orgnr in &companies {
        assert_eq!(stakes.owners(*orgnr, every), whole.owners(*orgnr, every));
    }
    for party in &parties {
        assert_eq!(stakes.holdings(party, every), whole.holdings(party, every));
    }
    for party in parties {
        assert_eq!(
            sorted(stakes.holdings_of(std::slice::from_ref(&party))),
            of_owner(&all, &[party])
        );
    }
}

/// The record of company `n`, with `holding_count` companies held.
fn record(n: u32, holding_count: u64) -> CompanyRecord {
    CompanyRecord {
        organisation: crate::testkit::organisation(orgnr(n), &format!("COMPANY {n}"), Some(1_000)),
        registered_shares: 0,
        owner_count: 0,
        foreign_owner_count: 0,
        holding_count,
        classes: Vec::new(),
    }
}

/// The record of person `id`, registered as `name`.
fn person_record(id: &str, name: &str) -> PersonRecord {
    PersonRecord {
        person: crate::testkit::person(id, name, "NO"),
        holding_count: 0,
    }
}

/// A log whose changes and stakes a test sets (and the records of companies 1 to 4).
fn log(stakes: Vec<HoldingRecord>, changes: Arc<Mutex<Vec<OwnershipChange>>>) -> MockOwnershipLog {
    let mut log = MockOwnershipLog::new();
    log.expect_organisations()
        .returning(|| futures::stream::iter((1..=4).map(|n| Ok(record(n, 0)))).boxed());
    log.expect_persons()
        .returning(|| futures::stream::iter([Ok(person_record("p", "EIER PER"))]).boxed());
    let last = changes.clone();
    log.expect_last_change().returning(move || {
        Ok(last
            .lock()
            .expect("changes")
            .iter()
            .map(|change| change.seq)
            .max()
            .unwrap_or(0))
    });
    log.expect_stakes()
        .returning(move || futures::stream::iter(stakes.clone().into_iter().map(Ok)).boxed());
    log.expect_changed_since().returning(move |after, _| {
        Ok(OwnershipChanges::in_order(
            after,
            changes
                .lock()
                .expect("changes")
                .iter()
                .filter(|change| change.seq > after)
                .cloned()
                .collect(),
        ))
    });
    log
}

#[tokio::test]
async fn a_change_above_one_not_yet_committed_is_read_again_until_the_log_is_complete() {
    // The log gives change 2 while change 1 is not committed (through stays 0), then both.
    let complete = Arc::new(Mutex::new(false));
    let asked_after = Arc::new(Mutex::new(Vec::new()));
    let mut log = MockOwnershipLog::new();
    let mut read = MockReadStore::new();
    // Company 2 is read again at each of the two reads while change 1 is missing, and once
    // more with company 3 when it is written; never after.
    read.expect_owners_of()
        .withf(|companies| companies == [orgnr(2)])
        .times(2)
        .returning(|_| Ok(Vec::new()));
    read.expect_owners_of()
        .withf(|companies| companies == [orgnr(2), orgnr(3)])
        .times(1)
        .returning(|_| Ok(Vec::new()));
    read.expect_organisation().returning(|_| Ok(None));
    log.expect_organisations()
        .returning(|| futures::stream::iter((1..=4).map(|n| Ok(record(n, 0)))).boxed());
    log.expect_persons()
        .returning(|| futures::stream::iter([Ok(person_record("p", "EIER PER"))]).boxed());
    log.expect_last_change().returning(|| Ok(0));
    log.expect_stakes()
        .returning(|| futures::stream::iter(register().into_iter().map(Ok)).boxed());
    let (written, asked) = (complete.clone(), asked_after.clone());
    log.expect_changed_since().returning(move |after, _| {
        asked.lock().expect("asked").push(after);
        let change = |seq, company| OwnershipChange {
            seq,
            changed: OwnershipChanged::Company(orgnr(company)),
        };
        Ok(if *written.lock().expect("written") {
            let changes = [change(1, 3), change(2, 2)]
                .into_iter()
                .filter(|change| change.seq > after)
                .collect();
            OwnershipChanges::in_order(after, changes)
        } else {
            OwnershipChanges {
                changes: vec![change(2, 2)],
                through: 0,
            }
        })
    });
    let held = StakesInMemory::new(Arc::new(read), Arc::new(log));
    held.load().await.expect("loads");
    for _ in 0..2 {
        assert!(
            held.owners_of(&[orgnr(2)]).await.expect("read").is_empty(),
            "company 2 as the read model has it now"
        );
    }
    *complete.lock().expect("written") = true;
    held.owners_of(&[orgnr(3)]).await.expect("read");
    held.owners_of(&[orgnr(3)]).await.expect("read");
    assert_eq!(
        *asked_after.lock().expect("asked"),
        vec![0, 0, 0, 2],
        "asked from 0 until the log was complete through 2"
    );
}

/// Company 2's holdings after it changed.
fn company_2_now() -> Vec<HoldingRecord> {
    vec![holding(2, &person_ref("r"), &[("Ordinære aksjer", 60)], 60)]
}

/// A read model asked once for company 2's holdings, which are now `now`.
fn company_2_read_once(now: &[HoldingRecord]) -> MockReadStore {
    let mut read = MockReadStore::new();
    let answer = now.to_vec();
    read.expect_owners_of()
        .withf(|companies| companies == [orgnr(2)])
        .times(1)
        .returning(move |_| Ok(answer.clone()));
    read
}

#[tokio::test]
async fn within_its_window_a_read_is_answered_as_held_until_a_position_is_applied() {
    let changes = Arc::new(Mutex::new(Vec::new()));
    let now = company_2_now();
    let mut read = company_2_read_once(&now);
    read.expect_organisation()
        .returning(|company| Ok(Some(record(if company == orgnr(2) { 2 } else { 1 }, 0))));
    read.expect_applied().returning(|_| Ok(true));
    let asked = Arc::new(Mutex::new(0));
    let inner = Arc::new(log(register(), changes.clone()));
    // Count the log's reads through a wrapper of the mock.
    let counted = Counted {
        log: inner,
        asked: asked.clone(),
    };
    let held = StakesInMemory::new(Arc::new(read), Arc::new(counted))
        .fresh_within(std::time::Duration::from_secs(3_600));
    held.load().await.expect("loads");
    let owners_of_2 = || async { held.owners_of(&[orgnr(2)]).await.expect("read") };
    assert_eq!(owners_of_2().await, in_company(&register(), &[orgnr(2)]));
    assert_eq!(
        *asked.lock().expect("asked"),
        1,
        "the first read catches up"
    );

    changes.lock().expect("changes").push(OwnershipChange {
        seq: 1,
        changed: OwnershipChanged::Company(orgnr(2)),
    });
    assert_eq!(
        owners_of_2().await,
        in_company(&register(), &[orgnr(2)]),
        "within the window, as held"
    );
    assert_eq!(
        *asked.lock().expect("asked"),
        1,
        "the log was not asked again"
    );

    // A read that waits for a position sees its change.
    assert!(
        held.applied(shareholders_domain::Position::new(1))
            .await
            .expect("applied")
    );
    assert_eq!(owners_of_2().await, now);
    assert_eq!(*asked.lock().expect("asked"), 2);
    assert_eq!(owners_of_2().await, now);
    assert_eq!(*asked.lock().expect("asked"), 2, "and once is enough");
}

/// An [`OwnershipLog`] that counts the reads of its changes.
struct Counted {
    log: Arc<MockOwnershipLog>,
    asked: Arc<Mutex<u32>>,
}

#[async_trait::async_trait]
impl OwnershipLog for Counted {
    async fn last_change(&self) -> Result<u64, crate::ReadError> {
        self.log.last_change().await
    }

    async fn changed_since(
        &self,
        after: u64,
        limit: u32,
    ) -> Result<OwnershipChanges, crate::ReadError> {
        *self.asked.lock().expect("asked") += 1;
        self.log.changed_since(after, limit).await
    }

    fn stakes(&self) -> futures::stream::BoxStream<'_, Result<HoldingRecord, crate::ReadError>> {
        self.log.stakes()
    }

    fn organisations(
        &self,
    ) -> futures::stream::BoxStream<'_, Result<CompanyRecord, crate::ReadError>> {
        self.log.organisations()
    }

    fn persons(&self) -> futures::stream::BoxStream<'_, Result<PersonRecord, crate::ReadError>> {
        self.log.persons()
    }
}

#[tokio::test]
async fn before_it_has_loaded_the_read_model_answers() {
    let mut read = MockReadStore::new();
    let expected = vec![register()[0].clone()];
    let answer = expected.clone();
    read.expect_owners_of()
        .times(1)
        .returning(move |_| Ok(answer.clone()));
    let mut log = MockOwnershipLog::new();
    log.expect_changed_since().never();
    let held = StakesInMemory::new(Arc::new(read), Arc::new(log));
    assert_eq!(held.held(), None);
    assert_eq!(held.owners_of(&[orgnr(1)]).await.expect("read"), expected);
}

#[tokio::test]
async fn once_loaded_it_answers_from_memory_and_reads_again_only_what_changed() {
    let changes = Arc::new(Mutex::new(Vec::new()));
    let now = company_2_now();
    // Only company 2, which the log says changed, is read again, once.
    let mut read = company_2_read_once(&now);
    read.expect_organisation()
        .withf(|&company| company == orgnr(2))
        .times(1)
        .returning(|_| Ok(Some(record(2, 0))));
    let held = StakesInMemory::new(Arc::new(read), Arc::new(log(register(), changes.clone())));
    assert_eq!(held.load().await.expect("loads"), Some(6));
    assert_eq!(
        sorted(held.owners_of(&[orgnr(1), orgnr(2)]).await.expect("read")),
        in_company(&register(), &[orgnr(1), orgnr(2)])
    );

    changes.lock().expect("changes").push(OwnershipChange {
        seq: 1,
        changed: OwnershipChanged::Company(orgnr(2)),
    });
    let mut after = register();
    after.retain(|h| h.company.orgnr != orgnr(2));
    after.extend(now);
    for _ in 0..2 {
        assert_eq!(
            sorted(held.owners_of(&[orgnr(1), orgnr(2)]).await.expect("read")),
            in_company(&after, &[orgnr(1), orgnr(2)])
        );
        assert_eq!(
            sorted(held.holdings_of(&[org_ref(orgnr(1))]).await.expect("read")),
            Vec::<HoldingRecord>::new(),
            "company 1 no longer holds shares in company 2"
        );
    }
    assert_eq!(held.held(), Some(after.len()));
}

#[tokio::test]
async fn a_cleared_read_model_is_loaded_again_and_read_meanwhile() {
    let changes = Arc::new(Mutex::new(Vec::new()));
    let mut read = MockReadStore::new();
    read.expect_owners_of().returning(|_| Ok(Vec::new()));
    let held = StakesInMemory::new(Arc::new(read), Arc::new(log(register(), changes.clone())));
    held.load().await.expect("loads");
    changes.lock().expect("changes").push(OwnershipChange {
        seq: 1,
        changed: OwnershipChanged::Everything,
    });
    // The answer comes from the read model (here: nothing), not from what was held.
    assert_eq!(held.owners_of(&[orgnr(1)]).await.expect("read"), vec![]);
    // It loads again in the background.
    for _ in 0..100 {
        if held.held().is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(held.held(), Some(register().len()));
}

/// Records and pages come from the read model until the register is held, then from memory,
/// and follow the log: a changed company's record and owners are read again (here company 1
/// lost its owners and company 3 its record).
#[tokio::test]
async fn records_and_pages_come_from_memory_once_held_and_follow_the_log() {
    let changes = Arc::new(Mutex::new(Vec::new()));
    let mut read = MockReadStore::new();
    // The read model's present: company 1's record says it holds 7 companies, no other
    // company is registered, and company 1 has no owners.
    read.expect_organisation()
        .returning(|company| Ok((company == orgnr(1)).then(|| record(1, 7))));
    read.expect_owners()
        .times(1)
        .returning(|_, _| Ok(Vec::new()));
    read.expect_holdings()
        .times(1)
        .returning(|_, _| Ok(Vec::new()));
    read.expect_owners_of()
        .withf(|companies| companies == [orgnr(1), orgnr(3)])
        .times(1)
        .returning(|_| Ok(Vec::new()));
    let held = StakesInMemory::new(Arc::new(read), Arc::new(log(register(), changes.clone())));
    let all = page(1, 10);

    // Before it holds anything, the read model answers.
    assert_eq!(
        held.organisation(orgnr(1)).await.expect("read"),
        Some(record(1, 7))
    );
    assert_eq!(held.owners(orgnr(1), all).await.expect("read"), vec![]);
    assert_eq!(
        held.holdings(&person_ref("q"), all).await.expect("read"),
        vec![]
    );

    // Once held, memory answers (the log's records say 0 companies held).
    held.load().await.expect("loads");
    assert_eq!(
        held.organisation(orgnr(1)).await.expect("read"),
        Some(record(1, 0))
    );
    assert_eq!(
        held.organisation(orgnr(3)).await.expect("read"),
        Some(record(3, 0))
    );
    assert_eq!(held.organisation(orgnr(9)).await.expect("read"), None);
    assert_eq!(
        owners_in(&held.owners(orgnr(1), all).await.expect("read")),
        vec![org_ref(orgnr(2)), person_ref("p")]
    );
    assert_eq!(
        companies_in(&held.holdings(&person_ref("q"), all).await.expect("read")),
        vec![orgnr(2), orgnr(4)]
    );

    changes.lock().expect("changes").extend([
        OwnershipChange {
            seq: 1,
            changed: OwnershipChanged::Company(orgnr(1)),
        },
        OwnershipChange {
            seq: 2,
            changed: OwnershipChanged::Company(orgnr(3)),
        },
    ]);
    assert_eq!(
        held.organisation(orgnr(1)).await.expect("read"),
        Some(record(1, 7))
    );
    assert_eq!(held.organisation(orgnr(3)).await.expect("read"), None);
    assert_eq!(held.owners(orgnr(1), all).await.expect("read"), vec![]);
    assert_eq!(
        companies_in(&held.holdings(&org_ref(orgnr(2)), all).await.expect("read")),
        vec![],
        "company 2 no longer holds shares in 1 or 3"
    );
}

/// A page of owners given a record just read is answered from what is held, with no catch-up
/// of its own: a change logged since the record was read is the next read's to catch up with.
#[tokio::test]
async fn owners_given_a_record_are_answered_from_what_is_held_without_catching_up_again() {
    let changes = Arc::new(Mutex::new(Vec::new()));
    let mut read = MockReadStore::new();
    // Neither the read model's owners nor company 1 read again.
    read.expect_owners_given().never();
    read.expect_owners_of().never();
    read.expect_organisation().never();
    let held = StakesInMemory::new(Arc::new(read), Arc::new(log(register(), changes.clone())));
    held.load().await.expect("loads");
    let record = held
        .organisation(orgnr(1))
        .await
        .expect("read")
        .expect("registered");
    changes.lock().expect("changes").push(OwnershipChange {
        seq: 1,
        changed: OwnershipChanged::Company(orgnr(1)),
    });
    assert_eq!(
        owners_in(&held.owners_given(&record, page(1, 10)).await.expect("read")),
        vec![org_ref(orgnr(2)), person_ref("p")]
    );
}

/// A search is ranked in memory once the register is held (the read model is not asked), and
/// finds a person the log says was registered since, and an organisation by its record's new
/// name.
#[tokio::test]
async fn a_search_follows_registrations_and_names() {
    let changes = Arc::new(Mutex::new(Vec::new()));
    let mut read = MockReadStore::new();
    read.expect_search().never();
    read.expect_person()
        .withf(|id| id.as_str() == "z")
        .times(1)
        .returning(|_| Ok(Some(person_record("z", "COMPANY ZETA"))));
    read.expect_owners_of().returning(|_| Ok(Vec::new()));
    read.expect_organisation().returning(|company| {
        let mut renamed = record(3, 0);
        renamed.organisation = crate::testkit::organisation(company, "RENAMED AS", None);
        Ok(Some(renamed))
    });
    let held = StakesInMemory::new(Arc::new(read), Arc::new(log(register(), changes.clone())));
    held.load().await.expect("loads");
    let search = |text: &str| {
        let query = shareholders_domain::SearchQuery::parse(text, None).expect("a query");
        let held = held.clone();
        async move {
            let found = held
                .search_ranked(&query, 10)
                .await
                .expect("a search")
                .expect("ranked in memory");
            let ids: Vec<String> = found
                .parties
                .iter()
                .map(|party| party.owner.id().to_owned())
                .collect();
            (ids, found.total)
        }
    };
    assert_eq!(search("company").await.1, 4);
    assert_eq!(search("eier per").await, (vec!["p".to_owned()], 1));

    changes.lock().expect("changes").extend([
        OwnershipChange {
            seq: 1,
            changed: OwnershipChanged::Person(
                shareholders_domain::PersonId::parse("z").expect("an id"),
            ),
        },
        OwnershipChange {
            seq: 2,
            changed: OwnershipChanged::Company(orgnr(3)),
        },
    ]);
    let (ids, total) = search("company").await;
    assert_eq!(total, 4, "companies 1, 2 and 4, and the new person");
    assert!(ids.contains(&"z".to_owned()), "{ids:?}");
    assert!(!ids.contains(&orgnr(3).as_str().to_owned()), "{ids:?}");
    assert_eq!(
        search("renamed").await,
        (vec![orgnr(3).as_str().to_owned()], 1)
    );
}
