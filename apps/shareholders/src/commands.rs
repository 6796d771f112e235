//! The subcommands other than `serve`.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use shareholders_ports::{
    QueryError, RelaySettings, diff_settled, diff_years, project_year, project_years, run_relay,
};
use shareholders_rabbitmq::run_consumer;
use tokio::sync::watch;

use crate::cli::{ImportArgs, StorageArgs, WorkerArgs};
use crate::stack::Stack;

/// `migrate`: connecting migrates the write model and creates the read model's indexes.
///
/// # Errors
/// When a store cannot be reached or migrated.
pub async fn migrate(storage: &StorageArgs) -> anyhow::Result<ExitCode> {
    let stack = Stack::connect(storage).await?;
    println!("migrated: {stack:?}");
    Ok(ExitCode::SUCCESS)
}

/// A signal that turns true on SIGINT or SIGTERM.
fn stop_on_signal() -> watch::Receiver<bool> {
    let (tx, rx) = watch::channel(false);
    tokio::spawn(async move {
        crate::serve::shutdown_signal().await;
        let _ = tx.send(true);
    });
    rx
}

/// With `--metrics-listen`, serves the operational endpoints until `signal` turns true.
async fn serve_operations(
    stack: &Stack,
    args: &WorkerArgs,
    mut signal: watch::Receiver<bool>,
) -> anyhow::Result<Option<tokio::task::JoinHandle<()>>> {
    let Some(listen) = args.metrics_listen else {
        return Ok(None);
    };
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("listening on {listen} for metrics"))?;
    let operations = crate::metrics::operations(stack, crate::metrics::recorder())?;
    tracing::info!(addr = %listener.local_addr()?, "serving health and metrics");
    let routes = shareholders_http::operational_routes(operations);
    Ok(Some(tokio::spawn(shareholders_http::serve(
        listener,
        routes,
        shareholders_http::ServerSettings::default(),
        async move {
            let _ = signal.wait_for(|stop| *stop).await;
        },
    ))))
}

/// `relay`: the outbox relay alone, until interrupted.
///
/// # Errors
/// When a store or the broker cannot be reached at start.
pub async fn relay(storage: &StorageArgs, args: WorkerArgs) -> anyhow::Result<ExitCode> {
    crate::metrics::recorder();
    let stack = Stack::connect(storage).await?;
    let publisher = stack.publisher().await?;
    let signal = stop_on_signal();
    let operations = serve_operations(&stack, &args, signal.clone()).await?;
    // Without a broker, this process also applies the events (in-process).
    let retained = crate::retention::retained(&stack, true, stack.broker.is_none());
    let pruning = crate::retention::start(retained, &args.retention, signal.clone());
    run_relay(stack.outbox(), publisher, RelaySettings::default(), signal).await;
    if let Some(operations) = operations {
        let _ = operations.await;
    }
    if let Some(pruning) = pruning {
        let _ = pruning.await;
    }
    Ok(ExitCode::SUCCESS)
}

/// `project`: the projector alone (a competing consumer), until interrupted.
///
/// # Errors
/// Without a broker, or when the consumer fails.
pub async fn project(storage: &StorageArgs, args: WorkerArgs) -> anyhow::Result<ExitCode> {
    crate::metrics::recorder();
    let stack = Stack::connect(storage).await?;
    let Some(broker) = stack.broker.clone() else {
        anyhow::bail!(
            "`project` consumes events from RabbitMQ: set SHAREHOLDERS_AMQP_URL. \
             Without a broker, `serve` and `relay` project events in-process."
        );
    };
    let signal = stop_on_signal();
    let operations = serve_operations(&stack, &args, signal.clone()).await?;
    let retained = crate::retention::retained(&stack, false, true);
    let pruning = crate::retention::start(retained, &args.retention, signal.clone());
    run_consumer(
        &broker.url,
        broker.topology.clone(),
        stack.projection(),
        broker.consumer_settings(),
        signal,
    )
    .await?;
    if let Some(operations) = operations {
        operations.abort();
    }
    if let Some(pruning) = pruning {
        pruning.abort();
    }
    Ok(ExitCode::SUCCESS)
}

