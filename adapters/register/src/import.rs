//! Importing a yearly extract file into a store: parse and sum it on a blocking thread, hand
//! the store bounded batches of the year's parts, write the rejects aside.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow};
use sha2::{Digest, Sha256};
use shareholders_domain::{ExtractError, ExtractTotals, ExtractYear, RegisterYear, YearPart};
use shareholders_ports::{RegisterImport, YearImported, YearProvenance};
use tokio::sync::mpsc;

use crate::parse::{Reject, year_from_file_name};
use crate::progress::{Progress, Tracker};
use crate::reader::{Parsed, RegisterReader, parse_raw};
use crate::sort::{CHUNK_BYTES, SortedLines, sort_by_company};

/// Batches in flight between the parser and the store: with the batch size, this bounds the
/// memory an import takes whatever the file's size.
const BATCHES_IN_FLIGHT: usize = 4;

/// Rows between two progress updates.
const PROGRESS_EVERY_ROWS: u64 = 8192;

/// The header of the rejects file. Its fields are separated by `;`; the reason never holds one
/// (any is replaced by `,`), so everything after the second `;` is the raw line as read.
pub const REJECTS_HEADER: &str = "line;reason;raw";

/// How to import a file.
#[derive(Clone, Debug)]
pub struct ImportOptions {
    /// The year of the extract; `None` takes it from the file name ([`year_from_file_name`]).
    pub year: Option<RegisterYear>,
    /// About how many holdings a batch handed to the store holds (at least 1).
    pub batch_lines: usize,
    /// Where rejected lines go. The file is created (or truncated) at the first reject only.
    pub rejects_path: PathBuf,
    /// Where a file that does not list each company's lines together is sorted (temporary
    /// files, removed afterwards); `None` is the system's temporary folder.
    pub scratch_dir: Option<PathBuf>,
    pub progress: Progress,
}

impl ImportOptions {
    pub const DEFAULT_BATCH_LINES: usize = 10_000;

    /// Year from the file name, batches of [`Self::DEFAULT_BATCH_LINES`], automatic progress.
    pub fn new(rejects_path: impl Into<PathBuf>) -> Self {
        Self {
            year: None,
            batch_lines: Self::DEFAULT_BATCH_LINES,
            rejects_path: rejects_path.into(),
            scratch_dir: None,
            progress: Progress::Auto,
        }
    }
}

/// What an import of a file did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportOutcome {
    /// The store's account of the year.
    pub imported: YearImported,
    /// What the extract held: companies, holdings, persons, total conflicts.
    pub totals: ExtractTotals,
    /// Lines written to the rejects file.
    pub rejects: u64,
    /// The rejects file, when a line was rejected.
    pub rejects_path: Option<PathBuf>,
    /// Data lines read: loaded plus rejected (not the header, not blank lines).
    pub lines_read: u64,
    pub year: RegisterYear,
    /// The file did not list each company's lines together, and was sorted first.
    pub sorted: bool,
    pub elapsed: Duration,
}

/// What the parsing thread tells the store's side.
enum Message {
    Parts(Vec<YearPart>),
    Done(Box<Parsing>),
    Failed(anyhow::Error),
}

/// What the parsing thread found in the whole file.
#[derive(Debug)]
struct Parsing {
    lines_read: u64,
    rejects: u64,
    sha256: String,
    totals: ExtractTotals,
}

/// Imports the extract at `path` into `store` as its year's snapshot.
///
/// The file is parsed and summed per company on a blocking thread ([`ExtractYear`]), and the
/// year's parts reach the store in order, in batches, through a bounded channel, so memory
/// stays bounded for any file size. Rejected lines go to the rejects file and never stop the
/// import. When the file does not list each company's lines together, it is sorted by company
/// into temporary files first, and imported again from them (its line numbers kept).
///
/// The store makes the year visible only when the whole file has been read: when reading the
/// file or writing the rejects fails part-way, the load is aborted and the error returned.
///
/// # Errors
/// When no year is given or found in the file name, when the file cannot be opened or read,
/// when the rejects file cannot be written, or when the store fails.
pub async fn import_file(
    path: &Path,
    options: ImportOptions,
    store: &dyn RegisterImport,
) -> anyhow::Result<ImportOutcome> {
    let started = Instant::now();
    let shown = path.display().to_string();
    let year = match options.year {
        Some(year) => year,
        None => path
            .file_name()
            .and_then(|name| name.to_str())
            .and_then(year_from_file_name)
            .and_then(|year| RegisterYear::new(i64::from(year)).ok())
            .ok_or_else(|| anyhow!("no year in the file name {shown}: give the extract's year"))?,
    };
    let file_name = path
        .file_name()
        .map_or_else(|| shown.clone(), |n| n.to_string_lossy().into_owned());

    let mut sorted = false;
    let (imported, parsing) = loop {
        let source = if sorted { Source::Sorted } else { Source::File };
        match attempt(path, &options, store, year, &file_name, source, started).await {
            Err(error) if !sorted && not_grouped(&error) => {
                tracing::info!(file = %shown, "the extract does not list each company's lines together: sorting it");
                sorted = true;
            }
            Err(error) => {
                return Err(error.context(format!("importing {shown}: nothing was imported")));
            }
            Ok(done) => break done,
        }
    };
    let elapsed = started.elapsed();
    tracing::info!(
        file = %shown,
        %year,
        lines = parsing.lines_read,
        rejects = parsing.rejects,
        live_moved = imported.live_moved,
        seconds = elapsed.as_secs_f64(),
        "register year imported"
    );
    Ok(ImportOutcome {
        imported,
        rejects: parsing.rejects,
        rejects_path: (parsing.rejects > 0).then(|| options.rejects_path.clone()),
        lines_read: parsing.lines_read,
        totals: parsing.totals,
        year,
        sorted,
        elapsed,
    })
}

