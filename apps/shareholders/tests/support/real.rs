//! The real stack for tests: a fresh PostgreSQL database, a fresh MongoDB database and a fresh
//! set of RabbitMQ exchanges and queues per test, removed when the test ends.

use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

use shareholders::cli::StorageArgs;

pub fn database_admin_url() -> String {
    std::env::var("SHAREHOLDERS_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

pub fn amqp_url() -> String {
    std::env::var("SHAREHOLDERS_TEST_AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".to_owned())
}

/// `SHAREHOLDERS_TEST_MONGODB_URI`, or a SecantusDB started once for this test binary by
/// `scripts/mongo-test-server` (a watchdog stops it when the test process ends).
pub fn mongodb_uri() -> String {
    static URI: OnceLock<String> = OnceLock::new();
    URI.get_or_init(|| {
        if let Ok(uri) = std::env::var("SHAREHOLDERS_TEST_MONGODB_URI") {
            return uri;
        }
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/mongo-test-server");
        let output = Command::new(script).output().expect("running scripts/mongo-test-server");
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        let line = String::from_utf8(output.stdout).expect("utf-8");
        let mut parts = line.split_whitespace();
        let (pid, data, uri) = (
            parts.next().expect("pid").to_owned(),
            parts.next().expect("data dir").to_owned(),
            parts.next().expect("uri").to_owned(),
        );
        let me = std::process::id();
        // Stop the server once this test process has gone; the watchdog outlives us on purpose.
        #[allow(clippy::zombie_processes)]
        Command::new("sh")
            .arg("-c")
            .arg(format!(
                "while kill -0 {me} 2>/dev/null; do sleep 1; done; kill {pid}; sleep 1; rm -rf {data} {data}.log"
            ))
            .spawn()
            .expect("watchdog");
        uri
    })
    .clone()
}

fn unique(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::new_v4().simple())
}

fn with_database(url: &str, database: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let cut = base.rfind('/').expect("a database url has a path");
    let mut out = format!("{}/{database}", &base[..cut]);
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    out
}

/// One test's share of the real servers.
#[derive(Debug)]
pub struct RealStack {
    pub storage: StorageArgs,
    pub database: String,
    _data_dir: tempfile::TempDir,
}

impl RealStack {
    pub async fn new() -> Self {
        let database = unique("sh_e2e");
        let admin = sqlx_admin().await;
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {database}")))
            .execute(&admin)
            .await
            .expect("create database");
        admin.close().await;
        let prefix = unique("sh-e2e");
        let data_dir = tempfile::tempdir().expect("tempdir");
        Self {
            storage: StorageArgs {
                data_dir: data_dir.path().to_path_buf(),
                database_url: Some(with_database(&database_admin_url(), &database)),
                amqp_url: Some(amqp_url()),
                amqp_prefix: prefix.clone(),
                mongodb_uri: Some(mongodb_uri()),
                mongodb_database: prefix.replace('-', "_"),
                ca_file: None,
            },
            database,
            _data_dir: data_dir,
        }
    }

    /// The same stack without a broker: events are projected in-process.
    pub fn without_broker(&self) -> StorageArgs {
        StorageArgs {
            amqp_url: None,
            ..self.storage.clone()
        }
    }

    pub fn topology(&self) -> shareholders_rabbitmq::Topology {
        shareholders_rabbitmq::Topology::named(&self.storage.amqp_prefix)
    }

    /// Environment variables that point the binary at this stack.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        let s = &self.storage;
        vec![
            ("SHAREHOLDERS_DATA_DIR", s.data_dir.display().to_string()),
            (
                "SHAREHOLDERS_DATABASE_URL",
                s.database_url.clone().unwrap_or_default(),
            ),
            (
                "SHAREHOLDERS_AMQP_URL",
                s.amqp_url.clone().unwrap_or_default(),
            ),
            ("SHAREHOLDERS_AMQP_PREFIX", s.amqp_prefix.clone()),
            (
                "SHAREHOLDERS_MONGODB_URI",
                s.mongodb_uri.clone().unwrap_or_default(),
            ),
            ("SHAREHOLDERS_MONGODB_DATABASE", s.mongodb_database.clone()),
        ]
    }

    pub async fn cleanup(self) {
        if let Ok(connection) =
            lapin::Connection::connect(&amqp_url(), lapin::ConnectionProperties::default()).await
        {
            if let Ok(channel) = connection.create_channel().await {
                let _ = self.topology().delete(&channel).await;
            }
            let _ = connection.close(200, "done".into()).await;
        }
        if let Ok(client) = mongodb::Client::with_uri_str(mongodb_uri()).await {
            let _ = client.database(&self.storage.mongodb_database).drop().await;
        }
        let admin = sqlx_admin().await;
        let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.database
        )))
        .execute(&admin)
        .await;
        admin.close().await;
    }
}

