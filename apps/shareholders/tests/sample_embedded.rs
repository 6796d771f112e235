//! The 20 real sample rows, loaded through the HTTP API of the embedded default.

mod support;

use serde_json::json;
use shareholders::cli::ServeArgs;
use shareholders::serve::start;
use support::{Api, check_sample, embedded, embedded_storage, load_sample, local, metric};

/// Read back after each write (`?min_position=`), from the live register held in memory.
#[tokio::test]
async fn the_register_sample_adds_up_on_the_embedded_default() {
    let (running, _dir) = embedded().await;
    let api = Api::new(running.addr);
    let position = load_sample(&api).await;
    check_sample(&api, position).await;
    for read in ["organisation", "owners", "holdings"] {
        let series = format!("shareholders_held_reads_total{{read=\"{read}\",from=\"memory\"}}");
        assert!(
            metric(&api, &series).await.unwrap_or(0.0) > 0.0,
            "{series} on /metrics"
        );
    }
    let differences = shareholders_ports::diff(
        running.stack.write_snapshot().as_ref(),
        running.stack.read_snapshot().as_ref(),
    )
    .await
    .expect("diff");
    assert!(differences.is_empty(), "{differences:?}");
    running.stop().await.expect("clean shutdown");
}

#[tokio::test]
async fn bad_input_gets_a_clear_4xx_and_changes_nothing() {
    let (running, _dir) = embedded().await;
    let api = Api::new(running.addr);
    let position = load_sample(&api).await;
    let before = api
        .get_ok(&format!("/api/988844322/owners?min_position={position}"))
        .await;

    let big = format!(
        r#"{{"orgnr":"999999999","name":"{}"}}"#,
        "A".repeat(70 * 1024)
    );
    let cases: Vec<(&str, Vec<u8>, u16)> = vec![
        ("/api/share/", b"{not json".to_vec(), 400),
        ("/api/share/", br#"{"company":988844322,"owner":{"kind":"person","id":"x"},"share_class":"A","shares":1}"#.to_vec(), 400),
        ("/api/share/", br#"{"company":"988844322","owner":{"kind":"organization","id":"885648312"},"share_class":"A-aksjer","shares":1,"extra":1}"#.to_vec(), 400),
        ("/api/share/", br#"{"company":"988844322","owner":{"kind":"organization","id":"885648312"},"share_class":"A-aksjer","shares":100000000000000000000000}"#.to_vec(), 400),
        ("/api/share/", br#"{"company":"988844322","owner":{"kind":"organization","id":"885648312"},"share_class":"A-aksjer","shares":0}"#.to_vec(), 400),
        ("/api/share/", br#"{"company":"988844322","owner":{"kind":"organization","id":"885648312"},"share_class":"A-aksjer","shares":-4}"#.to_vec(), 400),
        ("/api/share/", br#"{"company":"123456789","owner":{"kind":"organization","id":"885648312"},"share_class":"A-aksjer","shares":1}"#.to_vec(), 400),
        ("/api/share/", br#"{"company":"988844322","owner":{"kind":"organization","id":"885648312"},"share_class":"A-aksjer","shares":1}"#.to_vec(), 409),
        ("/api/share/", br#"{"company":"123456785","owner":{"kind":"organization","id":"885648312"},"share_class":"A-aksjer","shares":1}"#.to_vec(), 404),
        ("/api/share/", br#"{"company":"911964236","owner":{"kind":"person","id":"nobody"},"share_class":"A-aksjer","shares":1}"#.to_vec(), 422),
        ("/api/organization/", br#"{"orgnr":"988844322","name":"DUPLICATE AS"}"#.to_vec(), 409),
        ("/api/organization/", br#"{"orgnr":"12345678","name":"SHORT AS"}"#.to_vec(), 400),
        ("/api/organization/", br#"{"orgnr":"123456785","name":""}"#.to_vec(), 400),
        ("/api/organization/", br#"{"orgnr":"123456785","name":"X AS","country":"QQ"}"#.to_vec(), 400),
        ("/api/person/", br#"{"name":"A","birth_year":"1956"}"#.to_vec(), 400),
        ("/api/organization/", big.into_bytes(), 413),
    ];
    for (path, body, expected) in cases {
        let shown = String::from_utf8_lossy(&body[..body.len().min(120)]).into_owned();
        let (status, problem) = api.post_raw(path, body, "application/json").await;
        assert_eq!(status, expected, "{path} {shown}: {problem}");
        assert_eq!(problem["status"], expected, "{problem}");
        assert!(
            problem["title"].is_string() && problem["detail"].is_string(),
            "{problem}"
        );
    }
    for (path, expected) in [
        ("/api/123456789/owners", 400),
        ("/api/1abc/summary", 400),
        ("/api/123456785/owners", 404),
        ("/api/123456785/summary", 404),
        ("/api/person/nobody", 404),
        ("/api/988844322/owners?size=1001", 400),
    ] {
        let (status, problem) = api.get(path).await;
        assert_eq!(status, expected, "{path}: {problem}");
    }
    let after = api.get_ok("/api/988844322/owners").await;
    assert_eq!(before, after, "nothing changed");
    let (status, _) = api.get("/api/123456785/owners").await;
    assert_eq!(status, 404, "the refused organisation was not created");
    let (status, body) = api
        .post(
            "/api/organization/",
            &json!({"orgnr": "123456785", "name": "NEW AS"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    running.stop().await.expect("clean shutdown");
}

#[tokio::test]
async fn data_survives_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = embedded_storage(dir.path());
    let running = start(&storage, local()).await.expect("starts");
    let api = Api::new(running.addr);
    let position = load_sample(&api).await;
    let before = api
        .get_ok(&format!("/api/885648312/summary?min_position={position}"))
        .await;
    running.stop().await.expect("stops");

    let running = start(&storage, local()).await.expect("restarts");
    let api = Api::new(running.addr);
    let after = api.get_ok("/api/885648312/summary").await;
    assert_eq!(before, after);
    check_sample(&api, position).await;
    running.stop().await.expect("stops");
}

#[tokio::test]
async fn a_public_address_without_tokens_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let public = ServeArgs {
        listen: "0.0.0.0:0".parse().expect("addr"),
        ..ServeArgs::default()
    };
    let error = start(&embedded_storage(dir.path()), public)
        .await
        .expect_err("refused");
    assert!(error.to_string().contains("without API tokens"), "{error}");
}

#[tokio::test]
async fn writes_need_a_token_when_tokens_are_configured() {
    let dir = tempfile::tempdir().expect("tempdir");
    let args = ServeArgs {
        api_tokens: vec!["s3cret-token".into()],
        ..local()
    };
    let running = start(&embedded_storage(dir.path()), args)
        .await
        .expect("starts");
    let mut api = Api::new(running.addr);
    let body = json!({"orgnr": "988844322", "name": "TVIST 1 AS"});
    let (status, problem) = api.post("/api/organization/", &body).await;
    assert_eq!(status, 401, "{problem}");
    api.token = Some("wrong".into());
    let (status, _) = api.post("/api/organization/", &body).await;
    assert_eq!(status, 401);
    api.token = Some("s3cret-token".into());
    let (status, created) = api.post("/api/organization/", &body).await;
    assert_eq!(status, 201, "{created}");
    let (status, _) = api.get("/api/organization/988844322?min_position=1").await;
    assert_eq!(status, 200, "reads are public");
    running.stop().await.expect("stops");
}
