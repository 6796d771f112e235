//! The shareholder register's JSON API, as `warp` filters.
//!
//! [`routes`] is the whole API: every endpoint, with the one [`warp::Filter::recover`] that
//! turns the framework's rejections (unknown route, wrong method, body too large, …) into
//! problem details. Business errors never become rejections: each handler answers them itself
//! with an `application/problem+json` reply (RFC 9457).
//!
//! Writes (`POST`) need a bearer token when [`HttpConfig::api_tokens`] is non-empty, and accept
//! an `Idempotency-Key` header. Reads are public and accept `?min_position=N` to wait (at most
//! [`shareholders_ports::MAX_WAIT`]) until the read model has applied the event at `N`.

use std::convert::Infallible;
use std::sync::Arc;

use shareholders_domain::{Organisation, Purchase};
use shareholders_ports::{PersonDetails, Service};
use warp::{Filter, Rejection, Reply};

pub mod bods;
pub mod dto;
mod handlers;
mod operations;
mod page;
mod problem;
mod request;
pub mod server;

pub use handlers::REPLAYED_HEADER;
pub use operations::{Exposition, Operations, PROMETHEUS_TEXT, READY_TIMEOUT};
pub use problem::{FieldError, PROBLEM_JSON, Problem};
pub use server::{ServerSettings, serve, tls_config};

/// The default limit of a request body: 64 KiB.
pub const DEFAULT_BODY_LIMIT: u64 = 64 * 1024;

/// How the API is served.
#[derive(Clone, PartialEq, Eq)]
pub struct HttpConfig {
    /// Bearer tokens that may write. Empty: writes are open.
    pub api_tokens: Vec<String>,
    /// The largest request body accepted, in bytes.
    pub body_limit: u64,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            api_tokens: Vec::new(),
            body_limit: DEFAULT_BODY_LIMIT,
        }
    }
}

impl std::fmt::Debug for HttpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Tokens are secrets: only their number is shown.
        f.debug_struct("HttpConfig")
            .field(
                "api_tokens",
                &format_args!("[{} redacted]", self.api_tokens.len()),
            )
            .field("body_limit", &self.body_limit)
            .finish()
    }
}

/// The OpenAPI 3.0 document describing the whole API.
///
/// # Panics
/// Never: the document is checked by the tests.
#[must_use]
pub fn openapi() -> serde_json::Value {
    serde_json::from_str(include_str!("openapi.json")).expect("openapi.json is valid JSON")
}

/// A documented path: its template, its segments (`None` for a parameter) and the methods it
/// answers, as an `Allow` header lists them.
struct Documented {
    template: String,
    segments: Vec<Option<String>>,
    allow: String,
}

impl Documented {
    fn new(template: &str, allow: String) -> Self {
        Self {
            template: template.to_owned(),
            segments: segments(template)
                .map(|segment| {
                    (!(segment.starts_with('{') && segment.ends_with('}')))
                        .then(|| segment.to_owned())
                })
                .collect(),
            allow,
        }
    }
}

/// Every path of the OpenAPI document, and the web pages' (answered with `GET` only), read
/// once.
fn documented() -> &'static [Documented] {
    static DOCUMENTED: std::sync::OnceLock<Vec<Documented>> = std::sync::OnceLock::new();
    DOCUMENTED.get_or_init(|| {
        let document = openapi();
        let paths = document["paths"].as_object().cloned().unwrap_or_default();
        let api = paths.iter().map(|(template, operations)| {
            let allow = operations
                .as_object()
                .map(|operations| {
                    operations
                        .keys()
                        .map(|method| method.to_ascii_uppercase())
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_default();
            Documented::new(template, allow)
        });
        let pages = page::PAGE_TEMPLATES
            .iter()
            .map(|template| Documented::new(template, "GET".to_owned()));
        api.chain(pages).collect()
    })
}

/// The documented path a request path matches: where two match, the one with more literal
/// segments, leftmost first; a trailing slash is ignored, as the routes ignore it.
fn matching(path: &str) -> Option<&'static Documented> {
    let path: Vec<&str> = segments(path).collect();
    documented()
        .iter()
        .filter(|documented| {
            documented.segments.len() == path.len()
                && documented
                    .segments
                    .iter()
                    .zip(&path)
                    .all(|(literal, segment)| literal.as_deref().is_none_or(|l| l == *segment))
        })
        .max_by_key(|documented| {
            documented
                .segments
                .iter()
                .map(|literal| u8::from(literal.is_some()))
                .collect::<Vec<_>>()
        })
}

