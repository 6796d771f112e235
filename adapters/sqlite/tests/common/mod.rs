//! Fixtures for the SQLite store's tests: stores in temporary directories, and the outbox
//! relayed into the store's own read model. The register values, whole states and the
//! recording publisher come from `shareholders_ports::testkit`.
#![allow(dead_code)]

use std::sync::Arc;

use shareholders_domain::{Organisation, Person, Purchase};
#[allow(unused_imports)] // each test binary uses its own part
pub use shareholders_ports::testkit::{
    Recorder, State, class, country, foreign_organisation, name, named, org_ref, organisation,
    orgnr, person, person_ref, purchase, shares, state,
};
use shareholders_ports::{DirectPublisher, EventPublisher, Outbox, WriteStore as _};
use shareholders_sqlite::SqliteStore;
use tempfile::TempDir;

pub async fn store() -> (TempDir, SqliteStore) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = SqliteStore::open(dir.path()).await.expect("open the store");
    (dir, store)
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

/// Registers the organisations and the persons, then records the purchases, in that order.
pub async fn record(
    store: &SqliteStore,
    organisations: &[Organisation],
    persons: &[Person],
    purchases: &[Purchase],
) {
    for organisation in organisations {
        store
            .register_organisation(organisation, None)
            .await
            .expect("registered");
    }
    for person in persons {
        store
            .register_person(person, None)
            .await
            .expect("registered");
    }
    for purchase in purchases {
        store.purchase(purchase, None).await.expect("recorded");
    }
}
