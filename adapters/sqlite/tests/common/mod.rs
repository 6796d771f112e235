//! Fixtures for the SQLite store's tests: stores in temporary directories and register data.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use futures::StreamExt as _;
use shareholders_domain::{
    BirthYear, Country, Name, OrgNr, Organisation, OwnerRef, Person, PersonId, Place, PostalCode,
    Purchase, RecordedEvent, ShareClass, ShareCount,
};
use shareholders_ports::{
    CompanySnapshot, DirectPublisher, EventPublisher, HoldingSnapshot, Outbox, PersonSnapshot,
    PublishError, Snapshot,
};
use shareholders_sqlite::SqliteStore;
use tempfile::TempDir;

pub async fn store() -> (TempDir, SqliteStore) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = SqliteStore::open(dir.path()).await.expect("open the store");
    (dir, store)
}

/// A valid orgnr: `9`, seven digits from `n`, and the MOD11 check digit (skipping numbers
/// that have none).
pub fn orgnr(n: u32) -> OrgNr {
    const WEIGHTS: [u32; 8] = [3, 2, 7, 6, 5, 4, 3, 2];
    let mut base = 90_000_000 + n * 7;
    loop {
        let digits: Vec<u32> = base
            .to_string()
            .bytes()
            .map(|b| u32::from(b - b'0'))
            .collect();
        let sum: u32 = digits.iter().zip(WEIGHTS).map(|(d, w)| d * w).sum();
        let check = match 11 - sum % 11 {
            11 => Some(0),
            10 => None,
            d => Some(d),
        };
        if let Some(check) = check {
            return OrgNr::parse(&format!("{base}{check}")).expect("a valid orgnr");
        }
        base += 1;
    }
}

pub fn name(s: &str) -> Name {
    Name::parse(s).expect("a valid name")
}

pub fn class(s: &str) -> ShareClass {
    ShareClass::parse(s).expect("a valid class")
}

pub fn shares(n: u64) -> ShareCount {
    ShareCount::new(n).expect("a positive count")
}

pub fn country(code: &str) -> Country {
    Country::parse(code).expect("a valid country")
}

pub fn organisation(nr: OrgNr, label: &str, total: Option<u64>) -> Organisation {
    Organisation::new(
        nr,
        name(label),
        Some(PostalCode::parse("0150").expect("valid")),
        Some(Place::parse("OSLO").expect("valid")),
        Country::NORWAY,
        total.map(shares),
    )
}

pub fn foreign_organisation(nr: OrgNr, label: &str) -> Organisation {
    Organisation::new(nr, name(label), None, None, country("SE"), None)
}

pub fn person(id: &str, label: &str, code: &str) -> Person {
    Person::new(
        PersonId::parse(id).expect("a valid id"),
        name(label),
        BirthYear::new(1970).ok(),
        None,
        None,
        country(code),
    )
}

pub fn person_ref(id: &str) -> OwnerRef {
    OwnerRef::Person(PersonId::parse(id).expect("a valid id"))
}

pub fn buy(company: OrgNr, owner: OwnerRef, share_class: &str, n: u64) -> Purchase {
    Purchase::new(company, owner, class(share_class), shares(n))
}

/// Keeps every event it is given, in order.
#[derive(Default)]
pub struct Capture {
    pub events: Mutex<Vec<RecordedEvent>>,
}

#[async_trait]
impl EventPublisher for Capture {
    async fn publish(&self, events: &[RecordedEvent]) -> Result<(), PublishError> {
        self.events
            .lock()
            .expect("not poisoned")
            .extend_from_slice(events);
        Ok(())
    }
}

impl Capture {
    pub fn taken(&self) -> Vec<RecordedEvent> {
        self.events.lock().expect("not poisoned").clone()
    }
}

/// Relays the whole outbox into the store's own read model.
pub async fn project(store: &SqliteStore) -> usize {
    let publisher: Arc<dyn EventPublisher> =
        Arc::new(DirectPublisher::new(Arc::new(store.clone())));
    let mut total = 0;
    loop {
        let n = store
            .relay(7, publisher.clone())
            .await
            .expect("relay succeeds");
        if n == 0 {
            return total;
        }
        total += n;
    }
}

/// A model's whole state, versions included.
#[derive(Debug, PartialEq, Eq)]
pub struct State {
    pub companies: Vec<CompanySnapshot>,
    pub persons: Vec<PersonSnapshot>,
    pub holdings: Vec<HoldingSnapshot>,
}

pub async fn state(snapshot: &dyn Snapshot) -> State {
    State {
        companies: collect(snapshot.companies()).await,
        persons: collect(snapshot.persons()).await,
        holdings: collect(snapshot.holdings()).await,
    }
}

async fn collect<T>(stream: futures::stream::BoxStream<'_, anyhow::Result<T>>) -> Vec<T> {
    stream
        .map(|item| item.expect("the snapshot streams"))
        .collect()
        .await
}
