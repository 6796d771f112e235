//! What a platform team runs the service by, on the real binary: `/metrics` after writes,
//! reads and an import (accepted by `promtool`, with counters that moved by the right
//! amounts), JSON log lines that carry the client's request id, and readiness that follows a
//! database going away and coming back.

mod support;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::Api;
use support::real::RealStack;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Mutex;
use tokio::task::JoinSet;

/// The binary serving on a free port, with its standard error captured.
struct Served {
    child: Child,
    addr: SocketAddr,
    /// Kept open, so the process never writes to a closed pipe.
    _stdout: BufReader<std::process::ChildStdout>,
}

impl Served {
    fn start(envs: &[(&str, String)], args: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_shareholders"))
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("RUST_LOG", "info")
            .envs(envs.iter().map(|(k, v)| (*k, v.as_str())))
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the binary starts");
        let mut line = String::new();
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        stdout.read_line(&mut line).expect("the listening line");
        let addr = line
            .trim()
            .rsplit("http://")
            .next()
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("no address in {line:?}"));
        Self {
            child,
            addr,
            _stdout: stdout,
        }
    }

    /// Stops the process and returns what it wrote to standard error.
    fn stop(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let mut stderr = String::new();
        self.child
            .stderr
            .take()
            .expect("stderr")
            .read_to_string(&mut stderr)
            .expect("stderr is UTF-8");
        stderr
    }
}

impl Drop for Served {
    /// A failed test leaves no process behind.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A child process killed when the test ends, however it ends.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A metric sample's value, by its name and labels as the exposition writes them.
fn samples(text: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            Some((series.to_owned(), value.parse().ok()?))
        })
        .collect()
}

/// The value of the series named `name` whose labels include every one of `labels`.
fn value(samples: &BTreeMap<String, f64>, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    samples.iter().find_map(|(series, value)| {
        let (series_name, rest) = series.split_once('{').unwrap_or((series, ""));
        (series_name == name
            && labels
                .iter()
                .all(|(k, v)| rest.contains(&format!("{k}=\"{v}\""))))
        .then_some(*value)
    })
}

