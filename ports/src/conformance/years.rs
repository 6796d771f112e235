//! The contract of [`RegisterImport`]: every year its own snapshot, imported in any order; the
//! live register on the newest year; movers linked; superseded live changes counted.

use futures::StreamExt as _;
use shareholders_domain::{
    BirthYear, ClassShares, Country, ExtractYear, OrgNr, Organisation, OwnerRef, Person, PersonId,
    Place, PostalCode, Purchase, RegisterYear, ShareClass, YearPart,
};

pub(crate) use crate::testkit::{name, orgnr, shares};
use crate::{
    HoldingSnapshot, PageRequest, ReadModelLoader, ReadStore, RegisterHolder, RegisterImport,
    RegisterLine, Snapshot, WriteStore, YearImported, YearProvenance, YearReadModel, YearSnapshots,
    diff, diff_years, project_year, project_years, rebuild,
};

/// The store under test, through each port a scenario needs.
#[derive(Clone, Copy)]
pub struct Stores<'a> {
    pub import: &'a dyn RegisterImport,
    pub write: &'a dyn WriteStore,
    /// The write model's live register.
    pub write_snapshot: &'a dyn Snapshot,
    /// The live read model and its loader, when the store has one (the server stack's read
    /// model lives in another adapter).
    pub read_model: Option<(&'a dyn Snapshot, &'a dyn ReadModelLoader)>,
}

impl std::fmt::Debug for Stores<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stores").finish_non_exhaustive()
    }
}

pub(crate) fn year(y: i64) -> RegisterYear {
    RegisterYear::new(y).expect("a register year")
}

pub(crate) fn company(n: u32, label: &str, total: u64) -> Organisation {
    Organisation::new(
        orgnr(n),
        name(label),
        None,
        None,
        Country::NORWAY,
        Some(shares(total)),
    )
}

/// A person as an extract gives them: the id derives from name, birth year and address.
pub(crate) fn person(label: &str, born: i64, postal_code: &str, country: &str) -> Person {
    let country = Country::parse(country).expect("a country");
    let birth_year = BirthYear::new(born).ok();
    let postal_code = Some(PostalCode::parse(postal_code).expect("a postal code"));
    let place = Some(Place::parse("OSLO").expect("a place"));
    let id = PersonId::derive(
        &name(label),
        birth_year,
        postal_code.as_ref(),
        place.as_ref(),
        country,
    );
    Person::new(id, name(label), birth_year, postal_code, place, country)
}

pub(crate) fn line(
    company: &Organisation,
    holder: &Person,
    class: &str,
    count: u64,
) -> RegisterLine {
    RegisterLine {
        line: 0,
        company: company.clone(),
        holder: RegisterHolder::Person(holder.clone()),
        share_class: ShareClass::parse(class).expect("a class"),
        shares: shares(count),
    }
}

pub(crate) fn holder_line(
    company: &Organisation,
    holder: &Organisation,
    count: u64,
) -> RegisterLine {
    RegisterLine {
        line: 0,
        company: company.clone(),
        holder: RegisterHolder::Organisation(holder.clone()),
        share_class: ShareClass::parse("Ordinære aksjer").expect("a class"),
        shares: shares(count),
    }
}

/// Imports `lines` as year `y` through the two-phase port, in batches of two parts.
///
/// # Panics
/// When the extract or the store fails.
pub async fn import(store: &dyn RegisterImport, y: i64, lines: Vec<RegisterLine>) -> YearImported {
    let mut extract = ExtractYear::new();
    let mut parts: Vec<YearPart> = Vec::new();
    let count = lines.len() as u64;
    for (n, mut line) in lines.into_iter().enumerate() {
        line.line = n as u64 + 1;
        extract.push(line, &mut parts).expect("a grouped extract");
    }
    extract.finish(&mut parts).expect("the extract ends");
    let mut load = store.begin_year(year(y)).await.expect("the load begins");
    while !parts.is_empty() {
        let rest = parts.split_off(parts.len().min(2));
        load.load(parts).await.expect("parts load");
        parts = rest;
    }
    load.commit(YearProvenance {
        file_name: format!("aksjeeiebok__{y}.csv"),
        sha256: format!("{y:064x}"),
        lines: count,
        rejects: 1,
        duration: Some(import_duration(y)),
    })
    .await
    .expect("the year commits")
}

