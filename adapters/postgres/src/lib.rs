//! The shareholder register's write model on PostgreSQL.
//!
//! [`PostgresStore`] records commands ([`WriteStore`](shareholders_ports::WriteStore)) together
//! with their events in a transactional outbox ([`Outbox`](shareholders_ports::Outbox)), streams
//! its whole state ([`PostgresStore::snapshot`]) and loads each year's register extract as a
//! snapshot of its own through `COPY` ([`RegisterImport`](shareholders_ports::RegisterImport)).

mod health;
mod outbox;
mod retention;
mod rows;
mod snapshot;
#[cfg(any(test, feature = "testkit"))]
pub mod testkit;
mod write;
mod year;

use std::time::Duration;

use anyhow::Context as _;
use std::str::FromStr as _;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

pub use snapshot::PostgresSnapshot;

/// The write model on a PostgreSQL pool. Cloning shares the pool.
#[derive(Clone, Debug)]
pub struct PostgresStore {
    pool: PgPool,
}

/// The pool size [`PostgresStore::connect`] uses.
pub const DEFAULT_MAX_CONNECTIONS: u32 = 16;

/// How often a transaction that hit a deadlock or a serialization failure is tried in all.
const ATTEMPTS: u32 = 5;

impl PostgresStore {
    /// Connects to the database at `url` (no migration: see [`PostgresStore::migrate`]).
    ///
    /// # Errors
    /// When the database cannot be reached.
    pub async fn connect(url: &str) -> anyhow::Result<PostgresStore> {
        Self::connect_with(url, DEFAULT_MAX_CONNECTIONS).await
    }

    /// As [`PostgresStore::connect`], with at most `max_connections` connections.
    ///
    /// # Errors
    /// When the database cannot be reached.
    pub async fn connect_with(url: &str, max_connections: u32) -> anyhow::Result<PostgresStore> {
        Self::connect_trusting(url, max_connections, None).await
    }

    /// As [`PostgresStore::connect_with`], trusting the PEM certificates of `ca` for TLS
    /// (`sslmode=verify-ca` or `verify-full` in the URL checks the server's certificate
    /// against them; `require` encrypts without checking, as libpq does).
    ///
    /// # Errors
    /// When the URL is invalid or the database cannot be reached.
    pub async fn connect_trusting(
        url: &str,
        max_connections: u32,
        ca: Option<&[u8]>,
    ) -> anyhow::Result<PostgresStore> {
        let mut options = PgConnectOptions::from_str(url).with_context(|| {
            format!(
                "invalid PostgreSQL URL {}",
                shareholders_redact::redact(url)
            )
        })?;
        if let Some(ca) = ca {
            options = options.ssl_root_cert_from_pem(ca.to_vec());
        }
        let pool = PgPoolOptions::new()
            .max_connections(max_connections.max(1))
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options)
            .await
            .with_context(|| {
                format!(
                    "cannot connect to PostgreSQL at {}",
                    shareholders_redact::redact(url)
                )
            })?;
        Ok(Self { pool })
    }

    /// Wraps an existing pool.
    #[must_use]
    pub fn from_pool(pool: PgPool) -> Self {
        Self { pool }
    }

    /// The pool, for callers that need it (health checks).
    #[must_use]
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Applies the migrations in `migrations/postgres`.
    ///
    /// # Errors
    /// When a migration fails or the applied ones differ from the embedded ones.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        sqlx::migrate!("../../migrations/postgres")
            .run(&self.pool)
            .await
            .context("cannot migrate the PostgreSQL write model")
    }

    /// The write model's state as sorted streams.
    #[must_use]
    pub fn snapshot(&self) -> PostgresSnapshot {
        PostgresSnapshot::new(self.pool.clone())
    }
}

/// The SQLSTATE of a database error anywhere in the chain.
fn sqlstate(error: &anyhow::Error) -> Option<String> {
    error
        .chain()
        .find_map(|cause| match cause.downcast_ref::<sqlx::Error>() {
            Some(sqlx::Error::Database(db)) => db.code().map(|c| c.into_owned()),
            _ => None,
        })
}

/// A deadlock or a serialization failure: the transaction may simply be run again.
fn is_retryable(error: &anyhow::Error) -> bool {
    matches!(sqlstate(error).as_deref(), Some("40P01" | "40001"))
}

/// A pause before another attempt, growing with the attempt and jittered by the clock.
async fn backoff(attempt: u32) {
    let jitter = u64::from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or_default()
            % 5,
    );
    tokio::time::sleep(Duration::from_millis(u64::from(attempt) * 5 + jitter + 1)).await;
}
