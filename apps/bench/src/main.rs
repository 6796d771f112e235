//! `shareholders-bench`: a small HTTP load generator for the shareholder register's API.
//!
//! - `reads`: many concurrent connections on GET owners / holdings / summary of random orgnrs
//!   (and `/health`, the ceiling), for a fixed time; requests/s and latency percentiles.
//! - `writes`: concurrent `POST /api/share/` for a fixed time, with a probe that measures the
//!   projection lag (from the 201 to the read model showing the purchase).
//! - `find-one` and `sqlite-transactions`: the stores alone at the same concurrency, the
//!   ceilings of the reads and writes (see `ceilings`).
//!
//! Results are printed as one JSON object per line, so scripts can collect them.

mod baseline;
mod ceilings;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Parser, Subcommand};
use serde_json::{Value, json};

#[derive(Debug, Parser)]
#[command(name = "shareholders-bench", about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The read side's ceiling: raw unordered `insert_many` of N holding-like documents into a
    /// fresh database of the same MongoDB server, with no logic.
    BaselineInsert {
        #[arg(long, env = "SHAREHOLDERS_MONGODB_URI")]
        mongodb_uri: String,
        #[arg(long, default_value = "shareholders_bench_raw")]
        database: String,
        #[arg(long)]
        documents: u64,
    },
    /// Concurrent GETs on random orgnrs.
    Reads {
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        base: String,
        /// A register extract (or any file whose lines start with `orgnr;`) to draw orgnrs from.
        #[arg(long)]
        orgnrs_from: std::path::PathBuf,
        /// Endpoints: health; search (a company's first name word) and search-prefix (its
        /// first three letters); or any read under `/api/{orgnr}/` (owners, holdings,
        /// summary, ultimate-owners, beneficial-owners, …).
        #[arg(
            long,
            value_delimiter = ',',
            default_value = "health,summary,owners,holdings"
        )]
        endpoints: Vec<String>,
        #[command(flatten)]
        load: ceilings::Load,
        /// Requests per second over all connections (an open loop, as a soak wants); 0 sends
        /// as fast as the connections allow.
        #[arg(long, default_value_t = 0.0)]
        rate: f64,
    },
    /// The read store's ceiling: concurrent raw `find_one` by `_id` of random orgnrs on the
    /// read model's organisations, from the Rust driver (the service's connection string).
    FindOne {
        #[arg(long, env = "SHAREHOLDERS_MONGODB_URI")]
        mongodb_uri: String,
        #[arg(long, env = "SHAREHOLDERS_MONGODB_DATABASE")]
        database: String,
        /// A register extract (or any file whose lines start with `orgnr;`) to draw orgnrs from.
        #[arg(long)]
        orgnrs_from: std::path::PathBuf,
        #[command(flatten)]
        load: ceilings::Load,
    },
    /// The embedded write path's ceiling: a script of SQL statements (a purchase's) run as one
    /// `BEGIN IMMEDIATE` transaction after another on the service's SQLite file, on the
    /// companies and persons an HTTP `writes` load registered.
    SqliteTransactions {
        #[arg(long)]
        data_dir: std::path::PathBuf,
        #[arg(long, default_value = "scripts/bench-writes-sqlite.sql")]
        script: std::path::PathBuf,
        #[command(flatten)]
        load: ceilings::Load,
    },
    /// Concurrent purchases, with the projection lag measured alongside.
    Writes {
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        base: String,
        #[arg(long, default_value_t = 32)]
        connections: usize,
        #[arg(long, default_value_t = 15)]
        seconds: u64,
        /// Companies and persons created before the load.
        #[arg(long, default_value_t = 200)]
        parties: usize,
        /// Bearer token, when the server needs one.
        #[arg(long, env = "SHAREHOLDERS_BENCH_TOKEN")]
        token: Option<String>,
        /// Seed of the random choices.
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// Purchases per second over all connections; 0 sends as fast as they allow.
        #[arg(long, default_value_t = 0.0)]
        rate: f64,
    },
}

/// A shared pace: at most `rate` requests a second over every worker that waits on it.
#[derive(Clone, Debug)]
struct Pace(Option<Arc<tokio::sync::Mutex<tokio::time::Interval>>>);

impl Pace {
    fn new(rate: f64) -> anyhow::Result<Self> {
        if rate == 0.0 {
            return Ok(Self(None));
        }
        anyhow::ensure!(
            rate.is_finite() && rate > 0.0,
            "--rate is a positive number of requests a second, not {rate}"
        );
        let mut interval = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        Ok(Self(Some(Arc::new(tokio::sync::Mutex::new(interval)))))
    }

