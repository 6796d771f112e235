//! The imported years: the write model's snapshot of each ([`YearSnapshots`]) and the read
//! model's tables per year ([`read_model`]).

mod read_model;

pub(crate) use read_model::index_served_years;

use anyhow::Context as _;
use async_trait::async_trait;
use futures::stream::BoxStream;
use shareholders_domain::{Position, RegisterYear};
use shareholders_ports::{
    CompanySnapshot, HoldingSnapshot, PersonSnapshot, Snapshot, YearRecord, YearSnapshots,
};
use sqlx::sqlite::SqliteRow;
use std::time::Duration;

use sqlx::{AssertSqlSafe, Row as _, SqliteConnection, SqlitePool};

use crate::SqliteStore;
use crate::codec::{self, count, int};
use crate::snapshot::decoded;

/// The read model's tables of one register.
#[derive(Clone, Debug)]
pub(crate) struct ReadTables {
    pub(crate) organisations: String,
    pub(crate) persons: String,
    pub(crate) holdings: String,
    /// The FTS5 index of the registered parties' names (migration 0005).
    pub(crate) search: String,
    /// The party each row of `search` is, by rowid.
    pub(crate) search_parties: String,
}

impl ReadTables {
    pub(crate) fn live() -> Self {
        Self {
            organisations: "read_organisations".to_owned(),
            persons: "read_persons".to_owned(),
            holdings: "read_holdings".to_owned(),
            search: "read_search".to_owned(),
            search_parties: "read_search_parties".to_owned(),
        }
    }

    /// A year's tables of a generation; both are numbers, so the names are safe in SQL.
    pub(crate) fn year(year: i64, generation: i64) -> Self {
        let prefix = format!("read_y{year}g{generation}");
        Self {
            organisations: format!("{prefix}_organisations"),
            persons: format!("{prefix}_persons"),
            holdings: format!("{prefix}_holdings"),
            search: format!("{prefix}_search"),
            search_parties: format!("{prefix}_search_parties"),
        }
    }
}

const RECORD_COLUMNS: &str = "year, file_name, sha256, imported_at_ms, lines, rejects, \
    companies, holdings, persons_linked, persons_ambiguous, superseded_live_changes, \
    duration_ms";

fn year_record(row: &SqliteRow) -> anyhow::Result<YearRecord> {
    let number = |column: &str| -> anyhow::Result<u64> { count(row.try_get(column)?) };
    Ok(YearRecord {
        year: RegisterYear::new(row.try_get("year")?).context("stored year")?,
        file_name: row.try_get("file_name")?,
        sha256: row.try_get("sha256")?,
        imported_at: codec::system_time(row.try_get("imported_at_ms")?),
        lines: number("lines")?,
        rejects: number("rejects")?,
        companies: number("companies")?,
        holdings: number("holdings")?,
        persons_linked: number("persons_linked")?,
        persons_ambiguous: number("persons_ambiguous")?,
        superseded_live_changes: number("superseded_live_changes")?,
        duration: row
            .try_get::<Option<i64>, _>("duration_ms")?
            .map(|millis| count(millis).map(Duration::from_millis))
            .transpose()?,
    })
}

/// Writes (or rewrites) a year's record into `table`: `register_years`, or `read_years` with
/// the generation that serves it.
pub(crate) async fn save_record(
    conn: &mut SqliteConnection,
    table: &'static str,
    record: &YearRecord,
    generation: Option<i64>,
) -> anyhow::Result<()> {
    let duration_ms = record
        .duration
        .map(|duration| i64::try_from(duration.as_millis()))
        .transpose()
        .context("import duration")?;
    let (column, value, update) = match generation {
        Some(_) => (", generation", ", ?", ", generation = excluded.generation"),
        None => ("", "", ""),
    };
    let sql = format!(
        "INSERT INTO {table} ({RECORD_COLUMNS}{column}) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?{value}) \
         ON CONFLICT (year) DO UPDATE SET file_name = excluded.file_name, \
         sha256 = excluded.sha256, imported_at_ms = excluded.imported_at_ms, \
         lines = excluded.lines, rejects = excluded.rejects, companies = excluded.companies, \
         holdings = excluded.holdings, persons_linked = excluded.persons_linked, \
         persons_ambiguous = excluded.persons_ambiguous, \
         superseded_live_changes = excluded.superseded_live_changes, \
         duration_ms = excluded.duration_ms{update}"
    );
    // A fixed table name and fixed words only.
    let query = sqlx::query(AssertSqlSafe(sql))
        .bind(i64::from(record.year.get()))
        .bind(&record.file_name)
        .bind(&record.sha256)
        .bind(codec::millis(record.imported_at))
        .bind(int(record.lines)?)
        .bind(int(record.rejects)?)
        .bind(int(record.companies)?)
        .bind(int(record.holdings)?)
        .bind(int(record.persons_linked)?)
        .bind(int(record.persons_ambiguous)?)
        .bind(int(record.superseded_live_changes)?)
        .bind(duration_ms);
    let query = match generation {
        Some(generation) => query.bind(generation),
        None => query,
    };
    query
        .execute(&mut *conn)
        .await
        .with_context(|| format!("recording a year in {table}"))?;
    Ok(())
}

