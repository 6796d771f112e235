//! Moving the live register to a newly imported year.

use anyhow::Context as _;
use shareholders_domain::RegisterYear;
use sqlx::postgres::PgConnection;

use crate::rows::to_u64;

/// The statements that replace the live register by year `$1`'s rows, every live company and
/// owner at version `$2`. Organisations and persons are never removed (the API may have
/// registered them, and events name them): they are added, and take the year's profile.
const MOVE: &[(&str, &str)] = &[
    (
        "lock the live register",
        "LOCK TABLE organisations, persons, company_state, owner_state, holdings,
                    company_classes IN EXCLUSIVE MODE",
    ),
    (
        "add and update the year's organisations",
        "INSERT INTO organisations (orgnr, name, postal_code, place, country, total_shares)
         SELECT orgnr, name, postal_code, place, country, total_shares
         FROM year_organisations WHERE year = $1
         ON CONFLICT (orgnr) DO UPDATE
         SET name = excluded.name, postal_code = excluded.postal_code,
             place = excluded.place, country = excluded.country,
             total_shares = coalesce(excluded.total_shares, organisations.total_shares)
         WHERE (organisations.name, organisations.postal_code, organisations.place,
                organisations.country, organisations.total_shares)
               IS DISTINCT FROM
               (excluded.name, excluded.postal_code, excluded.place, excluded.country,
                coalesce(excluded.total_shares, organisations.total_shares))",
    ),
    (
        "add and update the year's persons",
        "INSERT INTO persons (id, name, birth_year, postal_code, place, country)
         SELECT id, name, birth_year, postal_code, place, country
         FROM year_persons WHERE year = $1
         ON CONFLICT (id) DO UPDATE
         SET name = excluded.name, birth_year = excluded.birth_year,
             postal_code = excluded.postal_code, place = excluded.place,
             country = excluded.country
         WHERE (persons.name, persons.birth_year, persons.postal_code, persons.place,
                persons.country)
               IS DISTINCT FROM
               (excluded.name, excluded.birth_year, excluded.postal_code, excluded.place,
                excluded.country)",
    ),
    (
        "empty the live state",
        "TRUNCATE company_state, owner_state, holdings, company_classes",
    ),
    (
        "write the companies' state",
        "INSERT INTO company_state (orgnr, version, registered, owner_count, foreign_owner_count)
         SELECT o.orgnr, $2, coalesce(y.registered, 0), coalesce(y.owner_count, 0),
                coalesce(y.foreign_owner_count, 0)
         FROM organisations o
         LEFT JOIN year_organisations y ON y.year = $1 AND y.orgnr = o.orgnr
         ORDER BY o.orgnr",
    ),
    (
        "write the owners' state",
        "INSERT INTO owner_state (owner_kind, owner_id, version, holding_count)
         SELECT 'organization', o.orgnr, $2, coalesce(c.holding_count, 0)
         FROM organisations o
         LEFT JOIN year_holding_counts c
           ON c.year = $1 AND c.owner_kind = 'organization' AND c.owner_id = o.orgnr
         UNION ALL
         SELECT 'person', p.id, $2, coalesce(c.holding_count, 0)
         FROM persons p
         LEFT JOIN year_holding_counts c
           ON c.year = $1 AND c.owner_kind = 'person' AND c.owner_id = p.id",
    ),
    (
        "write the holdings",
        "INSERT INTO holdings (company, owner_kind, owner_id, share_class, shares, version)
         SELECT company, owner_kind, owner_id, share_class, shares, $2
         FROM year_holdings WHERE year = $1
         ORDER BY company, owner_kind, owner_id, share_class",
    ),
    (
        "write the companies' classes",
        "INSERT INTO company_classes (company, share_class, shares)
         SELECT y.orgnr, c.share_class, c.shares
         FROM year_organisations y
         CROSS JOIN LATERAL unnest(y.class_names, y.class_shares) AS c(share_class, shares)
         WHERE y.year = $1",
    ),
];

/// What moving the live register did.
#[derive(Clone, Copy, Debug)]
pub(super) struct Moved {
    /// API purchases recorded since the previous move.
    pub superseded: u64,
}

/// Replaces the live register by `year`'s rows, in the caller's transaction.
pub(super) async fn move_to(conn: &mut PgConnection, year: RegisterYear) -> anyhow::Result<Moved> {
    let year_value = i16::try_from(year.get())?;
    let (purchases_before, last_purchase): (i64, i64) = sqlx::query_as(
        "SELECT coalesce((SELECT purchases_before FROM live_register), 0),
                coalesce((SELECT max(id) FROM purchases), 0)",
    )
    .fetch_one(&mut *conn)
    .await
    .context("import: cannot read the live register's base")?;
    let superseded: i64 = sqlx::query_scalar("SELECT count(*) FROM purchases WHERE id > $1")
        .bind(purchases_before)
        .fetch_one(&mut *conn)
        .await
        .context("import: cannot count the live changes")?;
    // Past every version the live register ever had, so that the read model rebuilt from it
    // wins over any older event still in flight.
    let floor: i64 = sqlx::query_scalar(
        "SELECT 1 + greatest((SELECT coalesce(max(version), 0) FROM company_state),
                             (SELECT coalesce(max(version), 0) FROM owner_state),
                             (SELECT coalesce(max(version_floor), 0) FROM live_register))",
    )
    .fetch_one(&mut *conn)
    .await
    .context("import: cannot read the live versions")?;
    for (what, sql) in MOVE {
        let started = std::time::Instant::now();
        let query = if sql.contains("$2") {
            sqlx::query(*sql).bind(year_value).bind(floor)
        } else if sql.contains("$1") {
            sqlx::query(*sql).bind(year_value)
        } else {
            sqlx::query(*sql)
        };
        let rows = query
            .persistent(false)
            .execute(&mut *conn)
            .await
            .with_context(|| format!("import: cannot {what}"))?
            .rows_affected();
        tracing::debug!(step = what, rows, elapsed = ?started.elapsed(), "live register moved");
    }
    sqlx::query(
        "INSERT INTO live_register (year, purchases_before, version_floor) VALUES ($1, $2, $3)
         ON CONFLICT (id) DO UPDATE
         SET year = excluded.year, purchases_before = excluded.purchases_before,
             version_floor = excluded.version_floor",
    )
    .bind(year_value)
    .bind(last_purchase)
    .bind(floor)
    .execute(&mut *conn)
    .await
    .context("import: cannot record the live register's base")?;
    Ok(Moved {
        superseded: to_u64(superseded, "count")?,
    })
}