fn promtool_accepts(text: &str) {
    let mut promtool = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool (Debian's prometheus package; scripts/test installs it)");
    promtool
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("write");
    let output = promtool.wait_with_output().expect("promtool runs");
    assert!(
        output.status.success(),
        "promtool check metrics: {}{}\n{text}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_writes_reads_and_an_import_and_logs_carry_the_request_id() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let envs = [("SHAREHOLDERS_DATA_DIR", data.display().to_string())];
    let served = Served::start(&envs, &["--log-format", "json"]);
    let api = Api::new(served.addr);

    // Writes: three that succeed, one the API refuses.
    let (status, _) = api
        .post(
            "/api/organization/",
            &json!({"orgnr": "988844322", "name": "TVIST 1 AS", "total_shares": 120}),
        )
        .await;
    assert_eq!(status, 201);
    let (status, person) = api
        .post(
            "/api/person/",
            &json!({"name": "KARI NORDMANN", "birth_year": 1970}),
        )
        .await;
    assert_eq!(status, 201);
    let (status, share) = api
        .post(
            "/api/share/",
            &json!({"company": "988844322", "owner": {"kind": "person", "id": person["id"]},
                    "share_class": "A-aksjer", "shares": 60}),
        )
        .await;
    assert_eq!(status, 201, "{share}");
    let (status, _) = api
        .post("/api/organization/", &json!({"orgnr": "123", "name": ""}))
        .await;
    assert_eq!(status, 400);

    // Reads: two of the owners, one with the client's request id.
    let position = share["position"].as_u64().expect("position");
    let (status, _) = api
        .get(&format!("/api/988844322/owners?min_position={position}"))
        .await;
    assert_eq!(status, 200);
    let traced = api
        .http
        .get(format!("{}/api/988844322/owners", api.base))
        .header("x-request-id", "e2e-trace-7")
        .send()
        .await
        .expect("GET");
    assert_eq!(traced.status(), 200);
    assert_eq!(traced.headers()["x-request-id"], "e2e-trace-7");

    // An import, by its own process, of the 20 real rows as the year 2024.
    let extract = dir.path().join("extract.csv");
    std::fs::copy(support::sample_path(), &extract).expect("copy the sample");
    let import_started = std::time::Instant::now();
    let import = Command::new(env!("CARGO_BIN_EXE_shareholders"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("RUST_LOG", "warn")
        .env("SHAREHOLDERS_DATA_DIR", &data)
        .arg("import")
        .arg(&extract)
        .args(["--year", "2024"])
        .output()
        .expect("import runs");
    let import_wall = import_started.elapsed().as_secs_f64();
    assert!(
        import.status.success(),
        "{}",
        String::from_utf8_lossy(&import.stderr)
    );

    let response = api
        .http
        .get(format!("{}/metrics", api.base))
        .send()
        .await
        .expect("GET /metrics");
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .expect("ascii")
            .starts_with("text/plain; version=0.0.4")
    );
    let text = response.text().await.expect("body");
    promtool_accepts(&text);
    let samples = samples(&text);
    let requests = |route: &str, method: &str, status: &str| {
        value(
            &samples,
            "shareholders_http_requests_total",
            &[("route", route), ("method", method), ("status", status)],
        )
    };
    assert_eq!(requests("/api/organization/", "POST", "2xx"), Some(1.0));
    assert_eq!(requests("/api/organization/", "POST", "4xx"), Some(1.0));
    assert_eq!(requests("/api/person/", "POST", "2xx"), Some(1.0));
    assert_eq!(requests("/api/share/", "POST", "2xx"), Some(1.0));
    assert_eq!(requests("/api/{orgnr}/owners", "GET", "2xx"), Some(2.0));
    assert_eq!(
        value(
            &samples,
            "shareholders_http_request_duration_seconds_count",
            &[("route", "/api/{orgnr}/owners"), ("method", "GET")]
        ),
        Some(2.0)
    );
    assert!(
        !samples.keys().any(|series| series.contains("988844322")),
        "no raw path is a label"
    );
    // Three events recorded, published and applied in-process, each with its lag.
    assert_eq!(
        value(&samples, "shareholders_outbox_published_total", &[]),
        Some(3.0)
    );
    assert_eq!(
        value(&samples, "shareholders_projector_applied_total", &[]),
        Some(3.0)
    );
    assert_eq!(
        value(&samples, "shareholders_projector_lag_seconds_count", &[]),
        Some(3.0)
    );
    assert_eq!(
        value(&samples, "shareholders_outbox_unpublished_events", &[]),
        Some(0.0)
    );
    assert_eq!(
        value(
            &samples,
            "shareholders_outbox_oldest_unpublished_age_seconds",
            &[]
        ),
        Some(0.0)
    );
    // The import: the 20 lines, read, none rejected, imported, and how long it took.
    for (outcome, lines) in [("read", 20.0), ("rejected", 0.0), ("imported", 20.0)] {
        assert_eq!(
            value(
                &samples,
                "shareholders_import_lines",
                &[("year", "2024"), ("outcome", outcome)]
            ),
            Some(lines),
            "{outcome}"
        );
    }
    let took = value(
        &samples,
        "shareholders_import_duration_seconds",
        &[("year", "2024")],
    )
    .expect("the import's duration");
    // Recorded in milliseconds: 20 lines may take less than one on a fast machine.
    assert!(
        (0.0..=import_wall).contains(&took),
        "{took} of {import_wall} s"
    );
    assert_eq!(
        value(&samples, "shareholders_last_import_duration_seconds", &[]),
        Some(took)
    );
    // The embedded file's pool, and the writers' waits for it.
    let open = value(
        &samples,
        "shareholders_pool_connections_open",
        &[("pool", "sqlite")],
    )
    .expect("the pool's connections");
    assert!(open >= 1.0, "{open}");
    assert_eq!(
        value(
            &samples,
            "shareholders_pool_connections_max",
            &[("pool", "sqlite")]
        ),
        Some(8.0)
    );
    assert!(
        value(
            &samples,
            "shareholders_pool_wait_seconds_count",
            &[("pool", "sqlite")]
        )
        .is_some_and(|n| n >= 3.0),
        "every write waited for the writer"
    );

    let stderr = served.stop();
    let lines: Vec<Value> = stderr
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: not JSON: {line}")))
        .collect();
    let traced: Vec<&Value> = lines
        .iter()
        .filter(|line| line["span"]["request_id"] == "e2e-trace-7")
        .collect();
    assert!(
        !traced.is_empty(),
        "no line carries the request id:\n{stderr}"
    );
    assert!(
        traced.iter().any(|line| line["fields"]["status"] == 200
            && line["span"]["route"] == "/api/{orgnr}/owners"),
        "{traced:?}"
    );
}

/// A TCP front to PostgreSQL that a test can cut (every connection dropped, new ones refused)
/// and restore, so the database becomes unreachable without stopping the shared server.
struct Cuttable {
    addr: SocketAddr,
    cut: Arc<AtomicBool>,
    connections: Arc<Mutex<JoinSet<()>>>,
}

impl Cuttable {
    async fn to(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let cut = Arc::new(AtomicBool::new(false));
        let connections = Arc::new(Mutex::new(JoinSet::new()));
        let (accept_cut, accept_connections) = (cut.clone(), connections.clone());
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if accept_cut.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                accept_connections.lock().await.spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
            }
        });
        Self {
            addr,
            cut,
            connections,
        }
    }

    async fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        self.connections.lock().await.abort_all();
    }

    fn restore(&self) {
        self.cut.store(false, Ordering::SeqCst);
    }
}

