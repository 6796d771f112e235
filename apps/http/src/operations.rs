//! The endpoints a platform runs the service by: `GET /health/live`, `GET /health/ready` and
//! `GET /metrics`.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use shareholders_ports::Dependency;
use warp::http::header::{CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use warp::http::{Response, StatusCode};
use warp::{Filter, Rejection, Reply};

use crate::problem::{Kind, Problem};

/// How long readiness waits for each dependency.
pub const READY_TIMEOUT: Duration = Duration::from_secs(3);

/// The Prometheus text exposition format's media type.
pub const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// What the operational endpoints need from the process.
#[derive(Clone, Default)]
pub struct Operations {
    /// Every store and broker the process was configured with: `GET /health/ready` asks each.
    pub dependencies: Vec<Arc<dyn Dependency>>,
    /// The metrics, rendered for `GET /metrics`; without them that route answers 404.
    pub metrics: Option<Arc<dyn Exposition>>,
}

impl std::fmt::Debug for Operations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Operations")
            .field(
                "dependencies",
                &self
                    .dependencies
                    .iter()
                    .map(|d| d.name())
                    .collect::<Vec<_>>(),
            )
            .field("metrics", &self.metrics.is_some())
            .finish()
    }
}

/// The process's metrics in the Prometheus text exposition format.
#[async_trait]
pub trait Exposition: Send + Sync + 'static {
    /// Brings the gauges read at scrape time up to date (as far as their sources answer), then
    /// renders every metric.
    async fn render(&self) -> String;
}

/// `GET /health/live`: the process serves requests.
pub(crate) fn live() -> impl Filter<Extract = (impl Reply,), Error = Rejection> + Clone {
    warp::path!("health" / "live")
        .and(warp::get())
        .map(|| warp::reply::json(&serde_json::json!({"status": "alive"})))
}

/// `GET /health/ready`: every dependency answers, or a 503 that names those that do not.
pub(crate) fn ready(
    dependencies: Arc<[Arc<dyn Dependency>]>,
) -> impl Filter<Extract = (warp::reply::Response,), Error = Rejection> + Clone {
    warp::path!("health" / "ready")
        .and(warp::get())
        .then(move || readiness(dependencies.clone()))
}

async fn readiness(dependencies: Arc<[Arc<dyn Dependency>]>) -> warp::reply::Response {
    let checks = dependencies.iter().map(|dependency| async move {
        let outcome = match tokio::time::timeout(READY_TIMEOUT, dependency.check()).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => Err(format!("{error:#}")),
            Err(_) => Err(format!("no answer within {READY_TIMEOUT:?}")),
        };
        (dependency.name(), outcome)
    });
    let outcomes = futures::future::join_all(checks).await;
    let failing: Vec<&'static str> = outcomes
        .iter()
        .filter_map(|(name, outcome)| {
            outcome.as_ref().err().map(|reason| {
                // The reason stays in the log: it may say more about the network than a
                // client should learn.
                tracing::warn!(dependency = name, %reason, "not ready");
                *name
            })
        })
        .collect();
    if failing.is_empty() {
        let dependencies: Vec<_> = outcomes
            .iter()
            .map(|(name, _)| serde_json::json!({"name": name, "status": "up"}))
            .collect();
        return warp::reply::json(&serde_json::json!({
            "status": "ready",
            "dependencies": dependencies,
        }))
        .into_response();
    }
    let detail = format!("not ready: {} did not answer", failing.join(", "));
    Problem::new(Kind::NotReady, detail)
        .with_extension("failing", serde_json::json!(failing))
        .with_header(RETRY_AFTER, HeaderValue::from_static("5"))
        .into_response()
}

/// `GET /metrics`.
pub(crate) fn metrics(
    exposition: Option<Arc<dyn Exposition>>,
) -> impl Filter<Extract = (warp::reply::Response,), Error = Rejection> + Clone {
    warp::path!("metrics").and(warp::get()).and_then(move || {
        let exposition = exposition.clone();
        async move {
            let Some(exposition) = exposition else {
                return Err(warp::reject::not_found());
            };
            let mut response = Response::new(exposition.render().await.into());
            *response.status_mut() = StatusCode::OK;
            response
                .headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static(PROMETHEUS_TEXT));
            Ok::<warp::reply::Response, Rejection>(response)
        }
    })
}
