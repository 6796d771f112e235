//! `import_file`: the orchestration between the file, the rejects file and a store.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use futures::StreamExt;
use futures::stream::BoxStream;
use shareholders_domain::Position;
use shareholders_ports::{ImportReport, RegisterImport, RegisterLine};
use shareholders_register::{ImportOptions, Progress, REJECTS_HEADER, generate, import_file};

/// Records the batches it is given, as a store would consume them.
#[derive(Default)]
struct Recording {
    batches: Mutex<Vec<Vec<RegisterLine>>>,
    /// Fail after this many batches.
    fail_after: Option<usize>,
    /// Set when the stream ended, i.e. when a real store would commit.
    committed: AtomicBool,
}

impl Recording {
    fn lines(&self) -> Vec<RegisterLine> {
        self.batches
            .lock()
            .expect("lock")
            .iter()
            .flatten()
            .cloned()
            .collect()
    }
    fn batch_sizes(&self) -> Vec<usize> {
        self.batches
            .lock()
            .expect("lock")
            .iter()
            .map(Vec::len)
            .collect()
    }
}

#[async_trait]
impl RegisterImport for Recording {
    async fn import(
        &self,
        mut lines: BoxStream<'static, Vec<RegisterLine>>,
    ) -> anyhow::Result<ImportReport> {
        let mut count = 0;
        while let Some(batch) = lines.next().await {
            count += batch.len() as u64;
            self.batches.lock().expect("lock").push(batch);
            if Some(self.batches.lock().expect("lock").len()) == self.fail_after {
                anyhow::bail!("store on fire");
            }
        }
        self.committed.store(true, Ordering::SeqCst);
        Ok(ImportReport {
            lines: count,
            position: Some(Position::new(99)),
            ..ImportReport::default()
        })
    }
}

const GOOD_1: &str = "988844322;TVIST 1 AS;A-aksjer;HAGEN STEIN ERIK;1956;0790 OSLO;NOR;3;120";
const GOOD_2: &str = "988844322;TVIST 1 AS;B-aksjer;KJOS CAROLINE MARIE HAGEN;1984;;CHE;117;120";
const GOOD_3: &str =
    "885648312;CANICA INVESTOR AS;A-aksjer;TVIST 1 AS;988844322;0213 OSLO;NOR;3;120";
const BAD_ORGNR: &str = "123456789;X AS;A-aksjer;HAGEN;1956;0790 OSLO;NOR;3;120";
const BAD_COUNT: &str = "988844322;TVIST 1 AS;A-aksjer;HAGEN;1956;0790 OSLO;NOR;tre;120";

fn write_file(dir: &Path, name: &str, contents: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::File::create(&path)
        .and_then(|mut file| file.write_all(contents))
        .expect("writing the test file");
    path
}

fn options(dir: &Path, batch_lines: usize) -> ImportOptions {
    ImportOptions {
        year: None,
        batch_lines,
        rejects_path: dir.join("rejects.csv"),
        progress: Progress::Hidden,
    }
}

#[tokio::test]
async fn lines_reach_the_store_in_order_in_batches_and_rejects_are_written() {
    let dir = tempfile::tempdir().expect("temp dir");
    let contents = format!(
        "\u{feff}{}\r\n{GOOD_1}\r\n{BAD_ORGNR}\r\n{GOOD_2}\r\n{GOOD_3}\r\n{BAD_COUNT}\r\n{GOOD_1}\r\n",
        shareholders_register::HEADER
    );
    let path = write_file(
        dir.path(),
        "aksjeeiebok__2024_07052025.csv",
        contents.as_bytes(),
    );
    let store = Recording::default();

    let outcome = import_file(&path, options(dir.path(), 2), &store)
        .await
        .expect("imported");

    assert_eq!(outcome.year, 2024);
    assert_eq!(outcome.lines_read, 6);
    assert_eq!(outcome.rejects, 2);
    assert_eq!(outcome.report.lines, 4);
    assert_eq!(outcome.report.position, Some(Position::new(99)));
    assert_eq!(store.batch_sizes(), vec![2, 2]);
    let numbers: Vec<u64> = store.lines().iter().map(|line| line.line).collect();
    assert_eq!(numbers, vec![2, 4, 5, 7]);

    let rejects = std::fs::read_to_string(dir.path().join("rejects.csv")).expect("rejects");
    let rows: Vec<&str> = rejects.lines().collect();
    assert_eq!(rows.len(), 3, "{rejects}");
    assert_eq!(rows[0], REJECTS_HEADER);
    let fields: Vec<&str> = rows[1].splitn(3, ';').collect();
    assert_eq!(fields[0], "3");
    assert!(fields[1].contains("company orgnr"), "{}", fields[1]);
    assert_eq!(fields[2], BAD_ORGNR);
    let fields: Vec<&str> = rows[2].splitn(3, ';').collect();
    assert_eq!(fields[0], "6");
    assert!(fields[1].contains("share count"), "{}", fields[1]);
    assert_eq!(fields[2], BAD_COUNT);
}

