//! Scenarios of the write model's own contract, beyond the commands' rules each adapter tests.

use crate::WriteStore;
use crate::conformance::years::{company, person};

/// [`WriteStore::last_position`]: none before the first write, then the largest position
/// given.
pub async fn the_last_position_is_the_largest_given(store: &dyn WriteStore) {
    assert_eq!(store.last_position().await.expect("read"), None);
    let company = store
        .register_organisation(&company(1, "TVIST 1 AS", 120), None)
        .await
        .expect("registered");
    assert_eq!(
        store.last_position().await.expect("read"),
        Some(company.position)
    );
    let someone = store
        .register_person(&person("HAGEN STEIN ERIK", 1970, "0150", "NO"), None)
        .await
        .expect("registered");
    assert!(someone.position > company.position);
    assert_eq!(
        store.last_position().await.expect("read"),
        Some(someone.position)
    );
}
