//! Imported years held beside the live register: a year asked for is loaded from its
//! snapshot and then its ultimate owners are computed in memory; a year imported again is loaded again; at most
//! `capacity` years are held, those asked for most recently.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use shareholders_domain::{OrgNr, OwnerProfile, OwnerRef, RegisterYear};

use super::{holding, record};
use crate::testkit::{State, orgnr, person_ref};
use crate::{
    CompanySnapshot, HoldingRecord, HoldingSnapshot, MockReadStore, PageRequest, ReadStore,
    Snapshot, StakesInMemory, UltimateQuestion, YearReadLoad, YearReadModel, YearRecord,
};

fn year(year: i64) -> RegisterYear {
    RegisterYear::new(year).expect("a year")
}

/// The record of `year`'s import at `imported_at` (seconds).
fn import(year: RegisterYear, imported_at: u64) -> YearRecord {
    YearRecord {
        year,
        file_name: format!("{year}.csv"),
        sha256: format!("{imported_at:064x}"),
        imported_at: SystemTime::UNIX_EPOCH + Duration::from_secs(imported_at),
        lines: 0,
        rejects: 0,
        companies: 0,
        holdings: 0,
        persons_linked: 0,
        persons_ambiguous: 0,
        superseded_live_changes: 0,
        duration: None,
    }
}

/// Company `n` held wholly by person `owner` in this year.
fn year_holdings(owners: &[(u32, &str)]) -> Vec<HoldingRecord> {
    owners
        .iter()
        .map(|&(company, owner)| {
            holding(company, &person_ref(owner), &[("Ordinære aksjer", 10)], 10)
        })
        .collect()
}

/// The years' imports as the read model serves them, and how often each year's snapshot
/// was read.
#[derive(Default)]
struct Imports {
    records: Mutex<Vec<YearRecord>>,
    holdings: Mutex<HashMap<RegisterYear, Vec<HoldingRecord>>>,
    snapshots_read: Mutex<HashMap<RegisterYear, usize>>,
    /// Owners' profiles read from the years' read models.
    profiles_read: Mutex<usize>,
}

impl Imports {
    fn import(&self, record: YearRecord, holdings: Vec<HoldingRecord>) {
        let year = record.year;
        let mut records = self.records.lock().expect("records");
        records.retain(|r| r.year != year);
        records.push(record);
        self.holdings
            .lock()
            .expect("holdings")
            .insert(year, holdings);
    }

    fn snapshots_read(&self, year: RegisterYear) -> usize {
        self.snapshots_read
            .lock()
            .expect("reads")
            .get(&year)
            .copied()
            .unwrap_or(0)
    }
}

/// The snapshots of [`Imports`]: the only part of the read model's years a held year reads.
struct Snapshots(Arc<Imports>);

#[async_trait]
impl YearReadModel for Snapshots {
    async fn begin_year(&self, _year: RegisterYear) -> anyhow::Result<Box<dyn YearReadLoad>> {
        anyhow::bail!("a held year never builds a year's read model")
    }

    async fn served_years(&self) -> anyhow::Result<Vec<YearRecord>> {
        Ok(self.0.records.lock().expect("records").clone())
    }

    async fn year_snapshot(&self, year: RegisterYear) -> anyhow::Result<Option<Box<dyn Snapshot>>> {
        let Some(holdings) = self
            .0
            .holdings
            .lock()
            .expect("holdings")
            .get(&year)
            .cloned()
        else {
            return Ok(None);
        };
        *self
            .0
            .snapshots_read
            .lock()
            .expect("reads")
            .entry(year)
            .or_default() += 1;
        Ok(Some(Box::new(State {
            companies: COMPANIES
                .into_iter()
                .map(|n| CompanySnapshot {
                    record: record(n, 0),
                    version: 0,
                    owner_version: 0,
                    search: None,
                })
                .collect(),
            persons: Vec::new(),
            holdings: holdings
                .into_iter()
                .map(|record| HoldingSnapshot {
                    shares: record.classes.iter().map(|c| c.shares).sum(),
                    record,
                    version: 0,
                })
                .collect(),
            position: None,
        })))
    }

    async fn drop_year(&self, _year: RegisterYear) -> anyhow::Result<()> {
        anyhow::bail!("a held year never drops a year")
    }
}

/// A year's read model of `holdings`: it computes no ultimate owners, so an answer came from
/// memory; it gives the profiles of the parties an answer shows.
fn year_read_model(holdings: Vec<HoldingRecord>, imports: Arc<Imports>) -> Arc<dyn ReadStore> {
    let mut read = MockReadStore::new();
    read.expect_ultimate_owners().returning(|_, _| Ok(None));
    read.expect_owner_profiles().returning(move |owners| {
        *imports.profiles_read.lock().expect("reads") += owners.len();
        let mut profiles: Vec<OwnerProfile> = holdings
            .iter()
            .filter(|holding| owners.contains(&holding.owner.owner))
            .map(|holding| holding.owner.clone())
            .collect();
        profiles.dedup();
        Ok(profiles)
    });
    Arc::new(read)
}