/// The most passes `verify` makes over a busy system (see `ports::diff_settled`).
pub const VERIFY_PASSES: u32 = 5;

/// `verify`: every difference between the write model and the read model.
///
/// # Errors
/// When a store fails.
pub async fn verify(storage: &StorageArgs, show: usize, json: bool) -> anyhow::Result<ExitCode> {
    let stack = Stack::connect(storage).await?;
    let backlog = stack.outbox().backlog().await?.events;
    if backlog > 0 {
        eprintln!("note: {backlog} event(s) are still in the outbox, not yet published");
    }
    let started = Instant::now();
    // Writes may go on: a difference counts once two passes, between which the read model
    // caught up with the last position issued, see it alike (ports::diff_settled).
    let (write, service) = (stack.write_store(), stack.service());
    let mut differences = diff_settled(
        stack.write_snapshot().as_ref(),
        stack.read_snapshot().as_ref(),
        VERIFY_PASSES,
        || {
            let (write, service) = (write.clone(), service.clone());
            async move {
                let last = write.last_position().await?;
                match service.wait_for(last).await {
                    // Still behind after the wait: the next pass tells.
                    Ok(()) | Err(QueryError::NotYetApplied(_)) => Ok(()),
                    Err(other) => Err(other.into()),
                }
            }
        },
    )
    .await?;
    let years = stack.year_snapshots().years().await?.len();
    differences.extend(
        diff_years(
            stack.year_snapshots().as_ref(),
            stack.year_read_model().as_ref(),
        )
        .await?,
    );
    let mut counts: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    for difference in &differences {
        *counts.entry(difference.kind()).or_default() += 1;
    }
    if json {
        let shown: Vec<serde_json::Value> =
            differences.iter().take(show).map(difference_json).collect();
        println!(
            "{}",
            serde_json::json!({
                "differences": shown,
                "counts": counts,
                "total": differences.len(),
                "years": years,
            })
        );
        return Ok(if differences.is_empty() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        });
    }
    for difference in differences.iter().take(show) {
        println!("{difference}");
    }
    if differences.len() > show {
        println!("… and {} more", differences.len() - show);
    }
    for (kind, count) in &counts {
        println!("{count} {kind} difference(s)");
    }
    println!(
        "{} difference(s) between the write model and the read model, live and {years} \
         imported year(s) ({:.1} s)",
        differences.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(if differences.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn difference_json(difference: &shareholders_ports::Difference) -> serde_json::Value {
    use shareholders_ports::Difference;
    match difference {
        Difference::Missing { kind, key } => {
            serde_json::json!({"kind": kind, "key": key, "problem": "missing from the read model"})
        }
        Difference::Unexpected { kind, key } => {
            serde_json::json!({"kind": kind, "key": key, "problem": "only in the read model"})
        }
        Difference::Differs {
            kind,
            key,
            field,
            write,
            read,
        } => serde_json::json!({
            "kind": kind, "key": key, "problem": "differs", "field": field,
            "write": write, "read": read,
        }),
    }
}

/// A progress display for document counts: a spinner on a terminal, periodic lines otherwise.
pub(crate) struct Counter {
    bar: Option<ProgressBar>,
    label: &'static str,
    started: Instant,
    last_line: std::sync::Mutex<Instant>,
}

impl Counter {
    pub(crate) fn new(label: &'static str) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} {msg} {pos} documents ({per_sec}, {elapsed})",
                )
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.set_message(label);
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        Self {
            bar,
            label,
            started: Instant::now(),
            last_line: std::sync::Mutex::new(Instant::now()),
        }
    }

    pub(crate) fn set(&self, done: u64) {
        if let Some(bar) = &self.bar {
            bar.set_position(done);
            return;
        }
        if let Ok(mut last) = self.last_line.lock() {
            if last.elapsed() >= Duration::from_secs(5) {
                *last = Instant::now();
                let secs = self.started.elapsed().as_secs_f64();
                eprintln!(
                    "{}: {done} documents, {:.0}/s",
                    self.label,
                    done as f64 / secs.max(0.001)
                );
            }
        }
    }

    pub(crate) fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish();
        }
    }
}

