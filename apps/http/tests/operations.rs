//! The platform's endpoints (`/health/live`, `/health/ready`, `/metrics`), the route templates
//! metrics are labelled with, and the server's request ids over a real socket.

#[path = "tls/certificates.rs"]
mod certificates;

use std::sync::Arc;

use async_trait::async_trait;
use rstest::rstest;
use serde_json::Value;
use shareholders_http::{
    Exposition, HttpConfig, Operations, PROBLEM_JSON, PROMETHEUS_TEXT, ServerSettings, openapi,
    route_template, routes,
};
use shareholders_ports::{
    Dependency, MockDependency, MockReadStore, MockWriteStore, ReadError, Service,
};

fn service() -> Service {
    Service::new(
        Arc::new(MockWriteStore::new()),
        Arc::new(MockReadStore::new()),
    )
}

fn dependency(name: &'static str, answers: bool) -> Arc<dyn Dependency> {
    let mut mock = MockDependency::new();
    mock.expect_name().return_const(name);
    mock.expect_check().returning(move || {
        if answers {
            Ok(())
        } else {
            Err(anyhow::anyhow!(
                "connection refused to the secret host db.internal"
            ))
        }
    });
    Arc::new(mock)
}

async fn get(operations: Operations, path: &str) -> (u16, String, String) {
    let api = routes(service(), HttpConfig::default(), operations);
    let response = warp::test::request().path(path).reply(&api).await;
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().expect("ascii").to_owned())
        .unwrap_or_default();
    (
        response.status().as_u16(),
        content_type,
        String::from_utf8(response.body().to_vec()).expect("utf-8"),
    )
}

#[rstest]
#[case("/api/988844322/owners", "/api/{orgnr}/owners")]
#[case("/api/988844322/owners/", "/api/{orgnr}/owners")]
#[case("/api/person/p-1", "/api/person/{id}")]
#[case("/api/person/p-1/holdings", "/api/person/{id}/holdings")]
#[case("/api/organization/988844322", "/api/organization/{orgnr}")]
#[case("/api/organization/", "/api/organization/")]
#[case("/api/years", "/api/years")]
#[case("/api/988844322/holdings/changes", "/api/{orgnr}/holdings/changes")]
#[case("/health", "/health")]
#[case("/health/ready", "/health/ready")]
#[case("/metrics", "/metrics")]
#[case("/wp-admin/setup.php", "unmatched")]
#[case("/api/988844322/owners/extra/segments", "unmatched")]
#[case("/", "/")]
#[case("/company/988844322", "/company/{orgnr}")]
#[case("/person/p-1", "/person/{id}")]
#[case("/assets/3f2a/js/search.js", "/assets/{version}/{file}")]
#[case("/assets/3f2a/page.css", "/assets/{version}/{file}")]
#[case("/company/988844322/extra", "unmatched")]
fn requests_are_labelled_by_their_documented_template(#[case] path: &str, #[case] label: &str) {
    assert_eq!(route_template(path), label);
}

#[test]
fn every_documented_path_is_its_own_label() {
    let document = openapi();
    let paths = document["paths"].as_object().expect("paths");
    for template in paths.keys() {
        assert_eq!(route_template(template), template.as_str());
    }
}

#[tokio::test]
async fn liveness_needs_nothing() {
    let operations = Operations {
        dependencies: vec![dependency("postgresql", false)],
        metrics: None,
    };
    let (status, _, body) = get(operations, "/health/live").await;
    assert_eq!(status, 200);
    let body: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(body["status"], "alive");
}

#[tokio::test]
async fn readiness_lists_every_dependency_when_all_answer() {
    let operations = Operations {
        dependencies: vec![dependency("postgresql", true), dependency("mongodb", true)],
        metrics: None,
    };
    let (status, _, body) = get(operations, "/health/ready").await;
    assert_eq!(status, 200);
    let body: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(body["status"], "ready");
    let names: Vec<&str> = body["dependencies"]
        .as_array()
        .expect("list")
        .iter()
        .map(|d| d["name"].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["postgresql", "mongodb"]);
}

