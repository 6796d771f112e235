use std::sync::Arc;

use rstest::rstest;
use shareholders_domain::{
    ClassShares, CompanyProfile, Country, OrgNr, Organisation, OwnerProfile, OwnerRef, PersonId,
    Position, Purchase, PurchaseId, PurchaseRefused, RegisterYear, ShareCount,
};

use super::*;
use crate::testkit::{class, name};
use crate::{MockReadStore, MockWriteStore, ReadError, YearRecord};

fn orgnr(s: &str) -> OrgNr {
    OrgNr::parse(s).expect("valid orgnr")
}

fn organisation(nr: &str, total: Option<u64>) -> Organisation {
    Organisation::new(
        orgnr(nr),
        name("TVIST 1 AS"),
        None,
        None,
        Country::NORWAY,
        total.map(|t| ShareCount::new(t).expect("positive")),
    )
}

fn company(
    total: Option<u64>,
    registered: u64,
    foreign: u64,
    classes: &[(&str, u64)],
) -> CompanyRecord {
    CompanyRecord {
        organisation: organisation("988844322", total),
        registered_shares: registered,
        owner_count: 2,
        foreign_owner_count: foreign,
        holding_count: 1,
        classes: classes
            .iter()
            .map(|(c, s)| ClassShares {
                share_class: class(c),
                shares: *s,
            })
            .collect(),
    }
}

fn holding(
    company_nr: &str,
    owner: OwnerRef,
    classes: &[(&str, u64)],
    registered: u64,
) -> HoldingRecord {
    HoldingRecord {
        company: CompanyProfile {
            orgnr: orgnr(company_nr),
            name: name("TVIST 1 AS"),
            total_shares: None,
        },
        company_registered_shares: registered,
        owner: OwnerProfile {
            owner,
            name: name("HAGEN STEIN ERIK"),
            country: Country::NORWAY,
            birth_year: None,
        },
        classes: classes
            .iter()
            .map(|(c, s)| ClassShares {
                share_class: class(c),
                shares: *s,
            })
            .collect(),
    }
}

fn service(write: MockWriteStore, read: MockReadStore) -> Service {
    Service::new(Arc::new(write), Arc::new(read))
}

#[tokio::test]
async fn buying_shares_passes_the_store_result_through() {
    let purchase = Purchase::new(
        orgnr("988844322"),
        OwnerRef::Organisation(orgnr("885648312")),
        class("A-aksjer"),
        ShareCount::new(3).expect("positive"),
    );
    let mut write = MockWriteStore::new();
    let expected = purchase.clone();
    write
        .expect_purchase()
        .withf(move |p, key| *p == expected && key.is_none())
        .times(1)
        .returning(|p, _| {
            Ok(Recorded {
                value: PurchaseReceipt {
                    id: PurchaseId::new(7),
                    purchase: p.clone(),
                },
                position: Position::new(42),
                replayed: false,
            })
        });
    let recorded = service(write, MockReadStore::new())
        .buy_shares(&purchase, None)
        .await
        .expect("recorded");
    assert_eq!(recorded.position, Position::new(42));
    assert_eq!(recorded.value.id, PurchaseId::new(7));
}

#[rstest]
#[case::unknown_company(PurchaseError::UnknownCompany(orgnr("988844322")), "not registered")]
#[case::refused(
    PurchaseError::Refused(PurchaseRefused::ExceedsIssued { issued: 120, registered: 120, requested: 1 }),
    "exceed"
)]
#[case::store_down(PurchaseError::Unknown(anyhow::anyhow!("connection reset")), "connection reset")]
#[tokio::test]
async fn purchase_failures_reach_the_caller(#[case] error: PurchaseError, #[case] message: &str) {
    let mut write = MockWriteStore::new();
    let error = std::sync::Mutex::new(Some(error));
    write
        .expect_purchase()
        .times(1)
        .returning(move |_, _| Err(error.lock().expect("lock").take().expect("called once")));
    let purchase = Purchase::new(
        orgnr("988844322"),
        OwnerRef::Organisation(orgnr("885648312")),
        class("A-aksjer"),
        ShareCount::new(1).expect("positive"),
    );
    let error = service(write, MockReadStore::new())
        .buy_shares(&purchase, None)
        .await
        .expect_err("fails");
    assert!(error.to_string().contains(message), "{error}");
}

#[tokio::test]
async fn registering_a_person_assigns_a_fresh_id() {
    let mut write = MockWriteStore::new();
    write.expect_register_person().times(2).returning(|p, _| {
        Ok(Recorded {
            value: p.clone(),
            position: Position::new(1),
            replayed: false,
        })
    });
    let service = service(write, MockReadStore::new());
    let details = PersonDetails {
        name: name("HAGEN STEIN ERIK"),
        birth_year: None,
        postal_code: None,
        place: None,
        country: Country::NORWAY,
    };
    let first = service
        .register_person(details.clone(), None)
        .await
        .expect("ok");
    let second = service.register_person(details, None).await.expect("ok");
    assert_ne!(first.value.id(), second.value.id());
    assert_eq!(first.value.id().as_str().len(), 32);
}

