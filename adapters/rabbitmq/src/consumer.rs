use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, anyhow, bail};
use futures::{FutureExt as _, StreamExt as _};
use lapin::message::Delivery;
use lapin::options::{BasicAckOptions, BasicConsumeOptions, BasicNackOptions, BasicQosOptions};
use lapin::types::{AMQPValue, FieldTable};
use shareholders_domain::RecordedEvent;
use shareholders_ports::metrics::{record_applied, record_dead_lettered};
use shareholders_ports::{Projection, ProjectionError};
use tokio::sync::watch;

use shareholders_redact::redact;

use crate::publisher::RECORDED_AT_HEADER;
use crate::{Topology, check_url, open_connection};

/// How a projector consumes.
#[derive(Clone, Debug)]
pub struct ConsumerSettings {
    /// Unacknowledged messages the broker may send ahead (`basic.qos`).
    pub prefetch: u16,
    /// Deliveries already received that are applied together in one `Projection::apply`;
    /// 1 applies each message alone. At most `prefetch` are ever at hand.
    pub batch: usize,
    /// Attempts (deliveries, counted by the quorum queue) after which a message whose
    /// projection keeps failing with `ProjectionError::Unknown` is dead-lettered.
    pub max_attempts: u32,
    /// Pause before a failed message is returned to the queue for another attempt.
    pub retry_delay: Duration,
    /// First pause before reconnecting; it doubles up to `max_reconnect_backoff`.
    pub reconnect_backoff: Duration,
    pub max_reconnect_backoff: Duration,
    pub connect_timeout: Duration,
    /// The connection's name, as `rabbitmqctl list_connections` shows it.
    pub connection_name: String,
    /// PEM certificates trusted for `amqps://`, besides the system's roots.
    pub ca: Option<String>,
}

impl Default for ConsumerSettings {
    fn default() -> Self {
        Self {
            prefetch: 200,
            batch: 100,
            max_attempts: 5,
            retry_delay: Duration::from_millis(500),
            reconnect_backoff: Duration::from_millis(200),
            max_reconnect_backoff: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(10),
            connection_name: "shareholders-projector".to_owned(),
            ca: None,
        }
    }
}

/// Consumes the topology's queue and applies every event to `projection` until `shutdown`
/// turns true (or its sender is dropped).
///
/// Messages are acknowledged only after the projection applied them. An undecodable message
/// or a [`ProjectionError::Poison`] goes to the dead-letter queue at once; an event whose
/// projection fails with [`ProjectionError::Unknown`] is returned to the queue after
/// `retry_delay` and dead-lettered once it has been delivered `max_attempts` times. When the
/// broker goes away the consumer reconnects with exponential backoff; unacknowledged messages
/// are redelivered, to this consumer or another.
///
/// # Errors
/// Only for an invalid URL; broker failures are retried.
pub async fn run_consumer(
    url: &str,
    topology: Topology,
    projection: Arc<dyn Projection>,
    settings: ConsumerSettings,
    mut shutdown: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    check_url(url)?;
    let session = Session {
        url,
        topology: &topology,
        projection: projection.as_ref(),
        settings: &settings,
    };
    let mut backoff = settings.reconnect_backoff;
    loop {
        if *shutdown.borrow() {
            return Ok(());
        }
        let mut connected = false;
        match session.run(&mut shutdown, &mut connected).await {
            Ok(()) => return Ok(()),
            Err(error) => {
                if connected {
                    backoff = settings.reconnect_backoff;
                }
                tracing::warn!(
                    error = %format!("{error:#}"),
                    url = %redact(url),
                    queue = %topology.queue,
                    retry_in = ?backoff,
                    "consumer lost the broker; reconnecting"
                );
            }
        }
        tokio::select! {
            () = tokio::time::sleep(backoff) => {}
            _ = shutdown.wait_for(|stop| *stop) => return Ok(()),
        }
        backoff = (backoff * 2).min(
            settings
                .max_reconnect_backoff
                .max(settings.reconnect_backoff),
        );
    }
}

