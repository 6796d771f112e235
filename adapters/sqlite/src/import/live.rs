//! Moving the live register to a newly imported year.

use anyhow::Context as _;
use shareholders_domain::RegisterYear;
use sqlx::SqliteConnection;

use crate::codec::count;

/// The statements that replace the live register by year `?1`'s rows, every live company and
/// owner at version `?2`. Organisations and persons are never removed (the API may have
/// registered them, and events name them): they are added, and take the year's profile.
const MOVE: &[(&str, &str)] = &[
    (
        "add and update the year's organisations",
        "INSERT INTO organisations (orgnr, name, postal_code, place, country, total_shares)
         SELECT orgnr, name, postal_code, place, country, total_shares
         FROM year_organisations WHERE year = ?1 AND true
         ON CONFLICT (orgnr) DO UPDATE
         SET name = excluded.name, postal_code = excluded.postal_code,
             place = excluded.place, country = excluded.country,
             total_shares = coalesce(excluded.total_shares, organisations.total_shares)",
    ),
    (
        "add and update the year's persons",
        "INSERT INTO persons (id, name, birth_year, postal_code, place, country)
         SELECT id, name, birth_year, postal_code, place, country
         FROM year_persons WHERE year = ?1 AND true
         ON CONFLICT (id) DO UPDATE
         SET name = excluded.name, birth_year = excluded.birth_year,
             postal_code = excluded.postal_code, place = excluded.place,
             country = excluded.country",
    ),
    // Built again once the holdings are written: inserting 3 million holdings in company
    // order into an index in owner order spends its time writing that index's pages, and
    // building it from the written rows is a sort. In the move's transaction, so a failed
    // move leaves it as it was.
    (
        "set the live holdings' owner index aside",
        "DROP INDEX holdings_by_owner",
    ),
    ("empty the live holdings", "DELETE FROM holdings"),
    ("empty the live classes", "DELETE FROM company_classes"),
    (
        "reset the organisations' state",
        "UPDATE organisations SET version = ?2, registered_shares = 0, owner_count = 0,
             foreign_owner_count = 0, owner_version = ?2, holding_count = 0",
    ),
    (
        "reset the persons' state",
        "UPDATE persons SET owner_version = ?2, holding_count = 0",
    ),
    (
        "write the companies' state",
        "UPDATE organisations SET registered_shares = y.registered, owner_count = y.owner_count,
             foreign_owner_count = y.foreign_owner_count
         FROM (SELECT * FROM year_organisations WHERE year = ?1) AS y
         WHERE organisations.orgnr = y.orgnr",
    ),
    (
        "write the organisations' holding counts",
        "UPDATE organisations SET holding_count = c.holding_count
         FROM (SELECT * FROM year_holding_counts WHERE year = ?1 AND owner_kind = 'organization')
              AS c
         WHERE organisations.orgnr = c.owner_id",
    ),
    (
        "write the persons' holding counts",
        "UPDATE persons SET holding_count = c.holding_count
         FROM (SELECT * FROM year_holding_counts WHERE year = ?1 AND owner_kind = 'person') AS c
         WHERE persons.id = c.owner_id",
    ),
    (
        "write the holdings",
        "INSERT INTO holdings (company, owner_kind, owner_id, share_class, shares, version)
         SELECT company, owner_kind, owner_id, share_class, shares, ?2
         FROM year_holdings WHERE year = ?1
         ORDER BY company, owner_kind, owner_id, share_class",
    ),
    (
        "index the live holdings by owner",
        "CREATE INDEX holdings_by_owner ON holdings (owner_kind, owner_id, company)",
    ),
    (
        "write the companies' classes",
        "INSERT INTO company_classes (company, share_class, shares)
         SELECT company, share_class, sum(shares) FROM year_holdings WHERE year = ?1
         GROUP BY company, share_class",
    ),
];

/// Replaces the live register by `year`'s rows, in the caller's transaction. Returns how
/// many API purchases recorded since the previous move it superseded.
pub(super) async fn move_to(
    conn: &mut SqliteConnection,
    year: RegisterYear,
) -> anyhow::Result<u64> {
    let year_value = i64::from(year.get());
    let (purchases_before, last_purchase): (i64, i64) = sqlx::query_as(
        "SELECT coalesce((SELECT purchases_before FROM live_register), 0),
                coalesce((SELECT max(id) FROM purchases), 0)",
    )
    .fetch_one(&mut *conn)
    .await
    .context("import: cannot read the live register's base")?;
    let superseded: i64 = sqlx::query_scalar("SELECT count(*) FROM purchases WHERE id > ?1")
        .bind(purchases_before)
        .fetch_one(&mut *conn)
        .await
        .context("import: cannot count the live changes")?;
    // Past every version the live register ever had, so that the read model rebuilt from it
    // wins over any older event still in flight.
    let floor: i64 = sqlx::query_scalar(
        "SELECT 1 + max((SELECT coalesce(max(max(version, owner_version)), 0) FROM organisations),
                        (SELECT coalesce(max(owner_version), 0) FROM persons),
                        (SELECT coalesce(max(version_floor), 0) FROM live_register))",
    )
    .fetch_one(&mut *conn)
    .await
    .context("import: cannot read the live versions")?;
    for (what, sql) in MOVE {
        let started = std::time::Instant::now();
        let query = sqlx::query(*sql).bind(year_value);
        // Only statements that number the version take it: SQLite counts parameters by the
        // largest number used.
        let query = if sql.contains("?2") {
            query.bind(floor)
        } else {
            query
        };
        let rows = query
            .execute(&mut *conn)
            .await
            .with_context(|| format!("import: cannot {what}"))?
            .rows_affected();
        tracing::debug!(step = what, rows, elapsed = ?started.elapsed(), "live register moved");
    }
    sqlx::query(
        "INSERT INTO live_register (id, year, purchases_before, version_floor) VALUES (1, ?1, ?2, ?3)
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
    count(superseded)
}
