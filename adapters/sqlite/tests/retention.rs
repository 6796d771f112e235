//! Retention on a real SQLite file: the ports' conformance scenarios.

mod common;

use common::store;

#[tokio::test]
async fn published_events_and_idempotency_keys_go_after_their_retention() {
    let (_dir, store) = store().await;
    shareholders_ports::conformance::retention::published_events_and_idempotency_keys_go_after_their_retention(&store).await;
}

#[tokio::test]
async fn applied_positions_go_after_their_retention() {
    let (_dir, store) = store().await;
    shareholders_ports::conformance::retention::applied_positions_go_after_their_retention(&store)
        .await;
}