#[tokio::test]
async fn readiness_names_the_failing_dependency_and_nothing_of_its_error() {
    let operations = Operations {
        dependencies: vec![
            dependency("postgresql", false),
            dependency("rabbitmq", true),
            dependency("mongodb", false),
        ],
        metrics: None,
    };
    let (status, content_type, body) = get(operations, "/health/ready").await;
    assert_eq!(status, 503);
    assert_eq!(content_type, PROBLEM_JSON);
    assert!(!body.contains("db.internal"), "{body}");
    let body: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(body["type"], "/problems/not-ready");
    assert_eq!(
        body["failing"],
        serde_json::json!(["postgresql", "mongodb"])
    );
    assert!(
        body["detail"]
            .as_str()
            .expect("detail")
            .contains("postgresql, mongodb"),
        "{body}"
    );
}

struct Fixed(&'static str);

#[async_trait]
impl Exposition for Fixed {
    async fn render(&self) -> String {
        self.0.to_owned()
    }
}

#[tokio::test]
async fn metrics_are_served_as_prometheus_text() {
    let operations = Operations {
        dependencies: Vec::new(),
        metrics: Some(Arc::new(Fixed("# TYPE up gauge\nup 1\n"))),
    };
    let (status, content_type, body) = get(operations, "/metrics").await;
    assert_eq!(status, 200);
    assert_eq!(content_type, PROMETHEUS_TEXT);
    assert_eq!(body, "# TYPE up gauge\nup 1\n");
}

#[tokio::test]
async fn without_metrics_the_route_is_not_found() {
    let (status, content_type, _) = get(Operations::default(), "/metrics").await;
    assert_eq!(status, 404);
    assert_eq!(content_type, PROBLEM_JSON);
}

/// Sends one HTTP/1.1 request over a plain socket and returns the response's head.
async fn raw_request(addr: std::net::SocketAddr, head: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream.write_all(head.as_bytes()).await.expect("write");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.expect("read");
    String::from_utf8_lossy(&response).into_owned()
}

/// The API over `service`, served on a loopback port until the returned sender is used.
async fn serve_on_loopback(
    service: Service,
    settings: ServerSettings,
) -> (
    std::net::SocketAddr,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let api = routes(service, HttpConfig::default(), Operations::default());
    let server = tokio::spawn(shareholders_http::serve(
        listener,
        api,
        settings,
        async move {
            let _ = stopped.await;
        },
    ));
    (addr, stop, server)
}

fn header<'a>(response: &'a str, name: &str) -> Option<&'a str> {
    response.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.eq_ignore_ascii_case(name).then(|| value.trim())
    })
}

#[rstest]
#[case("/api/988844322/owners", Some("GET"))]
#[case("/api/organization/", Some("POST"))]
#[case("/company/988844322", Some("GET"))]
#[case("/assets/3f2a/page.css", Some("GET"))]
#[case("/no/such/thing", None)]
fn a_documented_path_knows_its_methods(#[case] path: &str, #[case] allow: Option<&str>) {
    assert_eq!(shareholders_http::allowed_methods(path), allow);
}

