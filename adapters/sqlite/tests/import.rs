//! The register import against a real SQLite file.

mod common;

use common::*;
use futures::StreamExt as _;
use shareholders_domain::{
    BirthYear, Country, OrgNr, Organisation, OwnerRef, Person, PersonId, Place, Position,
    PostalCode,
};
use shareholders_ports::{
    ImportReport, PageRequest, ReadStore, RegisterHolder, RegisterImport, RegisterLine,
    TotalConflict, WriteStore, diff, rebuild,
};
use shareholders_sqlite::SqliteStore;

fn company(nr: OrgNr, label: &str, total: u64) -> Organisation {
    Organisation::new(
        nr,
        name(label),
        None,
        None,
        Country::NORWAY,
        Some(shares(total)),
    )
}

fn holder_org(nr: OrgNr, label: &str) -> RegisterHolder {
    RegisterHolder::Organisation(Organisation::new(
        nr,
        name(label),
        None,
        None,
        Country::NORWAY,
        None,
    ))
}

fn holder_person(label: &str, year: i64, code: &str) -> RegisterHolder {
    let country = country(code);
    let year = BirthYear::new(year).ok();
    let postal = (code == "NO").then(|| PostalCode::parse("0790").expect("valid"));
    let place = (code == "NO").then(|| Place::parse("OSLO").expect("valid"));
    let id = PersonId::derive(&name(label), year, postal.as_ref(), place.as_ref(), country);
    RegisterHolder::Person(Person::new(id, name(label), year, postal, place, country))
}

fn line(
    n: u64,
    company: &Organisation,
    holder: &RegisterHolder,
    share_class: &str,
    count: u64,
) -> RegisterLine {
    RegisterLine {
        line: n,
        company: company.clone(),
        holder: holder.clone(),
        share_class: class(share_class),
        shares: shares(count),
    }
}

fn owner_of(holder: &RegisterHolder) -> OwnerRef {
    match holder {
        RegisterHolder::Organisation(o) => OwnerRef::Organisation(o.orgnr()),
        RegisterHolder::Person(p) => OwnerRef::Person(p.id().clone()),
    }
}

/// A small extract: duplicate lines that add up, a treasury line, a company whose lines
/// disagree about its total, a foreign holder, and a holder that is also an issuer.
fn extract() -> Vec<RegisterLine> {
    let tvist = company(orgnr(1), "TVIST 1 AS", 120);
    let canica = company(orgnr(2), "CANICA INVESTOR AS", 120);
    let canica_other_total = company(orgnr(2), "CANICA INVESTOR AS", 150);
    let hagen = holder_person("HAGEN STEIN ERIK", 1956, "NO");
    let kjos = holder_person("KJOS CAROLINE MARIE HAGEN", 1984, "CHE");
    vec![
        line(1, &tvist, &hagen, "A-aksjer", 3),
        line(2, &tvist, &kjos, "B-aksjer", 100),
        line(3, &tvist, &kjos, "B-aksjer", 17),
        line(4, &canica, &hagen, "B-aksjer", 36),
        line(5, &canica_other_total, &kjos, "B-aksjer", 36),
        line(
            6,
            &canica,
            &holder_org(orgnr(2), "CANICA INVESTOR AS"),
            "A-aksjer",
            9,
        ),
        line(
            7,
            &canica,
            &holder_org(orgnr(1), "TVIST 1 AS"),
            "B-aksjer",
            9,
        ),
        line(
            8,
            &canica,
            &holder_org(orgnr(9), "HOLDER AS"),
            "B-aksjer",
            9,
        ),
    ]
}

async fn import(store: &SqliteStore, lines: Vec<RegisterLine>) -> ImportReport {
    // Two batches, to cross a batch boundary.
    let (first, second) = lines.split_at(lines.len() / 2);
    let batches = vec![first.to_vec(), second.to_vec()];
    store
        .import(futures::stream::iter(batches).boxed())
        .await
        .expect("imported")
}