    async fn wait(&self) {
        if let Some(interval) = &self.0 {
            interval.lock().await.tick().await;
        }
    }
}

/// splitmix64: small, fast and deterministic.
#[derive(Clone, Debug)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % (n as u64)).unwrap_or(0)
    }
}

/// Latency percentiles from microsecond samples.
fn stats(name: &str, mut micros: Vec<u64>, errors: u64, elapsed: Duration) -> Value {
    micros.sort_unstable();
    let pick = |q: f64| -> f64 {
        if micros.is_empty() {
            return 0.0;
        }
        let index = ((micros.len() as f64 - 1.0) * q).round() as usize;
        micros[index] as f64 / 1000.0
    };
    json!({
        "name": name,
        "requests": micros.len(),
        "errors": errors,
        "seconds": elapsed.as_secs_f64(),
        "requests_per_second": micros.len() as f64 / elapsed.as_secs_f64(),
        "p50_ms": pick(0.50),
        "p90_ms": pick(0.90),
        "p99_ms": pick(0.99),
        "max_ms": pick(1.0),
    })
}

/// A company of the extract the reads ask about: its orgnr, and the first word of its name
/// (what a search types).
#[derive(Clone, Debug)]
struct Target {
    orgnr: String,
    word: String,
}

fn orgnrs_from(path: &std::path::Path) -> anyhow::Result<Vec<Target>> {
    use std::io::BufRead;
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut seen = std::collections::HashSet::new();
    let mut targets = Vec::new();
    for line in std::io::BufReader::new(file).split(b'\n') {
        let line = line?;
        let mut fields = line.split(|b| *b == b';');
        let Some(first) = fields.next() else {
            continue;
        };
        let first = first
            .strip_prefix(b"\xEF\xBB\xBF".as_slice())
            .unwrap_or(first);
        if first.len() == 9 && first.iter().all(u8::is_ascii_digit) {
            let orgnr = String::from_utf8_lossy(first).into_owned();
            if seen.insert(orgnr.clone()) {
                let name = String::from_utf8_lossy(fields.next().unwrap_or_default());
                let word = name.split_whitespace().next().unwrap_or("AS").to_owned();
                targets.push(Target { orgnr, word });
            }
        }
    }
    anyhow::ensure!(!targets.is_empty(), "no orgnrs in {}", path.display());
    Ok(targets)
}

