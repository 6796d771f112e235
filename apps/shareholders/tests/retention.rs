//! Retention on the running service (the embedded default): the pruning task deletes what is
//! past its retention and counts it, while what is inside its retention keeps working.

mod support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use shareholders::cli::ServeArgs;
use shareholders::retention::RetentionArgs;
use shareholders::serve::start;
use support::{Api, embedded_storage, local, metric, sample_rows};

/// The value of `shareholders_pruned_total{what="<what>"}` on `/metrics`, 0 before it shows.
async fn pruned(api: &Api, what: &str) -> u64 {
    let series = format!("shareholders_pruned_total{{what=\"{what}\"}}");
    metric(api, &series).await.map_or(0, |value| value as u64)
}

async fn register(api: &Api, body: &Value, key: Option<&str>) -> (u16, Value, bool) {
    let mut request = api
        .http
        .post(format!("{}/api/organization/", api.base))
        .json(body);
    if let Some(key) = key {
        request = request.header("Idempotency-Key", key);
    }
    let response = request.send().await.expect("POST");
    let status = response.status().as_u16();
    let replayed = response.headers().contains_key("idempotent-replayed");
    (status, response.json().await.expect("JSON"), replayed)
}

#[tokio::test]
async fn published_events_and_applied_positions_are_pruned_while_a_key_still_replays() {
    let dir = tempfile::tempdir().expect("tempdir");
    let args = ServeArgs {
        retention: RetentionArgs {
            outbox_retention: Duration::ZERO,
            idempotency_retention: Duration::from_secs(24 * 3600),
            applied_retention: Duration::ZERO,
            prune_interval: Duration::from_millis(200),
        },
        ..local()
    };
    let running = start(&embedded_storage(dir.path()), args)
        .await
        .expect("the embedded service starts");
    let api = Api::new(running.addr);
    // Four organisations of the sample, each registered once.
    let mut orgnrs = std::collections::BTreeSet::new();
    let organisations: Vec<Value> = sample_rows()
        .into_iter()
        .flat_map(|row| [(row.company, row.company_name), (row.holder_id, row.holder)])
        .filter(|(orgnr, _)| orgnr.len() == 9 && orgnrs.insert(orgnr.clone()))
        .take(4)
        .map(|(orgnr, name)| json!({"orgnr": orgnr, "name": name}))
        .collect();
    assert_eq!(organisations.len(), 4);
    let first = &organisations[0];
    let (status, keyed, _) = register(&api, first, Some("retention-e2e")).await;
    assert_eq!(status, 201, "{keyed}");
    let mut last = 0;
    for body in &organisations[1..] {
        let (status, created, _) = register(&api, body, None).await;
        assert_eq!(status, 201, "{created}");
        last = created["position"].as_u64().expect("a position");
    }

    // The events without a key are pruned once published; the applied positions once the
    // watermark covers them.
    let deadline = Instant::now() + Duration::from_secs(20);
    while pruned(&api, "outbox_events").await < 3 || pruned(&api, "applied_positions").await < 4 {
        assert!(
            Instant::now() < deadline,
            "not pruned within 20 s: {} outbox events, {} applied positions, {last}",
            pruned(&api, "outbox_events").await,
            pruned(&api, "applied_positions").await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(pruned(&api, "idempotency_keys").await, 0, "the key is kept");

    // The key replays its first answer from the event it kept.
    let (status, replay, replayed) = register(&api, first, Some("retention-e2e")).await;
    assert_eq!(status, 201, "{replay}");
    assert!(replayed);
    assert_eq!(replay["position"], keyed["position"]);
    // A read waiting for a pruned applied position answers at once.
    let started = Instant::now();
    let company = api
        .get_ok(&format!(
            "/api/{}/summary?min_position={last}",
            first["orgnr"].as_str().expect("an orgnr")
        ))
        .await;
    assert!(started.elapsed() < Duration::from_secs(2), "{company}");
    running
        .stop()
        .await
        .expect("stops cleanly, pruning included");
}