#[tokio::test]
async fn an_import_registers_parties_sets_holdings_and_reports_conflicts() {
    let (_dir, store) = store().await;
    // An organisation registered earlier keeps its details; its event is the last position.
    let earlier = organisation(orgnr(9), "HOLDER HOLDING AS", None);
    let registered = store
        .register_organisation(&earlier, None)
        .await
        .expect("registered");
    let report = import(&store, extract()).await;
    assert_eq!(report.lines, 8);
    assert_eq!(report.companies, 2);
    assert_eq!(report.organisations_added, 2, "the two issuers");
    assert_eq!(report.persons_added, 2);
    assert_eq!(report.holdings, 7);
    assert_eq!(report.position, Some(registered.position));
    assert_eq!(
        report.total_conflicts,
        vec![TotalConflict {
            company: orgnr(2),
            declared: vec![120, 150],
            registered: 99,
            used: 150,
        }]
    );

    let write = state(&store.write_snapshot()).await;
    let tvist = &write.companies[0];
    assert_eq!(tvist.record.organisation.orgnr(), orgnr(1));
    assert_eq!(tvist.record.organisation.total_shares(), Some(shares(120)));
    assert_eq!(tvist.record.registered_shares, 120);
    assert_eq!(tvist.record.owner_count, 2);
    assert_eq!(tvist.record.foreign_owner_count, 1);
    assert_eq!(tvist.record.holding_count, 1);
    assert_eq!(tvist.version, 1);
    let canica = &write.companies[1];
    assert_eq!(canica.record.organisation.total_shares(), Some(shares(150)));
    assert_eq!(canica.record.registered_shares, 99);
    assert_eq!(canica.record.owner_count, 5);
    assert_eq!(canica.record.holding_count, 1, "treasury shares");
    let holder = &write.companies[2];
    assert_eq!(holder.record.organisation, earlier);
    assert_eq!((holder.record.holding_count, holder.owner_version), (1, 1));
    let kjos = write
        .holdings
        .iter()
        .find(|h| h.record.company.orgnr == orgnr(1) && h.record.shares() == 117)
        .expect("the summed holding");
    assert_eq!(kjos.record.classes.len(), 1);
    assert_eq!(kjos.record.owner.country, country("CH"));
    assert_eq!(write.persons.len(), 2);
    assert!(write.persons.iter().all(|p| p.record.holding_count == 2));
}

#[tokio::test]
async fn importing_the_same_lines_again_changes_nothing_and_a_rebuild_matches() {
    let (_dir, store) = store().await;
    import(&store, extract()).await;
    let first = state(&store.write_snapshot()).await;
    let again = import(&store, extract()).await;
    assert_eq!((again.organisations_added, again.persons_added), (0, 0));
    assert_eq!(again.total_conflicts.len(), 1);
    assert_eq!(state(&store.write_snapshot()).await, first);
    assert_eq!(again.position, None);

    rebuild(&store.write_snapshot(), &store, true, 3, &|_| {})
        .await
        .expect("rebuilt");
    let differences = diff(&store.write_snapshot(), &store.read_snapshot())
        .await
        .expect("diff");
    assert!(differences.is_empty(), "{differences:#?}");
    let hagen = owner_of(&holder_person("HAGEN STEIN ERIK", 1956, "NO"));
    let holdings = store
        .holdings(&hagen, PageRequest::default())
        .await
        .expect("holdings");
    let got: Vec<_> = holdings
        .iter()
        .map(|h| (h.company.orgnr, h.shares()))
        .collect();
    assert_eq!(got, vec![(orgnr(2), 36), (orgnr(1), 3)]);
    let canica = store
        .organisation(orgnr(2))
        .await
        .expect("read")
        .expect("registered");
    assert_eq!(canica.organisation.total_shares(), Some(shares(150)));
}

