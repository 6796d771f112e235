//! The ownership graph over HTTP on the embedded default, following purchases as they are made.

mod support;

use support::{Api, check_the_graph_follows_purchases, embedded};

#[tokio::test]
async fn the_graph_follows_purchases_on_the_embedded_default() {
    let (running, _dir) = embedded().await;
    check_the_graph_follows_purchases(&Api::new(running.addr)).await;
    running.stop().await.expect("stops");
}
