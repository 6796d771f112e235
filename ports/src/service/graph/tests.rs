//! The graph's use cases read the read model a level at a time and hand the domain what they
//! read; the rules themselves are tested in the domain.

use std::sync::Arc;

use shareholders_domain::{
    ClassShares, CompanyProfile, Country, Name, OrgNr, Organisation, OwnerProfile, OwnerRef,
    PersonId, Register, ShareClass, ShareCount,
};

use super::{GraphDirection, GraphRequest, GraphRequestError, UltimateQuestion};
use crate::{CompanyRecord, HoldingRecord, MockReadStore, MockWriteStore, PageRequest, Service};

const COMPANY: &str = "910000004";
const HOLDING_COMPANY: &str = "910000012";

fn orgnr(s: &str) -> OrgNr {
    OrgNr::parse(s).expect("valid orgnr")
}

fn person(id: &str) -> OwnerRef {
    OwnerRef::Person(PersonId::parse(id).expect("an id"))
}

fn organisation(nr: &str) -> OwnerRef {
    OwnerRef::Organisation(orgnr(nr))
}

fn record(nr: &str, total: u64) -> CompanyRecord {
    CompanyRecord {
        organisation: Organisation::new(
            orgnr(nr),
            Name::parse(&format!("COMPANY {nr} AS")).expect("a name"),
            None,
            None,
            Country::NORWAY,
            Some(ShareCount::new(total).expect("positive")),
        ),
        registered_shares: total,
        owner_count: 2,
        foreign_owner_count: 0,
        holding_count: 0,
        classes: Vec::new(),
    }
}

/// `owner` holds `shares` of `company`, whose declared and registered total is 100.
fn holding(company: &str, owner: OwnerRef, shares: u64) -> HoldingRecord {
    HoldingRecord {
        company: CompanyProfile {
            orgnr: orgnr(company),
            name: Name::parse(&format!("COMPANY {company} AS")).expect("a name"),
            total_shares: Some(ShareCount::new(100).expect("positive")),
        },
        company_registered_shares: 100,
        owner: OwnerProfile {
            name: Name::parse(&format!("OWNER {}", owner.id())).expect("a name"),
            owner,
            country: Country::NORWAY,
            birth_year: None,
        },
        classes: vec![ClassShares {
            share_class: ShareClass::parse("Ordinære aksjer").expect("a class"),
            shares,
        }],
    }
}

/// COMPANY is held 60 % by HOLDING_COMPANY and 40 % by person q; HOLDING_COMPANY is held
/// wholly by person p.
fn register() -> MockReadStore {
    let mut read = MockReadStore::new();
    read.expect_organisation()
        .returning(|nr| Ok((nr == orgnr(COMPANY)).then(|| record(COMPANY, 100))));
    read.expect_person().returning(|_| Ok(None));
    // Nothing is held in memory: the graph is read a level at a time.
    read.expect_ultimate_owners().returning(|_, _| Ok(None));
    read.expect_owners_of()
        .withf(|level| level == [orgnr(COMPANY)])
        .times(1)
        .returning(|_| {
            Ok(vec![
                holding(COMPANY, organisation(HOLDING_COMPANY), 60),
                holding(COMPANY, person("q"), 40),
            ])
        });
    read.expect_owners_of()
        .withf(|level| level == [orgnr(HOLDING_COMPANY)])
        .times(1)
        .returning(|_| Ok(vec![holding(HOLDING_COMPANY, person("p"), 100)]));
    read
}

fn service(read: MockReadStore) -> Service {
    Service::new(Arc::new(MockWriteStore::new()), Arc::new(read))
}

#[tokio::test]
async fn ultimate_owners_are_read_a_level_at_a_time_up_to_the_persons() {
    let view = service(register())
        .ultimate_owners(
            Register::Live,
            orgnr(COMPANY),
            0.0,
            PageRequest::default(),
            None,
        )
        .await
        .expect("read")
        .expect("a known company");
    let owners: Vec<(OwnerRef, f64, bool)> = view
        .owners
        .iter()
        .map(|o| (o.owner.owner.clone(), o.effective, o.beneficial.is_some()))
        .collect();
    assert_eq!(owners, [(person("p"), 0.6, true), (person("q"), 0.4, true)]);
    let chain = &view.owners[0].chains[0];
    let links: Vec<(OwnerRef, OrgNr, &str)> = chain
        .links
        .iter()
        .map(|l| (l.owner.owner.clone(), l.company, l.owner.name.as_str()))
        .collect();
    assert_eq!(
        links,
        [
            (person("p"), orgnr(HOLDING_COMPANY), "OWNER p"),
            (
                organisation(HOLDING_COMPANY),
                orgnr(COMPANY),
                "OWNER 910000012"
            ),
        ]
    );
    assert!(view.unattributed.abs() < 1e-12);
    assert_eq!(view.page.total_items, 2);
}

