use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use futures::StreamExt as _;
use rstest::rstest;
use shareholders_domain::{
    ClassShares, CompanyProfile, Country, Name, OrgNr, OwnerProfile, OwnerRef, ShareCount,
};

use super::index::Stakes;
use super::{MockOwnershipLog, OwnershipChange, OwnershipChanged, StakesInMemory};
use crate::testkit::{class, org_ref, orgnr, person_ref};
use crate::{HoldingRecord, MockReadStore, ReadStore};

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
    let mut stakes = Stakes::default();
    for holding in holdings {
        stakes.insert(holding.clone());
    }
    stakes
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

/// Each step replaces one company's holdings; after each, both reads of every company and
/// every owner answer as the register after the step does.
#[rstest]
#[case::an_owner_leaves(2, vec![(person_ref("q"), 20)])]
#[case::every_owner_leaves(1, vec![])]
#[case::a_new_owner(4, vec![(person_ref("q"), 1), (person_ref("r"), 3)])]
#[case::a_new_company(7, vec![(person_ref("p"), 2)])]
#[case::shares_change(3, vec![(org_ref(orgnr(2)), 9)])]
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
    for party in parties {
        assert_eq!(
            sorted(stakes.holdings_of(std::slice::from_ref(&party))),
            of_owner(&all, &[party])
        );
    }
}

/// A log whose changes and stakes a test sets, and which counts how often it was asked.
fn log(stakes: Vec<HoldingRecord>, changes: Arc<Mutex<Vec<OwnershipChange>>>) -> MockOwnershipLog {
    let mut log = MockOwnershipLog::new();
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
        Ok(changes
            .lock()
            .expect("changes")
            .iter()
            .filter(|change| change.seq > after)
            .cloned()
            .collect())
    });
    log
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
    let mut read = MockReadStore::new();
    let now = vec![holding(2, &person_ref("r"), &[("Ordinære aksjer", 60)], 60)];
    let answer = now.clone();
    // Only company 2, which the log says changed, is read again, once.
    read.expect_owners_of()
        .withf(|companies| companies == [orgnr(2)])
        .times(1)
        .returning(move |_| Ok(answer.clone()));
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