/// The live read model, serving the imported years of `imports`.
fn live(imports: &Arc<Imports>) -> MockReadStore {
    let mut read = MockReadStore::new();
    let listed = Arc::clone(imports);
    read.expect_years()
        .returning(move || Ok(listed.records.lock().expect("records").clone()));
    let served = Arc::clone(imports);
    read.expect_year().returning(move |year| {
        let holdings = served
            .holdings
            .lock()
            .expect("holdings")
            .get(&year)
            .cloned();
        Ok(holdings.map(|holdings| year_read_model(holdings, Arc::clone(&served))))
    });
    read
}

fn held(imports: &Arc<Imports>, capacity: usize) -> StakesInMemory {
    let log = crate::MockOwnershipLog::new();
    StakesInMemory::new(Arc::new(live(imports)), Arc::new(log))
        .holding_years(Arc::new(Snapshots(Arc::clone(imports))), capacity)
}

const COMPANIES: [u32; 4] = [1, 2, 3, 4];

fn orgnrs() -> Vec<OrgNr> {
    COMPANIES.iter().map(|&n| orgnr(n)).collect()
}

/// Each company's ultimate owners in the year, once they are computed in memory (its read
/// model computes none).
async fn held_owners(store: &StakesInMemory, asked: RegisterYear) -> Vec<(OrgNr, Vec<OwnerRef>)> {
    let question = UltimateQuestion::Owners {
        min_fraction: 0.0,
        page: PageRequest::default(),
    };
    'asking: for _ in 0..500 {
        let year = store
            .year(asked)
            .await
            .expect("read")
            .expect("the year was imported");
        let mut found = Vec::new();
        for company in orgnrs() {
            let Some(answer) = year.ultimate_owners(company, question).await.expect("read") else {
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue 'asking;
            };
            let owners = answer.owners.into_iter().map(|o| o.owner.owner).collect();
            found.push((company, owners));
        }
        return found;
    }
    panic!("{asked} was never held");
}

/// Each company's owners in `holdings` (each company has one at most).
fn owners_in(holdings: &[HoldingRecord]) -> Vec<(OrgNr, Vec<OwnerRef>)> {
    orgnrs()
        .into_iter()
        .map(|company| {
            let owners = holdings
                .iter()
                .filter(|holding| holding.company.orgnr == company)
                .map(|holding| holding.owner.owner.clone())
                .collect();
            (company, owners)
        })
        .collect()
}

#[tokio::test]
async fn a_year_asked_for_is_held_and_answered_from_memory() {
    let imports = Arc::new(Imports::default());
    let holdings = year_holdings(&[(1, "p"), (2, "q")]);
    imports.import(import(year(2022), 1), holdings.clone());
    let store = held(&imports, 1);

    assert_eq!(held_owners(&store, year(2022)).await, owners_in(&holdings));
    let profiles_read = *imports.profiles_read.lock().expect("reads");
    assert_eq!(profiles_read, 2, "each owner's profile is read once");
    // Asked again, it is the same load, and the profiles shown are those kept.
    assert_eq!(held_owners(&store, year(2022)).await, owners_in(&holdings));
    assert_eq!(imports.snapshots_read(year(2022)), 1);
    assert_eq!(*imports.profiles_read.lock().expect("reads"), profiles_read);
    assert!(
        store.year(year(2019)).await.expect("read").is_none(),
        "a year never imported is not served"
    );
}

#[tokio::test]
async fn a_year_imported_again_is_loaded_again() {
    let imports = Arc::new(Imports::default());
    imports.import(import(year(2022), 1), year_holdings(&[(1, "p")]));
    let store = held(&imports, 1);
    held_owners(&store, year(2022)).await;

    let again = year_holdings(&[(1, "r"), (3, "r")]);
    imports.import(import(year(2022), 2), again.clone());
    assert_eq!(held_owners(&store, year(2022)).await, owners_in(&again));
    assert_eq!(imports.snapshots_read(year(2022)), 2);
}

#[tokio::test]
async fn only_the_years_asked_for_most_recently_are_held() {
    let imports = Arc::new(Imports::default());
    let (first, second, third) = (year(2021), year(2022), year(2023));
    for (at, y) in [first, second, third].into_iter().enumerate() {
        let owner = format!("owner-{y}");
        imports.import(import(y, at as u64), year_holdings(&[(1, owner.as_str())]));
    }
    let store = held(&imports, 2);
    for y in [first, second, first, third] {
        let found = held_owners(&store, y).await;
        assert_eq!(found[0].1, vec![person_ref(&format!("owner-{y}"))], "{y}");
    }
    // 2022 was the least recently asked for when 2023 came: it is loaded again; 2021 is not.
    held_owners(&store, first).await;
    held_owners(&store, second).await;
    assert_eq!(imports.snapshots_read(first), 1);
    assert_eq!(imports.snapshots_read(second), 2);
    assert_eq!(imports.snapshots_read(third), 1);
}
