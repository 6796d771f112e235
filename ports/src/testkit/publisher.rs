//! A publisher that records what it is given, optionally slowly, optionally failing.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use shareholders_domain::RecordedEvent;

use crate::{EventPublisher, PublishError};

/// Keeps every event it publishes, in order; fails with `Unavailable` while `fail` is set.
#[derive(Debug, Default)]
pub struct Recorder {
    pub events: Mutex<Vec<RecordedEvent>>,
    pub fail: AtomicBool,
    pub delay: Option<Duration>,
}

impl Recorder {
    #[must_use]
    pub fn failing() -> Self {
        let recorder = Self::default();
        recorder.fail.store(true, Ordering::SeqCst);
        recorder
    }

    #[must_use]
    pub fn slow(delay: Duration) -> Self {
        Self {
            delay: Some(delay),
            ..Self::default()
        }
    }

    /// # Panics
    /// When a publish panicked while holding the events.
    #[must_use]
    pub fn events(&self) -> Vec<RecordedEvent> {
        self.events.lock().expect("not poisoned").clone()
    }
}

#[async_trait]
impl EventPublisher for Recorder {
    async fn publish(&self, events: &[RecordedEvent]) -> Result<(), PublishError> {
        if let Some(delay) = self.delay {
            tokio::time::sleep(delay).await;
        }
        if self.fail.load(Ordering::SeqCst) {
            return Err(PublishError::Unavailable(anyhow::anyhow!(
                "the broker is down"
            )));
        }
        self.events
            .lock()
            .expect("not poisoned")
            .extend_from_slice(events);
        Ok(())
    }
}
