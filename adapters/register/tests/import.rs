//! `import_file`: the orchestration between the file, the rejects file and a store.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use async_trait::async_trait;
use sha2::{Digest, Sha256};
use shareholders_domain::{CompanyYear, ExtractError, Position, RegisterYear, YearPart};
use shareholders_ports::{RegisterImport, YearImported, YearLoad, YearProvenance, YearRecord};
use shareholders_register::{ImportOptions, Progress, REJECTS_HEADER, generate, import_file};

/// What a recording store saw.
#[derive(Default, Debug)]
struct Seen {
    years: Vec<RegisterYear>,
    batches: Vec<Vec<YearPart>>,
    committed: Vec<YearProvenance>,
    aborted: usize,
}

/// Records the parts it is given, as a store would load them.
#[derive(Default, Clone)]
struct Recording {
    seen: Arc<Mutex<Seen>>,
    /// Fail after this many batches.
    fail_after: Option<usize>,
}

impl Recording {
    fn seen(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.seen.lock().expect("lock")
    }

    fn parts(&self) -> Vec<YearPart> {
        self.seen().batches.iter().flatten().cloned().collect()
    }

    fn companies(&self) -> Vec<CompanyYear> {
        self.parts()
            .into_iter()
            .filter_map(|part| match part {
                YearPart::Company(company) => Some(*company),
                _ => None,
            })
            .collect()
    }
}

struct RecordingLoad {
    store: Recording,
    year: RegisterYear,
}

#[async_trait]
impl RegisterImport for Recording {
    async fn begin_year(&self, year: RegisterYear) -> anyhow::Result<Box<dyn YearLoad>> {
        let mut seen = self.seen();
        seen.years.push(year);
        // A store keeps only the last attempt's parts.
        seen.batches.clear();
        Ok(Box::new(RecordingLoad {
            store: self.clone(),
            year,
        }))
    }
}

#[async_trait]
impl YearLoad for RecordingLoad {
    async fn load(&mut self, parts: Vec<YearPart>) -> anyhow::Result<()> {
        let mut seen = self.store.seen();
        seen.batches.push(parts);
        if Some(seen.batches.len()) == self.store.fail_after {
            anyhow::bail!("store on fire");
        }
        Ok(())
    }

    async fn commit(self: Box<Self>, provenance: YearProvenance) -> anyhow::Result<YearImported> {
        self.store.seen().committed.push(provenance.clone());
        Ok(YearImported {
            record: YearRecord {
                year: self.year,
                file_name: provenance.file_name,
                sha256: provenance.sha256,
                imported_at: SystemTime::now(),
                lines: provenance.lines,
                rejects: provenance.rejects,
                companies: 0,
                holdings: 0,
                persons_linked: 0,
                persons_ambiguous: 0,
                superseded_live_changes: 0,
                duration: provenance.duration,
            },
            live_moved: true,
            position: Some(Position::new(99)),
        })
    }

    async fn abort(self: Box<Self>) -> anyhow::Result<()> {
        self.store.seen().aborted += 1;
        Ok(())
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
        scratch_dir: Some(dir.to_path_buf()),
        progress: Progress::Hidden,
    }
}

fn sha256(contents: &[u8]) -> String {
    format!("{:x}", Sha256::digest(contents))
}