#[tokio::test]
async fn owners_get_percentages_of_the_declared_total() {
    let mut read = MockReadStore::new();
    read.expect_organisation().returning(|_| {
        Ok(Some(company(
            Some(1000),
            500,
            0,
            &[("Ordinære aksjer", 500)],
        )))
    });
    read.expect_owners_given().times(1).returning(|_, _| {
        Ok(vec![holding(
            "988844322",
            OwnerRef::Organisation(orgnr("885648312")),
            &[("Ordinære aksjer", 500)],
            500,
        )])
    });
    let view = service(MockWriteStore::new(), read)
        .owners(
            Register::Live,
            orgnr("988844322"),
            PageRequest::default(),
            None,
        )
        .await
        .expect("ok")
        .expect("known company");
    assert_eq!(view.total_shares, 1000);
    assert_eq!(view.owners.len(), 1);
    assert_eq!(view.owners[0].percentage.to_string(), "50.0000");
    assert_eq!(view.owners[0].classes[0].percentage.to_string(), "50.0000");
    assert!(!view.owners[0].treasury);
    assert_eq!(view.page.total_items, 2);
    assert_eq!(view.page.total_pages, 1);
}

#[tokio::test]
async fn a_company_holding_its_own_shares_is_flagged_as_treasury() {
    let mut read = MockReadStore::new();
    read.expect_organisation()
        .returning(|_| Ok(Some(company(None, 10, 0, &[("A-aksjer", 10)]))));
    read.expect_owners_given().returning(|_, _| {
        Ok(vec![holding(
            "988844322",
            OwnerRef::Organisation(orgnr("988844322")),
            &[("A-aksjer", 10)],
            10,
        )])
    });
    let view = service(MockWriteStore::new(), read)
        .owners(
            Register::Live,
            orgnr("988844322"),
            PageRequest::default(),
            None,
        )
        .await
        .expect("ok")
        .expect("known");
    assert!(view.owners[0].treasury);
    assert_eq!(view.owners[0].percentage.to_string(), "100.0000");
}

#[tokio::test]
async fn unknown_companies_have_no_owners_view() {
    let mut read = MockReadStore::new();
    read.expect_organisation().returning(|_| Ok(None));
    read.expect_owners_given().never();
    let view = service(MockWriteStore::new(), read)
        .owners(
            Register::Live,
            orgnr("988844322"),
            PageRequest::default(),
            None,
        )
        .await
        .expect("ok");
    assert!(view.is_none());
}

#[tokio::test]
async fn holdings_use_each_companys_total() {
    let mut read = MockReadStore::new();
    read.expect_organisation().returning(|_| {
        Ok(Some(company(
            Some(120),
            120,
            1,
            &[("A-aksjer", 3), ("B-aksjer", 117)],
        )))
    });
    read.expect_holdings().returning(|_, _| {
        let mut declared = holding(
            "911964236",
            OwnerRef::Organisation(orgnr("988844322")),
            &[("Ordinære aksjer", 500)],
            500,
        );
        declared.company.total_shares = Some(ShareCount::new(1000).expect("positive"));
        let undeclared = holding(
            "915796680",
            OwnerRef::Organisation(orgnr("988844322")),
            &[("Ordinære aksjer", 10)],
            40,
        );
        Ok(vec![declared, undeclared])
    });
    let view = service(MockWriteStore::new(), read)
        .holdings(
            Register::Live,
            &OwnerRef::Organisation(orgnr("988844322")),
            PageRequest::default(),
            None,
        )
        .await
        .expect("ok")
        .expect("known owner");
    let percentages: Vec<String> = view
        .holdings
        .iter()
        .map(|h| h.percentage.to_string())
        .collect();
    assert_eq!(percentages, ["50.0000", "25.0000"]);
    assert_eq!(view.page.total_items, 1);
}

