//! `OwnershipLog`: which companies' ownership changed in the live read model (migration 0007),
//! written by the projection in the transaction that changed it, and the whole live register
//! (holdings, organisations and persons) streamed for a process to hold it in memory.
//!
//! The log's key is a company's orgnr; `''` is every company (a clear or a bulk load), and
//! `person:` followed by a person's id is a person registered (persons are only ever added by
//! an event: a new registration has a new id). An orgnr is nine digits, so the three never
//! meet.

use anyhow::Context as _;
use async_trait::async_trait;
use futures::stream::{BoxStream, StreamExt as _};
use shareholders_domain::{OrgNr, PersonId};
use shareholders_ports::{
    CompanyRecord, HoldingRecord, OwnershipChange, OwnershipChanged, OwnershipChanges,
    OwnershipLog, PersonRecord, ReadError,
};
use sqlx::SqliteConnection;

use crate::SqliteStore;
use crate::codec::{self, count, int};
use crate::snapshot::{READ_COMPANIES, READ_HOLDINGS, READ_PERSONS, decoded};

/// Records that `company`'s ownership changed (its holdings, profile or registered shares),
/// or, for `''`, that every company's did. The next number goes to it.
const CHANGED: &str = "INSERT INTO read_ownership_changes (company, seq) \
    VALUES (?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM read_ownership_changes)) \
    ON CONFLICT (company) DO UPDATE SET seq = excluded.seq";

/// Records, in the caller's transaction, that `company`'s ownership changed.
pub(crate) async fn changed(conn: &mut SqliteConnection, company: &OrgNr) -> anyhow::Result<()> {
    log(conn, &OwnershipChanged::Company(*company).key()).await
}

/// Records, in the caller's transaction, that `person` was registered.
pub(crate) async fn person_registered(
    conn: &mut SqliteConnection,
    person: &PersonId,
) -> anyhow::Result<()> {
    log(conn, &OwnershipChanged::Person(person.clone()).key()).await
}

/// Records, in the caller's transaction, that every company's ownership changed (the read
/// model was cleared or loaded in bulk).
pub(crate) async fn everything_changed(conn: &mut SqliteConnection) -> anyhow::Result<()> {
    log(conn, &OwnershipChanged::Everything.key()).await
}

async fn log(conn: &mut SqliteConnection, company: &str) -> anyhow::Result<()> {
    sqlx::query(CHANGED)
        .bind(company)
        .execute(conn)
        .await
        .context("logging an ownership change")?;
    Ok(())
}

#[async_trait]
impl OwnershipLog for SqliteStore {
    async fn last_change(&self) -> Result<u64, ReadError> {
        let last: i64 =
            sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM read_ownership_changes")
                .fetch_one(&self.pool)
                .await
                .context("reading the last ownership change")?;
        Ok(count(last)?)
    }

    async fn changed_since(&self, after: u64, limit: u32) -> Result<OwnershipChanges, ReadError> {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT company, seq FROM read_ownership_changes WHERE seq > ? ORDER BY seq LIMIT ?",
        )
        .bind(int(after)?)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .context("reading the ownership changes")?;
        let changes = rows
            .into_iter()
            .map(|(company, seq)| {
                Ok(OwnershipChange {
                    seq: count(seq)?,
                    changed: OwnershipChanged::from_key(&company)?,
                })
            })
            .collect::<Result<_, ReadError>>()?;
        // Numbered by the one writer as it commits: complete through the last one.
        Ok(OwnershipChanges::in_order(after, changes))
    }

    fn stakes(&self) -> BoxStream<'_, Result<HoldingRecord, ReadError>> {
        decoded(sqlx::query(READ_HOLDINGS), &self.pool, codec::holding)
            .map(|holding| Ok(holding?.record))
            .boxed()
    }

    fn organisations(&self) -> BoxStream<'_, Result<CompanyRecord, ReadError>> {
        decoded(sqlx::query(READ_COMPANIES), &self.pool, codec::company)
            .map(|company| Ok(company?.record))
            .boxed()
    }

    fn persons(&self) -> BoxStream<'_, Result<PersonRecord, ReadError>> {
        decoded(sqlx::query(READ_PERSONS), &self.pool, codec::person)
            .map(|person| Ok(person?.record))
            .boxed()
    }
}