#[tokio::test]
async fn companies_reach_the_store_summed_and_rejects_are_written() {
    let dir = tempfile::tempdir().expect("temp dir");
    let contents = format!(
        "\u{feff}{}\r\n{GOOD_1}\r\n{BAD_ORGNR}\r\n{GOOD_2}\r\n{GOOD_3}\r\n{BAD_COUNT}\r\n",
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

    assert_eq!(outcome.year.get(), 2024);
    assert_eq!(outcome.lines_read, 5);
    assert_eq!(outcome.rejects, 2);
    assert!(!outcome.sorted);
    assert_eq!(outcome.imported.position, Some(Position::new(99)));
    assert_eq!(outcome.totals.companies, 2);
    assert_eq!(outcome.totals.holdings, 3);
    assert_eq!(outcome.totals.persons, 2);
    let companies = store.companies();
    let orgnrs: Vec<String> = companies
        .iter()
        .map(|c| c.organisation.orgnr().to_string())
        .collect();
    assert_eq!(orgnrs, ["988844322", "885648312"]);
    assert_eq!(companies[0].registered_shares, 120);
    assert_eq!(companies[0].foreign_owner_count, 1);
    let seen = store.seen();
    assert_eq!(seen.years, [RegisterYear::new(2024).expect("year")]);
    let duration = seen.committed[0].duration.expect("the import is timed");
    assert!(
        duration <= outcome.elapsed,
        "timed up to the commit: {duration:?} of {:?}",
        outcome.elapsed
    );
    assert_eq!(outcome.imported.record.duration, Some(duration));
    assert_eq!(
        seen.committed,
        [YearProvenance {
            file_name: "aksjeeiebok__2024_07052025.csv".into(),
            sha256: sha256(contents.as_bytes()),
            lines: 5,
            rejects: 2,
            duration: Some(duration),
        }]
    );
    assert_eq!(seen.aborted, 0);
    drop(seen);

    assert_eq!(outcome.rejects_path, Some(dir.path().join("rejects.csv")));
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
async fn a_given_year_wins_a_missing_one_is_an_error_and_no_reject_writes_no_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = write_file(dir.path(), "eiere.csv", format!("{GOOD_1}\n").as_bytes());
    let store = Recording::default();

    let error = import_file(&path, options(dir.path(), 10), &store)
        .await
        .expect_err("no year");
    assert!(error.to_string().contains("no year"), "{error:#}");
    assert!(store.seen().years.is_empty());

    let mut with_year = options(dir.path(), 10);
    with_year.year = Some(RegisterYear::new(2019).expect("year"));
    let outcome = import_file(&path, with_year, &store)
        .await
        .expect("imported");
    assert_eq!(outcome.year.get(), 2019);
    assert_eq!(outcome.rejects, 0);
    assert_eq!(outcome.rejects_path, None);
    assert_eq!(store.companies().len(), 1);
    assert!(!dir.path().join("rejects.csv").exists());
}

#[tokio::test]
async fn a_corrected_import_removes_the_rejects_file_of_the_earlier_one() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut with_year = options(dir.path(), 10);
    with_year.year = Some(RegisterYear::new(2019).expect("year"));
    let rejects = dir.path().join("rejects.csv");
    let faulty = write_file(
        dir.path(),
        "eiere.csv",
        format!("{GOOD_1}\n{BAD_COUNT}\n").as_bytes(),
    );
    let store = Recording::default();
    let first = import_file(&faulty, with_year.clone(), &store)
        .await
        .expect("imported");
    assert_eq!(
        (first.rejects, first.rejects_path),
        (1, Some(rejects.clone()))
    );
    assert!(rejects.exists());

    let corrected = write_file(dir.path(), "eiere.csv", format!("{GOOD_1}\n").as_bytes());
    let second = import_file(&corrected, with_year, &store)
        .await
        .expect("imported");
    assert_eq!((second.rejects, second.rejects_path), (0, None));
    assert!(
        !rejects.exists(),
        "no rejects file describes rejects the corrected import did not make"
    );
}

#[tokio::test]
async fn a_store_failure_is_returned_aborts_the_load_and_stops_the_parser() {
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
    let seen = store.seen();
    assert_eq!(seen.batches.len(), 2);
    assert_eq!(seen.aborted, 1);
    assert!(seen.committed.is_empty());
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

/// A generated file goes through whole: every company, in bounded batches, its holdings
/// summing to its lines.
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
    assert_eq!(outcome.totals.companies, stats.companies);
    assert_eq!(store.companies().len() as u64, stats.companies);
    let holdings: usize = store.companies().iter().map(|c| c.holdings.len()).sum();
    assert_eq!(holdings as u64, outcome.totals.holdings);
    // Batches are cut once they weigh the batch size; one company may overshoot it.
    let largest = stats.largest_company_rows as usize;
    for batch in &store.seen().batches {
        let weight: usize = batch
            .iter()
            .map(|part| match part {
                YearPart::Company(company) => company.holdings.len() + 1,
                _ => 1,
            })
            .sum();
        assert!(weight < 4_096 + largest + 1, "{weight}");
    }
}

/// A file that lists a company's lines apart is sorted and imported again, whole, with its
/// own line numbers in the rejects.
#[tokio::test]
async fn a_file_not_grouped_by_company_is_sorted_first() {
    let dir = tempfile::tempdir().expect("temp dir");
    let contents = format!("{GOOD_1}\n{GOOD_3}\n{BAD_COUNT}\n{GOOD_2}\n");
    let path = write_file(dir.path(), "aksjeeiebok_2021.csv", contents.as_bytes());
    let store = Recording::default();
    let outcome = import_file(&path, options(dir.path(), 1), &store)
        .await
        .expect("imported");
    assert!(outcome.sorted);
    assert_eq!(outcome.lines_read, 4);
    assert_eq!(outcome.rejects, 1);
    let companies = store.companies();
    assert_eq!(companies.len(), 2);
    assert_eq!(companies[0].organisation.orgnr().to_string(), "885648312");
    assert_eq!(companies[1].organisation.orgnr().to_string(), "988844322");
    assert_eq!(companies[1].registered_shares, 120);
    let seen = store.seen();
    assert_eq!(seen.aborted, 1, "the first pass was discarded");
    assert_eq!(seen.committed.len(), 1);
    assert_eq!(seen.committed[0].sha256, sha256(contents.as_bytes()));
    let rejects = std::fs::read_to_string(dir.path().join("rejects.csv")).expect("rejects");
    assert!(
        rejects
            .lines()
            .nth(1)
            .is_some_and(|row| row.starts_with("3;")),
        "{rejects}"
    );
    assert_eq!(rejects.lines().count(), 2, "{rejects}");
}