/// How long [`import`] says the import of year `y` took (to the millisecond, as stores keep
/// it).
#[must_use]
pub fn import_duration(y: i64) -> std::time::Duration {
    std::time::Duration::from_millis(1_000 + y.unsigned_abs())
}

async fn holdings(snapshot: &dyn Snapshot) -> Vec<(OrgNr, OwnerRef, u64)> {
    snapshot
        .holdings()
        .map(|h| {
            let h: HoldingSnapshot = h.expect("the snapshot streams");
            let shares = h.record.shares();
            (h.record.company.orgnr, h.record.owner.owner, shares)
        })
        .collect()
        .await
}

async fn assert_read_model_rebuilds(stores: Stores<'_>) {
    let Some((read_snapshot, loader)) = stores.read_model else {
        return;
    };
    rebuild(stores.write_snapshot, loader, true, 5, &|_| {})
        .await
        .expect("the read model rebuilds");
    let differences = diff(stores.write_snapshot, read_snapshot)
        .await
        .expect("diff runs");
    assert!(differences.is_empty(), "{differences:#?}");
}

pub(crate) fn owner(p: &Person) -> OwnerRef {
    OwnerRef::Person(p.id().clone())
}

/// A year's extract becomes the live register, with the record `GET /api/years` lists.
pub async fn a_year_becomes_the_live_register(stores: Stores<'_>) {
    let tvist = company(1, "TVIST 1 AS", 200);
    let hagen = person("HAGEN STEIN ERIK", 1956, "0790", "NO");
    let kjos = person("KJOS CAROLINE MARIE", 1984, "8001", "CH");
    let holder = Organisation::new(
        orgnr(9),
        name("HOLDER AS"),
        None,
        None,
        Country::NORWAY,
        None,
    );
    let imported = import(
        stores.import,
        2023,
        vec![
            line(&tvist, &hagen, "A-aksjer", 3),
            line(&tvist, &kjos, "B-aksjer", 100),
            line(&tvist, &kjos, "B-aksjer", 17),
            holder_line(&tvist, &holder, 9),
        ],
    )
    .await;
    assert!(imported.live_moved, "the first year is the newest");
    let record = &imported.record;
    assert_eq!(record.year, year(2023));
    assert_eq!(record.file_name, "aksjeeiebok__2023.csv");
    assert_eq!((record.lines, record.rejects), (4, 1));
    assert_eq!((record.companies, record.holdings), (1, 3));
    assert_eq!(record.superseded_live_changes, 0);
    assert_eq!(record.duration, Some(import_duration(2023)));
    assert_eq!(
        holdings(stores.write_snapshot).await,
        vec![
            (orgnr(1), OwnerRef::Organisation(orgnr(9)), 9),
            (orgnr(1), owner(&hagen), 3),
            (orgnr(1), owner(&kjos), 117),
        ]
    );
    let companies: Vec<_> = stores
        .write_snapshot
        .companies()
        .map(|c| c.expect("streams").record)
        .collect()
        .await;
    let tvist_record = companies
        .iter()
        .find(|c| c.organisation.orgnr() == orgnr(1))
        .expect("the company is registered");
    assert_eq!(tvist_record.registered_shares, 129);
    assert_eq!(
        (tvist_record.owner_count, tvist_record.foreign_owner_count),
        (3, 1)
    );
    assert_eq!(
        tvist_record.classes,
        vec![
            ClassShares {
                share_class: ShareClass::parse("A-aksjer").expect("a class"),
                shares: 3
            },
            ClassShares {
                share_class: ShareClass::parse("B-aksjer").expect("a class"),
                shares: 117
            },
            ClassShares {
                share_class: ShareClass::parse("Ordinære aksjer").expect("a class"),
                shares: 9
            },
        ]
    );
    let holder_record = companies
        .iter()
        .find(|c| c.organisation.orgnr() == orgnr(9))
        .expect("the holder is registered");
    assert_eq!(holder_record.holding_count, 1);
    assert_read_model_rebuilds(stores).await;
}