/// Asks `/health/ready` until it answers `status` (a process still starting, which refuses
/// connections, is asked again).
async fn wait_for_readiness(api: &Api, status: u16) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let answer = match api
            .http
            .get(format!("{}/health/ready", api.base))
            .send()
            .await
        {
            Ok(response) => {
                let got = response.status().as_u16();
                let body = response.text().await.unwrap_or_default();
                if got == status {
                    return serde_json::from_str(&body).expect("a JSON answer");
                }
                format!("{got} {body}")
            }
            Err(error) => error.to_string(),
        };
        assert!(
            Instant::now() < deadline,
            "readiness stayed {answer}, waiting for {status}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_turns_503_while_postgresql_is_unreachable_and_200_when_it_returns() {
    let stack = RealStack::new().await;
    let database_url = stack.storage.database_url.clone().expect("a database");
    // postgres://user@127.0.0.1:5432/db → the same through the front.
    let (scheme_user, rest) = database_url.split_once('@').expect("user@host");
    let (host_port, database) = rest.split_once('/').expect("host/db");
    let upstream: SocketAddr = host_port
        .replace("localhost", "127.0.0.1")
        .parse()
        .expect("an IP address and port");
    let front = Cuttable::to(upstream).await;
    let fronted = format!("{scheme_user}@{}/{database}", front.addr);
    let envs: Vec<(&str, String)> = stack
        .env()
        .into_iter()
        .map(|(k, v)| {
            if k == "SHAREHOLDERS_DATABASE_URL" {
                (k, fronted.clone())
            } else {
                (k, v)
            }
        })
        .collect();
    let served = Served::start(&envs, &["--no-projector"]);
    let api = Api::new(served.addr);
    // The projector in a process of its own, with its health and metrics on a port of its own.
    let projector_addr = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|free| free.local_addr())
        .expect("a free port");
    let projector = KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_shareholders"))
            .env("RUST_LOG", "warn")
            .envs(envs.iter().map(|(k, v)| (*k, v.as_str())))
            .args(["project", "--metrics-listen", &projector_addr.to_string()])
            .spawn()
            .expect("a projector process"),
    );
    let projector_api = Api::new(projector_addr);

    let ready = wait_for_readiness(&api, 200).await;
    let names: Vec<&str> = ready["dependencies"]
        .as_array()
        .expect("dependencies")
        .iter()
        .map(|d| d["name"].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["postgresql", "mongodb", "rabbitmq"]);

    wait_for_readiness(&projector_api, 200).await;

    // One write, applied by the projector process, which counts it.
    let (status, created) = api
        .post(
            "/api/organization/",
            &json!({"orgnr": "988844322", "name": "TVIST 1 AS", "total_shares": 120}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let position = created["position"].as_u64().expect("position");
    let (status, _) = api
        .get(&format!(
            "/api/organization/988844322?min_position={position}"
        ))
        .await;
    assert_eq!(status, 200);
    let text = support::metrics_text(&projector_api).await;
    promtool_accepts(&text);
    let samples = samples(&text);
    assert_eq!(
        value(&samples, "shareholders_projector_applied_total", &[]),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        value(&samples, "shareholders_projector_lag_seconds_count", &[]),
        Some(1.0)
    );
    assert!(
        value(
            &samples,
            "shareholders_http_requests_total",
            &[("route", "/api/organization/")]
        )
        .is_none(),
        "the projector serves no API"
    );

    front.cut().await;
    let problem = wait_for_readiness(&api, 503).await;
    assert_eq!(problem["type"], "/problems/not-ready");
    assert_eq!(problem["failing"], json!(["postgresql"]));
    let (live, _) = api.get("/health/live").await;
    assert_eq!(live, 200, "alive while not ready");

    front.restore();
    wait_for_readiness(&api, 200).await;

    drop(projector);
    served.stop();
    stack.cleanup().await;
}
