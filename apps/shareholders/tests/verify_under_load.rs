//! `shareholders verify` on a busy system: while purchases keep arriving, it reports no
//! difference (the read model is only late), and a real difference in the read model is still
//! named, on the embedded default and on the real stack.

mod support;

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use shareholders::cli::StorageArgs;
use shareholders::serve::start;
use support::real::RealStack;
use support::{Api, embedded_storage, load_sample, local};

/// An orgnr with the 8-digit stem `stem` and its MOD11 check digit (stems whose check digit
/// would be 10 are skipped by the caller).
fn orgnr(stem: u32) -> Option<String> {
    let digits: Vec<u32> = format!("{stem:08}")
        .chars()
        .filter_map(|c| c.to_digit(10))
        .collect();
    let sum: u32 = digits
        .iter()
        .zip([3, 2, 7, 6, 5, 4, 3, 2])
        .map(|(d, w)| d * w)
        .sum();
    let check = (11 - sum % 11) % 11;
    (check < 10).then(|| format!("{stem:08}{check}"))
}

/// Purchases that keep coming until stopped: one share at a time, of 20 companies of their
/// own, bought by a company of the sample. Counts the purchases recorded.
struct Load {
    stop: Arc<AtomicBool>,
    recorded: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl Load {
    async fn start(api: Api) -> Self {
        let companies: Vec<String> = (70_000_000..).filter_map(orgnr).take(20).collect();
        for (n, orgnr) in companies.iter().enumerate() {
            let (status, body) = api
                .post(
                    "/api/organization/",
                    &json!({"orgnr": orgnr, "name": format!("LOAD {n} AS")}),
                )
                .await;
            assert_eq!(status, 201, "{body}");
        }
        let (stop, recorded) = (
            Arc::new(AtomicBool::new(false)),
            Arc::new(AtomicU64::new(0)),
        );
        let task = tokio::spawn({
            let (stop, recorded) = (stop.clone(), recorded.clone());
            async move {
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    let purchase = json!({
                        "company": companies[n % companies.len()],
                        "owner": {"kind": "organization", "id": "988844322"},
                        "share_class": "A-aksjer",
                        "shares": 1,
                    });
                    let (status, body) = api.post("/api/share/", &purchase).await;
                    assert_eq!(status, 201, "{body}");
                    recorded.fetch_add(1, Ordering::Relaxed);
                    n += 1;
                }
            }
        });
        Self {
            stop,
            recorded,
            task,
        }
    }

    fn recorded(&self) -> u64 {
        self.recorded.load(Ordering::Relaxed)
    }

    async fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        self.task.await.expect("the load ran without a refusal");
    }
}

/// The storage flags of `storage`, as the binary takes them.
fn flags(storage: &StorageArgs) -> Vec<String> {
    let mut flags = vec![
        "--data-dir".to_owned(),
        storage.data_dir.display().to_string(),
    ];
    for (flag, value) in [
        ("--database-url", &storage.database_url),
        ("--amqp-url", &storage.amqp_url),
        ("--mongodb-uri", &storage.mongodb_uri),
    ] {
        if let Some(value) = value {
            flags.extend([flag.to_owned(), value.clone()]);
        }
    }
    flags.extend([
        "--amqp-prefix".to_owned(),
        storage.amqp_prefix.clone(),
        "--mongodb-database".to_owned(),
        storage.mongodb_database.clone(),
    ]);
    flags
}

/// Runs `shareholders verify --json` as a separate process while the load goes on: its exit
/// status, its report, and how many purchases were recorded while it ran.
async fn verify(storage: &StorageArgs, load: &Load) -> (bool, Value, u64) {
    let before = load.recorded();
    let mut command = Command::new(env!("CARGO_BIN_EXE_shareholders"));
    command.args(flags(storage)).args(["verify", "--json"]);
    let output = tokio::task::spawn_blocking(move || command.output().expect("verify runs"))
        .await
        .expect("joined");
    let during = load.recorded() - before;
    let report: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "verify prints JSON ({e}): {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (output.status.success(), report, during)
}

/// The scenario on a running service whose read model `corrupt` can damage.
async fn scenario<F, Fut>(storage: &StorageArgs, api: Api, corrupt: F)
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    load_sample(&api).await;
    let load = Load::start(api).await;
    // Under way before verify starts.
    while load.recorded() < 20 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let (clean, report, during) = verify(storage, &load).await;
    assert!(during > 0, "purchases were recorded while verify ran");
    assert!(
        clean,
        "no difference while the read model is only late: {report}"
    );
    assert_eq!(report["total"], 0, "{report}");

    corrupt().await;
    let (clean, report, during) = verify(storage, &load).await;
    assert!(during > 0, "purchases were recorded while verify ran");
    assert!(!clean, "the corruption is found: {report}");
    assert_eq!(report["total"], 1, "only the corruption: {report}");
    assert_eq!(report["differences"][0]["key"], "885648312", "{report}");
    assert_eq!(report["differences"][0]["field"], "owner_count", "{report}");
    load.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_under_load_on_the_embedded_default() {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = embedded_storage(dir.path());
    let running = start(&storage, local()).await.expect("starts");
    let api = Api::new(running.addr);
    scenario(&storage, api, || {
        support::corrupt_sqlite(
            dir.path(),
            "UPDATE read_organisations SET owner_count = 99 WHERE orgnr = '885648312'",
        )
    })
    .await;
    running.stop().await.expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_under_load_on_the_real_stack() {
    let real = RealStack::new().await;
    let running = start(&real.storage, local()).await.expect("starts");
    let api = Api::new(running.addr);
    let (uri, database) = (
        real.storage.mongodb_uri.clone().expect("MongoDB"),
        real.storage.mongodb_database.clone(),
    );
    scenario(&real.storage, api, || async move {
        use mongodb::bson::{Document, doc};
        let client = mongodb::Client::with_uri_str(&uri).await.expect("MongoDB");
        let changed = client
            .database(&database)
            .collection::<Document>("organisations")
            .update_one(
                doc! {"_id": "885648312"},
                doc! {"$set": {"owner_count": 99_i64}},
            )
            .await
            .expect("corrupts")
            .modified_count;
        assert_eq!(changed, 1);
    })
    .await;
    running.stop().await.expect("clean shutdown");
    real.cleanup().await;
}