/// Importing an older year after a newer one leaves the live register on the newer; a newer
/// one moves it; importing a year again replaces that year only.
pub async fn years_import_in_any_order(stores: Stores<'_>) {
    let tvist = company(1, "TVIST 1 AS", 200);
    let hagen = person("HAGEN STEIN ERIK", 1956, "0790", "NO");
    let kjos = person("KJOS CAROLINE MARIE", 1984, "8001", "NO");
    let y2023 = vec![line(&tvist, &hagen, "A-aksjer", 50)];
    let y2022 = vec![line(&tvist, &kjos, "A-aksjer", 70)];
    assert!(import(stores.import, 2023, y2023.clone()).await.live_moved);
    let after_2023 = holdings(stores.write_snapshot).await;
    assert_eq!(after_2023, vec![(orgnr(1), owner(&hagen), 50)]);
    let older = import(stores.import, 2022, y2022).await;
    assert!(
        !older.live_moved,
        "an older year never moves the live register"
    );
    assert_eq!(holdings(stores.write_snapshot).await, after_2023);
    // 2023 again, with other lines: it replaces 2023, and the live register follows.
    let again = import(
        stores.import,
        2023,
        vec![line(&tvist, &kjos, "A-aksjer", 80)],
    )
    .await;
    assert!(
        again.live_moved,
        "re-importing the newest year moves the live register"
    );
    assert_eq!(
        holdings(stores.write_snapshot).await,
        vec![(orgnr(1), owner(&kjos), 80)]
    );
    // A newer year moves it again; a company absent from it has no holdings left.
    let newer = import(
        stores.import,
        2024,
        vec![line(&company(2, "CANICA AS", 10), &hagen, "A-aksjer", 10)],
    )
    .await;
    assert!(newer.live_moved);
    assert_eq!(
        holdings(stores.write_snapshot).await,
        vec![(orgnr(2), owner(&hagen), 10)]
    );
    assert_read_model_rebuilds(stores).await;
}

/// Purchases recorded through the API since the live register last moved are counted as
/// superseded when a newer year moves it; an older year supersedes nothing.
pub async fn a_newer_year_reports_the_live_changes_it_supersedes(stores: Stores<'_>) {
    let tvist = company(1, "TVIST 1 AS", 1000);
    let hagen = person("HAGEN STEIN ERIK", 1956, "0790", "NO");
    import(
        stores.import,
        2022,
        vec![line(&tvist, &hagen, "A-aksjer", 50)],
    )
    .await;
    for _ in 0..2 {
        stores
            .write
            .purchase(
                &Purchase::new(
                    orgnr(1),
                    owner(&hagen),
                    ShareClass::parse("A-aksjer").expect("a class"),
                    shares(5),
                ),
                None,
            )
            .await
            .expect("the purchase is recorded");
    }
    assert_eq!(
        holdings(stores.write_snapshot).await,
        vec![(orgnr(1), owner(&hagen), 60)]
    );
    let older = import(
        stores.import,
        2021,
        vec![line(&tvist, &hagen, "A-aksjer", 1)],
    )
    .await;
    assert_eq!(older.record.superseded_live_changes, 0);
    assert_eq!(
        holdings(stores.write_snapshot).await,
        vec![(orgnr(1), owner(&hagen), 60)],
        "an older year keeps the live purchases"
    );
    let newer = import(
        stores.import,
        2023,
        vec![line(&tvist, &hagen, "A-aksjer", 40)],
    )
    .await;
    assert!(newer.live_moved);
    assert_eq!(newer.record.superseded_live_changes, 2);
    assert!(newer.position.is_some(), "the purchases' events stay");
    assert_eq!(
        holdings(stores.write_snapshot).await,
        vec![(orgnr(1), owner(&hagen), 40)]
    );
    // The next move counts only what was recorded after this one.
    let next = import(
        stores.import,
        2024,
        vec![line(&tvist, &hagen, "A-aksjer", 41)],
    )
    .await;
    assert_eq!(next.record.superseded_live_changes, 0);
    assert_read_model_rebuilds(stores).await;
}

