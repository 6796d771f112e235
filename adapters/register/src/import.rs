//! Importing an extract file into a store: parse on a blocking thread, hand the store bounded
//! batches, write the rejects aside.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow};
use futures::StreamExt;
use futures::stream::{self, BoxStream};
use shareholders_ports::{ImportReport, RegisterImport, RegisterLine};
use tokio::sync::{mpsc, oneshot};

use crate::parse::{Reject, year_from_file_name};
use crate::progress::{Progress, Tracker};
use crate::reader::{Parsed, RegisterReader};

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
    pub year: Option<u16>,
    /// Lines per batch handed to the store (at least 1).
    pub batch_lines: usize,
    /// Where the rejected lines go (created or truncated, written even when there are none).
    pub rejects_path: PathBuf,
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
            progress: Progress::Auto,
        }
    }
}

/// What an import of a file did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportOutcome {
    /// The store's report.
    pub report: ImportReport,
    /// Lines written to the rejects file.
    pub rejects: u64,
    /// Data lines read: loaded plus rejected (not the header, not blank lines).
    pub lines_read: u64,
    /// The year of the extract.
    pub year: u16,
    pub elapsed: Duration,
}

/// What the parsing thread did.
#[derive(Debug)]
struct Parsing {
    lines_read: u64,
    rejects: u64,
}

/// Imports the extract at `path` into `store`.
///
/// The file is parsed on a blocking thread and its lines reach the store in order, in batches
/// of `batch_lines`, through a bounded channel, so memory stays bounded for any file size.
/// Rejected lines go to `rejects_path` and never stop the import.
///
/// The store commits only once the stream of batches ends, and the stream ends only when the
/// whole file has been read: when reading the file or writing the rejects fails part-way, the
/// stream never ends and the store's import future is dropped (so its transaction is rolled back),
/// and the error is returned.
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
    let year = options
        .year
        .or_else(|| {
            path.file_name()
                .and_then(|name| name.to_str())
                .and_then(year_from_file_name)
        })
        .ok_or_else(|| anyhow!("no year in the file name {shown}: give the extract's year"))?;
    let file = File::open(path).with_context(|| format!("opening {shown}"))?;
    let size = file
        .metadata()
        .with_context(|| format!("reading the size of {shown}"))?
        .len();
    let rejects_file = File::create(&options.rejects_path)
        .with_context(|| format!("creating {}", options.rejects_path.display()))?;

    let (batches, received) = mpsc::channel(BATCHES_IN_FLIGHT);
    let batch_lines = options.batch_lines.max(1);
    let progress = options.progress.clone();
    let parser = tokio::task::spawn_blocking(move || {
        parse_file(file, size, rejects_file, batch_lines, &progress, &batches)
    });

    let (failed, mut failure) = oneshot::channel::<()>();
    let lines = batch_stream(received, failed);
    let outcome = {
        let import = store.import(lines);
        tokio::select! {
            biased;
            Ok(()) = &mut failure => None,
            result = import => Some(result),
        }
    };

    let parsing = parser.await.context("the parsing thread panicked")?;
    match outcome {
        None => Err(parsing
            .err()
            .map_or_else(|| anyhow!("reading stopped"), anyhow::Error::from)
            .context(format!("importing {shown}: nothing was imported"))),
        Some(Err(error)) => Err(error.context(format!("importing {shown} into the store"))),
        Some(Ok(report)) => {
            let parsing = parsing.with_context(|| {
                format!("importing {shown}: the store finished before the file was read")
            })?;
            let elapsed = started.elapsed();
            tracing::info!(
                file = %shown,
                year,
                lines = report.lines,
                rejects = parsing.rejects,
                seconds = elapsed.as_secs_f64(),
                "register imported"
            );
            Ok(ImportOutcome {
                report,
                rejects: parsing.rejects,
                lines_read: parsing.lines_read,
                year,
                elapsed,
            })
        }
    }
}

/// The batches as the store consumes them. A read failure signals `failed` and leaves the
/// stream pending for ever, so the store never sees a partial file end.
fn batch_stream(
    received: mpsc::Receiver<io::Result<Vec<RegisterLine>>>,
    failed: oneshot::Sender<()>,
) -> BoxStream<'static, Vec<RegisterLine>> {
    stream::unfold(
        (received, Some(failed)),
        |(mut received, mut failed)| async move {
            match received.recv().await {
                Some(Ok(batch)) => Some((batch, (received, failed))),
                None => None,
                Some(Err(_)) => {
                    if let Some(failed) = failed.take() {
                        let _ = failed.send(());
                    }
                    futures::future::pending().await
                }
            }
        },
    )
    .boxed()
}

fn parse_file(
    file: File,
    size: u64,
    rejects_file: File,
    batch_lines: usize,
    progress: &Progress,
    batches: &mpsc::Sender<io::Result<Vec<RegisterLine>>>,
) -> io::Result<Parsing> {
    let result = parse_into(file, size, rejects_file, batch_lines, progress, batches);
    if let Err(error) = &result {
        // Keeps the stream from ending: the store must not commit a partial file.
        let _ = batches.blocking_send(Err(io::Error::new(error.kind(), error.to_string())));
    }
    result
}

fn parse_into(
    file: File,
    size: u64,
    rejects_file: File,
    batch_lines: usize,
    progress: &Progress,
    batches: &mpsc::Sender<io::Result<Vec<RegisterLine>>>,
) -> io::Result<Parsing> {
    let mut tracker = Tracker::new(progress, size);
    let mut reader = RegisterReader::new(BufReader::with_capacity(1 << 16, file));
    let mut rejects = BufWriter::new(rejects_file);
    writeln!(rejects, "{REJECTS_HEADER}")?;
    let mut rejected = 0u64;
    let mut batch = Vec::with_capacity(batch_lines);
    let send = |batch: Vec<RegisterLine>| {
        batches
            .blocking_send(Ok(batch))
            .map_err(|_| io::Error::other("the store stopped reading"))
    };
    while let Some(parsed) = reader.next() {
        match parsed? {
            Parsed::Line(line) => {
                batch.push(line);
                if batch.len() >= batch_lines {
                    send(std::mem::replace(
                        &mut batch,
                        Vec::with_capacity(batch_lines),
                    ))?;
                }
            }
            Parsed::Reject(reject) => {
                write_reject(&mut rejects, &reject)?;
                rejected += 1;
            }
        }
        if reader.data_lines() % PROGRESS_EVERY_ROWS == 0 {
            tracker.update(reader.bytes_read(), reader.data_lines());
        }
    }
    rejects.flush()?;
    if !batch.is_empty() {
        send(batch)?;
    }
    tracker.finish(reader.bytes_read(), reader.data_lines());
    Ok(Parsing {
        lines_read: reader.data_lines(),
        rejects: rejected,
    })
}

fn write_reject(out: &mut impl Write, reject: &Reject) -> io::Result<()> {
    writeln!(
        out,
        "{};{};{}",
        reject.line,
        reject.reason.replace([';', '\n', '\r'], ","),
        reject.raw
    )
}
