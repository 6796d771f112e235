//! TLS to the broker and the read model, against a real TLS endpoint: Debian's `stunnel4`
//! (installed by `scripts/test`) in front of the local RabbitMQ and the MongoDB test server,
//! with certificates the test makes. The whole pipeline works over `amqps://` and MongoDB TLS
//! with `--ca-file`; without the CA, or with a certificate for another host name, the
//! connection is refused with an error that says why.

mod support;

#[path = "../../http/tests/tls/certificates.rs"]
mod certificates;

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use serde_json::json;
use shareholders::serve::start;
use shareholders_rabbitmq::{PublisherSettings, RabbitPublisher};
use support::real::{RealStack, amqp_url, mongodb_uri};
use support::{Api, local};

/// A port nobody listens on now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("a port")
        .local_addr()
        .expect("an address")
        .port()
}

/// The `host:port` of a URL's authority (after any `user:password@`).
fn upstream(url: &str) -> String {
    let rest = url.split_once("://").expect("a URL").1;
    let authority = rest.split(['/', '?']).next().expect("an authority");
    authority
        .rsplit_once('@')
        .map_or(authority, |(_, h)| h)
        .to_owned()
}

/// One TLS front: accepts on `accept`, forwards to `connect`, presenting `certificate`.
struct Front<'a> {
    name: &'a str,
    accept: u16,
    connect: String,
    certificate: &'a (PathBuf, PathBuf),
}

/// `stunnel4` serving `fronts`, stopped when dropped.
struct Stunnel(Child);