struct Session<'a> {
    url: &'a str,
    topology: &'a Topology,
    projection: &'a dyn Projection,
    settings: &'a ConsumerSettings,
}

fn consumer_tag() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "shareholders-projector-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

impl Session<'_> {
    /// One connection's life: `Ok` on shutdown, `Err` when the broker went away.
    async fn run(
        &self,
        shutdown: &mut watch::Receiver<bool>,
        connected: &mut bool,
    ) -> anyhow::Result<()> {
        let connection = open_connection(
            self.url,
            &self.settings.connection_name,
            self.settings.connect_timeout,
            self.settings.ca.as_deref(),
        )
        .await?;
        let result = self.consume(&connection, shutdown, connected).await;
        // Unacknowledged deliveries go back to the queue when the connection closes.
        let _ = tokio::time::timeout(
            Duration::from_secs(2),
            connection.close(200, "consumer stopping".into()),
        )
        .await;
        result
    }

    async fn consume(
        &self,
        connection: &lapin::Connection,
        shutdown: &mut watch::Receiver<bool>,
        connected: &mut bool,
    ) -> anyhow::Result<()> {
        let channel = connection
            .create_channel()
            .await
            .context("opening a channel")?;
        self.topology.declare(&channel).await?;
        channel
            .basic_qos(self.settings.prefetch.max(1), BasicQosOptions::default())
            .await
            .context("setting the prefetch")?;
        let mut consumer = channel
            .basic_consume(
                self.topology.queue.as_str().into(),
                consumer_tag().into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await
            .with_context(|| format!("consuming {}", self.topology.queue))?;
        *connected = true;
        tracing::info!(url = %redact(self.url), queue = %self.topology.queue, "consumer connected");

        let limit = self.settings.batch.max(1);
        loop {
            let next = tokio::select! {
                biased;
                _ = shutdown.wait_for(|stop| *stop) => return Ok(()),
                next = consumer.next() => next,
            };
            let mut batch = vec![next_delivery(next)?];
            // Take whatever else has already arrived, without waiting.
            while batch.len() < limit {
                match consumer.next().now_or_never() {
                    Some(next) => batch.push(next_delivery(next)?),
                    None => break,
                }
            }
            self.process(batch).await?;
        }
    }

    async fn process(&self, batch: Vec<Delivery>) -> anyhow::Result<()> {
        let mut decoded = Vec::with_capacity(batch.len());
        for delivery in batch {
            if delivery.redelivered || previous_deliveries(&delivery) > 0 {
                metrics::counter!(shareholders_ports::metrics::PROJECTOR_REDELIVERIES_TOTAL)
                    .increment(1);
            }
            match shareholders_event_json::decode(&delivery.data) {
                Ok(mut event) => {
                    event.recorded_at = recorded_at(&delivery);
                    decoded.push((delivery, event));
                }
                Err(error) => {
                    tracing::error!(
                        %error,
                        message_id = ?delivery.properties.message_id(),
                        queue = %self.topology.queue,
                        "undecodable message; dead-lettered"
                    );
                    settle(&delivery, Settle::DeadLetter).await?;
                }
            }
        }
        if decoded.len() > 1 {
            let events: Vec<RecordedEvent> = decoded.iter().map(|(_, e)| e.clone()).collect();
            match self.projection.apply(&events).await {
                Ok(()) => {
                    for (delivery, _) in &decoded {
                        settle(delivery, Settle::Ack).await?;
                    }
                    record_applied(&events);
                    return Ok(());
                }
                Err(error) => {
                    tracing::debug!(error = %format!("{error:#}"), "a batch failed; applying its events one by one");
                }
            }
        }
        for (delivery, event) in decoded {
            self.process_one(&delivery, event).await?;
        }
        Ok(())
    }

    async fn process_one(&self, delivery: &Delivery, event: RecordedEvent) -> anyhow::Result<()> {
        let position = event.position.get();
        let events = std::slice::from_ref(&event);
        match self.projection.apply(events).await {
            Ok(()) => {
                settle(delivery, Settle::Ack).await?;
                record_applied(events);
                Ok(())
            }
            Err(ProjectionError::Poison(reason)) => {
                tracing::error!(position, %reason, "the event cannot be applied; dead-lettered");
                settle(delivery, Settle::DeadLetter).await
            }
            Err(ProjectionError::Unknown(error)) => {
                let attempt = previous_deliveries(delivery).saturating_add(1);
                if attempt >= self.settings.max_attempts {
                    tracing::error!(
                        position,
                        attempt,
                        error = %format!("{error:#}"),
                        "the event failed too often; dead-lettered"
                    );
                    settle(delivery, Settle::DeadLetter).await
                } else {
                    tracing::warn!(
                        position,
                        attempt,
                        error = %format!("{error:#}"),
                        retry_in = ?self.settings.retry_delay,
                        "applying the event failed; it will be retried"
                    );
                    tokio::time::sleep(self.settings.retry_delay).await;
                    settle(delivery, Settle::Requeue).await
                }
            }
        }
    }
}