/// A request path's [`route_template`] and [`allowed_methods`], from one look-up.
fn route(path: &str) -> (&'static str, Option<&'static str>) {
    if path.starts_with("/assets/") {
        return (page::ASSET_TEMPLATE, Some("GET"));
    }
    matching(path).map_or(("unmatched", None), |documented| {
        (
            documented.template.as_str(),
            Some(documented.allow.as_str()),
        )
    })
}

/// The label of a request path in metrics: the OpenAPI document's template it matches
/// (`/api/{orgnr}/owners`) or a web page's (`/company/{orgnr}`, `/assets/{version}/{file}`),
/// so there are only as many labels as routes, or `unmatched`.
#[must_use]
pub fn route_template(path: &str) -> &'static str {
    route(path).0
}

/// The methods a request path answers, as an `Allow` header lists them (`GET`, `POST`), when
/// it is a documented path.
#[must_use]
pub fn allowed_methods(path: &str) -> Option<&'static str> {
    route(path).1
}

/// A path's segments, without the leading and a trailing slash.
fn segments(path: &str) -> impl Iterator<Item = &str> {
    let path = path.strip_prefix('/').unwrap_or(path);
    path.strip_suffix('/').unwrap_or(path).split('/')
}

/// The whole API, with its rejection handler.
pub fn routes(
    service: Service,
    config: HttpConfig,
    operations: Operations,
) -> impl Filter<Extract = (warp::reply::Response,), Error = Infallible> + Clone {
    let auth = Arc::new(request::Auth::new(&config.api_tokens));
    let limit = config.body_limit;
    // Grouped and boxed, so the filter's type stays shallow enough for the compiler however
    // many routes there are.
    let writes = write::<Organisation>(service.clone(), auth.clone(), limit)
        .or(write::<PersonDetails>(service.clone(), auth.clone(), limit))
        .or(write::<Purchase>(service.clone(), auth, limit))
        .map(Reply::into_response)
        .boxed();
    let reads = get_organisation(service.clone())
        .or(person_holdings(service.clone()))
        .or(get_person(service.clone()))
        .or(owners(service.clone()))
        .or(organisation_holdings(service.clone()))
        .or(summary(service.clone()))
        .or(search(service.clone()))
        .map(Reply::into_response)
        .boxed();
    let years = years(service.clone())
        .or(history(service.clone()))
        .or(changes(service.clone()))
        .or(person_changes(service.clone()))
        .or(organisation_holding_changes(service.clone()))
        .map(Reply::into_response)
        .boxed();
    let pages = page::routes(service.clone());
    let graph = ultimate_owners(service.clone())
        .or(beneficial_owners(service.clone()))
        .or(organisation_ultimate_holdings(service.clone()))
        .or(person_ultimate_holdings(service.clone()))
        .or(ownership_graph(service.clone()))
        .or(bods(service))
        .map(Reply::into_response)
        .boxed();
    health()
        .or(platform(operations))
        .or(openapi_document())
        .or(writes)
        .or(reads)
        .or(years)
        .or(graph)
        .or(pages)
        .recover(recover)
        .map(Reply::into_response)
}

/// Only the endpoints a platform runs a process by (`/health/live`, `/health/ready`,
/// `/metrics`), for the processes that serve no API (`relay`, `project`).
pub fn operational_routes(
    operations: Operations,
) -> impl Filter<Extract = (warp::reply::Response,), Error = Infallible> + Clone {
    platform(operations)
        .recover(recover)
        .map(Reply::into_response)
}