#[tokio::test]
async fn ultimate_owners_are_filtered_by_size_and_paged() {
    let page = PageRequest::new(Some(1), Some(1)).expect("a page");
    let view = service(register())
        .ultimate_owners(Register::Live, orgnr(COMPANY), 0.5, page, None)
        .await
        .expect("read")
        .expect("a known company");
    assert_eq!(view.owners.len(), 1);
    assert_eq!(view.owners[0].owner.owner, person("p"));
    assert_eq!(view.page.total_items, 1);
}

#[tokio::test]
async fn ultimate_owners_computed_where_the_register_is_held_are_taken_as_they_are() {
    let mut read = MockReadStore::new();
    read.expect_organisation()
        .returning(|_| Ok(Some(record(COMPANY, 100))));
    let page = PageRequest::new(Some(2), Some(1)).expect("a page");
    let held = crate::UltimateAnswer {
        owners: Vec::new(),
        unattributed: 0.25,
        page: Some(crate::PageInfo::new(page, 1)),
    };
    let answer = held.clone();
    read.expect_ultimate_owners()
        .withf(move |company, question| {
            *company == orgnr(COMPANY)
                && *question
                    == UltimateQuestion::Owners {
                        min_fraction: 0.1,
                        page,
                    }
        })
        .times(1)
        .returning(move |_, _| Ok(Some(answer.clone())));
    read.expect_owners_of().never();
    let view = service(read)
        .ultimate_owners(Register::Live, orgnr(COMPANY), 0.1, page, None)
        .await
        .expect("read")
        .expect("a known company");
    assert_eq!(
        (view.owners, view.unattributed, Some(view.page)),
        (held.owners, held.unattributed, held.page)
    );
}

#[tokio::test]
async fn an_unknown_company_reads_no_graph() {
    let mut read = MockReadStore::new();
    read.expect_organisation().returning(|_| Ok(None));
    read.expect_owners_of().never();
    let service = service(read);
    let unknown = orgnr(HOLDING_COMPANY);
    assert!(
        service
            .ultimate_owners(Register::Live, unknown, 0.0, PageRequest::default(), None)
            .await
            .expect("read")
            .is_none()
    );
    assert!(
        service
            .beneficial_owners(Register::Live, unknown, None)
            .await
            .expect("read")
            .is_none()
    );
}

#[tokio::test]
async fn beneficial_owners_are_the_persons_above_25_percent() {
    let mut read = MockReadStore::new();
    read.expect_organisation()
        .returning(|_| Ok(Some(record(COMPANY, 100))));
    read.expect_ultimate_owners().returning(|_, _| Ok(None));
    read.expect_owners_of().times(1).returning(|_| {
        Ok(vec![
            holding(COMPANY, person("big"), 70),
            holding(COMPANY, person("small"), 25),
            holding(COMPANY, person("tiny"), 5),
        ])
    });
    let view = service(read)
        .beneficial_owners(Register::Live, orgnr(COMPANY), None)
        .await
        .expect("read")
        .expect("a known company");
    let owners: Vec<OwnerRef> = view.owners.iter().map(|o| o.owner.owner.clone()).collect();
    assert_eq!(
        owners,
        [person("big")],
        "exactly 25 % is not more than 25 %"
    );
}