#[rstest]
#[case(0, &[("Ordinære aksjer", 10)], false, false)]
#[case(1, &[("Ordinære aksjer", 10)], true, false)]
#[case(0, &[("A-aksjer", 3), ("B-aksjer", 117)], false, true)]
#[case(2, &[("A-aksjer", 3), ("B-aksjer", 117)], true, true)]
#[tokio::test]
async fn summaries_flag_interesting_ownership(
    #[case] foreign: u64,
    #[case] classes: &'static [(&'static str, u64)],
    #[case] foreign_flag: bool,
    #[case] classes_flag: bool,
) {
    let mut read = MockReadStore::new();
    let registered: u64 = classes.iter().map(|(_, s)| s).sum();
    read.expect_organisation()
        .returning(move |_| Ok(Some(company(None, registered, foreign, classes))));
    read.expect_owners_given()
        .withf(|company, page| {
            company.organisation.orgnr() == orgnr("988844322")
                && page.size() == 1
                && page.page() == 1
        })
        .returning(move |_, _| {
            Ok(vec![holding(
                "988844322",
                OwnerRef::Organisation(orgnr("885648312")),
                &classes[..1],
                registered,
            )])
        });
    let summary = service(MockWriteStore::new(), read)
        .summary(Register::Live, orgnr("988844322"), None)
        .await
        .expect("ok")
        .expect("known");
    assert_eq!(summary.interest.foreign_owners, foreign_flag);
    assert_eq!(summary.interest.multiple_share_classes, classes_flag);
    assert_eq!(summary.total_shares, registered);
    assert!(summary.largest_owner.is_some());
}

#[tokio::test]
async fn a_read_waits_for_its_position() {
    let mut read = MockReadStore::new();
    let mut calls = 0;
    read.expect_applied().times(3).returning(move |_| {
        calls += 1;
        Ok(calls == 3)
    });
    read.expect_organisation().returning(|_| Ok(None));
    let mut write = MockWriteStore::new();
    write
        .expect_last_position()
        .times(1)
        .returning(|| Ok(Some(Position::new(9))));
    let found = service(write, read)
        .organisation(Register::Live, orgnr("988844322"), Some(Position::new(9)))
        .await
        .expect("ok");
    assert!(found.is_none());
}

#[tokio::test]
async fn a_read_gives_up_after_the_limit() {
    let mut read = MockReadStore::new();
    read.expect_applied().returning(|_| Ok(false));
    let mut write = MockWriteStore::new();
    write
        .expect_last_position()
        .times(1)
        .returning(|| Ok(Some(Position::new(12))));
    let service = service(write, read);
    let error = service
        .wait_for_within(Some(Position::new(9)), std::time::Duration::from_millis(30))
        .await
        .expect_err("times out");
    assert!(matches!(error, QueryError::NotYetApplied(9)));
}

#[rstest]
#[case(Some(8), 9, Some(8))]
#[case(None, 1, None)]
#[tokio::test]
async fn a_position_no_write_was_given_is_refused_at_once(
    #[case] last: Option<u64>,
    #[case] asked: u64,
    #[case] reported: Option<u64>,
) {
    let mut read = MockReadStore::new();
    read.expect_applied().times(1).returning(|_| Ok(false));
    let mut write = MockWriteStore::new();
    write
        .expect_last_position()
        .returning(move || Ok(last.map(Position::new)));
    let error = service(write, read)
        .wait_for_within(
            Some(Position::new(asked)),
            std::time::Duration::from_secs(60),
        )
        .await
        .expect_err("refused");
    assert!(
        matches!(error, QueryError::PositionNotIssued { position, last } if position == asked && last == reported),
        "{error:?}"
    );
}

#[tokio::test]
async fn an_applied_position_asks_the_write_model_nothing() {
    let mut read = MockReadStore::new();
    read.expect_applied().times(1).returning(|_| Ok(true));
    // No expectation on the write model: a call would fail the test.
    service(MockWriteStore::new(), read)
        .wait_for_within(Some(Position::new(3)), std::time::Duration::from_secs(1))
        .await
        .expect("applied");
}

#[tokio::test]
async fn read_failures_reach_the_caller() {
    let mut read = MockReadStore::new();
    read.expect_organisation()
        .returning(|_| Err(ReadError::Unknown(anyhow::anyhow!("mongo down"))));
    let error = service(MockWriteStore::new(), read)
        .summary(Register::Live, orgnr("988844322"), None)
        .await
        .expect_err("fails");
    assert!(matches!(error, QueryError::Read(_)));
}

#[rstest]
#[case(None, None, Ok((1, 100, 0)))]
#[case(Some(3), Some(1000), Ok((3, 1000, 2000)))]
#[case(Some(0), None, Err(crate::PageRequestError::Page))]
#[case(None, Some(0), Err(crate::PageRequestError::Size))]
#[case(None, Some(1001), Err(crate::PageRequestError::Size))]
fn page_requests_are_bounded(
    #[case] page: Option<u32>,
    #[case] size: Option<u32>,
    #[case] expected: Result<(u32, u32, u64), crate::PageRequestError>,
) {
    assert_eq!(
        PageRequest::new(page, size).map(|p| (p.page(), p.size(), p.offset())),
        expected
    );
}

fn year(y: i64) -> RegisterYear {
    RegisterYear::new(y).expect("a register year")
}