/// A person who moved (another postal code, so another derived id) keeps the earlier year's
/// id when the rule links them; two persons who match alike are left unlinked.
pub async fn movers_keep_their_id_and_ambiguous_ones_are_counted(stores: Stores<'_>) {
    let tvist = company(1, "TVIST 1 AS", 1000);
    let canica = company(2, "CANICA AS", 1000);
    let before = person("HAGEN STEIN ERIK", 1956, "0790", "NO");
    let moved = person("HAGEN STEIN ERIK", 1956, "5003", "NO");
    let twin_a = person("NILSEN OLA", 1970, "0150", "NO");
    let twin_b = person("NILSEN OLA", 1970, "0151", "NO");
    let twin_moved = person("NILSEN OLA", 1970, "9008", "NO");
    import(
        stores.import,
        2022,
        vec![
            line(&tvist, &before, "A-aksjer", 10),
            line(&canica, &twin_a, "A-aksjer", 1),
            line(&canica, &twin_b, "A-aksjer", 2),
        ],
    )
    .await;
    let imported = import(
        stores.import,
        2023,
        vec![
            line(&tvist, &moved, "A-aksjer", 12),
            line(&canica, &twin_moved, "A-aksjer", 3),
        ],
    )
    .await;
    assert_eq!(imported.record.persons_linked, 1);
    assert_eq!(imported.record.persons_ambiguous, 1);
    let live = holdings(stores.write_snapshot).await;
    assert_eq!(
        live,
        vec![
            (orgnr(1), owner(&before), 12),
            (orgnr(2), owner(&twin_moved), 3),
        ],
        "the mover keeps 2022's id; the ambiguous one keeps its own"
    );
    let persons: Vec<Person> = stores
        .write_snapshot
        .persons()
        .map(|p| p.expect("streams").record.person)
        .collect()
        .await;
    let linked = persons
        .iter()
        .find(|p| p.id() == before.id())
        .expect("the linked person");
    assert_eq!(
        linked.postal_code(),
        moved.postal_code(),
        "the linked person takes the newer year's address"
    );
    assert_read_model_rebuilds(stores).await;
}

/// The stores of the years' read side: the write model's years, the read model's, and the
/// read model's queries.
#[derive(Clone, Copy)]
pub struct YearStores<'a> {
    pub import: &'a dyn RegisterImport,
    pub source: &'a dyn YearSnapshots,
    pub target: &'a dyn YearReadModel,
    pub reads: &'a dyn ReadStore,
}

impl std::fmt::Debug for YearStores<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("YearStores").finish_non_exhaustive()
    }
}

async fn owners_in(reads: &dyn ReadStore, y: i64, company: OrgNr) -> Option<Vec<(OwnerRef, u64)>> {
    let view = reads.year(year(y)).await.expect("reads")?;
    Some(
        view.owners(company, PageRequest::default())
            .await
            .expect("reads")
            .into_iter()
            .map(|h| {
                let shares = h.shares();
                (h.owner.owner, shares)
            })
            .collect(),
    )
}