#[tokio::test]
async fn the_server_returns_the_clients_request_id_or_a_new_one_and_stops_gracefully() {
    let (addr, stop, server) = serve_on_loopback(service(), ServerSettings::default()).await;

    let sent = raw_request(
        addr,
        "GET /health HTTP/1.1\r\nhost: x\r\nx-request-id: trace-42\r\nconnection: close\r\n\r\n",
    )
    .await;
    assert!(sent.starts_with("HTTP/1.1 200"), "{sent}");
    assert_eq!(header(&sent, "x-request-id"), Some("trace-42"));

    let made = raw_request(
        addr,
        "GET /no/such/route HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
    )
    .await;
    assert!(made.starts_with("HTTP/1.1 404"), "{made}");
    let id = header(&made, "x-request-id").expect("a request id");
    assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");

    let wrong_method = raw_request(
        addr,
        "DELETE /api/988844322/owners HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
    )
    .await;
    assert!(wrong_method.starts_with("HTTP/1.1 405"), "{wrong_method}");
    assert_eq!(header(&wrong_method, "allow"), Some("GET"));
    let both = raw_request(
        addr,
        "PUT /api/organization/ HTTP/1.1\r\nhost: x\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
    )
    .await;
    assert!(both.starts_with("HTTP/1.1 405"), "{both}");
    assert_eq!(header(&both, "allow"), Some("POST"));
    let page = raw_request(
        addr,
        "POST /company/988844322 HTTP/1.1\r\nhost: x\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
    )
    .await;
    assert!(page.starts_with("HTTP/1.1 405"), "{page}");
    assert_eq!(header(&page, "allow"), Some("GET"));

    stop.send(()).expect("server running");
    tokio::time::timeout(std::time::Duration::from_secs(5), server)
        .await
        .expect("the server stops")
        .expect("no panic");
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "nothing listens after the stop"
    );
}

