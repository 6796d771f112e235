use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, anyhow};
use async_trait::async_trait;
use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Channel, Connection};
use shareholders_domain::RecordedEvent;
use shareholders_ports::{EventPublisher, PublishError};
use tokio::sync::Mutex;

use shareholders_redact::redact;

use crate::{Topology, check_url, open_connection};

/// The header that carries when the write model recorded the event, in milliseconds since the
/// epoch (a long-long: AMQP's `timestamp` property has whole seconds only). The projector
/// measures its lag from it; the event's JSON does not change.
pub(crate) const RECORDED_AT_HEADER: &str = "x-recorded-at-ms";

fn recorded_at_header(recorded_at: SystemTime) -> FieldTable {
    let millis = recorded_at
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis();
    let mut headers = FieldTable::default();
    headers.insert(
        RECORDED_AT_HEADER.into(),
        AMQPValue::LongLongInt(i64::try_from(millis).unwrap_or(i64::MAX)),
    );
    headers
}

/// How a [`RabbitPublisher`] connects and how long it waits for the broker.
#[derive(Clone, Debug)]
pub struct PublisherSettings {
    /// The connection's name, as `rabbitmqctl list_connections` shows it.
    pub connection_name: String,
    pub connect_timeout: Duration,
    /// How long a batch may wait for the broker's confirms before it counts as failed.
    pub confirm_timeout: Duration,
    /// PEM certificates trusted for `amqps://`, besides the system's roots.
    pub ca: Option<String>,
}

impl Default for PublisherSettings {
    fn default() -> Self {
        Self {
            connection_name: "shareholders-relay".to_owned(),
            connect_timeout: Duration::from_secs(10),
            confirm_timeout: Duration::from_secs(30),
            ca: None,
        }
    }
}

struct Link {
    connection: Connection,
    channel: Channel,
}

impl Link {
    fn usable(&self) -> bool {
        self.connection.status().connected() && self.channel.status().connected()
    }

    async fn close(self) {
        // Best effort: the connection is usually dead already.
        let _ = tokio::time::timeout(
            Duration::from_secs(1),
            self.connection.close(200, "closing".into()),
        )
        .await;
    }
}

/// Publishes events to the topology's exchange with publisher confirms: persistent JSON
/// messages (`message_id` = the event's position, routing key = its type name, the header
/// `x-recorded-at-ms` = when it was recorded, where known), `mandatory`.
///
/// A batch succeeds only when the broker acked every message and routed each to a queue. When
/// the connection or channel is gone the batch fails with [`PublishError::Unavailable`] and the
/// next call reconnects; the relay loop (`shareholders_ports::run_relay`) retries with backoff.
pub struct RabbitPublisher {
    url: String,
    topology: Topology,
    settings: PublisherSettings,
    link: Mutex<Option<Link>>,
}

impl std::fmt::Debug for RabbitPublisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RabbitPublisher")
            .field("url", &redact(&self.url))
            .field("topology", &self.topology)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// Why a batch failed: a broken link is dropped and reopened on the next call.
enum Failure {
    Broken(anyhow::Error),
    Refused(anyhow::Error),
}

impl RabbitPublisher {
    /// Connects, declares the topology and enables publisher confirms.
    ///
    /// # Errors
    /// When the URL is invalid, the broker cannot be reached or refuses the topology.
    pub async fn connect(url: &str, topology: Topology) -> anyhow::Result<Self> {
        Self::connect_with(url, topology, PublisherSettings::default()).await
    }

    /// [`connect`](Self::connect) with explicit settings.
    ///
    /// # Errors
    /// As [`connect`](Self::connect).
    pub async fn connect_with(
        url: &str,
        topology: Topology,
        settings: PublisherSettings,
    ) -> anyhow::Result<Self> {
        let publisher = Self::lazy(url, topology, settings)?;
        let link = publisher.open().await?;
        *publisher.link.lock().await = Some(link);
        Ok(publisher)
    }

    /// A publisher that connects on its first publish (e.g. when the broker may start after
    /// the service).
    ///
    /// # Errors
    /// When the URL is invalid.
    pub fn lazy(
        url: &str,
        topology: Topology,
        settings: PublisherSettings,
    ) -> anyhow::Result<Self> {
        check_url(url)?;
        Ok(Self {
            url: url.to_owned(),
            topology,
            settings,
            link: Mutex::new(None),
        })
    }

