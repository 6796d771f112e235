//! The year import against a real PostgreSQL: the ports' conformance scenarios, and the
//! snapshot's order.

use shareholders_domain::{Country, OrgNr, Organisation, OwnerKind};
use shareholders_ports::conformance::years::{self, Stores};
use shareholders_ports::{RegisterHolder, RegisterLine, Snapshot as _};

use crate::common::{TestDb, class, name, organisation, orgnr, person, shares, state};

macro_rules! scenario {
    ($name:ident) => {
        #[tokio::test]
        async fn $name() {
            let db = TestDb::new().await;
            let snapshot = db.store.snapshot();
            years::$name(Stores {
                import: &db.store,
                write: &db.store,
                write_snapshot: &snapshot,
                read_model: None,
            })
            .await;
        }
    };
}

scenario!(a_year_becomes_the_live_register);
scenario!(years_import_in_any_order);
scenario!(a_newer_year_reports_the_live_changes_it_supersedes);
scenario!(movers_keep_their_id_and_ambiguous_ones_are_counted);

fn issuer(nr: OrgNr, label: &str, total: Option<u64>) -> Organisation {
    Organisation::new(
        nr,
        name(label),
        None,
        None,
        Country::NORWAY,
        total.map(shares),
    )
}

fn org_line(
    n: u64,
    company: &Organisation,
    holder: OrgNr,
    class_name: &str,
    count: u64,
) -> RegisterLine {
    RegisterLine {
        line: n,
        company: company.clone(),
        holder: RegisterHolder::Organisation(organisation(holder, "HOLDER AS", None)),
        share_class: class(class_name),
        shares: shares(count),
    }
}

fn person_line(n: u64, company: &Organisation, id: &str, code: &str, count: u64) -> RegisterLine {
    RegisterLine {
        line: n,
        company: company.clone(),
        holder: RegisterHolder::Person(person(id, "PERSON", code)),
        share_class: class("Ordinære aksjer"),
        shares: shares(count),
    }
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
    years::import(store, 2023, lines).await;
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