#[tokio::test]
async fn ultimate_holdings_are_read_a_level_at_a_time_down() {
    let mut read = MockReadStore::new();
    // Nothing is held in memory: the graph is read a level at a time.
    read.expect_ultimate_holdings().returning(|_, _| Ok(None));
    read.expect_person().returning(|id| {
        Ok(Some(crate::PersonRecord {
            person: shareholders_domain::Person::new(
                id.clone(),
                Name::parse("P").expect("a name"),
                None,
                None,
                None,
                Country::NORWAY,
            ),
            holding_count: 1,
        }))
    });
    read.expect_holdings_of()
        .withf(|level| level == [person("p")])
        .times(1)
        .returning(|_| Ok(vec![holding(HOLDING_COMPANY, person("p"), 100)]));
    read.expect_holdings_of()
        .withf(|level| level == [organisation(HOLDING_COMPANY)])
        .times(1)
        .returning(|_| Ok(vec![holding(COMPANY, organisation(HOLDING_COMPANY), 60)]));
    read.expect_holdings_of()
        .withf(|level| level == [organisation(COMPANY)])
        .times(1)
        .returning(|_| Ok(Vec::new()));
    let view = service(read)
        .ultimate_holdings(Register::Live, &person("p"), PageRequest::default(), None)
        .await
        .expect("read")
        .expect("a known person");
    let holdings: Vec<(OrgNr, f64, f64)> = view
        .holdings
        .iter()
        .map(|h| (h.company.orgnr, h.effective, h.controlled))
        .collect();
    assert_eq!(
        holdings,
        [
            (orgnr(HOLDING_COMPANY), 1.0, 1.0),
            (orgnr(COMPANY), 0.6, 0.6)
        ]
    );
}

#[tokio::test]
async fn the_drawn_graph_stops_at_its_depth_and_says_so() {
    let request = GraphRequest::new(Some(GraphDirection::Up), Some(1), None).expect("valid");
    let view = service(register())
        .ownership_graph(Register::Live, orgnr(COMPANY), request, None)
        .await
        .expect("read")
        .expect("a known company");
    let nodes: Vec<(OwnerRef, i32)> = view
        .nodes
        .iter()
        .map(|n| (n.party.clone(), n.level))
        .collect();
    assert_eq!(
        nodes,
        [
            (organisation(COMPANY), 0),
            (organisation(HOLDING_COMPANY), -1),
            (person("q"), -1),
        ]
    );
    assert_eq!(view.edges.len(), 2);
    assert_eq!(view.edges[0].percentage.to_string(), "60.0000");
    assert!(view.truncated, "p lies beyond the depth");
}

#[tokio::test]
async fn the_drawn_graph_keeps_the_largest_within_its_limit() {
    let request = GraphRequest::new(Some(GraphDirection::Up), Some(5), Some(2)).expect("valid");
    let mut read = MockReadStore::new();
    read.expect_organisation()
        .returning(|_| Ok(Some(record(COMPANY, 100))));
    read.expect_owners_of().returning(|level| {
        Ok(if level == [orgnr(COMPANY)] {
            vec![
                holding(COMPANY, person("small"), 10),
                holding(COMPANY, person("big"), 90),
            ]
        } else {
            Vec::new()
        })
    });
    let view = service(read)
        .ownership_graph(Register::Live, orgnr(COMPANY), request, None)
        .await
        .expect("read")
        .expect("a known company");
    let nodes: Vec<OwnerRef> = view.nodes.iter().map(|n| n.party.clone()).collect();
    assert_eq!(nodes, [organisation(COMPANY), person("big")]);
    assert_eq!(view.edges.len(), 1);
    assert!(view.truncated);
}

#[test]
fn a_graph_request_is_within_its_bounds() {
    assert_eq!(
        GraphRequest::new(None, Some(0), None),
        Err(GraphRequestError::Depth)
    );
    assert_eq!(
        GraphRequest::new(None, None, Some(GraphRequest::MAX_LIMIT + 1)),
        Err(GraphRequestError::Limit)
    );
    let default = GraphRequest::new(None, None, None).expect("valid");
    assert_eq!(default.direction(), GraphDirection::Both);
    assert_eq!(default.limit(), 500);
}

/// The register of [`register`], read as often as a test asks.
fn read_any_number_of_times() -> MockReadStore {
    let mut read = MockReadStore::new();
    read.expect_organisation()
        .returning(|_| Ok(Some(record(COMPANY, 100))));
    read.expect_ultimate_owners().returning(|_, _| Ok(None));
    read.expect_owners_of().returning(|level| {
        Ok(if level == [orgnr(COMPANY)] {
            vec![
                holding(COMPANY, organisation(HOLDING_COMPANY), 60),
                holding(COMPANY, person("q"), 40),
            ]
        } else {
            vec![holding(HOLDING_COMPANY, person("p"), 100)]
        })
    });
    read
}

fn limited(read: MockReadStore, budget: usize, stakes: usize) -> Service {
    Service::with_graph_limits(
        Arc::new(MockWriteStore::new()),
        Arc::new(read),
        crate::GraphLimits {
            budget,
            wait: std::time::Duration::from_millis(50),
            stakes,
            network: 100,
        },
    )
}

