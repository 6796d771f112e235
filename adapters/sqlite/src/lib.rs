//! The embedded default store of the shareholder register: the write model, the outbox and the
//! read model in one SQLite file, with no server.
//!
//! The write model (organisations, persons, holdings, purchases, the outbox and idempotency
//! keys) and the read model (`read_*` tables) are separate tables: the read side is written
//! only by [`Projection::apply`](shareholders_ports::Projection::apply) and the
//! [`ReadModelLoader`](shareholders_ports::ReadModelLoader), with versioned upserts, so the
//! embedded mode runs the same CQRS path as the server stack. Every stored read-model column is
//! either compared by `verify` (the fields of [`shareholders_ports::diff`]) or read by no
//! query; versions and applied positions are the bookkeeping left out.
//!
//! SQLite has one writer. Every write runs in a `BEGIN IMMEDIATE` transaction, so concurrent
//! commands (even from another process on the same file) serialise; within a process, writes
//! also queue on an async mutex instead of polling SQLite's busy handler.

mod bulk;
mod codec;
mod health;
mod import;
mod outbox;
mod ownership_log;
mod projection;
mod read;
mod retention;
mod snapshot;
mod write;
mod years;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Sqlite, Transaction};
use tokio::sync::{Mutex, OwnedMutexGuard};

pub use snapshot::{SqliteReadSnapshot, SqliteWriteSnapshot};

/// The name of the database file inside the data directory.
pub const DATABASE_FILE: &str = "shareholders.db";

/// The page cache of the connection that writes, in KiB (SQLite's default is 2,000). A bulk
/// load into the read model inserts into `read_holdings_by_owner` in owner order while the rows
/// come in company order: with the default cache, a loaded batch spilled dirty index pages to
/// the WAL in the middle of its statements, and that spill took most of a rebuild's time. It
/// is allocated only as pages are read, and only this one connection has it.
const WRITER_CACHE_KIB: u32 = 256 * 1024;

/// The embedded store. Cloning is cheap: clones share the pool and the locks.
#[derive(Clone, Debug)]
pub struct SqliteStore {
    pool: SqlitePool,
    /// The one connection write transactions run on (see [`WRITER_CACHE_KIB`]).
    writes: SqlitePool,
    /// The database file.
    path: Arc<PathBuf>,
    /// Serialises this process's write transactions.
    write_lock: Arc<Mutex<()>>,
    /// Serialises relays, so two never publish the same batch.
    relay_lock: Arc<Mutex<()>>,
}

/// A write transaction holding the process's write lock until it ends.
pub(crate) struct Writer {
    pub(crate) tx: Transaction<'static, Sqlite>,
    _guard: OwnedMutexGuard<()>,
}

impl Writer {
    pub(crate) async fn commit(self) -> anyhow::Result<()> {
        self.tx
            .commit()
            .await
            .context("committing the SQLite transaction")
    }
}

impl SqliteStore {
    /// Opens (or creates) `<data_dir>/shareholders.db` in WAL mode and runs the migrations.
    ///
    /// # Errors
    /// When the directory cannot be created or the database cannot be opened or migrated.
    pub async fn open(data_dir: &Path) -> anyhow::Result<SqliteStore> {
        tokio::fs::create_dir_all(data_dir)
            .await
            .with_context(|| format!("creating the data directory {}", data_dir.display()))?;
        let path = data_dir.join(DATABASE_FILE);
        let options = SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(30))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(60))
            .connect_with(options.clone())
            .await
            .with_context(|| format!("opening the SQLite database {}", path.display()))?;
        // Write transactions already queue on `write_lock`: one connection keeps its cache.
        let writes = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(60))
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options.pragma("cache_size", format!("-{WRITER_CACHE_KIB}")))
            .await
            .with_context(|| format!("opening the SQLite database {}", path.display()))?;
        let store = SqliteStore {
            pool,
            writes,
            path: Arc::new(path.clone()),
            write_lock: Arc::new(Mutex::new(())),
            relay_lock: Arc::new(Mutex::new(())),
        };
        store.migrate().await?;
        // A load that stopped after its clear left them out.
        let mut writer = store.writer().await?;
        projection::index_holdings(&mut writer.tx).await?;
        writer.commit().await?;
        years::index_served_years(&store).await?;
        tracing::info!(path = %path.display(), "opened the SQLite store");
        Ok(store)
    }

    /// Runs the embedded migrations (idempotent; [`SqliteStore::open`] already does).
    ///
    /// # Errors
    /// When a migration fails.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        sqlx::migrate!("../../migrations/sqlite")
            .run(&self.pool)
            .await
            .context("migrating the SQLite database")
    }

    /// Closes the pools; further use fails.
    pub async fn close(&self) {
        self.pool.close().await;
        self.writes.close().await;
    }

    /// The write model's state, to verify or rebuild the read model.
    #[must_use]
    pub fn write_snapshot(&self) -> SqliteWriteSnapshot {
        SqliteWriteSnapshot::new(self.pool.clone())
    }

    /// The read model's state.
    #[must_use]
    pub fn read_snapshot(&self) -> SqliteReadSnapshot {
        SqliteReadSnapshot::new(self.pool.clone())
    }

    /// Starts a `BEGIN IMMEDIATE` transaction under the process's write lock. How long that
    /// waited (for the lock, a connection and the file's write lock) is the pool's wait.
    pub(crate) async fn writer(&self) -> anyhow::Result<Writer> {
        let started = std::time::Instant::now();
        let guard = self.write_lock.clone().lock_owned().await;
        let tx = self
            .writes
            .begin_with("BEGIN IMMEDIATE")
            .await
            .context("starting a SQLite write transaction")?;
        metrics::histogram!(shareholders_ports::metrics::POOL_WAIT_SECONDS, "pool" => "sqlite")
            .record(started.elapsed().as_secs_f64());
        Ok(Writer { tx, _guard: guard })
    }
}
