//! Retention of the applied positions against a MongoDB-compatible server: the ports'
//! conformance scenario.

mod common;

#[tokio::test]
async fn applied_positions_go_after_their_retention() {
    let model = common::fresh().await;
    shareholders_ports::conformance::retention::applied_positions_go_after_their_retention(
        &model.model,
    )
    .await;
    common::drop_database(&model).await;
}
