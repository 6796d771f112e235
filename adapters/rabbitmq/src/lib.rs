//! The RabbitMQ adapter: the outbox relay's [`RabbitPublisher`] and the projector's
//! [`run_consumer`], over one durable [`Topology`].
//!
//! Delivery is at least once end to end. The publisher returns only once the broker has
//! confirmed every message of a batch (publisher confirms, persistent messages, `mandatory`),
//! so an event leaves the outbox only when it is safely queued. The consumer acknowledges a
//! message only after the projection applied it; the projection is idempotent and versioned,
//! so redeliveries and several competing consumers are harmless.
//!
//! The projector's queue is a quorum queue: it is replicated where the cluster allows it, and it
//! counts deliveries (`x-delivery-count`), which bounds the retries of a failing event. Messages
//! that cannot be applied go to a dead-letter exchange and queue.

mod consumer;
mod health;
mod publisher;
#[cfg(feature = "testkit")]
pub mod testkit;
mod topology;

pub use consumer::{ConsumerSettings, run_consumer};
pub use health::BrokerHealth;
pub use publisher::{PublisherSettings, RabbitPublisher};
pub use topology::Topology;

use shareholders_redact::redact;

/// Connects with a timeout and the given connection name (shown by `rabbitmqctl
/// list_connections` and the management UI). An `amqps://` URL is served over TLS, trusting
/// the system's roots and, when given, the PEM certificates of `ca`.
async fn open_connection(
    url: &str,
    connection_name: &str,
    timeout: std::time::Duration,
    ca: Option<&str>,
) -> anyhow::Result<lapin::Connection> {
    use anyhow::Context as _;
    let properties =
        lapin::ConnectionProperties::default().with_connection_name(connection_name.into());
    let tls = lapin::tcp::OwnedTLSConfig {
        identity: None,
        cert_chain: ca.map(str::to_owned),
    };
    let connect = async {
        lapin::ConnectionBuilder::new()?
            .with_uri_str(url.to_owned())
            .with_properties(properties)
            .with_tls_config(tls)
            .connect()
            .await
    };
    tokio::time::timeout(timeout, connect)
        .await
        .map_err(|_| anyhow::anyhow!("timed out after {timeout:?}"))
        .and_then(|connected| connected.map_err(anyhow::Error::from))
        .with_context(|| format!("connecting to {}", redact(url)))
}

/// Checks that `url` is an AMQP URL, without revealing its password in the error.
fn check_url(url: &str) -> anyhow::Result<()> {
    url.parse::<lapin::uri::AMQPUri>()
        .map(|_| ())
        .map_err(|reason| anyhow::anyhow!("invalid AMQP URL {}: {reason}", redact(url)))
}
