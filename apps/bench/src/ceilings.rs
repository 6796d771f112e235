//! How a load is run, and the ceilings the service's live paths are measured against, each
//! the store alone at the same concurrency, with no service in between:
//!
//! - `find_one`: a raw `find_one` by `_id` on the read model's organisations, from the Rust
//!   driver, with the connection string (and so the pool) the service uses;
//! - `sqlite_transactions`: a script of SQL statements (a purchase's, in
//!   `scripts/bench-writes-sqlite.sql`) run as one `BEGIN IMMEDIATE` transaction after another
//!   on the service's SQLite file, with the service's pragmas.
//!
//! Both use only their driver, so no adapter's internals are reached into.

use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use mongodb::bson::{Document, doc};
use serde_json::{Value, json};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{AssertSqlSafe, Connection as _, SqlitePool};

use crate::{Rng, stats};

/// How a ceiling is loaded: `connections` workers, each running its operation again as soon
/// as the last one ended, for `warmup` and then `seconds` seconds (only these measured).
#[derive(Clone, Copy, Debug, clap::Args)]
pub(crate) struct Load {
    #[arg(long, default_value_t = 64)]
    pub(crate) connections: usize,
    #[arg(long = "warmup-seconds", default_value_t = 2)]
    pub(crate) warmup: u64,
    #[arg(long, default_value_t = 15)]
    pub(crate) seconds: u64,
}

/// Runs `operation` as `load` says, and gives the measured phase's statistics. An operation
/// that fails counts as an error.
async fn closed_loop<F, Fut>(name: &str, load: Load, operation: F) -> anyhow::Result<Value>
where
    F: Fn(Rng) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = (Rng, anyhow::Result<()>)> + Send,
{
    let Load {
        connections,
        warmup,
        seconds,
    } = load;
    let mut measured = (Vec::new(), 0u64, Duration::ZERO);
    let mut first_error = None;
    for (phase, duration) in [("warmup", warmup), ("measure", seconds)] {
        let stop = Arc::new(AtomicBool::new(false));
        let started = Instant::now();
        let mut tasks = Vec::new();
        for worker in 0..connections {
            let (stop, operation) = (stop.clone(), operation.clone());
            tasks.push(tokio::spawn(async move {
                let mut rng = Rng(worker as u64 + 1);
                let (mut micros, mut errors, mut first_error) = (Vec::new(), 0u64, None);
                while !stop.load(Ordering::Relaxed) {
                    let sent = Instant::now();
                    let (next, result) = operation(rng).await;
                    rng = next;
                    match result {
                        Ok(()) => micros.push(sent.elapsed().as_micros() as u64),
                        Err(error) => {
                            errors += 1;
                            first_error.get_or_insert(error);
                        }
                    }
                }
                (micros, errors, first_error)
            }));
        }
        tokio::time::sleep(Duration::from_secs(duration)).await;
        stop.store(true, Ordering::Relaxed);
        let elapsed = started.elapsed();
        for task in tasks {
            let (micros, errors, error) = task.await?;
            if phase == "measure" {
                measured.0.extend(micros);
                measured.1 += errors;
                measured.2 = elapsed;
            }
            if first_error.is_none() {
                first_error = error;
            }
        }
    }
    let (micros, errors, elapsed) = measured;
    let mut result = stats(name, micros, errors, elapsed);
    result["connections"] = json!(connections);
    if let Some(error) = first_error {
        result["first_error"] = json!(format!("{error:#}"));
    }
    Ok(result)
}

/// `find_one` by `_id` of random orgnrs on the read model's organisations, from the driver.
///
/// # Errors
/// When the server cannot be reached, or the collection holds none of the orgnrs.
pub(crate) async fn find_one(
    uri: &str,
    database: &str,
    orgnrs: Vec<String>,
    load: Load,
) -> anyhow::Result<Value> {
    let client = mongodb::Client::with_uri_str(uri)
        .await
        .context("connecting to MongoDB")?;
    let organisations = client
        .database(database)
        .collection::<Document>("organisations");
    let probe = orgnrs.first().context("no orgnrs")?;
    organisations
        .find_one(doc! { "_id": probe.as_str() })
        .await
        .context("reading an organisation")?
        .with_context(|| format!("organisation {probe} is not in {database}.organisations"))?;
    let orgnrs = Arc::new(orgnrs);
    closed_loop("find_one", load, move |mut rng| {
        let (organisations, orgnrs) = (organisations.clone(), orgnrs.clone());
        async move {
            let orgnr = &orgnrs[rng.below(orgnrs.len())];
            let found = organisations
                .find_one(doc! { "_id": orgnr.as_str() })
                .await
                .context("find_one");
            (rng, found.map(|_| ()))
        }
    })
    .await
}