fn not_grouped(error: &anyhow::Error) -> bool {
    error
        .chain()
        .any(|cause| matches!(cause.downcast_ref(), Some(ExtractError::NotGrouped { .. })))
}

#[derive(Clone, Copy, Debug)]
enum Source {
    File,
    Sorted,
}

/// One pass over the file into one load of the store.
async fn attempt(
    path: &Path,
    options: &ImportOptions,
    store: &dyn RegisterImport,
    year: RegisterYear,
    file_name: &str,
    source: Source,
    started: Instant,
) -> anyhow::Result<(YearImported, Parsing)> {
    let shown = path.display().to_string();
    let file = File::open(path).with_context(|| format!("opening {shown}"))?;
    let size = file
        .metadata()
        .with_context(|| format!("reading the size of {shown}"))?
        .len();
    let (sender, mut received) = mpsc::channel(BATCHES_IN_FLIGHT);
    let settings = Settings {
        batch: options.batch_lines.max(1),
        rejects_path: options.rejects_path.clone(),
        scratch_dir: options
            .scratch_dir
            .clone()
            .unwrap_or_else(std::env::temp_dir),
        progress: options.progress.clone(),
        size,
        source,
    };
    let parser = tokio::task::spawn_blocking(move || {
        let result = parse_file(file, &settings, &sender);
        let message = match result {
            Ok(parsing) => Message::Done(Box::new(parsing)),
            Err(error) => Message::Failed(error),
        };
        let _ = sender.blocking_send(message);
    });

    let mut load = store.begin_year(year).await?;
    let outcome = loop {
        match received.recv().await {
            Some(Message::Parts(parts)) => {
                if let Err(error) = load.load(parts).await {
                    break Err(error);
                }
            }
            Some(Message::Done(parsing)) => break Ok(*parsing),
            Some(Message::Failed(error)) => break Err(error),
            None => break Err(anyhow!("the parsing thread stopped")),
        }
    };
    // The parser stops at its next send once `received` is dropped.
    drop(received);
    let parser = parser.await;
    let parsing = match (outcome, parser) {
        (Ok(parsing), Ok(())) => parsing,
        (Err(error), _) => {
            if let Err(abort) = load.abort().await {
                tracing::warn!(error = %format!("{abort:#}"), "cannot discard a failed load");
            }
            return Err(error);
        }
        (Ok(_), Err(panic)) => {
            let _ = load.abort().await;
            return Err(anyhow!("the parsing thread panicked: {panic}"));
        }
    };
    let provenance = YearProvenance {
        file_name: file_name.to_owned(),
        sha256: parsing.sha256.clone(),
        lines: parsing.lines_read,
        rejects: parsing.rejects,
        // From the start of reading the file (the first attempt's, when it had to be sorted).
        duration: Some(started.elapsed()),
    };
    let imported = load
        .commit(provenance)
        .await
        .with_context(|| format!("importing {shown} into the store"))?;
    Ok((imported, parsing))
}

struct Settings {
    batch: usize,
    rejects_path: PathBuf,
    scratch_dir: PathBuf,
    progress: Progress,
    size: u64,
    source: Source,
}

/// Hashes every byte read through it.
struct Hashing<R> {
    inner: R,
    hash: Sha256,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let read = self.inner.read(buf)?;
        self.hash.update(&buf[..read]);
        Ok(read)
    }
}

/// The rejects file, created at the first reject.
struct Rejects {
    path: PathBuf,
    out: Option<BufWriter<File>>,
    count: u64,
}

