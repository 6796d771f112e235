use async_trait::async_trait;
use shareholders_domain::RecordedEvent;

#[derive(Debug, thiserror::Error)]
pub enum ProjectionError {
    /// The event can never be applied (it contradicts the read model's schema); retrying is
    /// pointless and it belongs in a dead-letter queue.
    #[error("the event cannot be applied: {0}")]
    Poison(String),
    #[error(transparent)]
    Unknown(#[from] anyhow::Error),
}

/// The read model's writer.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait Projection: Send + Sync + 'static {
    /// Applies events to the read model and records their positions as applied. Applying is
    /// idempotent and order-insensitive: each document is overwritten only by a newer version
    /// of the state it holds, so duplicates, reordering and retries leave the same result.
    ///
    /// # Errors
    /// [`ProjectionError::Poison`] for an event that can never be applied;
    /// [`ProjectionError::Unknown`] when the store fails (the events may be retried).
    async fn apply(&self, events: &[RecordedEvent]) -> Result<(), ProjectionError>;
}
