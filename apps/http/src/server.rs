//! Serving the API: the connections, and around every request its request id, its span and
//! its metrics.
//!
//! Every request gets a request id: the client's `X-Request-Id` when it sent a usable one,
//! otherwise a new UUID. The handlers see it as that header, the response carries it back, and
//! every log line written while the request is handled (its 5xx error chain included) is in a
//! span that names it.

use std::convert::Infallible;
use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;

use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower_service::Service as _;
use tracing::Instrument as _;
use warp::http::{HeaderMap, HeaderValue, Method, Request};

/// The request id's header, in requests and responses.
pub const REQUEST_ID: &str = "x-request-id";

/// The longest client-sent request id kept; a longer one is replaced.
const MAX_REQUEST_ID: usize = 128;

/// Counter of answered requests, by `route` (its template), `method` and `status` (`2xx`, …).
pub const HTTP_REQUESTS: &str = "shareholders_http_requests_total";
/// Histogram of the time from a request's arrival to its response's head, in seconds, by
/// `route` and `method`.
pub const HTTP_REQUEST_DURATION: &str = "shareholders_http_request_duration_seconds";

/// How the server treats connections.
#[derive(Clone)]
pub struct ServerSettings {
    /// How long a client may take to send a request's headers, and to start the next request
    /// on a kept-alive connection (and, with TLS, to finish its handshake); then the
    /// connection is closed. Slow and idle clients cannot hold connections for ever.
    pub header_read_timeout: Duration,
    /// The most connections served at once; past it, new connections wait in the listen
    /// backlog until one closes.
    pub max_connections: usize,
    /// Serve HTTPS with this configuration; a client speaking plain HTTP is refused.
    pub tls: Option<Arc<rustls::ServerConfig>>,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            tls: None,
        }
    }
}

impl std::fmt::Debug for ServerSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerSettings")
            .field("header_read_timeout", &self.header_read_timeout)
            .field("max_connections", &self.max_connections)
            .field("tls", &self.tls.is_some())
            .finish()
    }
}

/// The default [`ServerSettings::header_read_timeout`].
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// The default [`ServerSettings::max_connections`].
pub const DEFAULT_MAX_CONNECTIONS: usize = 4096;