/// `rebuild`: the read model, anew from the write model.
///
/// # Errors
/// When a store fails; a rebuild may simply be run again.
pub async fn rebuild(storage: &StorageArgs, batch: usize) -> anyhow::Result<ExitCode> {
    let stack = Stack::connect(storage).await?;
    let started = Instant::now();
    let counter = Counter::new("rebuilding the read model");
    let report = shareholders_ports::rebuild(
        stack.write_snapshot().as_ref(),
        stack.loader().as_ref(),
        true,
        batch,
        &|done| counter.set(done),
    )
    .await?;
    counter.finish();
    println!(
        "rebuilt the read model: {} organisations, {} persons, {} holdings in {:.1} s",
        report.companies,
        report.persons,
        report.holdings,
        started.elapsed().as_secs_f64()
    );
    let started = Instant::now();
    let counter = Counter::new("rebuilding the years' read model");
    let years = project_years(
        stack.year_snapshots().as_ref(),
        stack.year_read_model().as_ref(),
        batch,
        &|_, done| counter.set(done),
    )
    .await?;
    counter.finish();
    for (year, report) in &years {
        println!(
            "rebuilt {year}: {} organisations, {} persons, {} holdings",
            report.companies, report.persons, report.holdings
        );
    }
    println!(
        "rebuilt {} year(s) in {:.1} s",
        years.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}

/// Where the rejects of `file` go by default: the data directory, which the service can write
/// to even when the extract lies in a read-only folder.
fn default_rejects(data_dir: &Path, file: &Path) -> PathBuf {
    let mut name = file
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".rejects.tsv");
    data_dir.join(name)
}

