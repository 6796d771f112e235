//! The register's years over HTTP on the embedded default: two extracts imported in reverse
//! order, then every read by year, the history and the changes between the years.

mod support;

use std::collections::BTreeSet;
use std::process::ExitCode;

use serde_json::Value;
use shareholders::commands::verify;
use shareholders::serve::start;
use support::years::{extracts, import_year, owners};
use support::{Api, embedded_storage, local};

fn changes(body: &Value) -> BTreeSet<(String, String, u64, u64)> {
    body["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .map(|c| {
            (
                c["owner"]["name"].as_str().expect("name").to_owned(),
                c["change"].as_str().expect("change").to_owned(),
                c["shares"]["from"].as_u64().expect("from"),
                c["shares"]["to"].as_u64().expect("to"),
            )
        })
        .collect()
}

#[tokio::test]
async fn every_read_takes_a_year_and_the_years_compare() {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = embedded_storage(&dir.path().join("data"));
    let (y2023, y2024) = extracts(dir.path());
    // The newer year first: the older one must not move the live register back.
    for file in [&y2024, &y2023] {
        import_year(&storage, file, None).await;
    }
    assert_eq!(
        verify(&storage, 5, false).await.expect("verifies"),
        ExitCode::SUCCESS
    );

    let running = start(&storage, local()).await.expect("starts");
    let api = Api::new(running.addr);

    let years = api.get_ok("/api/years").await;
    let listed: Vec<(u64, String, u64, u64, u64)> = years["years"]
        .as_array()
        .expect("years")
        .iter()
        .map(|y| {
            assert_eq!(y["sha256"].as_str().expect("sha256").len(), 64, "{y}");
            assert!(
                y["imported_at"].as_str().expect("time").ends_with('Z'),
                "{y}"
            );
            (
                y["year"].as_u64().expect("year"),
                y["file_name"].as_str().expect("file").to_owned(),
                y["lines"].as_u64().expect("lines"),
                y["companies"].as_u64().expect("companies"),
                y["holdings"].as_u64().expect("holdings"),
            )
        })
        .collect();
    assert_eq!(
        listed,
        vec![
            (2023, "aksjeeiebok__2023.csv".to_owned(), 20, 15, 20),
            (2024, "aksjeeiebok__2024.csv".to_owned(), 19, 14, 19),
        ]
    );

    // Live is 2024, although 2023 was imported last.
    let live = api.get_ok("/api/988844322/owners").await;
    assert_eq!(
        owners(&live),
        [
            ("KJOS CAROLINE MARIE HAGEN".to_owned(), 110),
            ("HAGEN STEIN ERIK".to_owned(), 10)
        ]
    );
    let old = api.get_ok("/api/988844322/owners?year=2023").await;
    assert_eq!(
        owners(&old),
        [
            ("KJOS CAROLINE MARIE HAGEN".to_owned(), 117),
            ("HAGEN STEIN ERIK".to_owned(), 3)
        ]
    );
    let summary = api.get_ok("/api/988844322/summary?year=2023").await;
    assert_eq!(summary["largest_owner"]["shares"], 117, "{summary}");
    let hagen = old["owners"][1]["owner"]["id"]
        .as_str()
        .expect("an id")
        .to_owned();
    let held = api
        .get_ok(&format!("/api/person/{hagen}/holdings?year=2023"))
        .await;
    let held: Vec<u64> = held["holdings"]
        .as_array()
        .expect("holdings")
        .iter()
        .map(|h| h["shares"].as_u64().expect("shares"))
        .collect();
    assert_eq!(held, [9, 3], "HAGEN STEIN ERIK in 2023, largest first");

    // A company absent from a year, a year never imported, a malformed year.
    let (status, _) = api.get("/api/992569077/summary?year=2024").await;
    assert_eq!(status, 404);
    api.get_ok("/api/992569077/summary?year=2023").await;
    let (status, body) = api.get("/api/988844322/owners?year=2022").await;
    assert_eq!(status, 404, "{body}");
    assert!(
        body["detail"].as_str().expect("detail").contains("2022"),
        "{body}"
    );
    for bad in ["22", "abcd", "20233", "1899"] {
        let (status, body) = api.get(&format!("/api/988844322/owners?year={bad}")).await;
        assert_eq!(status, 400, "year={bad}: {body}");
    }

    let history = api.get_ok("/api/992569077/history").await;
    assert_eq!(
        history["history"].as_array().expect("history").len(),
        1,
        "{history}"
    );
    let history = api.get_ok("/api/988844322/history").await;
    assert_eq!(
        history["history"],
        serde_json::json!([
            {"year": 2023, "total_shares": 120, "registered_shares": 120,
             "number_of_owners": 2, "number_of_holdings": 1},
            {"year": 2024, "total_shares": 120, "registered_shares": 120,
             "number_of_owners": 2, "number_of_holdings": 1},
        ])
    );
    let (status, _) = api.get("/api/123456785/history").await;
    assert_eq!(status, 404);

    let tvist = api.get_ok("/api/988844322/changes?from=2023&to=2024").await;
    assert_eq!(
        tvist["total_shares"],
        serde_json::json!({"from": 120, "to": 120})
    );
    assert_eq!(
        changes(&tvist),
        BTreeSet::from([
            ("HAGEN STEIN ERIK".to_owned(), "increased".to_owned(), 3, 10),
            (
                "KJOS CAROLINE MARIE HAGEN".to_owned(),
                "decreased".to_owned(),
                117,
                110
            ),
        ])
    );
    let canica = api.get_ok("/api/885648312/changes?from=2023&to=2024").await;
    assert_eq!(
        changes(&canica),
        BTreeSet::from([
            ("NORDMANN KARI".to_owned(), "entered".to_owned(), 0, 36),
            (
                "SØRLI NINA CAMILLA HAGEN".to_owned(),
                "exited".to_owned(),
                36,
                0
            ),
        ])
    );
    assert_eq!(canica["page"]["total_items"], 2, "{canica}");
    let gone = api.get_ok("/api/992569077/changes?from=2023&to=2024").await;
    assert_eq!(
        gone["total_shares"],
        serde_json::json!({"from": 750, "to": null})
    );
    assert_eq!(gone["changes"][0]["change"], "exited", "{gone}");
    let moved = api
        .get_ok(&format!("/api/person/{hagen}/changes?from=2023&to=2024"))
        .await;
    let moved: Vec<(String, String, u64, u64)> = moved["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .map(|c| {
            (
                c["company"]["orgnr"].as_str().expect("orgnr").to_owned(),
                c["change"].as_str().expect("change").to_owned(),
                c["shares"]["from"].as_u64().expect("from"),
                c["shares"]["to"].as_u64().expect("to"),
            )
        })
        .collect();
    assert_eq!(
        moved,
        [("988844322".to_owned(), "increased".to_owned(), 3, 10)],
        "CANICA's 9 shares did not change"
    );
    let eiendom = api
        .get_ok("/api/891450052/holdings/changes?from=2023&to=2024")
        .await;
    assert_eq!(
        eiendom["changes"][0]["company"]["orgnr"], "992569077",
        "{eiendom}"
    );
    assert_eq!(eiendom["changes"][0]["change"], "exited", "{eiendom}");
    let (status, body) = api.get("/api/988844322/changes?from=2023").await;
    assert_eq!(status, 400, "{body}");
    let (status, _) = api.get("/api/988844322/changes?from=2021&to=2024").await;
    assert_eq!(status, 404);
    running.stop().await.expect("stops");
}