async fn records(pool: &SqlitePool, table: &str) -> anyhow::Result<Vec<YearRecord>> {
    let sql = format!("SELECT {RECORD_COLUMNS} FROM {table} ORDER BY year");
    let rows = sqlx::query(AssertSqlSafe(sql))
        .fetch_all(pool)
        .await
        .with_context(|| format!("reading the years of {table}"))?;
    rows.iter().map(year_record).collect()
}

/// The years the read model serves.
pub(crate) async fn served(pool: &SqlitePool) -> anyhow::Result<Vec<YearRecord>> {
    records(pool, "read_years").await
}

/// The tables of a served year.
pub(crate) async fn served_tables(
    pool: &SqlitePool,
    year: RegisterYear,
) -> anyhow::Result<Option<ReadTables>> {
    let generation: Option<i64> =
        sqlx::query_scalar("SELECT generation FROM read_years WHERE year = ?")
            .bind(i64::from(year.get()))
            .fetch_optional(pool)
            .await
            .context("reading a served year")?;
    Ok(generation.map(|g| ReadTables::year(i64::from(year.get()), g)))
}

const YEAR_COMPANIES: &str = "SELECT o.orgnr, o.name, o.postal_code, o.place, o.country, \
    o.total_shares, o.registered AS registered_shares, o.owner_count, o.foreign_owner_count, \
    (SELECT json_group_array(json_array(share_class, shares)) FROM \
        (SELECT share_class, SUM(shares) AS shares FROM year_holdings h \
         WHERE h.year = o.year AND h.company = o.orgnr \
         GROUP BY share_class ORDER BY share_class)) AS classes, \
    COALESCE(c.holding_count, 0) AS holding_count, 0 AS version, 0 AS owner_version \
    FROM year_organisations o \
    LEFT JOIN year_holding_counts c \
      ON c.year = o.year AND c.owner_kind = 'organization' AND c.owner_id = o.orgnr \
    WHERE o.year = ? ORDER BY o.orgnr";

const YEAR_PERSONS: &str = "SELECT p.id, p.name, p.birth_year, p.postal_code, p.place, \
    p.country, COALESCE(c.holding_count, 0) AS holding_count, 0 AS owner_version \
    FROM year_persons p \
    LEFT JOIN year_holding_counts c \
      ON c.year = p.year AND c.owner_kind = 'person' AND c.owner_id = p.id \
    WHERE p.year = ? ORDER BY p.id";

const YEAR_HOLDINGS: &str = "SELECT h.company, o.name AS company_name, \
    o.total_shares AS company_total, o.registered AS company_registered, \
    h.owner_kind, h.owner_id, COALESCE(oo.name, op.name) AS owner_name, \
    COALESCE(oo.country, op.country) AS owner_country, op.birth_year AS owner_birth_year, \
    json_group_array(json_array(h.share_class, h.shares)) AS classes, SUM(h.shares) AS shares, \
    0 AS version \
    FROM year_holdings h \
    JOIN year_organisations o ON o.year = h.year AND o.orgnr = h.company \
    LEFT JOIN year_organisations oo \
      ON h.owner_kind = 'organization' AND oo.year = h.year AND oo.orgnr = h.owner_id \
    LEFT JOIN year_persons op \
      ON h.owner_kind = 'person' AND op.year = h.year AND op.id = h.owner_id \
    WHERE h.year = ? \
    GROUP BY h.company, h.owner_kind, h.owner_id \
    ORDER BY h.company, h.owner_kind, h.owner_id";

/// One imported year of the write model, as a snapshot.
#[derive(Clone, Debug)]
struct WriteYearSnapshot {
    pool: SqlitePool,
    year: i64,
}

#[async_trait]
impl Snapshot for WriteYearSnapshot {
    fn companies(&self) -> BoxStream<'_, anyhow::Result<CompanySnapshot>> {
        decoded(
            sqlx::query(YEAR_COMPANIES).bind(self.year),
            &self.pool,
            codec::company,
        )
    }

    fn persons(&self) -> BoxStream<'_, anyhow::Result<PersonSnapshot>> {
        decoded(
            sqlx::query(YEAR_PERSONS).bind(self.year),
            &self.pool,
            codec::person,
        )
    }

    fn holdings(&self) -> BoxStream<'_, anyhow::Result<HoldingSnapshot>> {
        decoded(
            sqlx::query(YEAR_HOLDINGS).bind(self.year),
            &self.pool,
            codec::holding,
        )
    }

    async fn position(&self) -> anyhow::Result<Option<Position>> {
        Ok(None)
    }
}

#[async_trait]
impl YearSnapshots for SqliteStore {
    async fn years(&self) -> anyhow::Result<Vec<YearRecord>> {
        records(&self.pool, "register_years").await
    }

    async fn year_snapshot(&self, year: RegisterYear) -> anyhow::Result<Option<Box<dyn Snapshot>>> {
        let year = i64::from(year.get());
        let imported: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM register_years WHERE year = ?)")
                .bind(year)
                .fetch_one(&self.pool)
                .await
                .context("reading the imported years")?;
        Ok(imported.then(|| {
            Box::new(WriteYearSnapshot {
                pool: self.pool.clone(),
                year,
            }) as Box<dyn Snapshot>
        }))
    }
}