fn platform(operations: Operations) -> warp::filters::BoxedFilter<(warp::reply::Response,)> {
    operations::live()
        .map(Reply::into_response)
        .or(operations::ready(operations.dependencies.into()))
        .unify()
        .or(operations::metrics(operations.metrics))
        .unify()
        .boxed()
}

/// Hands the service to a handler.
fn with_service(service: Service) -> impl Filter<Extract = (Service,), Error = Infallible> + Clone {
    warp::any().map(move || service.clone())
}

fn with_auth(
    auth: Arc<request::Auth>,
) -> impl Filter<Extract = (Arc<request::Auth>,), Error = Infallible> + Clone {
    warp::any().map(move || auth.clone())
}

/// The raw query string, empty when there is none.
fn raw_query() -> impl Filter<Extract = (String,), Error = Infallible> + Clone {
    warp::query::raw().or(warp::any().map(String::new)).unify()
}

/// A body whose `Content-Type` is not JSON.
#[derive(Debug)]
struct UnsupportedMediaType(String);

impl warp::reject::Reject for UnsupportedMediaType {}

/// Refuses a body declared as anything but JSON; a body without `Content-Type` is read as JSON.
fn json_content_type() -> impl Filter<Extract = (), Error = Rejection> + Clone {
    warp::header::optional::<String>("content-type")
        .and_then(|content_type: Option<String>| async move {
            match content_type {
                None => Ok(()),
                Some(value) => {
                    let essence = value
                        .split(';')
                        .next()
                        .unwrap_or_default()
                        .trim()
                        .to_ascii_lowercase();
                    if essence == "application/json" || essence.ends_with("+json") {
                        Ok(())
                    } else {
                        Err(warp::reject::custom(UnsupportedMediaType(value)))
                    }
                }
            }
        })
        .untuple_one()
}

/// The parts of a write: its `Authorization` and `Idempotency-Key` headers and its body, at
/// most `limit` bytes (checked before anything reads it).
fn write_request(
    limit: u64,
) -> impl Filter<Extract = (request::WriteRequest,), Error = Rejection> + Clone {
    warp::header::optional::<String>("authorization")
        .and(warp::header::optional::<String>("idempotency-key"))
        .and(json_content_type())
        .and(warp::body::content_length_limit(limit))
        .and(warp::body::bytes())
        .map(
            |authorization: Option<String>, idempotency_key: Option<String>, body: bytes::Bytes| {
                request::WriteRequest {
                    authorization,
                    idempotency_key,
                    body,
                }
            },
        )
}

/// `GET /health`.
fn health() -> impl Filter<Extract = (impl Reply,), Error = Rejection> + Clone {
    warp::path!("health")
        .and(warp::get())
        .map(|| warp::reply::json(&serde_json::json!({"status": "ok"})))
}

/// `GET /api/openapi.json`.
fn openapi_document() -> impl Filter<Extract = (impl Reply,), Error = Rejection> + Clone {
    let document = Arc::new(openapi());
    warp::path!("api" / "openapi.json")
        .and(warp::get())
        .map(move || warp::reply::json(document.as_ref()))
}

/// `POST /api/organization/`, `POST /api/person/` and `POST /api/share/`: the route of a
/// [`handlers::Command`], at the path it names once.
fn write<C: handlers::Command>(
    service: Service,
    auth: Arc<request::Auth>,
    limit: u64,
) -> impl Filter<Extract = (impl Reply,), Error = Rejection> + Clone {
    warp::path("api")
        .and(warp::path(C::SEGMENT))
        .and(warp::path::end())
        .and(warp::post())
        .and(with_service(service))
        .and(with_auth(auth))
        .and(write_request(limit))
        .then(handlers::write::<C>)
}

/// `GET /api/organization/{orgnr}`.
fn get_organisation(
    service: Service,
) -> impl Filter<Extract = (impl Reply,), Error = Rejection> + Clone {
    warp::path!("api" / "organization" / String)
        .and(warp::get())
        .and(raw_query())
        .and(with_service(service))
        .then(handlers::organisation)
}