    #[must_use]
    pub fn topology(&self) -> &Topology {
        &self.topology
    }

    /// Closes the connection, if open. A later publish opens a new one.
    pub async fn close(&self) {
        if let Some(link) = self.link.lock().await.take() {
            link.close().await;
        }
    }

    async fn open(&self) -> anyhow::Result<Link> {
        let connection = open_connection(
            &self.url,
            &self.settings.connection_name,
            self.settings.connect_timeout,
            self.settings.ca.as_deref(),
        )
        .await?;
        let channel = connection
            .create_channel()
            .await
            .context("opening a channel")?;
        self.topology.declare(&channel).await?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .context("enabling publisher confirms")?;
        tracing::info!(url = %redact(&self.url), exchange = %self.topology.exchange, "publisher connected");
        Ok(Link {
            connection,
            channel,
        })
    }

    async fn send(&self, channel: &Channel, events: &[RecordedEvent]) -> Result<(), Failure> {
        let deadline = tokio::time::Instant::now() + self.settings.confirm_timeout;
        let mut confirms = Vec::with_capacity(events.len());
        for recorded in events {
            let payload = shareholders_event_json::encode(recorded);
            let kind = recorded.event.type_name();
            let mut properties = BasicProperties::default()
                .with_delivery_mode(2)
                .with_content_type("application/json".into())
                .with_message_id(recorded.position.get().to_string().into())
                .with_type(kind.into());
            if let Some(recorded_at) = recorded.recorded_at {
                properties = properties.with_headers(recorded_at_header(recorded_at));
            }
            let confirm = channel
                .basic_publish(
                    self.topology.exchange.as_str().into(),
                    kind.into(),
                    BasicPublishOptions {
                        mandatory: true,
                        ..BasicPublishOptions::default()
                    },
                    &payload,
                    properties,
                )
                .await
                .map_err(|e| Failure::Broken(anyhow!(e).context("publishing")))?;
            confirms.push((recorded.position, confirm));
        }
        let mut refused = None;
        for (position, confirm) in confirms {
            let confirmation = tokio::time::timeout_at(deadline, confirm)
                .await
                .map_err(|_| {
                    Failure::Broken(anyhow!(
                        "the broker did not confirm within {:?}",
                        self.settings.confirm_timeout
                    ))
                })?
                .map_err(|e| Failure::Broken(anyhow!(e).context("waiting for confirms")))?;
            if confirmation.is_nack() {
                refused
                    .get_or_insert_with(|| anyhow!("the broker nacked event {}", position.get()));
            } else if let Some(returned) = confirmation.take_message() {
                refused.get_or_insert_with(|| {
                    anyhow!(
                        "the broker returned event {} as unroutable: {} {}",
                        position.get(),
                        returned.reply_code,
                        returned.reply_text
                    )
                });
            }
        }
        refused.map_or(Ok(()), |e| Err(Failure::Refused(e)))
    }
}

#[async_trait]
impl EventPublisher for RabbitPublisher {
    async fn publish(&self, events: &[RecordedEvent]) -> Result<(), PublishError> {
        if events.is_empty() {
            return Ok(());
        }
        let mut slot = self.link.lock().await;
        let link = match slot.take() {
            Some(link) if link.usable() => link,
            stale => {
                if let Some(stale) = stale {
                    tracing::info!("publisher connection lost; reconnecting");
                    stale.close().await;
                }
                self.open().await.map_err(|error| {
                    tracing::warn!(error = %format!("{error:#}"), "the publisher cannot connect");
                    PublishError::Unavailable(error)
                })?
            }
        };
        match self.send(&link.channel, events).await {
            Ok(()) => {
                *slot = Some(link);
                Ok(())
            }
            Err(Failure::Refused(error)) => {
                tracing::warn!(error = %format!("{error:#}"), events = events.len(), "the broker refused a batch");
                *slot = Some(link);
                Err(PublishError::Unavailable(error))
            }
            Err(Failure::Broken(error)) => {
                tracing::warn!(error = %format!("{error:#}"), events = events.len(), "publishing failed; the connection will be reopened");
                link.close().await;
                Err(PublishError::Unavailable(error))
            }
        }
    }
}