/// `text` as a query string value: unreserved ASCII as it is, every other byte `%XX`.
fn query_value(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The path an endpoint asks about a company: `health`; `search` (the first word of its
/// name, as typed whole) and `search-prefix` (its first three letters, as typed so far);
/// or any read under `/api/{orgnr}/`.
fn read_path(endpoint: &str, target: &Target) -> String {
    match endpoint {
        "health" => "/health".to_owned(),
        "search" => format!("/api/search?q={}", query_value(&target.word)),
        "search-prefix" => {
            let prefix: String = target.word.chars().take(3).collect();
            format!("/api/search?q={}", query_value(&prefix))
        }
        other => format!("/api/{}/{other}", target.orgnr),
    }
}

async fn reads(
    base: String,
    orgnrs: Vec<Target>,
    endpoints: Vec<String>,
    connections: usize,
    seconds: u64,
    warmup: u64,
    pace: Pace,
) -> anyhow::Result<()> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        .timeout(Duration::from_secs(30))
        .build()?;
    let orgnrs = Arc::new(orgnrs);
    for endpoint in endpoints {
        let path_of = {
            let endpoint = endpoint.clone();
            move |target: &Target| read_path(&endpoint, target)
        };
        let mut all = Vec::new();
        let mut errors = 0;
        // The slowest request measured, and the company it asked about.
        let mut slowest: (u64, String) = (0, String::new());
        let mut elapsed = Duration::ZERO;
        for (phase, duration) in [("warmup", warmup), ("measure", seconds)] {
            let stop = Arc::new(AtomicBool::new(false));
            let started = Instant::now();
            let mut tasks = Vec::new();
            for worker in 0..connections {
                let (client, orgnrs, stop, base) =
                    (client.clone(), orgnrs.clone(), stop.clone(), base.clone());
                let (path_of, pace) = (path_of.clone(), pace.clone());
                tasks.push(tokio::spawn(async move {
                    let mut rng = Rng(worker as u64 + 1);
                    let mut micros = Vec::new();
                    let mut errors = 0u64;
                    let mut slowest: (u64, String) = (0, String::new());
                    while !stop.load(Ordering::Relaxed) {
                        pace.wait().await;
                        let target = &orgnrs[rng.below(orgnrs.len())];
                        let path = path_of(target);
                        let url = format!("{base}{path}");
                        let sent = Instant::now();
                        match client.get(&url).send().await {
                            Ok(response)
                                if response.status().is_success() || response.status() == 404 =>
                            {
                                let _ = response.bytes().await;
                                let took = sent.elapsed().as_micros() as u64;
                                if took > slowest.0 {
                                    slowest = (took, path);
                                }
                                micros.push(took);
                            }
                            _ => errors += 1,
                        }
                    }
                    (micros, errors, slowest)
                }));
            }
            tokio::time::sleep(Duration::from_secs(duration)).await;
            stop.store(true, Ordering::Relaxed);
            let phase_elapsed = started.elapsed();
            for task in tasks {
                let (micros, e, slow) = task.await?;
                if phase == "measure" {
                    all.extend(micros);
                    errors += e;
                    if slow.0 > slowest.0 {
                        slowest = slow;
                    }
                }
            }
            elapsed = phase_elapsed;
        }
        let mut result = stats(&endpoint, all, errors, elapsed);
        result["connections"] = json!(connections);
        result["slowest"] = json!({"path": slowest.1, "ms": slowest.0 as f64 / 1000.0});
        println!("{result}");
    }
    Ok(())
}

async fn post(
    client: &reqwest::Client,
    token: Option<&str>,
    url: &str,
    body: &Value,
) -> anyhow::Result<Value> {
    let mut request = client.post(url).json(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await?;
    let status = response.status();
    let body: Value = response.json().await?;
    if status.is_client_error() {
        return Err(Refused(format!("POST {url}: {status} {body}")).into());
    }
    anyhow::ensure!(status.as_u16() == 201, "POST {url}: {status} {body}");
    Ok(body)
}

/// A request the service refused (a 4xx): a business answer, not a failure of the service.
#[derive(Debug)]
struct Refused(String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

/// Valid orgnrs from a counter: 8 digits, then the MOD11 check digit (skipping those with 10).
fn orgnr_from(mut n: u64) -> String {
    const WEIGHTS: [u64; 8] = [3, 2, 7, 6, 5, 4, 3, 2];
    loop {
        let digits = format!("{:08}", 80_000_000 + n % 19_999_999);
        let sum: u64 = digits
            .bytes()
            .zip(WEIGHTS)
            .map(|(d, w)| u64::from(d - b'0') * w)
            .sum();
        match 11 - sum % 11 {
            10 => n += 1,
            11 => return format!("{digits}0"),
            check => return format!("{digits}{check}"),
        }
    }
}

async fn writes(
    base: String,
    connections: usize,
    seconds: u64,
    parties: usize,
    token: Option<String>,
    seed: u64,
    pace: Pace,
) -> anyhow::Result<()> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(connections + 2)
        .timeout(Duration::from_secs(30))
        .build()?;
    let token = token.as_deref();
    let run = Rng(seed).next() % 1_000_000;
    let mut companies = Vec::new();
    for i in 0..=parties {
        let orgnr = orgnr_from(run * 1000 + i as u64 * 7919);
        let body = json!({"orgnr": orgnr, "name": format!("BENCH {run} {i} AS")});
        match post(&client, token, &format!("{base}/api/organization/"), &body).await {
            Ok(_) => companies.push(orgnr),
            Err(error) if error.to_string().contains("409") => companies.push(orgnr),
            Err(error) => return Err(error),
        }
    }
    let probe = companies.pop().context("a probe company")?;
    let mut persons = Vec::new();
    for i in 0..parties {
        let body =
            json!({"name": format!("BENCH PERSON {run} {i}"), "birth_year": 1950 + (i % 50)});
        let created = post(&client, token, &format!("{base}/api/person/"), &body).await?;
        persons.push(created["id"].as_str().context("id")?.to_owned());
    }
    let (companies, persons) = (Arc::new(companies), Arc::new(persons));
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..connections {
        let (client, companies, persons, stop, base) = (
            client.clone(),
            companies.clone(),
            persons.clone(),
            stop.clone(),
            base.clone(),
        );
        let (token, pace) = (token.map(str::to_owned), pace.clone());
        tasks.push(tokio::spawn(async move {
            let mut rng = Rng(seed ^ (worker as u64 + 1) << 20);
            let mut micros = Vec::new();
            let (mut errors, mut refused) = (0u64, 0u64);
            while !stop.load(Ordering::Relaxed) {
                pace.wait().await;
                let company = &companies[rng.below(companies.len())];
                let owner = if rng.below(3) == 0 {
                    json!({"kind": "organization", "id": companies[rng.below(companies.len())]})
                } else {
                    json!({"kind": "person", "id": persons[rng.below(persons.len())]})
                };
                let class = if rng.below(20) == 0 { "B-aksjer" } else { "A-aksjer" };
                let body = json!({"company": company, "owner": owner, "share_class": class, "shares": 1 + rng.below(1000)});
                let sent = Instant::now();
                match post(&client, token.as_deref(), &format!("{base}/api/share/"), &body).await {
                    Ok(_) => micros.push(sent.elapsed().as_micros() as u64),
                    Err(error) if error.is::<Refused>() => refused += 1,
                    Err(_) => errors += 1,
                }
            }
            (micros, errors, refused)
        }));
    }
    // The lag probe: one purchase of one share at a time in a company no one else buys, then
    // poll its summary until the read model shows it.
    let lag_task = {
        let (client, stop, base, persons) =
            (client.clone(), stop.clone(), base.clone(), persons.clone());
        let token = token.map(str::to_owned);
        tokio::spawn(async move {
            let mut lags = Vec::new();
            let mut expected = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let body = json!({"company": probe, "owner": {"kind": "person", "id": persons[0]}, "share_class": "A-aksjer", "shares": 1});
                if post(
                    &client,
                    token.as_deref(),
                    &format!("{base}/api/share/"),
                    &body,
                )
                .await
                .is_err()
                {
                    continue;
                }
                let acknowledged = Instant::now();
                expected += 1;
                loop {
                    let Ok(response) = client
                        .get(format!("{base}/api/{probe}/summary"))
                        .send()
                        .await
                    else {
                        break;
                    };
                    let shown = response
                        .json::<Value>()
                        .await
                        .ok()
                        .and_then(|v| v["registered_shares"].as_u64());
                    if shown.is_some_and(|s| s >= expected) {
                        lags.push(acknowledged.elapsed().as_micros() as u64);
                        break;
                    }
                    if acknowledged.elapsed() > Duration::from_secs(30) {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            lags
        })
    };
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let elapsed = started.elapsed();
    let (mut all, mut errors, mut refused) = (Vec::new(), 0, 0);
    for task in tasks {
        let (micros, e, r) = task.await?;
        all.extend(micros);
        errors += e;
        refused += r;
    }
    let lags = lag_task.await?;
    let mut result = stats("post_share", all, errors, elapsed);
    result["connections"] = json!(connections);
    // Refusals (4xx) are answers: a purchase beyond a company's declared total, say, when a
    // company the load registers already exists in the imported register.
    result["refused"] = json!(refused);
    println!("{result}");
    println!("{}", stats("projection_lag", lags, 0, elapsed));
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::BaselineInsert {
            mongodb_uri,
            database,
            documents,
        } => {
            let db = mongodb::Client::with_uri_str(&mongodb_uri)
                .await?
                .database(&database);
            let elapsed = baseline::raw_insert(&db, "raw_baseline", documents).await;
            db.drop().await?;
            let elapsed = elapsed?;
            println!(
                "{}",
                json!({"name": "raw_insert_many", "documents": documents, "seconds": elapsed.as_secs_f64(),
                       "documents_per_second": documents as f64 / elapsed.as_secs_f64()})
            );
            Ok(())
        }
        Command::Reads {
            base,
            orgnrs_from: path,
            endpoints,
            load,
            rate,
        } => {
            reads(
                base,
                orgnrs_from(&path)?,
                endpoints,
                load.connections,
                load.seconds,
                load.warmup,
                Pace::new(rate)?,
            )
            .await
        }
        Command::FindOne {
            mongodb_uri,
            database,
            orgnrs_from: path,
            load,
        } => {
            let orgnrs = orgnrs_from(&path)?
                .into_iter()
                .map(|target| target.orgnr)
                .collect();
            let result = ceilings::find_one(&mongodb_uri, &database, orgnrs, load).await?;
            println!("{result}");
            Ok(())
        }
        Command::SqliteTransactions {
            data_dir,
            script,
            load,
        } => {
            let result = ceilings::sqlite_transactions(&data_dir, &script, load).await?;
            println!("{result}");
            Ok(())
        }
        Command::Writes {
            base,
            connections,
            seconds,
            parties,
            token,
            seed,
            rate,
        } => {
            writes(
                base,
                connections,
                seconds,
                parties,
                token,
                seed,
                Pace::new(rate)?,
            )
            .await
        }
    }
}
