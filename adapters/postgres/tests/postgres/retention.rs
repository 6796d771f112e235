//! Retention against a real PostgreSQL: the ports' conformance scenario.

use crate::common::TestDb;

#[tokio::test]
async fn published_events_and_idempotency_keys_go_after_their_retention() {
    let db = TestDb::new().await;
    shareholders_ports::conformance::retention::published_events_and_idempotency_keys_go_after_their_retention(&db.store).await;
}