/// Log lines written as JSON into memory, for this test binary.
#[derive(Clone, Default)]
struct Captured(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn a_5xx_error_chain_is_logged_with_the_request_id() {
    let captured = Captured::default();
    let writer = captured.clone();
    tracing_subscriber::fmt()
        .json()
        .with_current_span(true)
        .with_writer(move || writer.clone())
        .try_init()
        .expect("the only subscriber of this test binary");

    let mut read = MockReadStore::new();
    read.expect_organisation().returning(|_| {
        Err(ReadError::Unknown(
            anyhow::anyhow!("disk on fire").context("reading organisation 988844322"),
        ))
    });
    let service = Service::new(Arc::new(MockWriteStore::new()), Arc::new(read));
    let (addr, stop, server) = serve_on_loopback(service, ServerSettings::default()).await;
    let response = raw_request(
        addr,
        "GET /api/988844322/summary HTTP/1.1\r\nhost: x\r\nx-request-id: chain-5xx\r\nconnection: close\r\n\r\n",
    )
    .await;
    assert!(response.starts_with("HTTP/1.1 500"), "{response}");
    stop.send(()).expect("running");
    server.await.expect("stops");

    let logged = String::from_utf8(captured.0.lock().expect("lock").clone()).expect("utf-8");
    let lines: Vec<Value> = logged
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .filter(|line: &Value| line["span"]["request_id"] == "chain-5xx")
        .collect();
    let error = lines
        .iter()
        .find(|line| line["level"] == "ERROR")
        .unwrap_or_else(|| panic!("no error line with the request id in {logged}"));
    assert_eq!(
        error["fields"]["error"],
        "reading organisation 988844322: disk on fire"
    );
    assert_eq!(error["span"]["route"], "/api/{orgnr}/summary");
    assert!(
        lines
            .iter()
            .any(|line| line["fields"]["message"] == "answered" && line["fields"]["status"] == 500),
        "{lines:?}"
    );
}

/// Connects and sends the start of a request, never its end.
async fn half_sent(addr: std::net::SocketAddr) -> tokio::net::TcpStream {
    use tokio::io::AsyncWriteExt;
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream
        .write_all(b"GET /health HTTP/1.1\r\nhost: x\r\nx-slow: ")
        .await
        .expect("write");
    stream
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_half_sent_requests_neither_block_others_nor_stay_open() {
    use tokio::io::AsyncReadExt;
    let settings = ServerSettings {
        header_read_timeout: std::time::Duration::from_secs(3),
        ..ServerSettings::default()
    };
    let (addr, stop, server) = serve_on_loopback(service(), settings).await;
    let mut slow = Vec::new();
    for _ in 0..1000 {
        slow.push(half_sent(addr).await);
    }
    let asked = std::time::Instant::now();
    let answer = raw_request(
        addr,
        "GET /health HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
    )
    .await;
    let waited = asked.elapsed();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        waited < std::time::Duration::from_secs(2),
        "/health waited {waited:?} behind the slow clients"
    );
    // The slow clients are disconnected once their headers are overdue.
    let mut rest = Vec::new();
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        slow[0].read_to_end(&mut rest),
    )
    .await
    .expect("the server closes a connection whose headers are overdue");
    assert!(read.is_ok() || rest.is_empty());
    assert!(
        rest.is_empty() || String::from_utf8_lossy(&rest).starts_with("HTTP/1.1 408"),
        "{}",
        String::from_utf8_lossy(&rest)
    );
    stop.send(()).expect("running");
    server.await.expect("stops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_connection_cap_a_client_waits_for_a_free_slot() {
    let settings = ServerSettings {
        header_read_timeout: std::time::Duration::from_secs(1),
        max_connections: 2,
        ..ServerSettings::default()
    };
    let (addr, stop, server) = serve_on_loopback(service(), settings).await;
    let _slow = [half_sent(addr).await, half_sent(addr).await];
    // Give the server the moment it needs to take both into their slots.
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let asked = std::time::Instant::now();
    let answer = raw_request(
        addr,
        "GET /health HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        asked.elapsed() >= std::time::Duration::from_millis(700),
        "answered after {:?}, before a slot was freed",
        asked.elapsed()
    );
    stop.send(()).expect("running");
    server.await.expect("stops");
}

/// GET /health over TLS, trusting only `ca`.
async fn https_health(
    addr: std::net::SocketAddr,
    ca: &std::path::Path,
) -> Result<String, std::io::Error> {
    use rustls::pki_types::pem::PemObject as _;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls::pki_types::CertificateDer::pem_file_iter(ca).expect("pem") {
        roots.add(cert.expect("a certificate")).expect("a root");
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(addr).await?;
    let name = rustls::pki_types::ServerName::try_from("localhost").expect("a name");
    let mut tls = connector.connect(name, tcp).await?;
    tls.write_all(b"GET /health HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n")
        .await?;
    let mut response = Vec::new();
    tls.read_to_end(&mut response).await?;
    Ok(String::from_utf8_lossy(&response).into_owned())
}

#[tokio::test]
async fn with_tls_https_is_served_and_plain_http_or_an_untrusted_certificate_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (ca, cert, key) = certificates::make(dir.path(), "server", "localhost");
    let (other_ca, _, _) = certificates::make(dir.path(), "other", "localhost");
    let settings = ServerSettings {
        tls: Some(shareholders_http::tls_config(&cert, &key).expect("a TLS configuration")),
        ..ServerSettings::default()
    };
    let (addr, stop, server) = serve_on_loopback(service(), settings).await;

    let answer = https_health(addr, &ca).await.expect("HTTPS");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(header(&answer, "x-request-id").is_some());

    let plain = raw_request(
        addr,
        "GET /health HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
    )
    .await;
    assert!(!plain.contains("200"), "plain HTTP was answered: {plain}");

    let untrusted = https_health(addr, &other_ca).await;
    assert!(untrusted.is_err(), "a client trusting another CA connected");

    stop.send(()).expect("running");
    server.await.expect("stops");
}

#[test]
fn a_key_that_is_not_the_certificates_or_a_missing_file_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_, cert, _) = certificates::make(dir.path(), "server", "localhost");
    let (_, _, other_key) = certificates::make(dir.path(), "other", "localhost");
    let mismatched = shareholders_http::tls_config(&cert, &other_key).expect_err("mismatch");
    assert!(
        format!("{mismatched:#}").contains("do not go together"),
        "{mismatched:#}"
    );
    let missing = shareholders_http::tls_config(&dir.path().join("nope.pem"), &other_key)
        .expect_err("missing");
    assert!(format!("{missing:#}").contains("nope.pem"), "{missing:#}");
}