async fn sqlx_admin() -> sqlx::PgPool {
    sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(&database_admin_url())
        .await
        .expect("PostgreSQL is reachable (SHAREHOLDERS_TEST_DATABASE_URL)")
}

/// Closes the broker connections whose client-given name contains `name` (as a broker fault
/// would). Returns how many it closed. It uses RabbitMQ's management API when
/// `SHAREHOLDERS_TEST_RABBITMQ_MANAGEMENT_URL` is set (e.g. `http://guest:guest@rabbitmq:15672`,
/// as the compose file's `test` service sets it), and `rabbitmqctl` on the broker's machine
/// otherwise.
pub async fn close_broker_connections(name: &str) -> usize {
    match std::env::var("SHAREHOLDERS_TEST_RABBITMQ_MANAGEMENT_URL") {
        Ok(url) => close_through_management_api(&url, name).await,
        Err(_) => {
            let name = name.to_owned();
            tokio::task::spawn_blocking(move || close_through_rabbitmqctl(&name))
                .await
                .expect("rabbitmqctl ran")
        }
    }
}

async fn close_through_management_api(url: &str, name: &str) -> usize {
    let parsed = reqwest::Url::parse(url).expect("a management URL");
    let (user, password) = (
        parsed.username().to_owned(),
        parsed.password().unwrap_or_default().to_owned(),
    );
    let mut base = parsed.clone();
    base.set_username("").expect("a base URL");
    base.set_password(None).expect("a base URL");
    let base = base.as_str().trim_end_matches('/').to_owned();
    let client = reqwest::Client::new();
    let connections: Vec<serde_json::Value> = client
        .get(format!("{base}/api/connections"))
        .basic_auth(&user, Some(&password))
        .send()
        .await
        .expect("the management API answers")
        .error_for_status()
        .expect("the management API lists connections")
        .json()
        .await
        .expect("a JSON list");
    let mut closed = 0;
    for connection in connections {
        let named = connection["client_properties"]["connection_name"]
            .as_str()
            .is_some_and(|n| n.contains(name));
        let Some(id) = connection["name"].as_str().filter(|_| named) else {
            continue;
        };
        let mut target = reqwest::Url::parse(&format!("{base}/api/connections/")).expect("a URL");
        target
            .path_segments_mut()
            .expect("a base")
            .pop_if_empty()
            .push(id);
        let response = client
            .delete(target)
            .basic_auth(&user, Some(&password))
            .header("X-Reason", "test: simulated broker fault")
            .send()
            .await
            .expect("the management API answers");
        if response.status().is_success() {
            closed += 1;
        }
    }
    closed
}

fn close_through_rabbitmqctl(name: &str) -> usize {
    let output = Command::new("rabbitmqctl")
        .args([
            "list_connections",
            "-q",
            "--no-table-headers",
            "pid",
            "client_properties",
        ])
        .output()
        .expect("rabbitmqctl is available where RabbitMQ runs");
    assert!(
        output.status.success(),
        "rabbitmqctl list_connections failed"
    );
    let listing = String::from_utf8_lossy(&output.stdout);
    let mut closed = 0;
    for line in listing.lines().filter(|line| line.contains(name)) {
        let Some(pid) = line.split_whitespace().next() else {
            continue;
        };
        let status = Command::new("rabbitmqctl")
            .args(["close_connection", pid, "test: simulated broker fault"])
            .output()
            .expect("rabbitmqctl close_connection");
        if status.status.success() {
            closed += 1;
        }
    }
    closed
}
