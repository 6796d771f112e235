//! The imported years of the write model, each as a snapshot read from its partitions.

use std::time::Duration;

use anyhow::Context as _;
use async_trait::async_trait;
use futures::stream::BoxStream;
use shareholders_domain::{Position, RegisterYear};
use shareholders_ports::{
    CompanySnapshot, HoldingSnapshot, PersonSnapshot, Snapshot, YearRecord, YearSnapshots,
};
use sqlx::Row as _;
use sqlx::postgres::{PgPool, PgRow};

use crate::PostgresStore;
use crate::rows::{system_time, to_u64};
use crate::snapshot::{company, converted, holding, person};

const COMPANIES: &str = "
SELECT o.orgnr, o.name, o.postal_code, o.place, o.country, o.total_shares,
       0::bigint AS version, o.registered, o.owner_count, o.foreign_owner_count,
       0::bigint AS owner_version, coalesce(c.holding_count, 0) AS holding_count,
       o.class_names, o.class_shares
FROM year_organisations o
LEFT JOIN year_holding_counts c
  ON c.year = o.year AND c.owner_kind = 'organization' AND c.owner_id = o.orgnr
WHERE o.year = $1
ORDER BY o.orgnr";

const PERSONS: &str = "
SELECT p.id, p.name, p.birth_year, p.postal_code, p.place, p.country,
       0::bigint AS owner_version, coalesce(c.holding_count, 0) AS holding_count
FROM year_persons p
LEFT JOIN year_holding_counts c
  ON c.year = p.year AND c.owner_kind = 'person' AND c.owner_id = p.id
WHERE p.year = $1
ORDER BY p.id";

const HOLDINGS: &str = "
SELECT h.company, co.name AS company_name, co.total_shares, co.registered,
       h.owner_kind, h.owner_id,
       coalesce(oo.name, pp.name) AS owner_name,
       coalesce(oo.country, pp.country) AS owner_country,
       pp.birth_year AS owner_birth_year,
       h.class_names, h.class_shares, 0::bigint AS version
FROM (
    SELECT company, owner_kind, owner_id,
           array_agg(share_class ORDER BY share_class) AS class_names,
           array_agg(shares ORDER BY share_class) AS class_shares
    FROM year_holdings WHERE year = $1
    GROUP BY company, owner_kind, owner_id
) h
JOIN year_organisations co ON co.year = $1 AND co.orgnr = h.company
LEFT JOIN year_organisations oo
  ON h.owner_kind = 'organization' AND oo.year = $1 AND oo.orgnr = h.owner_id
LEFT JOIN year_persons pp ON h.owner_kind = 'person' AND pp.year = $1 AND pp.id = h.owner_id
ORDER BY h.company, h.owner_kind, h.owner_id";

/// One imported year, from its partitions.
#[derive(Clone, Debug)]
struct YearSnapshot {
    pool: PgPool,
    year: i16,
}

#[async_trait]
impl Snapshot for YearSnapshot {
    fn companies(&self) -> BoxStream<'_, anyhow::Result<CompanySnapshot>> {
        converted(
            sqlx::query(COMPANIES).bind(self.year),
            &self.pool,
            "organisations",
            company,
        )
    }

    fn persons(&self) -> BoxStream<'_, anyhow::Result<PersonSnapshot>> {
        converted(
            sqlx::query(PERSONS).bind(self.year),
            &self.pool,
            "persons",
            person,
        )
    }

    fn holdings(&self) -> BoxStream<'_, anyhow::Result<HoldingSnapshot>> {
        converted(
            sqlx::query(HOLDINGS).bind(self.year),
            &self.pool,
            "holdings",
            holding,
        )
    }

    async fn position(&self) -> anyhow::Result<Option<Position>> {
        Ok(None)
    }
}

fn record(row: &PgRow) -> anyhow::Result<YearRecord> {
    let number = |column: &str| -> anyhow::Result<u64> { to_u64(row.try_get(column)?, column) };
    Ok(YearRecord {
        year: RegisterYear::new(i64::from(row.try_get::<i16, _>("year")?))
            .context("stored year")?,
        file_name: row.try_get("file_name")?,
        sha256: row.try_get("sha256")?,
        imported_at: system_time(row.try_get("imported_at_ms")?),
        lines: number("lines")?,
        rejects: number("rejects")?,
        companies: number("companies")?,
        holdings: number("holdings")?,
        persons_linked: number("persons_linked")?,
        persons_ambiguous: number("persons_ambiguous")?,
        superseded_live_changes: number("superseded_live_changes")?,
        duration: row
            .try_get::<Option<i64>, _>("duration_ms")?
            .map(|millis| to_u64(millis, "duration_ms").map(Duration::from_millis))
            .transpose()?,
    })
}

#[async_trait]
impl YearSnapshots for PostgresStore {
    async fn years(&self) -> anyhow::Result<Vec<YearRecord>> {
        let rows = sqlx::query(
            "SELECT year, file_name, sha256,
                    (extract(epoch FROM imported_at) * 1000)::bigint AS imported_at_ms,
                    lines, rejects, companies, holdings, persons_linked, persons_ambiguous,
                    superseded_live_changes, duration_ms
             FROM register_years ORDER BY year",
        )
        .fetch_all(&self.pool)
        .await
        .context("cannot read the imported years")?;
        rows.iter().map(record).collect()
    }

    async fn year_snapshot(&self, year: RegisterYear) -> anyhow::Result<Option<Box<dyn Snapshot>>> {
        let year = i16::try_from(year.get())?;
        let imported: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM register_years WHERE year = $1)")
                .bind(year)
                .fetch_one(&self.pool)
                .await
                .context("cannot read the imported years")?;
        Ok(imported.then(|| {
            Box::new(YearSnapshot {
                pool: self.pool.clone(),
                year,
            }) as Box<dyn Snapshot>
        }))
    }
}
