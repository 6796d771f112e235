use async_trait::async_trait;
use shareholders_domain::RecordedEvent;

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// The broker could not be reached or did not confirm; the events may be retried.
    #[error("the broker is unavailable")]
    Unavailable(#[source] anyhow::Error),
    #[error(transparent)]
    Unknown(#[from] anyhow::Error),
}

#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error(transparent)]
    Publish(#[from] PublishError),
    #[error(transparent)]
    Unknown(#[from] anyhow::Error),
}

/// Where recorded events go: a broker, or an in-process projection.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait EventPublisher: Send + Sync + 'static {
    /// Publishes the events durably and returns only once the receiver has confirmed all of
    /// them. Subscribers may see an event more than once, and out of order.
    ///
    /// # Errors
    /// [`PublishError::Unavailable`] when the receiver is down or refused an event; none of the
    /// events is then taken as delivered. [`PublishError::Unknown`] for anything else.
    async fn publish(&self, events: &[RecordedEvent]) -> Result<(), PublishError>;
}

/// The outbox's unpublished events, as `GET /metrics` reads them.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct OutboxBacklog {
    /// Events recorded and not yet published.
    pub events: u64,
    /// When the oldest of them was recorded; `None` when there is none, or when no time was
    /// stored for them (events recorded before the store kept one).
    pub oldest_recorded_at: Option<std::time::SystemTime>,
}

/// The transactional outbox: events the write store recorded and has not yet handed on.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait Outbox: Send + Sync + 'static {
    /// Claims up to `limit` unpublished events (rows locked, skipping those another relay
    /// holds), hands them to `publisher`, and marks them published only when it confirms.
    /// Returns how many were published; 0 means the outbox is empty for now.
    ///
    /// # Errors
    /// [`RelayError::Publish`] when the publisher fails: the events stay unpublished and are
    /// claimed again later. [`RelayError::Unknown`] when the store fails.
    async fn relay(
        &self,
        limit: usize,
        publisher: std::sync::Arc<dyn EventPublisher>,
    ) -> Result<usize, RelayError>;

    /// How many recorded events are still unpublished, and when the oldest of them was
    /// recorded.
    ///
    /// # Errors
    /// [`RelayError::Unknown`] when the store fails.
    async fn backlog(&self) -> Result<OutboxBacklog, RelayError>;
}
