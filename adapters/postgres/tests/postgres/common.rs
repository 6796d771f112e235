//! Fixtures: a fresh database per test, domain values, and a recording publisher.
#![allow(dead_code)]

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use futures::TryStreamExt as _;
use shareholders_domain::{
    BirthYear, Country, Name, OrgNr, Organisation, OwnerRef, Person, PersonId, Place, PostalCode,
    Purchase, RecordedEvent, ShareClass, ShareCount,
};
use shareholders_ports::{
    CompanySnapshot, EventPublisher, HoldingSnapshot, PersonSnapshot, PublishError, Snapshot,
};
use shareholders_postgres::PostgresStore;
use sqlx::{AssertSqlSafe, Connection as _, PgConnection};

const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

fn admin_url() -> String {
    std::env::var("SHAREHOLDERS_TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_URL.to_owned())
}

/// The admin URL with another database.
fn with_database(url: &str, database: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let (scheme, rest) = base.split_once("://").expect("a database URL");
    let host = rest.split('/').next().unwrap_or(rest);
    match query {
        Some(query) => format!("{scheme}://{host}/{database}?{query}"),
        None => format!("{scheme}://{host}/{database}"),
    }
}

/// A migrated database of its own, dropped when the value is.
pub struct TestDb {
    pub store: PostgresStore,
    pub url: String,
    name: String,
}

impl TestDb {
    pub async fn new() -> Self {
        let admin = admin_url();
        let name = format!("sh_test_{}", uuid::Uuid::new_v4().simple());
        let mut conn = PgConnection::connect(&admin)
            .await
            .expect("connect to the test server");
        sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .expect("create a test database");
        conn.close().await.ok();
        let url = with_database(&admin, &name);
        let store = PostgresStore::connect_with(&url, 12)
            .await
            .expect("connect to the test database");
        store.migrate().await.expect("migrate");
        Self { store, url, name }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let name = self.name.clone();
        let admin = admin_url();
        // The drop runs on a runtime of its own: the test's may be shutting down.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            runtime.block_on(async move {
                let mut conn = PgConnection::connect(&admin).await?;
                sqlx::raw_sql(AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                )))
                .execute(&mut conn)
                .await?;
                conn.close().await
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("could not drop test database {}", self.name);
        }
    }
}

/// A valid orgnr: `9`, seven digits from `n`, and the MOD11 check digit.
pub fn orgnr(n: u32) -> OrgNr {
    const WEIGHTS: [u32; 8] = [3, 2, 7, 6, 5, 4, 3, 2];
    let mut base = 91_000_000 + n * 11;
    loop {
        let sum: u32 = base
            .to_string()
            .bytes()
            .zip(WEIGHTS)
            .map(|(d, w)| u32::from(d - b'0') * w)
            .sum();
        match 11 - sum % 11 {
            10 => base += 1,
            11 => return OrgNr::parse(&format!("{base}0")).expect("valid orgnr"),
            d => return OrgNr::parse(&format!("{base}{d}")).expect("valid orgnr"),
        }
    }
}

pub fn name(s: &str) -> Name {
    Name::parse(s).expect("valid name")
}

pub fn class(s: &str) -> ShareClass {
    ShareClass::parse(s).expect("valid class")
}

pub fn count(n: u64) -> ShareCount {
    ShareCount::new(n).expect("positive count")
}

pub fn country(code: &str) -> Country {
    Country::parse(code).expect("valid country")
}

pub fn organisation(nr: OrgNr, label: &str, total: Option<u64>) -> Organisation {
    Organisation::new(
        nr,
        name(label),
        Some(PostalCode::parse("0150").expect("valid")),
        Some(Place::parse("OSLO").expect("valid")),
        Country::NORWAY,
        total.map(count),
    )
}

pub fn person(id: &str, label: &str, code: &str) -> Person {
    Person::new(
        PersonId::parse(id).expect("valid id"),
        name(label),
        BirthYear::new(1970).ok(),
        None,
        None,
        country(code),
    )
}

pub fn org_owner(nr: OrgNr) -> OwnerRef {
    OwnerRef::Organisation(nr)
}

pub fn person_owner(id: &str) -> OwnerRef {
    OwnerRef::Person(PersonId::parse(id).expect("valid id"))
}

pub fn purchase(company: OrgNr, owner: OwnerRef, share_class: &str, shares: u64) -> Purchase {
    Purchase::new(company, owner, class(share_class), count(shares))
}

/// Everything a snapshot holds, collected.
#[derive(Debug, PartialEq, Eq)]
pub struct State {
    pub companies: Vec<CompanySnapshot>,
    pub persons: Vec<PersonSnapshot>,
    pub holdings: Vec<HoldingSnapshot>,
}

pub async fn state(store: &PostgresStore) -> State {
    let snapshot = store.snapshot();
    State {
        companies: snapshot.companies().try_collect().await.expect("companies"),
        persons: snapshot.persons().try_collect().await.expect("persons"),
        holdings: snapshot.holdings().try_collect().await.expect("holdings"),
    }
}

impl State {
    pub fn company(&self, nr: OrgNr) -> &CompanySnapshot {
        self.companies
            .iter()
            .find(|c| c.record.organisation.orgnr() == nr)
            .expect("the company is in the snapshot")
    }

    pub fn person(&self, id: &str) -> &PersonSnapshot {
        self.persons
            .iter()
            .find(|p| p.record.person.id().as_str() == id)
            .expect("the person is in the snapshot")
    }

    pub fn holding(&self, company: OrgNr, owner: &OwnerRef) -> Option<&HoldingSnapshot> {
        self.holdings
            .iter()
            .find(|h| h.record.company.orgnr == company && &h.record.owner.owner == owner)
    }
}

/// A publisher that records what it is given, optionally slowly, optionally failing.
#[derive(Default)]
pub struct Recorder {
    pub events: Mutex<Vec<RecordedEvent>>,
    pub fail: AtomicBool,
    pub delay: Option<Duration>,
}

impl Recorder {
    pub fn failing() -> Self {
        let recorder = Self::default();
        recorder.fail.store(true, Ordering::SeqCst);
        recorder
    }

    pub fn slow(delay: Duration) -> Self {
        Self {
            delay: Some(delay),
            ..Self::default()
        }
    }

    pub fn events(&self) -> Vec<RecordedEvent> {
        self.events.lock().expect("not poisoned").clone()
    }
}

#[async_trait]
impl EventPublisher for Recorder {
    async fn publish(&self, events: &[RecordedEvent]) -> Result<(), PublishError> {
        if let Some(delay) = self.delay {
            tokio::time::sleep(delay).await;
        }
        if self.fail.load(Ordering::SeqCst) {
            return Err(PublishError::Unavailable(anyhow::anyhow!(
                "the broker is down"
            )));
        }
        self.events
            .lock()
            .expect("not poisoned")
            .extend_from_slice(events);
        Ok(())
    }
}
