//! The ownership graph over HTTP on the embedded default, following purchases as they are made:
//! read from the live register's holdings held in memory, and, for comparison, from the read
//! model a level at a time (`--reads-from-read-model`).

mod support;

use shareholders::cli::ServeArgs;
use shareholders::serve::start;
use support::{Api, check_the_graph_follows_purchases, embedded, embedded_storage, local, metric};

const FROM_MEMORY: &str = "shareholders_graph_level_reads_total{from=\"memory\"}";
const HELD: &str = "shareholders_graph_stakes_held";

#[tokio::test]
async fn the_graph_follows_purchases_on_the_embedded_default() {
    let (running, _dir) = embedded().await;
    let api = Api::new(running.addr);
    check_the_graph_follows_purchases(&api).await;
    // The levels were read from memory, which holds every holding the purchases made (two in
    // BOTTOM, two in MIDDLE, one in HOLDING).
    assert!(metric(&api, FROM_MEMORY).await.unwrap_or(0.0) > 0.0);
    assert_eq!(metric(&api, HELD).await, Some(5.0));
    running.stop().await.expect("stops");
}

#[tokio::test]
async fn the_graph_read_from_the_read_model_follows_purchases_alike() {
    let dir = tempfile::tempdir().expect("tempdir");
    let args = ServeArgs {
        reads_from_read_model: true,
        ..local()
    };
    let running = start(&embedded_storage(dir.path()), args)
        .await
        .expect("the embedded service starts");
    check_the_graph_follows_purchases(&Api::new(running.addr)).await;
    running.stop().await.expect("stops");
}