async fn beneficial(service: &Service) -> Result<usize, crate::QueryError> {
    service
        .beneficial_owners(Register::Live, orgnr(COMPANY), None)
        .await
        .map(|view| view.expect("a known company").owners.len())
}

#[tokio::test]
async fn a_graph_past_its_stake_limit_is_refused_not_computed() {
    // The register's graph has 3 stakes: within a limit of 3, past one of 2.
    assert_eq!(
        beneficial(&limited(register(), 3, 3)).await.expect("read"),
        2
    );
    assert!(matches!(
        beneficial(&limited(read_any_number_of_times(), 3, 2)).await,
        Err(crate::QueryError::GraphTooLarge {
            limit: 2,
            what: "stakes"
        })
    ));
}

#[tokio::test]
async fn a_graph_waits_for_room_in_the_budget_then_is_refused_as_busy() {
    // The register's graph reads 2 stakes, then 1: a budget of 3 with 2 held by others has
    // room for its first level only.
    let service = limited(read_any_number_of_times(), 3, 100);
    let others = Arc::clone(&service.graph.semaphore)
        .acquire_many_owned(2)
        .await
        .expect("room");
    assert!(matches!(
        beneficial(&service).await,
        Err(crate::QueryError::GraphBusy)
    ));
    // A refused graph gives back what it took.
    assert_eq!(service.graph.semaphore.available_permits(), 1);
    drop(others);
    assert_eq!(beneficial(&service).await.expect("room came"), 2);
    assert_eq!(
        service.graph.semaphore.available_permits(),
        3,
        "all given back"
    );
}

/// A network company as `(orgnr, [(owner, shares)], [(beneficial owner, effective)])`.
type CompanySummary = (OrgNr, Vec<(OwnerRef, u64)>, Vec<(OwnerRef, f64)>);

#[tokio::test]
async fn a_network_is_read_once_and_gives_every_company_its_owners_and_beneficial_owners() {
    let mut read = MockReadStore::new();
    read.expect_organisation()
        .returning(|nr| Ok(Some(record(nr.as_str(), 100))));
    // One read a level, whatever the number of companies in the network.
    read.expect_owners_of()
        .withf(|level| level == [orgnr(COMPANY)])
        .times(1)
        .returning(|_| {
            Ok(vec![
                holding(COMPANY, person("q"), 40),
                holding(COMPANY, organisation(HOLDING_COMPANY), 60),
            ])
        });
    read.expect_owners_of()
        .withf(|level| level == [orgnr(HOLDING_COMPANY)])
        .times(1)
        .returning(|_| Ok(vec![holding(HOLDING_COMPANY, person("p"), 100)]));
    let network = service(read)
        .ownership_network(Register::Live, orgnr(COMPANY), None)
        .await
        .expect("read")
        .expect("a known company");
    let summary: Vec<CompanySummary> = network
        .iter()
        .map(|company| {
            (
                company.company.organisation.orgnr(),
                company
                    .owners
                    .iter()
                    .map(|o| (o.owner.owner.clone(), o.shares))
                    .collect(),
                company
                    .beneficial
                    .iter()
                    .map(|b| (b.owner.owner.clone(), b.effective))
                    .collect(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            // Ordered by orgnr; owners largest first; p holds COMPANY through HOLDING_COMPANY.
            (
                orgnr(COMPANY),
                vec![(organisation(HOLDING_COMPANY), 60), (person("q"), 40)],
                vec![(person("p"), 0.6), (person("q"), 0.4)],
            ),
            (
                orgnr(HOLDING_COMPANY),
                vec![(person("p"), 100)],
                vec![(person("p"), 1.0)],
            ),
        ]
    );
    assert_eq!(network[0].total_shares, 100);
}

#[tokio::test]
async fn a_network_of_more_companies_than_its_limit_is_refused() {
    let service = Service::with_graph_limits(
        Arc::new(MockWriteStore::new()),
        Arc::new(read_any_number_of_times()),
        crate::GraphLimits {
            network: 1,
            ..crate::GraphLimits::default()
        },
    );
    // COMPANY has one organisation above it: HOLDING_COMPANY.
    assert!(matches!(
        service
            .ownership_network(Register::Live, orgnr(COMPANY), None)
            .await,
        Err(crate::QueryError::GraphTooLarge {
            limit: 1,
            what: "companies"
        })
    ));
    // The graph reads themselves are not bound by it.
    assert_eq!(beneficial(&service).await.expect("read"), 2);
}