/// `GET /api/person/{id}`.
fn get_person(service: Service) -> impl Filter<Extract = (impl Reply,), Error = Rejection> + Clone {
    warp::path!("api" / "person" / String)
        .and(warp::get())
        .and(raw_query())
        .and(with_service(service))
        .then(handlers::person)
}

/// `GET /api/person/{id}/holdings`.
fn person_holdings(
    service: Service,
) -> impl Filter<Extract = (impl Reply,), Error = Rejection> + Clone {
    warp::path!("api" / "person" / String / "holdings")
        .and(warp::get())
        .and(raw_query())
        .and(with_service(service))
        .then(handlers::person_holdings)
}

/// `GET /api/{orgnr}/owners`.
fn owners(service: Service) -> impl Filter<Extract = (impl Reply,), Error = Rejection> + Clone {
    warp::path!("api" / String / "owners")
        .and(warp::get())
        .and(raw_query())
        .and(with_service(service))
        .then(handlers::owners)
}

/// `GET /api/{orgnr}/holdings`.
fn organisation_holdings(
    service: Service,
) -> impl Filter<Extract = (impl Reply,), Error = Rejection> + Clone {
    warp::path!("api" / String / "holdings")
        .and(warp::get())
        .and(raw_query())
        .and(with_service(service))
        .then(handlers::organisation_holdings)
}

/// `GET /api/{orgnr}/summary`.
fn summary(service: Service) -> impl Filter<Extract = (impl Reply,), Error = Rejection> + Clone {
    warp::path!("api" / String / "summary")
        .and(warp::get())
        .and(raw_query())
        .and(with_service(service))
        .then(handlers::summary)
}

/// `GET /api/search`.
fn search(service: Service) -> impl Filter<Extract = (impl Reply,), Error = Rejection> + Clone {
    warp::path!("api" / "search")
        .and(warp::get())
        .and(raw_query())
        .and(with_service(service))
        .then(handlers::search)
}

/// `GET /api/years`.
fn years(service: Service) -> impl Filter<Extract = (impl Reply,), Error = Rejection> + Clone {
    warp::path!("api" / "years")
        .and(warp::get())
        .and(with_service(service))
        .then(handlers::years)
}

fn history(service: Service) -> impl Filter<Extract = (impl Reply,), Error = Rejection> + Clone {
    warp::path!("api" / String / "history")
        .and(warp::get())
        .and(with_service(service))
        .then(handlers::history)
}

fn changes(service: Service) -> impl Filter<Extract = (impl Reply,), Error = Rejection> + Clone {
    warp::path!("api" / String / "changes")
        .and(warp::get())
        .and(raw_query())
        .and(with_service(service))
        .then(handlers::changes)
}

fn person_changes(
    service: Service,
) -> impl Filter<Extract = (impl Reply,), Error = Rejection> + Clone {
    warp::path!("api" / "person" / String / "changes")
        .and(warp::get())
        .and(raw_query())
        .and(with_service(service))
        .then(handlers::person_changes)
}

fn organisation_holding_changes(
    service: Service,
) -> impl Filter<Extract = (impl Reply,), Error = Rejection> + Clone {
    warp::path!("api" / String / "holdings" / "changes")
        .and(warp::get())
        .and(raw_query())
        .and(with_service(service))
        .then(handlers::organisation_holding_changes)
}

/// `GET /api/{orgnr}/ultimate-owners`.
fn ultimate_owners(
    service: Service,
) -> impl Filter<Extract = (impl Reply,), Error = Rejection> + Clone {
    warp::path!("api" / String / "ultimate-owners")
        .and(warp::get())
        .and(raw_query())
        .and(with_service(service))
        .then(handlers::ultimate_owners)
}

/// `GET /api/{orgnr}/beneficial-owners`.
fn beneficial_owners(
    service: Service,
) -> impl Filter<Extract = (impl Reply,), Error = Rejection> + Clone {
    warp::path!("api" / String / "beneficial-owners")
        .and(warp::get())
        .and(raw_query())
        .and(with_service(service))
        .then(handlers::beneficial_owners)
}