/// Each imported year is served exactly as imported once projected; importing a year again
/// and projecting it replaces it; a year the write model lost is no longer served; `verify`
/// over the years sees a corrupted year.
pub async fn years_are_served_as_imported(stores: YearStores<'_>) {
    let tvist = company(1, "TVIST 1 AS", 200);
    let hagen = person("HAGEN STEIN ERIK", 1956, "0790", "NO");
    let kjos = person("KJOS CAROLINE MARIE", 1984, "8001", "SE");
    import(
        stores.import,
        2022,
        vec![
            line(&tvist, &hagen, "A-aksjer", 150),
            line(&tvist, &kjos, "B-aksjer", 10),
        ],
    )
    .await;
    import(
        stores.import,
        2023,
        vec![line(&tvist, &kjos, "B-aksjer", 120)],
    )
    .await;
    assert!(
        stores
            .reads
            .year(year(2022))
            .await
            .expect("reads")
            .is_none(),
        "a year is served only once projected"
    );
    let rebuilt = project_years(stores.source, stores.target, 2, &|_, _| {})
        .await
        .expect("the years project");
    assert_eq!(
        rebuilt.iter().map(|(y, _)| y.get()).collect::<Vec<_>>(),
        vec![2022, 2023]
    );
    assert_eq!(rebuilt[0].1.holdings, 2);
    let served = stores.reads.years().await.expect("reads");
    assert_eq!(served, stores.source.years().await.expect("reads"));
    assert_eq!(served.len(), 2);
    assert!(
        served
            .iter()
            .all(|r| r.duration == Some(import_duration(i64::from(r.year.get())))),
        "the import's duration is kept with the year: {served:?}"
    );
    assert_eq!(
        owners_in(stores.reads, 2022, orgnr(1)).await,
        Some(vec![(owner(&hagen), 150), (owner(&kjos), 10)])
    );
    assert_eq!(
        owners_in(stores.reads, 2023, orgnr(1)).await,
        Some(vec![(owner(&kjos), 120)])
    );
    assert_eq!(owners_in(stores.reads, 2021, orgnr(1)).await, None);
    let view = stores
        .reads
        .year(year(2022))
        .await
        .expect("reads")
        .expect("served");
    let company = view
        .organisation(orgnr(1))
        .await
        .expect("reads")
        .expect("listed in 2022");
    assert_eq!(
        (
            company.registered_shares,
            company.owner_count,
            company.foreign_owner_count
        ),
        (160, 2, 1)
    );
    assert!(
        view.organisation(orgnr(2)).await.expect("reads").is_none(),
        "a company absent from the year"
    );
    let kjos_2022 = view
        .person(kjos.id())
        .await
        .expect("reads")
        .expect("a 2022 owner");
    assert_eq!(kjos_2022.holding_count, 1);
    let held = view
        .holdings(&owner(&kjos), PageRequest::default())
        .await
        .expect("reads");
    assert_eq!(held.len(), 1);
    assert_eq!(held[0].shares(), 10);
    assert!(
        view.applied(shareholders_domain::Position::new(u64::MAX))
            .await
            .expect("reads"),
        "a year has no events to wait for"
    );
    let differences = diff_years(stores.source, stores.target)
        .await
        .expect("diff");
    assert!(differences.is_empty(), "{differences:#?}");

    // 2022 again, with other lines: served as the new import once projected.
    import(
        stores.import,
        2022,
        vec![line(&tvist, &hagen, "A-aksjer", 7)],
    )
    .await;
    let stale = diff_years(stores.source, stores.target)
        .await
        .expect("diff");
    assert!(
        stale.iter().any(|d| d.to_string().starts_with("year 2022")),
        "the stale year is seen: {stale:#?}"
    );
    project_year(stores.source, stores.target, year(2022), 1000, &|_| {})
        .await
        .expect("projects")
        .expect("an imported year");
    assert_eq!(
        owners_in(stores.reads, 2022, orgnr(1)).await,
        Some(vec![(owner(&hagen), 7)])
    );
    let differences = diff_years(stores.source, stores.target)
        .await
        .expect("diff");
    assert!(differences.is_empty(), "{differences:#?}");
    assert_eq!(
        project_year(stores.source, stores.target, year(2030), 10, &|_| {})
            .await
            .expect("runs"),
        None,
        "a year never imported is not projected"
    );
}