#[tokio::test]
async fn an_import_replaces_a_listed_companys_holdings_and_bumps_what_changed() {
    let (_dir, store) = store().await;
    import(&store, extract()).await;
    let before = state(&store.write_snapshot()).await;
    // Purchases after the import are recorded as usual, on top of it.
    let hagen = holder_person("HAGEN STEIN ERIK", 1956, "NO");
    store
        .purchase(&buy(orgnr(2), owner_of(&hagen), "B-aksjer", 1), None)
        .await
        .expect("recorded");
    // A new extract lists only TVIST: KJOS sold out to a new holder, HAGEN unchanged.
    let tvist = company(orgnr(1), "TVIST 1 AS", 120);
    let newcomer = holder_org(orgnr(5), "NEWCOMER AS");
    let lines = vec![
        line(1, &tvist, &hagen, "A-aksjer", 3),
        line(2, &tvist, &newcomer, "B-aksjer", 117),
    ];
    let report = import(&store, lines).await;
    assert_eq!(report.organisations_added, 1);
    assert!(report.total_conflicts.is_empty());
    assert_eq!(report.position, Some(Position::new(1)));
    let after = state(&store.write_snapshot()).await;
    let tvist_after = &after.companies[0];
    assert_eq!(tvist_after.version, before.companies[0].version + 1);
    assert_eq!(tvist_after.record.foreign_owner_count, 0);
    assert_eq!(tvist_after.record.owner_count, 2);
    let tvist_holdings: Vec<_> = after
        .holdings
        .iter()
        .filter(|h| h.record.company.orgnr == orgnr(1))
        .map(|h| (h.record.owner.owner.clone(), h.record.shares(), h.version))
        .collect();
    assert_eq!(
        tvist_holdings,
        vec![
            (OwnerRef::Organisation(orgnr(5)), 117, 2),
            (owner_of(&hagen), 3, 1),
        ]
    );
    // KJOS no longer holds TVIST: her holding count and version moved; HAGEN's did not.
    let kjos = owner_of(&holder_person("KJOS CAROLINE MARIE HAGEN", 1984, "CHE"));
    let kjos_before = before
        .persons
        .iter()
        .find(|p| OwnerRef::Person(p.record.person.id().clone()) == kjos)
        .expect("kjos");
    let kjos_after = after
        .persons
        .iter()
        .find(|p| OwnerRef::Person(p.record.person.id().clone()) == kjos)
        .expect("kjos");
    assert_eq!(kjos_after.record.holding_count, 1);
    assert_eq!(kjos_after.owner_version, kjos_before.owner_version + 1);
    // CANICA is not listed, so it keeps the purchase made after the first import.
    assert_eq!(after.companies[1].record.registered_shares, 100);

    rebuild(&store.write_snapshot(), &store, true, 100, &|_| {})
        .await
        .expect("rebuilt");
    assert!(
        diff(&store.write_snapshot(), &store.read_snapshot())
            .await
            .expect("diff")
            .is_empty()
    );
}

#[tokio::test]
async fn the_sample_extract_imports_when_available() {
    // The 20-line sample lives outside the repository (`../shared/data/`); it is parsed here
    // minimally (the register adapter owns the real parser).
    let manifest = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let sample = manifest
        .ancestors()
        .find(|dir| dir.join("Cargo.lock").exists())
        .map(|root| root.join("../shared/data/register-sample.csv"));
    let Some(text) = sample.and_then(|path| std::fs::read_to_string(path).ok()) else {
        eprintln!("register-sample.csv not found; skipping");
        return;
    };
    let mut lines = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let fields: Vec<&str> = raw.split(';').collect();
        assert_eq!(fields.len(), 9, "{raw}");
        let company = Organisation::new(
            OrgNr::parse(fields[0]).expect("orgnr"),
            name(fields[1]),
            None,
            None,
            Country::NORWAY,
            Some(shares(fields[8].parse().expect("total"))),
        );
        let holder_country = Country::parse(fields[6]).expect("country");
        let holder = match OrgNr::parse(fields[4]) {
            Ok(nr) => RegisterHolder::Organisation(Organisation::new(
                nr,
                name(fields[3]),
                None,
                None,
                holder_country,
                None,
            )),
            Err(_) => {
                let year = fields[4].parse().ok().and_then(|y| BirthYear::new(y).ok());
                let id = PersonId::derive(&name(fields[3]), year, None, None, holder_country);
                RegisterHolder::Person(Person::new(
                    id,
                    name(fields[3]),
                    year,
                    None,
                    None,
                    holder_country,
                ))
            }
        };
        lines.push(RegisterLine {
            line: index as u64 + 1,
            company,
            holder,
            share_class: class(fields[2]),
            shares: shares(fields[7].parse().expect("shares")),
        });
    }
    let (_dir, store) = store().await;
    let report = import(&store, lines.clone()).await;
    assert_eq!(report.lines, lines.len() as u64);
    let first = state(&store.write_snapshot()).await;
    let registered: u64 = first.holdings.iter().map(|h| h.record.shares()).sum();
    let expected: u64 = lines.iter().map(|l| l.shares.get()).sum();
    assert_eq!(registered, expected);
    import(&store, lines).await;
    assert_eq!(state(&store.write_snapshot()).await, first);
    rebuild(&store.write_snapshot(), &store, true, 7, &|_| {})
        .await
        .expect("rebuilt");
    assert!(
        diff(&store.write_snapshot(), &store.read_snapshot())
            .await
            .expect("diff")
            .is_empty()
    );
}