/// The TLS configuration of a certificate chain and its private key, both PEM files, offering
/// HTTP/2 and HTTP/1.1.
///
/// # Errors
/// When a file cannot be read, holds no certificate or no key, or the key does not match.
pub fn tls_config(cert: &Path, key: &Path) -> anyhow::Result<Arc<rustls::ServerConfig>> {
    use rustls::pki_types::pem::PemObject as _;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};

    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(Iterator::collect::<Result<Vec<_>, _>>)
        .map_err(|e| anyhow::anyhow!("reading the certificate {}: {e}", cert.display()))?;
    anyhow::ensure!(
        !chain.is_empty(),
        "the certificate file {} holds no certificate",
        cert.display()
    );
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| anyhow::anyhow!("reading the private key {}: {e}", key.display()))?;
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .context("choosing TLS versions")?
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .context("the certificate and the private key do not go together")?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Serves `app` (the API's [`crate::routes`]) on `listener` until `shutdown` completes, then
/// lets the requests under way finish.
pub async fn serve<F>(
    listener: TcpListener,
    app: F,
    settings: ServerSettings,
    shutdown: impl Future<Output = ()>,
) where
    F: warp::Filter<Extract = (warp::reply::Response,), Error = Infallible>
        + Clone
        + Send
        + Sync
        + 'static,
{
    let graceful = GracefulShutdown::new();
    let slots = Arc::new(Semaphore::new(settings.max_connections.max(1)));
    let tls = settings.tls.map(tokio_rustls::TlsAcceptor::from);
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(settings.header_read_timeout);
    let builder = Arc::new(builder);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        // A slot first: at the cap, connections wait in the kernel's backlog.
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: wait a moment rather than spin.
                    tracing::warn!(%error, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let app = app.clone();
        let service = hyper::service::service_fn(move |request: Request<Incoming>| {
            let mut inner = warp::service(app.clone());
            handle(request, move |request| inner.call(request))
        });
        let (builder, watcher, tls) = (builder.clone(), graceful.watcher(), tls.clone());
        let handshake_timeout = settings.header_read_timeout;
        tokio::spawn(async move {
            let _slot = slot;
            let served = match tls {
                None => serve_io(&builder, watcher, stream, service).await,
                Some(tls) => {
                    let stream =
                        match tokio::time::timeout(handshake_timeout, tls.accept(stream)).await {
                            Ok(Ok(stream)) => stream,
                            Ok(Err(error)) => {
                                tracing::debug!(%peer, %error, "TLS handshake failed");
                                return;
                            }
                            Err(_) => {
                                tracing::debug!(%peer, "TLS handshake timed out");
                                return;
                            }
                        };
                    serve_io(&builder, watcher, stream, service).await
                }
            };
            if let Err(error) = served {
                tracing::debug!(%peer, error = %error, "connection ended with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

/// Serves one connection, plain or TLS, under the graceful shutdown's watch.
fn serve_io<I, S>(
    builder: &auto::Builder<TokioExecutor>,
    watcher: Watcher,
    io: I,
    service: S,
) -> impl Future<Output = Result<(), Box<dyn std::error::Error + Send + Sync>>> + use<I, S>
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    S: hyper::service::Service<
            Request<Incoming>,
            Response = warp::reply::Response,
            Error = Infallible,
        > + Send
        + 'static,
    S::Future: Send + 'static,
{
    watcher.watch(
        builder
            .serve_connection_with_upgrades(TokioIo::new(io), service)
            .into_owned(),
    )
}

/// One request, around the API: its id, its span, its metrics.
async fn handle<Fut>(
    mut request: Request<Incoming>,
    app: impl FnOnce(Request<Incoming>) -> Fut,
) -> Result<warp::reply::Response, Infallible>
where
    Fut: Future<Output = Result<warp::reply::Response, Infallible>>,
{
    let started = Instant::now();
    let id = request_id(request.headers());
    request.headers_mut().insert(REQUEST_ID, id.clone());
    let (route, allow) = crate::route(request.uri().path());
    let method = method_label(request.method());
    let span = tracing::info_span!(
        "request",
        request_id = %id.to_str().unwrap_or_default(),
        method = %request.method(),
        route,
    );
    let mut response = app(request).instrument(span.clone()).await?;
    response.headers_mut().insert(REQUEST_ID, id);
    // RFC 9110: a 405 says which methods the resource answers.
    if response.status() == warp::http::StatusCode::METHOD_NOT_ALLOWED
        && let Some(allow) = allow.and_then(|a| HeaderValue::from_str(a).ok())
    {
        response
            .headers_mut()
            .insert(warp::http::header::ALLOW, allow);
    }
    let elapsed = started.elapsed();
    let status = response.status();
    span.in_scope(|| {
        tracing::info!(
            status = status.as_u16(),
            elapsed_ms = elapsed.as_secs_f64() * 1000.0,
            "answered"
        );
    });
    metrics::counter!(
        HTTP_REQUESTS,
        "route" => route,
        "method" => method,
        "status" => status_class(status.as_u16()),
    )
    .increment(1);
    metrics::histogram!(HTTP_REQUEST_DURATION, "route" => route, "method" => method)
        .record(elapsed.as_secs_f64());
    Ok(response)
}

/// The client's request id when it is usable (visible ASCII, at most 128 characters), or a new
/// one.
fn request_id(headers: &HeaderMap) -> HeaderValue {
    headers
        .get(REQUEST_ID)
        .filter(|value| {
            let bytes = value.as_bytes();
            !bytes.is_empty()
                && bytes.len() <= MAX_REQUEST_ID
                && bytes.iter().all(|b| b.is_ascii_graphic())
        })
        .cloned()
        .unwrap_or_else(|| {
            HeaderValue::from_str(&uuid::Uuid::new_v4().to_string())
                .expect("a UUID is a valid header value")
        })
}

/// The method as a metric label: the methods the API knows, and `other` for the rest, so a
/// client cannot make up label values.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::HEAD => "HEAD",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

fn status_class(status: u16) -> &'static str {
    match status / 100 {
        1 => "1xx",
        2 => "2xx",
        3 => "3xx",
        4 => "4xx",
        _ => "5xx",
    }
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    #[rstest]
    #[case(Some("abc-123"), Some("abc-123"))]
    #[case(Some("with space"), None)]
    #[case(Some(""), None)]
    #[case(None, None)]
    fn a_usable_client_request_id_is_kept_and_any_other_replaced(
        #[case] sent: Option<&str>,
        #[case] kept: Option<&str>,
    ) {
        let mut headers = HeaderMap::new();
        if let Some(sent) = sent {
            headers.insert(REQUEST_ID, HeaderValue::from_str(sent).expect("header"));
        }
        let id = request_id(&headers);
        match kept {
            Some(kept) => assert_eq!(id, kept),
            None => {
                let id = id.to_str().expect("ascii");
                assert!(uuid::Uuid::parse_str(id).is_ok(), "{id} is a new UUID");
            }
        }
    }

    #[test]
    fn an_overlong_request_id_is_replaced() {
        let mut headers = HeaderMap::new();
        let long = "x".repeat(MAX_REQUEST_ID + 1);
        headers.insert(REQUEST_ID, HeaderValue::from_str(&long).expect("header"));
        assert_ne!(request_id(&headers), long.as_str());
    }

    #[rstest]
    #[case(200, "2xx")]
    #[case(201, "2xx")]
    #[case(404, "4xx")]
    #[case(503, "5xx")]
    #[case(302, "3xx")]
    fn statuses_are_counted_by_class(#[case] status: u16, #[case] class: &str) {
        assert_eq!(status_class(status), class);
    }

    #[test]
    fn an_unknown_method_is_one_label() {
        let made_up = Method::from_bytes(b"BREW").expect("a method");
        assert_eq!(method_label(&made_up), "other");
        assert_eq!(method_label(&Method::GET), "GET");
    }
}