/// A read error aborts the load: the store never commits a partial file.
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
    assert!(store.seen().committed.is_empty());
    assert_eq!(store.seen().aborted, 1);
}

/// A rejects file that cannot be written fails the import part-way, after some batches have
/// reached the store, which must still not commit.
#[cfg(target_os = "linux")]
#[tokio::test]
async fn a_rejects_write_failure_part_way_never_lets_the_store_commit() {
    let dir = tempfile::tempdir().expect("temp dir");
    // Many companies, each line followed by a reject, so that batches reach the store before
    // the rejects file fills up.
    let mut generated = Vec::new();
    generate(20_000, 3, &mut generated).expect("generated");
    let mut contents = String::new();
    for line in String::from_utf8(generated).expect("utf-8").lines().skip(1) {
        contents.push_str(line);
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
    let seen = store.seen();
    assert!(!seen.batches.is_empty(), "some batches were sent first");
    assert!(seen.committed.is_empty());
    assert_eq!(seen.aborted, 1);
}

/// Lines an extract may hold, good or bad, of a few companies; shares up to the largest count,
/// so that a company's shares may sum past it.
fn any_line() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
    use proptest::prelude::*;
    prop_oneof![
        4 => (
            prop::sample::select(vec!["988844322", "885648312", "914305195"]),
            prop::sample::select(vec!["HAGEN", "KJOS", "TVIST 1 AS;988844322", "SMITH;", ";"]),
            prop::sample::select(vec!["1", "3", "120", "4611686018427387904", "9223372036854775807", "9223372036854775808", "0", ""]),
            prop::sample::select(vec!["", "120", "0", "18446744073709551616"]),
        )
            .prop_map(|(company, holder, shares, total)| {
                format!("{company};X AS;A-aksjer;{holder};1970;0790 OSLO;NOR;{shares};{total}")
                    .into_bytes()
            }),
        1 => prop::collection::vec(any::<u8>(), 0..60),
        1 => prop::sample::select(vec![
            b"".to_vec(),
            b";;;;;;;;".to_vec(),
            b"\0\0\0".to_vec(),
            b"\xEF\xBB\xBF".to_vec(),
            b"Orgnr;".to_vec(),
            BAD_COUNT.as_bytes().to_vec(),
            b"988844322;TVIST 1 AS;A-aksjer;S\xD8RLI;1981;;NOR;1;120".to_vec(),
        ]),
    ]
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig {
        failure_persistence: None,
        ..proptest::prelude::ProptestConfig::with_cases(64)
    })]

    /// Any file imports, its rejects counted and written aside (and no rejects file when none),
    /// or fails whole for a reason of the whole file (a company's shares summing past the
    /// largest count), the store then committing nothing.
    #[test]
    fn any_file_imports_or_fails_whole(
        lines in proptest::collection::vec(any_line(), 0..30),
        endings in proptest::sample::select(vec!["\n", "\r\n"]),
        final_ending in proptest::bool::ANY,
    ) {
        let mut contents = lines.join(endings.as_bytes());
        if final_ending {
            contents.extend_from_slice(endings.as_bytes());
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let path = write_file(dir.path(), "aksjeeiebok__2024_07052025.csv", &contents);
        let store = Recording::default();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a runtime");
        let result = runtime.block_on(import_file(&path, options(dir.path(), 3), &store));

        let (mut understood, mut rejected) = (0u64, 0u64);
        for parsed in shareholders_register::RegisterReader::new(contents.as_slice()) {
            match parsed.expect("in memory") {
                shareholders_register::Parsed::Line(_) => understood += 1,
                shareholders_register::Parsed::Reject(_) => rejected += 1,
            }
        }
        let rejects_file = dir.path().join("rejects.csv");
        let seen = store.seen();
        match result {
            Ok(outcome) => {
                proptest::prop_assert_eq!(outcome.lines_read, understood + rejected);
                proptest::prop_assert_eq!(outcome.rejects, rejected);
                proptest::prop_assert_eq!(outcome.totals.lines, understood);
                proptest::prop_assert_eq!(seen.committed.len(), 1);
                proptest::prop_assert_eq!(rejects_file.exists(), rejected > 0);
                if rejected > 0 {
                    let written = std::fs::read_to_string(&rejects_file).expect("rejects");
                    proptest::prop_assert_eq!(written.lines().count() as u64, rejected + 1);
                }
            }
            Err(error) => {
                proptest::prop_assert!(
                    error.chain().any(|cause| matches!(
                        cause.downcast_ref(),
                        Some(ExtractError::Overflow { .. })
                    )),
                    "{:#}",
                    error
                );
                proptest::prop_assert!(format!("{error:#}").contains("sum past"), "{:#}", error);
                proptest::prop_assert!(seen.committed.is_empty());
            }
        }
    }
}