#[tokio::test]
async fn a_given_year_wins_and_a_missing_one_is_an_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = write_file(dir.path(), "eiere.csv", format!("{GOOD_1}\n").as_bytes());
    let store = Recording::default();

    let error = import_file(&path, options(dir.path(), 10), &store)
        .await
        .expect_err("no year");
    assert!(error.to_string().contains("no year"), "{error:#}");
    assert!(store.lines().is_empty());

    let mut with_year = options(dir.path(), 10);
    with_year.year = Some(2019);
    let outcome = import_file(&path, with_year, &store)
        .await
        .expect("imported");
    assert_eq!(outcome.year, 2019);
    assert_eq!(outcome.rejects, 0);
    assert_eq!(store.lines().len(), 1);
    let rejects = std::fs::read_to_string(dir.path().join("rejects.csv")).expect("rejects");
    assert_eq!(rejects, format!("{REJECTS_HEADER}\n"));
}

#[tokio::test]
async fn a_store_failure_is_returned_and_stops_the_parser() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut contents = Vec::new();
    generate(50_000, 5, &mut contents).expect("generated");
    let path = write_file(dir.path(), "aksjeeiebok__2023_01012024.csv", &contents);
    let store = Recording {
        fail_after: Some(2),
        ..Recording::default()
    };
    let error = import_file(&path, options(dir.path(), 100), &store)
        .await
        .expect_err("the store failed");
    assert!(format!("{error:#}").contains("store on fire"), "{error:#}");
    assert_eq!(store.batch_sizes(), vec![100, 100]);
}

#[tokio::test]
async fn a_missing_file_is_an_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Recording::default();
    let error = import_file(
        &dir.path().join("aksjeeiebok__2024_x.csv"),
        options(dir.path(), 10),
        &store,
    )
    .await
    .expect_err("no file");
    assert!(format!("{error:#}").contains("opening"), "{error:#}");
}

/// A generated file goes through whole: every line, in order, no rejects, bounded batches.
#[tokio::test]
async fn a_generated_file_imports_completely() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut contents = Vec::new();
    let stats = generate(30_000, 11, &mut contents).expect("generated");
    let path = write_file(dir.path(), "aksjeeiebok__2022_01012023.csv", &contents);
    let store = Recording::default();
    let outcome = import_file(&path, options(dir.path(), 4_096), &store)
        .await
        .expect("imported");
    assert_eq!(outcome.rejects, 0);
    assert_eq!(outcome.lines_read, stats.rows);
    assert_eq!(outcome.report.lines, stats.rows);
    let sizes = store.batch_sizes();
    assert!(sizes.iter().all(|&size| size <= 4_096));
    assert_eq!(sizes.len(), 30_000usize.div_ceil(4_096));
    let numbers: Vec<u64> = store.lines().iter().map(|line| line.line).collect();
    assert_eq!(numbers, (2..=30_001).collect::<Vec<_>>());
}

/// A read error must not end the stream: the store would commit a partial file.
#[tokio::test]
async fn a_read_error_never_lets_the_store_commit() {
    let dir = tempfile::tempdir().expect("temp dir");
    // Opening a directory works; reading it fails.
    let path = dir.path().join("aksjeeiebok__2024_07052025.csv");
    std::fs::create_dir(&path).expect("dir");
    let store = Recording::default();
    let error = import_file(&path, options(dir.path(), 10), &store)
        .await
        .expect_err("unreadable");
    assert!(
        format!("{error:#}").contains("nothing was imported"),
        "{error:#}"
    );
    assert!(!store.committed.load(Ordering::SeqCst));
}

/// A rejects file that cannot be written fails the import part-way, after some batches have
/// reached the store, which must still not commit.
#[cfg(target_os = "linux")]
#[tokio::test]
async fn a_rejects_write_failure_part_way_never_lets_the_store_commit() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut contents = String::new();
    for _ in 0..20_000 {
        contents.push_str(GOOD_1);
        contents.push('\n');
        contents.push_str(BAD_COUNT);
        contents.push('\n');
    }
    let path = write_file(
        dir.path(),
        "aksjeeiebok__2024_07052025.csv",
        contents.as_bytes(),
    );
    let store = Recording::default();
    let mut full = options(dir.path(), 10);
    full.rejects_path = PathBuf::from("/dev/full");
    let error = import_file(&path, full, &store)
        .await
        .expect_err("no space");
    assert!(
        format!("{error:#}").contains("nothing was imported"),
        "{error:#}"
    );
    assert!(
        !store.batch_sizes().is_empty(),
        "some batches were sent first"
    );
    assert!(store.lines().len() < 20_000);
    assert!(!store.committed.load(Ordering::SeqCst));
}
