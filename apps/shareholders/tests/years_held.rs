//! An imported year held in memory by `serve` (`--held-years`) over HTTP on the embedded
//! default: with its ownership graph held, every read of the year answers as the year's read
//! model alone does, and a new import of the year is held in its place. In a process of its
//! own: the gauges of a held year are the process's.

mod support;

use std::time::Duration;

use serde_json::Value;
use shareholders::cli::ServeArgs;
use shareholders::serve::start;
use support::years::{extracts, import_year, owners};
use support::{Api, embedded_storage, local, metric};

/// Reads of 2023: the graph upwards and downwards (computed on the held graph, with the
/// profiles shown read from the year's read model), and the drawn graph, BODS, pages and a
/// summary (the year's read model's).
const YEAR_READS: [&str; 8] = [
    "/api/891450052/ultimate-owners?year=2023",
    "/api/891450052/beneficial-owners?year=2023",
    "/api/885648312/ultimate-holdings?year=2023",
    "/api/891450052/graph?direction=both&year=2023",
    "/api/891450052/bods?year=2023",
    "/api/988844322/owners?year=2023",
    "/api/885648312/holdings?year=2023",
    "/api/988844322/summary?year=2023",
];

async fn year_reads(api: &Api) -> Vec<Value> {
    let mut answers = Vec::new();
    for path in YEAR_READS {
        answers.push(api.get_ok(path).await);
    }
    answers
}

#[tokio::test]
async fn a_year_held_in_memory_answers_as_its_read_model_and_follows_a_new_import() {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = embedded_storage(&dir.path().join("data"));
    let (y2023, y2024) = extracts(dir.path());
    import_year(&storage, &y2023, None).await;

    // Every read from the year's read model.
    let args = ServeArgs {
        held_years: 0,
        ..local()
    };
    let running = start(&storage, args).await.expect("starts");
    let from_read_model = year_reads(&Api::new(running.addr)).await;
    running.stop().await.expect("stops");

    // The year asked for once, then held.
    let running = start(&storage, local()).await.expect("starts");
    let api = Api::new(running.addr);
    const HELD: &str = "shareholders_graph_year_stakes_held{year=\"2023\"}";
    api.get_ok(YEAR_READS[0]).await;
    let mut held = None;
    for _ in 0..300 {
        held = metric(&api, HELD).await;
        if held.is_some_and(|held| held > 0.0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(held, Some(20.0), "the sample's 20 holdings are held");
    let bytes = metric(&api, "shareholders_graph_year_bytes{year=\"2023\"}").await;
    assert!(
        bytes.is_some_and(|bytes| bytes > 0.0 && bytes < 4096.0),
        "the year's graph takes a few bytes a holding: {bytes:?}"
    );
    const FROM_MEMORY: &str =
        "shareholders_held_reads_total{read=\"ultimate_owners\",from=\"memory\"}";
    let before = metric(&api, FROM_MEMORY).await.unwrap_or(0.0);
    let from_memory = year_reads(&api).await;
    assert!(
        metric(&api, FROM_MEMORY).await.unwrap_or(0.0) > before,
        "the ultimate owners were computed on the held year"
    );
    for ((path, memory), read_model) in YEAR_READS.iter().zip(&from_memory).zip(&from_read_model) {
        assert_eq!(memory, read_model, "{path}");
    }

    // 2023 imported again, from another file: its reads follow the new import.
    import_year(&storage, &y2024, Some(2023)).await;
    let mut now = Vec::new();
    for _ in 0..300 {
        now = owners(&api.get_ok("/api/988844322/owners?year=2023").await);
        if now.first().is_some_and(|(_, shares)| *shares == 110) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        now,
        [
            ("KJOS CAROLINE MARIE HAGEN".to_owned(), 110),
            ("HAGEN STEIN ERIK".to_owned(), 10)
        ]
    );
    let mut held = None;
    for _ in 0..300 {
        held = metric(&api, HELD).await;
        if held == Some(19.0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(held, Some(19.0), "the new import's 19 holdings are held");
    let before = metric(&api, FROM_MEMORY).await.unwrap_or(0.0);
    let ultimate = api.get_ok("/api/988844322/ultimate-owners?year=2023").await;
    assert_eq!(
        ultimate["ultimate_owners"][0]["owner"]["name"], "KJOS CAROLINE MARIE HAGEN",
        "{ultimate}"
    );
    assert!(
        metric(&api, FROM_MEMORY).await.unwrap_or(0.0) > before,
        "and computed on the new import held in memory"
    );
    running.stop().await.expect("stops");
}