fn person_ref(id: &str) -> OwnerRef {
    OwnerRef::Person(PersonId::parse(id).expect("an id"))
}

/// A year's read model holding TVIST 1 AS with the given owners (id, shares).
fn year_view(owners: &[(&'static str, u64)]) -> MockReadStore {
    let owners: Vec<(&'static str, u64)> = owners.to_vec();
    let registered: u64 = owners.iter().map(|(_, s)| s).sum();
    let mut view = MockReadStore::new();
    view.expect_organisation().returning(move |_| {
        Ok(Some(CompanyRecord {
            owner_count: 2,
            ..company(Some(200), registered, 0, &[])
        }))
    });
    view.expect_owners().returning(move |_, page| {
        assert_eq!(page.size(), PageRequest::MAX_SIZE, "every owner is read");
        Ok(owners
            .iter()
            .filter(|_| page.page() == 1)
            .map(|(id, shares)| holding("988844322", person_ref(id), &[("A", *shares)], registered))
            .collect())
    });
    view
}

#[tokio::test]
async fn a_year_never_imported_is_reported_as_such() {
    let mut read = MockReadStore::new();
    read.expect_year().returning(|_| Ok(None));
    let service = service(MockWriteStore::new(), read);
    let error = service
        .owners(
            Register::Year(year(2021)),
            orgnr("988844322"),
            PageRequest::default(),
            None,
        )
        .await
        .expect_err("no such year");
    assert!(matches!(error, QueryError::YearNotImported(y) if y == year(2021)));
    let error = service
        .changes(
            orgnr("988844322"),
            year(2021),
            year(2022),
            PageRequest::default(),
        )
        .await
        .expect_err("no such year");
    assert!(matches!(error, QueryError::YearNotImported(_)));
}

#[tokio::test]
async fn changes_list_only_changed_owners_largest_first_with_each_years_percentage() {
    let mut read = MockReadStore::new();
    read.expect_year().returning(|y| {
        Ok(Some(Arc::new(if y.get() == 2022 {
            year_view(&[("a", 100), ("b", 50), ("c", 10)])
        } else {
            year_view(&[("a", 100), ("b", 20), ("d", 60)])
        }) as Arc<dyn ReadStore>))
    });
    let view = service(MockWriteStore::new(), read)
        .changes(
            orgnr("988844322"),
            year(2022),
            year(2023),
            PageRequest::new(Some(1), Some(2)).expect("a page"),
        )
        .await
        .expect("reads")
        .expect("listed");
    assert_eq!(view.total_shares, (Some(200), Some(200)));
    let shown: Vec<_> = view
        .changes
        .iter()
        .map(|c| (c.owner.owner.id().to_owned(), c.change, c.shares))
        .collect();
    assert_eq!(
        shown,
        [
            (
                "d".to_owned(),
                shareholders_domain::ChangeKind::Entered,
                (0, 60)
            ),
            (
                "b".to_owned(),
                shareholders_domain::ChangeKind::Decreased,
                (50, 20)
            ),
        ],
        "a did not change; c's exit (10) is on the next page"
    );
    assert_eq!(
        view.changes[0].percentage.1,
        shareholders_domain::percentage(60, 200)
    );
    assert_eq!((view.page.total_items, view.page.total_pages), (3, 2));
}

#[tokio::test]
async fn history_lists_the_years_that_list_the_company() {
    let record = |y: i64| YearRecord {
        year: year(y),
        file_name: format!("{y}.csv"),
        sha256: "0".repeat(64),
        imported_at: std::time::UNIX_EPOCH,
        lines: 1,
        rejects: 0,
        companies: 1,
        holdings: 1,
        persons_linked: 0,
        persons_ambiguous: 0,
        superseded_live_changes: 0,
        duration: None,
    };
    let mut read = MockReadStore::new();
    read.expect_years()
        .returning(move || Ok(vec![record(2021), record(2022), record(2023)]));
    read.expect_year().returning(|y| {
        let mut view = MockReadStore::new();
        let listed = y.get() != 2022;
        let registered = u64::from(y.get()) - 2000;
        view.expect_organisation()
            .returning(move |_| Ok(listed.then(|| company(None, registered, 0, &[]))));
        Ok(Some(Arc::new(view) as Arc<dyn ReadStore>))
    });
    let history = service(MockWriteStore::new(), read)
        .history(orgnr("988844322"))
        .await
        .expect("reads")
        .expect("listed");
    let years: Vec<_> = history
        .iter()
        .map(|e| (e.year.get(), e.total_shares, e.number_of_owners))
        .collect();
    assert_eq!(
        years,
        [(2021, 21, 2), (2023, 23, 2)],
        "2022 does not list it"
    );
}