impl Stunnel {
    fn start(dir: &Path, fronts: &[Front<'_>]) -> Self {
        let mut config = format!(
            "foreground = yes\npid =\ndebug = 4\noutput = {}\n",
            dir.join("stunnel.log").display()
        );
        for front in fronts {
            config.push_str(&format!(
                "[{}]\naccept = 127.0.0.1:{}\nconnect = {}\ncert = {}\nkey = {}\n",
                front.name,
                front.accept,
                front.connect,
                front.certificate.0.display(),
                front.certificate.1.display(),
            ));
        }
        let path = dir.join("stunnel.conf");
        std::fs::write(&path, config).expect("stunnel.conf");
        // Its log goes to stunnel.log (`output`), shown when it fails to start.
        let child = Command::new("stunnel4")
            .arg(&path)
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("stunnel4 runs (scripts/test installs it)");
        let stunnel = Self(child);
        for front in fronts {
            let deadline = Instant::now() + Duration::from_secs(10);
            while std::net::TcpStream::connect(("127.0.0.1", front.accept)).is_err() {
                assert!(
                    Instant::now() < deadline,
                    "stunnel4 does not listen on {}: {}",
                    front.accept,
                    std::fs::read_to_string(dir.join("stunnel.log")).unwrap_or_default()
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        stunnel
    }
}

impl Drop for Stunnel {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The TLS fronts of one test and what a client needs to use them.
struct Tls {
    _dir: tempfile::TempDir,
    _stunnel: Stunnel,
    /// Both test CAs, as `--ca-file` takes them.
    ca_file: PathBuf,
    /// RabbitMQ behind a certificate for localhost.
    amqps: String,
    /// RabbitMQ behind a certificate for another host name, signed by a trusted CA.
    amqps_other_host: String,
    /// The MongoDB test server behind a certificate for localhost.
    mongodb: String,
}

fn tls_fronts() -> Tls {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let (local_ca, local_cert, local_key) = certificates::make(dir.path(), "local", "localhost");
    let (other_ca, other_cert, other_key) =
        certificates::make(dir.path(), "other", "elsewhere.example");
    let ca_file = dir.path().join("trusted.pem");
    let mut bundle = std::fs::read_to_string(&local_ca).expect("the CA");
    bundle.push_str(&std::fs::read_to_string(&other_ca).expect("the other CA"));
    std::fs::write(&ca_file, bundle).expect("the bundle");
    let local = (local_cert, local_key);
    let other = (other_cert, other_key);
    let (amqp, amqp_other, mongo) = (free_port(), free_port(), free_port());
    let broker = upstream(&amqp_url());
    let stunnel = Stunnel::start(
        dir.path(),
        &[
            Front {
                name: "amqp",
                accept: amqp,
                connect: broker.clone(),
                certificate: &local,
            },
            Front {
                name: "amqp-other-host",
                accept: amqp_other,
                connect: broker,
                certificate: &other,
            },
            Front {
                name: "mongodb",
                accept: mongo,
                connect: upstream(mongodb_uri()),
                certificate: &local,
            },
        ],
    );
    let credentials = amqp_url()
        .split_once("://")
        .and_then(|(_, rest)| rest.split_once('@'))
        .map_or_else(|| "guest:guest".to_owned(), |(c, _)| c.to_owned());
    Tls {
        amqps: format!("amqps://{credentials}@localhost:{amqp}/%2f"),
        amqps_other_host: format!("amqps://{credentials}@localhost:{amqp_other}/%2f"),
        mongodb: format!(
            "mongodb://localhost:{mongo}/?directConnection=true&tls=true&serverSelectionTimeoutMS=3000"
        ),
        ca_file,
        _stunnel: stunnel,
        _dir: dir,
    }
}

/// The whole error chain of a failed connection.
fn chain(error: &anyhow::Error) -> String {
    format!("{error:#}")
}

async fn publisher(url: &str, ca: Option<&Path>, real: &RealStack) -> anyhow::Result<()> {
    let settings = PublisherSettings {
        connect_timeout: Duration::from_secs(5),
        ca: ca.map(|path| std::fs::read_to_string(path).expect("the CA file")),
        ..PublisherSettings::default()
    };
    RabbitPublisher::connect_with(url, real.topology(), settings)
        .await
        .map(|_| ())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pipeline_runs_over_amqps_and_mongodb_tls_with_the_test_ca() {
    let tls = tls_fronts();
    let real = RealStack::new().await;
    let mut storage = real.storage.clone();
    storage.amqp_url = Some(tls.amqps.clone());
    storage.mongodb_uri = Some(tls.mongodb.clone());
    storage.ca_file = Some(tls.ca_file.clone());
    let running = start(&storage, local())
        .await
        .expect("starts over TLS with the CA");
    let api = Api::new(running.addr);
    let (status, created) = api
        .post(
            "/api/organization/",
            &json!({"orgnr": "923609016", "name": "OVER TLS AS"}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let position = created["position"].as_u64().expect("a position");
    // Written to PostgreSQL, relayed over amqps://, consumed over amqps:// and projected into
    // MongoDB over TLS, then read back from it.
    let read = api
        .get_ok(&format!(
            "/api/organization/923609016?min_position={position}"
        ))
        .await;
    assert_eq!(read["name"], "OVER TLS AS");
    let (ready, body) = api.get("/health/ready").await;
    assert_eq!(
        ready, 200,
        "readiness checks every dependency over TLS: {body}"
    );
    running.stop().await.expect("clean shutdown");
    real.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_ca_the_connections_are_refused_with_a_clear_error() {
    let tls = tls_fronts();
    let real = RealStack::new().await;
    let refused = publisher(&tls.amqps, None, &real)
        .await
        .expect_err("an unknown CA is refused");
    let reason = chain(&refused);
    assert!(
        reason.contains("localhost:") && reason.contains("UnknownIssuer"),
        "the broker's certificate is not trusted: {reason}"
    );
    publisher(&tls.amqps, Some(&tls.ca_file), &real)
        .await
        .expect("the same endpoint is trusted with the CA");

    let mut storage = real.storage.clone();
    storage.mongodb_uri = Some(tls.mongodb.clone());
    let Err(refused) = start(&storage, local()).await else {
        panic!("MongoDB's certificate is not trusted without the CA");
    };
    let reason = chain(&refused);
    assert!(
        reason.contains("connecting to MongoDB at mongodb://localhost:")
            && reason.contains("UnknownIssuer"),
        "{reason}"
    );
    real.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_for_another_host_name_is_refused() {
    let tls = tls_fronts();
    let real = RealStack::new().await;
    let refused = publisher(&tls.amqps_other_host, Some(&tls.ca_file), &real)
        .await
        .expect_err("a certificate for elsewhere.example does not name localhost");
    let reason = chain(&refused);
    assert!(
        reason.contains("certificate not valid for name \"localhost\""),
        "{reason}"
    );
    real.cleanup().await;
}

#[test]
fn a_ca_file_that_is_not_a_certificate_stops_the_service_at_start() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let path = dir.path().join("ca.pem");
    std::fs::write(
        &path,
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    )
    .expect("written");
    let output = Command::new(env!("CARGO_BIN_EXE_shareholders"))
        .args(["--data-dir"])
        .arg(dir.path())
        .arg("--ca-file")
        .arg(&path)
        .arg("verify")
        .output()
        .expect("the binary runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains("holds no PEM certificate"),
        "a clear error: {stderr}"
    );
}