impl Rejects {
    fn write(&mut self, reject: &Reject) -> anyhow::Result<()> {
        if self.out.is_none() {
            let file = File::create(&self.path)
                .with_context(|| format!("creating {}", self.path.display()))?;
            let mut out = BufWriter::new(file);
            writeln!(out, "{REJECTS_HEADER}")?;
            self.out = Some(out);
        }
        if let Some(out) = &mut self.out {
            writeln!(
                out,
                "{};{};{}",
                reject.line,
                reject.reason.replace([';', '\n', '\r'], ","),
                reject.raw
            )
            .with_context(|| format!("writing {}", self.path.display()))?;
        }
        self.count += 1;
        Ok(())
    }

    /// Flushes the file; with no reject, removes a rejects file an earlier import of the same
    /// extract left at the path, so that no file ever describes rejects this import did not
    /// make.
    fn finish(&mut self) -> anyhow::Result<()> {
        if let Some(out) = &mut self.out {
            out.flush()
                .with_context(|| format!("writing {}", self.path.display()))?;
        } else if self.path.is_file() {
            std::fs::remove_file(&self.path).with_context(|| {
                format!("removing the earlier rejects file {}", self.path.display())
            })?;
        }
        Ok(())
    }
}

/// The year's parts, batched by weight (holdings and persons) for the store.
struct Batcher<'a> {
    parts: Vec<YearPart>,
    weight: usize,
    limit: usize,
    sender: &'a mpsc::Sender<Message>,
}

impl Batcher<'_> {
    fn add(&mut self, parts: &mut Vec<YearPart>) -> anyhow::Result<()> {
        for part in parts.drain(..) {
            self.weight += match &part {
                YearPart::Company(company) => company.holdings.len() + 1,
                _ => 1,
            };
            self.parts.push(part);
            if self.weight >= self.limit {
                self.flush()?;
            }
        }
        Ok(())
    }

    fn flush(&mut self) -> anyhow::Result<()> {
        if self.parts.is_empty() {
            return Ok(());
        }
        self.weight = 0;
        self.sender
            .blocking_send(Message::Parts(std::mem::take(&mut self.parts)))
            .map_err(|_| anyhow!("the store stopped reading"))
    }
}

fn parse_file(
    file: File,
    settings: &Settings,
    sender: &mpsc::Sender<Message>,
) -> anyhow::Result<Parsing> {
    let mut tracker = Tracker::new(&settings.progress, settings.size);
    let mut hashing = Hashing {
        inner: file,
        hash: Sha256::new(),
    };
    let mut rejects = Rejects {
        path: settings.rejects_path.clone(),
        out: None,
        count: 0,
    };
    let mut extract = ExtractYear::new();
    let mut batcher = Batcher {
        parts: Vec::new(),
        weight: 0,
        limit: settings.batch,
        sender,
    };
    let mut parts = Vec::new();
    let mut take = |parsed: Parsed, rejects: &mut Rejects| -> anyhow::Result<()> {
        match parsed {
            Parsed::Line(line) => {
                extract.push(line, &mut parts)?;
                batcher.add(&mut parts)
            }
            Parsed::Reject(reject) => rejects.write(&reject),
        }
    };
    let lines_read = match settings.source {
        Source::File => {
            let mut reader = RegisterReader::new(BufReader::with_capacity(1 << 16, &mut hashing));
            while let Some(parsed) = reader.next() {
                take(parsed.context("reading the extract")?, &mut rejects)?;
                if reader.data_lines() % PROGRESS_EVERY_ROWS == 0 {
                    tracker.update(reader.bytes_read(), reader.data_lines());
                }
            }
            tracker.finish(reader.bytes_read(), reader.data_lines());
            reader.data_lines()
        }
        Source::Sorted => {
            let mut lines: SortedLines = sort_by_company(
                BufReader::with_capacity(1 << 16, &mut hashing),
                &settings.scratch_dir,
                CHUNK_BYTES,
            )
            .with_context(|| {
                format!("sorting the extract in {}", settings.scratch_dir.display())
            })?;
            let (mut count, mut bytes) = (0u64, 0u64);
            while let Some((line_no, raw)) =
                lines.next_line().context("reading the sorted extract")?
            {
                count += 1;
                bytes += raw.len() as u64 + 1;
                take(parse_raw(line_no, &raw), &mut rejects)?;
                if count % PROGRESS_EVERY_ROWS == 0 {
                    tracker.update(bytes.min(settings.size), count);
                }
            }
            tracker.finish(settings.size, count);
            count
        }
    };
    let mut parts = Vec::new();
    let totals = extract.finish(&mut parts)?;
    batcher.add(&mut parts)?;
    batcher.flush()?;
    rejects.finish()?;
    Ok(Parsing {
        lines_read,
        rejects: rejects.count,
        sha256: format!("{:x}", hashing.hash.finalize()),
        totals,
    })
}