/// The statements of `script`, each ending with a semicolon at the end of a line, without
/// its comment lines.
fn statements(script: &str) -> Vec<String> {
    let mut statements = Vec::new();
    let mut current = String::new();
    for line in script.lines() {
        if line.trim_start().starts_with("--") || line.trim().is_empty() {
            continue;
        }
        current.push_str(line);
        current.push('\n');
        if line.trim_end().ends_with(';') {
            statements.push(std::mem::take(&mut current));
        }
    }
    statements
}

/// What a transaction binds: the companies and persons the HTTP load registered, and a real
/// purchase event of it.
struct Binds {
    companies: Vec<String>,
    persons: Vec<String>,
    event_type: String,
    payload: Vec<u8>,
}

async fn binds(pool: &SqlitePool) -> anyhow::Result<Binds> {
    let companies: Vec<String> =
        sqlx::query_scalar("SELECT orgnr FROM organisations WHERE name LIKE 'BENCH %'")
            .fetch_all(pool)
            .await
            .context("reading the companies the load registered")?;
    let persons: Vec<String> =
        sqlx::query_scalar("SELECT id FROM persons WHERE name LIKE 'BENCH PERSON %'")
            .fetch_all(pool)
            .await
            .context("reading the persons the load registered")?;
    let (event_type, payload): (String, Vec<u8>) = sqlx::query_as(
        "SELECT event_type, payload FROM outbox WHERE event_type = 'shares_purchased' \
         ORDER BY position DESC LIMIT 1",
    )
    .fetch_optional(pool)
    .await
    .context("reading a purchase event")?
    .context("no purchase event in the outbox to copy: run the HTTP load first")?;
    anyhow::ensure!(
        !companies.is_empty() && !persons.is_empty(),
        "no companies or persons named BENCH …: run the HTTP load first"
    );
    Ok(Binds {
        companies,
        persons,
        event_type,
        payload,
    })
}

/// Runs `script` as one `BEGIN IMMEDIATE` transaction after another on `<data_dir>/shareholders.db`
/// from `connections` workers, with the service's pragmas, and the service's queue for the one
/// writer: a process-wide lock, so no worker polls SQLite's busy handler.
///
/// # Errors
/// When the file cannot be opened, or the load registered nothing to buy.
pub(crate) async fn sqlite_transactions(
    data_dir: &Path,
    script: &Path,
    load: Load,
) -> anyhow::Result<Value> {
    let text =
        std::fs::read_to_string(script).with_context(|| format!("reading {}", script.display()))?;
    let statements = Arc::new(statements(&text));
    anyhow::ensure!(
        !statements.is_empty(),
        "no statements in {}",
        script.display()
    );
    let options = SqliteConnectOptions::new()
        .filename(data_dir.join("shareholders.db"))
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(30))
        .foreign_keys(true);
    let pool = SqlitePoolOptions::new()
        .max_connections(u32::try_from(load.connections.min(8)).unwrap_or(8))
        .acquire_timeout(Duration::from_secs(60))
        .connect_with(options)
        .await
        .context("opening the SQLite file")?;
    let binds = Arc::new(binds(&pool).await?);
    let per_transaction = statements.len();
    let writer = Arc::new(tokio::sync::Mutex::new(()));
    let mut result = closed_loop("sqlite_transactions", load, move |mut rng| {
        let (pool, binds, statements, writer) = (
            pool.clone(),
            binds.clone(),
            statements.clone(),
            writer.clone(),
        );
        async move {
            let company = binds.companies[rng.below(binds.companies.len())].clone();
            let person = binds.persons[rng.below(binds.persons.len())].clone();
            let shares = 1 + rng.below(1000) as i64;
            let result = async {
                let _writer = writer.lock().await;
                let mut conn = pool.acquire().await?;
                let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
                let now = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map(|d| d.as_millis() as i64)
                    .unwrap_or_default();
                for statement in statements.iter() {
                    sqlx::query(AssertSqlSafe(statement.as_str()))
                        .bind(&company)
                        .bind(&person)
                        .bind(shares)
                        .bind(&binds.event_type)
                        .bind(&binds.payload)
                        .bind(now)
                        .execute(&mut *tx)
                        .await
                        .with_context(|| format!("running {statement}"))?;
                }
                tx.commit().await?;
                anyhow::Ok(())
            }
            .await;
            (rng, result)
        }
    })
    .await?;
    result["statements_per_transaction"] = json!(per_transaction);
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::statements;

    #[test]
    fn a_script_is_split_into_its_statements_without_comments() {
        let script = "-- a comment;\nSELECT 1\n  FROM t;\n\nUPDATE t SET a = 1; \n-- end\n";
        assert_eq!(
            statements(script),
            vec![
                "SELECT 1\n  FROM t;\n".to_owned(),
                "UPDATE t SET a = 1; \n".to_owned()
            ]
        );
    }
}
