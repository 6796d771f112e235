//! Both models' whole state, as sorted streams, to verify and rebuild the read model.

use anyhow::Context as _;
use async_trait::async_trait;
use futures::stream::{BoxStream, StreamExt as _};
use shareholders_domain::Position;
use shareholders_ports::{CompanySnapshot, HoldingSnapshot, PersonSnapshot, Snapshot};
use sqlx::query::Query;
use sqlx::sqlite::{SqliteArguments, SqliteRow};
use sqlx::{Sqlite, SqlitePool};

use crate::codec::{self, count};

const WRITE_COMPANIES: &str = "SELECT o.orgnr, o.name, o.postal_code, o.place, \
    o.country, o.total_shares, o.registered_shares, o.owner_count, o.foreign_owner_count, \
    (SELECT json_group_array(json_array(c.share_class, c.shares)) FROM company_classes c \
        WHERE c.company = o.orgnr) AS classes, \
    o.holding_count, o.version, o.owner_version \
    FROM organisations o ORDER BY o.orgnr";

const WRITE_PERSONS: &str = "SELECT id, name, birth_year, postal_code, place, \
    country, holding_count, owner_version FROM persons ORDER BY id";

const WRITE_HOLDINGS: &str = "SELECT h.company, o.name AS company_name, \
    o.total_shares AS company_total, o.registered_shares AS company_registered, \
    h.owner_kind, h.owner_id, COALESCE(oo.name, op.name) AS owner_name, \
    COALESCE(oo.country, op.country) AS owner_country, op.birth_year AS owner_birth_year, \
    json_group_array(json_array(h.share_class, h.shares)) AS classes, SUM(h.shares) AS shares, \
    MAX(h.version) AS version \
    FROM holdings h \
    JOIN organisations o ON o.orgnr = h.company \
    LEFT JOIN organisations oo ON h.owner_kind = 'organization' AND oo.orgnr = h.owner_id \
    LEFT JOIN persons op ON h.owner_kind = 'person' AND op.id = h.owner_id \
    GROUP BY h.company, h.owner_kind, h.owner_id \
    ORDER BY h.company, h.owner_kind, h.owner_id";

pub(crate) const READ_COMPANIES: &str = "SELECT orgnr, name, postal_code, place, \
    country, total_shares, registered_shares, owner_count, foreign_owner_count, classes, \
    holding_count, version, owner_version FROM read_organisations \
    WHERE registered = 1 ORDER BY orgnr";

pub(crate) const READ_PERSONS: &str = "SELECT id, name, birth_year, postal_code, place, \
    country, holding_count, owner_version FROM read_persons WHERE registered = 1 ORDER BY id";

pub(crate) const READ_HOLDINGS: &str = "SELECT h.company, o.name AS company_name, \
    o.total_shares AS company_total, o.registered_shares AS company_registered, \
    h.owner_kind, h.owner_id, h.owner_name, h.owner_country, h.owner_birth_year, h.classes, \
    h.shares, h.version \
    FROM read_holdings h JOIN read_organisations o ON o.orgnr = h.company \
    ORDER BY h.company, h.owner_kind, h.owner_id";

/// A query's rows, decoded one by one as the stream is polled: every snapshot of this store
/// (the write model's, the read model's, and each year's) streams through here.
pub(crate) fn decoded<'a, T: Send + 'a>(
    query: Query<'a, Sqlite, SqliteArguments>,
    pool: &'a SqlitePool,
    decode: fn(&SqliteRow) -> anyhow::Result<T>,
) -> BoxStream<'a, anyhow::Result<T>> {
    query
        .fetch(pool)
        .map(move |row| {
            row.context("streaming a snapshot")
                .and_then(|row| decode(&row))
        })
        .boxed()
}

/// The write model's state (see [`SqliteStore::write_snapshot`](crate::SqliteStore::write_snapshot)).
#[derive(Clone, Debug)]
pub struct SqliteWriteSnapshot {
    pool: SqlitePool,
}

impl SqliteWriteSnapshot {
    pub(crate) fn new(pool: SqlitePool) -> Self {
        Self { pool }
    }
}

#[async_trait]
impl Snapshot for SqliteWriteSnapshot {
    fn companies(&self) -> BoxStream<'_, anyhow::Result<CompanySnapshot>> {
        decoded(sqlx::query(WRITE_COMPANIES), &self.pool, codec::company)
    }

    fn persons(&self) -> BoxStream<'_, anyhow::Result<PersonSnapshot>> {
        decoded(sqlx::query(WRITE_PERSONS), &self.pool, codec::person)
    }

    fn holdings(&self) -> BoxStream<'_, anyhow::Result<HoldingSnapshot>> {
        decoded(sqlx::query(WRITE_HOLDINGS), &self.pool, codec::holding)
    }

    async fn position(&self) -> anyhow::Result<Option<Position>> {
        let last: Option<i64> = sqlx::query_scalar("SELECT MAX(position) FROM outbox")
            .fetch_one(&self.pool)
            .await
            .context("reading the last outbox position")?;
        last.map(|p| Ok(Position::new(count(p)?))).transpose()
    }
}

/// The read model's state (see [`SqliteStore::read_snapshot`](crate::SqliteStore::read_snapshot)).
/// Organisations and persons whose registration has not been applied are left out.
#[derive(Clone, Debug)]
pub struct SqliteReadSnapshot {
    pool: SqlitePool,
}

impl SqliteReadSnapshot {
    pub(crate) fn new(pool: SqlitePool) -> Self {
        Self { pool }
    }
}

#[async_trait]
impl Snapshot for SqliteReadSnapshot {
    fn companies(&self) -> BoxStream<'_, anyhow::Result<CompanySnapshot>> {
        decoded(sqlx::query(READ_COMPANIES), &self.pool, codec::company)
    }

    fn persons(&self) -> BoxStream<'_, anyhow::Result<PersonSnapshot>> {
        decoded(sqlx::query(READ_PERSONS), &self.pool, codec::person)
    }

    fn holdings(&self) -> BoxStream<'_, anyhow::Result<HoldingSnapshot>> {
        decoded(sqlx::query(READ_HOLDINGS), &self.pool, codec::holding)
    }

    /// The watermark, extended by the run of individually applied positions right above it.
    async fn position(&self) -> anyhow::Result<Option<Position>> {
        let through: Option<i64> = sqlx::query_scalar(
            "WITH w AS (SELECT COALESCE((SELECT position FROM read_watermark WHERE id = 1), 0) AS p) \
             SELECT CASE \
                 WHEN EXISTS (SELECT 1 FROM read_applied, w WHERE position = w.p + 1) THEN \
                     (SELECT MIN(a.position) FROM read_applied a, w WHERE a.position > w.p \
                      AND NOT EXISTS (SELECT 1 FROM read_applied b WHERE b.position = a.position + 1)) \
                 ELSE NULLIF((SELECT p FROM w), 0) END",
        )
        .fetch_one(&self.pool)
        .await
        .context("reading the applied position")?;
        through.map(|p| Ok(Position::new(count(p)?))).transpose()
    }
}
