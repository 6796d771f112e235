//! Fixtures: a fresh migrated database per test; the register values, whole states and the
//! recording publisher come from `shareholders_ports::testkit`.
#![allow(dead_code)]

#[allow(unused_imports)] // each test binary uses its own part
pub use shareholders_ports::testkit::{
    Recorder, State, class, country, name, org_ref, organisation, orgnr, person, person_ref,
    purchase, shares,
};
use shareholders_postgres::PostgresStore;
use shareholders_postgres::testkit::TestDatabase;

/// A migrated database of its own, dropped when the value is.
pub struct TestDb {
    pub store: PostgresStore,
    pub url: String,
    _database: TestDatabase,
}

impl TestDb {
    pub async fn new() -> Self {
        let database = TestDatabase::create("sh_test").await;
        let store = PostgresStore::connect_with(&database.url, 12)
            .await
            .expect("connect to the test database");
        store.migrate().await.expect("migrate");
        Self {
            store,
            url: database.url.clone(),
            _database: database,
        }
    }
}

/// The write model's whole state.
pub async fn state(store: &PostgresStore) -> State {
    shareholders_ports::testkit::state(&store.snapshot()).await
}