/// `import`: loads a year's register extract into the write model as that year's snapshot,
/// then builds the read model from it.
///
/// # Errors
/// When the file cannot be read or a store fails (the import is then not applied).
pub async fn import(storage: &StorageArgs, args: ImportArgs) -> anyhow::Result<ExitCode> {
    let stack = Stack::connect(storage).await?;
    let rejects_path = match &args.rejects {
        Some(path) => path.clone(),
        None => {
            std::fs::create_dir_all(&storage.data_dir).with_context(|| {
                format!("creating the data directory {}", storage.data_dir.display())
            })?;
            default_rejects(&storage.data_dir, &args.file)
        }
    };
    let options = shareholders_register::ImportOptions {
        year: args.year,
        batch_lines: args.batch,
        rejects_path,
        scratch_dir: Some(storage.data_dir.clone()),
        progress: shareholders_register::Progress::Auto,
    };
    let importer = stack.importer();
    let outcome = shareholders_register::import_file(&args.file, options, importer.as_ref())
        .await
        .with_context(|| format!("importing {}", args.file.display()))?;
    let record = &outcome.imported.record;
    let rejects = match &outcome.rejects_path {
        Some(path) => format!("{} rejected, see {}", outcome.rejects, path.display()),
        None => "none rejected".to_owned(),
    };
    println!(
        "imported {} of {} lines of {} ({rejects}) as {}: {} companies, {} holdings, {} persons \
         linked to an adjacent year ({} ambiguous, left unlinked){} in {:.1} s",
        outcome.lines_read - outcome.rejects,
        outcome.lines_read,
        args.file.display(),
        outcome.year,
        record.companies,
        record.holdings,
        record.persons_linked,
        record.persons_ambiguous,
        if outcome.sorted {
            ", sorted by company first"
        } else {
            ""
        },
        outcome.elapsed.as_secs_f64(),
    );
    if outcome.imported.live_moved {
        println!(
            "the live register is now {}: {} live change(s) recorded through the API since the \
             previous import were superseded (they stay in the event history)",
            outcome.year, record.superseded_live_changes
        );
    } else {
        println!(
            "the live register stays on a newer year: {} is readable with ?year={}",
            outcome.year, outcome.year
        );
    }
    let conflicts = &outcome.totals.conflicts;
    for conflict in conflicts.iter().take(20) {
        println!(
            "total conflict: {} declares {:?} and registers {}; using {}",
            conflict.company, conflict.declared, conflict.registered, conflict.used
        );
    }
    if conflicts.len() > 20 {
        println!("… and {} more total conflicts", conflicts.len() - 20);
    }
    if args.no_rebuild {
        println!("read model not rebuilt (--no-rebuild): run `shareholders rebuild`");
        return Ok(ExitCode::SUCCESS);
    }
    let started = Instant::now();
    let counter = Counter::new("building the year's read model");
    let built = project_year(
        stack.year_snapshots().as_ref(),
        stack.year_read_model().as_ref(),
        outcome.year,
        5000,
        &|done| counter.set(done),
    )
    .await?
    .context("the imported year is missing from the write model")?;
    counter.finish();
    println!(
        "read model of {} built: {} organisations, {} persons, {} holdings in {:.1} s",
        outcome.year,
        built.companies,
        built.persons,
        built.holdings,
        started.elapsed().as_secs_f64()
    );
    if outcome.imported.live_moved {
        let started = Instant::now();
        let counter = Counter::new("building the live read model");
        // The live read model is rebuilt whole: the import replaced the live holdings, and
        // versioned upserts alone never delete a document.
        let built = shareholders_ports::rebuild(
            stack.write_snapshot().as_ref(),
            stack.loader().as_ref(),
            true,
            5000,
            &|done| counter.set(done),
        )
        .await?;
        counter.finish();
        println!(
            "live read model built: {} organisations, {} persons, {} holdings in {:.1} s",
            built.companies,
            built.persons,
            built.holdings,
            started.elapsed().as_secs_f64()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `generate --years`: one extract per year into the folder `out`.
///
/// # Errors
/// When a file cannot be written.
pub fn generate_series(
    rows: u64,
    seed: u64,
    years: std::ops::RangeInclusive<u16>,
    out: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let dir = out.context("--years writes into the folder given by --out")?;
    let started = Instant::now();
    for year in shareholders_register::generate_series(rows, seed, years, dir)? {
        println!(
            "{}: {} rows, {} companies; {} counts changed, {} holdings changed hands, {} \
             dissolved, {} founded, {} lines of movers, {} new issues{}",
            year.path.display(),
            year.rows,
            year.companies,
            year.counts_changed,
            year.changed_hands,
            year.dissolved,
            year.founded,
            year.moved_rows,
            year.new_issues,
            if year.alpha2 {
                ", alpha-2 countries"
            } else {
                ", alpha-3 countries"
            },
        );
    }
    eprintln!("generated in {:.1} s", started.elapsed().as_secs_f64());
    Ok(ExitCode::SUCCESS)
}

/// `generate`: one synthetic extract.
///
/// # Errors
/// When the file cannot be written.
pub fn generate(rows: u64, seed: u64, out: Option<&Path>) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let stats = match out {
        Some(path) => {
            let file = std::fs::File::create(path)
                .with_context(|| format!("creating {}", path.display()))?;
            let mut writer = std::io::BufWriter::with_capacity(1 << 20, file);
            let stats = shareholders_register::generate(rows, seed, &mut writer)?;
            writer.flush()?;
            stats
        }
        None => {
            let stdout = std::io::stdout();
            let mut writer = std::io::BufWriter::with_capacity(1 << 20, stdout.lock());
            let stats = shareholders_register::generate(rows, seed, &mut writer)?;
            writer.flush()?;
            stats
        }
    };
    eprintln!(
        "generated {rows} rows in {:.1} s: {stats:?}",
        started.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}
