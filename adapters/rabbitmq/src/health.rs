//! The broker as a dependency: it accepts a connection.

use std::time::Duration;

use async_trait::async_trait;
use shareholders_ports::Dependency;

use crate::{check_url, open_connection};

/// The broker at a URL, checked by opening (and closing) a connection of its own, named
/// `<name>`, so a check never disturbs the relay's or the projector's connection.
#[derive(Clone)]
pub struct BrokerHealth {
    url: String,
    connection_name: String,
    timeout: Duration,
    ca: Option<String>,
}

impl std::fmt::Debug for BrokerHealth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BrokerHealth")
            .field("url", &shareholders_redact::redact(&self.url))
            .field("connection_name", &self.connection_name)
            .finish_non_exhaustive()
    }
}

impl BrokerHealth {
    /// # Errors
    /// When `url` is not an AMQP URL.
    pub fn new(url: &str, connection_name: impl Into<String>) -> anyhow::Result<Self> {
        check_url(url)?;
        Ok(Self {
            url: url.to_owned(),
            connection_name: connection_name.into(),
            timeout: Duration::from_secs(5),
            ca: None,
        })
    }

    /// Trusts these PEM certificates for `amqps://`, besides the system's roots.
    #[must_use]
    pub fn trusting(mut self, ca: Option<String>) -> Self {
        self.ca = ca;
        self
    }
}

#[async_trait]
impl Dependency for BrokerHealth {
    fn name(&self) -> &'static str {
        "rabbitmq"
    }

    async fn check(&self) -> anyhow::Result<()> {
        let connection = open_connection(
            &self.url,
            &self.connection_name,
            self.timeout,
            self.ca.as_deref(),
        )
        .await?;
        // Best effort: the check has passed once the broker accepted the connection.
        let _ = connection.close(200, "health check done".into()).await;
        Ok(())
    }
}