/// `GET /api/{orgnr}/ultimate-holdings`.
fn organisation_ultimate_holdings(
    service: Service,
) -> impl Filter<Extract = (impl Reply,), Error = Rejection> + Clone {
    warp::path!("api" / String / "ultimate-holdings")
        .and(warp::get())
        .and(raw_query())
        .and(with_service(service))
        .then(handlers::organisation_ultimate_holdings)
}

/// `GET /api/person/{id}/ultimate-holdings`.
fn person_ultimate_holdings(
    service: Service,
) -> impl Filter<Extract = (impl Reply,), Error = Rejection> + Clone {
    warp::path!("api" / "person" / String / "ultimate-holdings")
        .and(warp::get())
        .and(raw_query())
        .and(with_service(service))
        .then(handlers::person_ultimate_holdings)
}

/// `GET /api/{orgnr}/graph`.
fn ownership_graph(
    service: Service,
) -> impl Filter<Extract = (impl Reply,), Error = Rejection> + Clone {
    warp::path!("api" / String / "graph")
        .and(warp::get())
        .and(raw_query())
        .and(with_service(service))
        .then(handlers::graph)
}

/// `GET /api/{orgnr}/bods`.
fn bods(service: Service) -> impl Filter<Extract = (impl Reply,), Error = Rejection> + Clone {
    warp::path!("api" / String / "bods")
        .and(warp::get())
        .and(raw_query())
        .and(with_service(service))
        .then(handlers::bods)
}

/// Turns the framework's rejections into problem details. Business errors never get here.
async fn recover(rejection: Rejection) -> Result<warp::reply::Response, Infallible> {
    use problem::Kind;
    use warp::reject::{
        InvalidHeader, InvalidQuery, LengthRequired, MethodNotAllowed, MissingHeader,
        PayloadTooLarge,
    };

    let problem = if rejection.is_not_found() {
        Problem::new(Kind::NotFound, "no such resource")
    } else if rejection.find::<PayloadTooLarge>().is_some() {
        Problem::new(
            Kind::PayloadTooLarge,
            "the request body is larger than this server accepts",
        )
    } else if rejection.find::<LengthRequired>().is_some() {
        Problem::new(
            Kind::LengthRequired,
            "a write needs a Content-Length header",
        )
    } else if let Some(UnsupportedMediaType(declared)) = rejection.find() {
        Problem::new(
            Kind::UnsupportedMediaType,
            format!("the body must be application/json, not {declared:?}"),
        )
    } else if let Some(header) = rejection.find::<InvalidHeader>() {
        Problem::validation(vec![FieldError::new(
            header.name(),
            "is not a valid header value",
        )])
    } else if let Some(header) = rejection.find::<MissingHeader>() {
        Problem::validation(vec![FieldError::new(header.name(), "is required")])
    } else if rejection.find::<InvalidQuery>().is_some() {
        Problem::validation(vec![FieldError::new(
            "query",
            "is not a valid query string",
        )])
    } else if rejection.find::<MethodNotAllowed>().is_some() {
        Problem::new(
            Kind::MethodNotAllowed,
            "this resource does not support the request's method",
        )
    } else {
        Problem::internal(
            &anyhow::anyhow!("unhandled rejection: {rejection:?}"),
            "routing",
        )
    };
    Ok(problem.into_response())
}

/// GETs `path` from the whole API (pages included) over `read`, as the binary serves it: the
/// modules' `warp::test` tests.
#[cfg(test)]
async fn get_over(
    path: &str,
    read: shareholders_ports::MockReadStore,
) -> warp::http::Response<bytes::Bytes> {
    let write = shareholders_ports::MockWriteStore::new();
    let service = Service::new(Arc::new(write), Arc::new(read));
    let routes = routes(service, HttpConfig::default(), Operations::default());
    warp::test::request()
        .method("GET")
        .path(path)
        .reply(&routes)
        .await
}