fn next_delivery(next: Option<lapin::Result<Delivery>>) -> anyhow::Result<Delivery> {
    match next {
        Some(Ok(delivery)) => Ok(delivery),
        Some(Err(error)) => Err(anyhow!(error).context("receiving")),
        None => bail!("the broker cancelled the consumer"),
    }
}

#[derive(Clone, Copy, Debug)]
enum Settle {
    Ack,
    Requeue,
    DeadLetter,
}

async fn settle(delivery: &Delivery, how: Settle) -> anyhow::Result<()> {
    let done = match how {
        Settle::Ack => delivery.ack(BasicAckOptions::default()).await,
        Settle::Requeue | Settle::DeadLetter => {
            delivery
                .nack(BasicNackOptions {
                    multiple: false,
                    requeue: matches!(how, Settle::Requeue),
                })
                .await
        }
    }
    .with_context(|| format!("settling a delivery ({how:?})"))?;
    if done {
        if matches!(how, Settle::DeadLetter) {
            record_dead_lettered(1);
        }
        Ok(())
    } else {
        // The channel that delivered it is gone; the broker redelivers it.
        bail!("the channel closed before a delivery was settled ({how:?})")
    }
}

/// How often the quorum queue delivered the message before (its `x-delivery-count`).
fn previous_deliveries(delivery: &Delivery) -> u32 {
    header(delivery, "x-delivery-count")
        .and_then(count)
        .unwrap_or(0)
}

/// When the write model recorded the event, from the header the publisher set; `None` for a
/// message without it (from an older publisher, or a foreign one).
fn recorded_at(delivery: &Delivery) -> Option<SystemTime> {
    let AMQPValue::LongLongInt(millis) = header(delivery, RECORDED_AT_HEADER)? else {
        return None;
    };
    Some(UNIX_EPOCH + Duration::from_millis(u64::try_from(*millis).ok()?))
}

fn header<'a>(delivery: &'a Delivery, name: &str) -> Option<&'a AMQPValue> {
    delivery
        .properties
        .headers()
        .as_ref()?
        .inner()
        .iter()
        .find(|(key, _)| key.as_str() == name)
        .map(|(_, value)| value)
}

fn count(value: &AMQPValue) -> Option<u32> {
    let wide: i128 = match value {
        AMQPValue::ShortShortInt(v) => (*v).into(),
        AMQPValue::ShortShortUInt(v) => (*v).into(),
        AMQPValue::ShortInt(v) => (*v).into(),
        AMQPValue::ShortUInt(v) => (*v).into(),
        AMQPValue::LongInt(v) => (*v).into(),
        AMQPValue::LongUInt(v) => (*v).into(),
        AMQPValue::LongLongInt(v) => (*v).into(),
        AMQPValue::Timestamp(v) => (*v).into(),
        _ => return None,
    };
    Some(u32::try_from(wide.max(0)).unwrap_or(u32::MAX))
}
