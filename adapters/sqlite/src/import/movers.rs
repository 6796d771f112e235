//! Linking a year's persons to the same persons in the adjacent imported years.
//!
//! SQL only narrows the candidates down (persons on one side only, with a person of the same
//! name, birth year and country on the other side only); the rule itself, and which adjacent
//! year a person is offered to, are the domain's ([`AdjacentYears`]).

use anyhow::Context as _;
use shareholders_domain::{AdjacentYears, MoverCandidate, PersonId, RegisterYear};
use sqlx::query_builder::Separated;
use sqlx::{AssertSqlSafe, Row as _, Sqlite, SqliteConnection};

use crate::bulk::insert_rows;
use crate::codec;

/// One side's persons and holdings, as table expressions.
#[derive(Clone, Debug)]
struct Side {
    persons: String,
    holdings: String,
}

impl Side {
    /// The year being loaded: the staging tables.
    fn staged() -> Self {
        Self {
            persons: "temp.load_persons".to_owned(),
            holdings: "temp.load_holdings".to_owned(),
        }
    }

    /// An imported year.
    fn year(year: i64) -> Self {
        Self {
            persons: format!(
                "(SELECT id, name, birth_year, country FROM year_persons WHERE year = {year})"
            ),
            holdings: format!(
                "(SELECT company, owner_kind, owner_id FROM year_holdings WHERE year = {year})"
            ),
        }
    }
}

/// Persons of `side` whose id `other` does not have, who have a person of the same name,
/// birth year and country in `other` whose id `side` does not have; with their companies.
///
/// The other side's (name, birth year, country) keys go into a keyed temporary table first, so
/// that each person of `side` is matched by one lookup. Written as one query with the keys in
/// a CTE, the plan hung on SQLite choosing an automatic index for it: Debian's sqlite3 ran it
/// in 0.13 s, the bundled SQLite in 11.7 s (7,457 candidates among 141,701 persons), and the
/// time grew with the candidates, so with every further year linked.
async fn candidates(
    conn: &mut SqliteConnection,
    side: &Side,
    other: &Side,
) -> anyhow::Result<Vec<MoverCandidate>> {
    let keys = format!(
        "CREATE TEMP TABLE IF NOT EXISTS load_mover_keys (
             name TEXT NOT NULL, birth_year INTEGER NOT NULL, country TEXT NOT NULL,
             PRIMARY KEY (name, birth_year, country)) WITHOUT ROWID;
         DELETE FROM temp.load_mover_keys;
         INSERT OR IGNORE INTO temp.load_mover_keys (name, birth_year, country)
         SELECT b.name, coalesce(b.birth_year, -1), b.country
         FROM {there} b
         WHERE NOT EXISTS (SELECT 1 FROM {here} a WHERE a.id = b.id);",
        here = side.persons,
        there = other.persons,
    );
    // Table names and years only.
    sqlx::raw_sql(AssertSqlSafe(keys))
        .execute(&mut *conn)
        .await
        .context("import: cannot gather the persons who left")?;
    let sql = format!(
        "SELECT a.id, a.name, a.birth_year, a.country,
                (SELECT group_concat(DISTINCT k.company) FROM {holdings} k
                 WHERE k.owner_kind = 'person' AND k.owner_id = a.id) AS companies
         FROM {here} a
         WHERE EXISTS (SELECT 1 FROM temp.load_mover_keys t
                       WHERE t.name = a.name AND t.birth_year = coalesce(a.birth_year, -1)
                         AND t.country = a.country)
           AND NOT EXISTS (SELECT 1 FROM {there} b WHERE b.id = a.id)
         ORDER BY a.id",
        here = side.persons,
        there = other.persons,
        holdings = side.holdings,
    );
    // Table names and years only.
    let rows = sqlx::query(AssertSqlSafe(sql))
        .fetch_all(&mut *conn)
        .await
        .context("import: cannot find the persons to link")?;
    rows.iter()
        .map(|row| {
            let companies: Option<String> = row.try_get("companies")?;
            Ok(MoverCandidate {
                id: codec::person_id(row.try_get("id")?)?,
                name: codec::name(&row.try_get::<String, _>("name")?)?,
                birth_year: codec::birth_year(row.try_get("birth_year")?)?,
                country: codec::country(&row.try_get::<String, _>("country")?)?,
                companies: companies
                    .as_deref()
                    .unwrap_or_default()
                    .split(',')
                    .filter(|c| !c.is_empty())
                    .map(codec::orgnr)
                    .collect::<anyhow::Result<_>>()?,
            })
        })
        .collect()
}

/// Links the staged persons to the nearest imported year before the year, then those still
/// unlinked to the nearest one after it. Returns (links made, persons left unlinked as
/// ambiguous).
pub(super) async fn link(
    conn: &mut SqliteConnection,
    year: RegisterYear,
) -> anyhow::Result<(u64, u64)> {
    let year_value = i64::from(year.get());
    let (before, after): (Option<i64>, Option<i64>) = sqlx::query_as(
        "SELECT (SELECT max(year) FROM register_years WHERE year < ?1),
                (SELECT min(year) FROM register_years WHERE year > ?1)",
    )
    .bind(year_value)
    .fetch_one(&mut *conn)
    .await
    .context("import: cannot find the adjacent years")?;
    if before.is_none() && after.is_none() {
        return Ok((0, 0));
    }
    sqlx::raw_sql(
        "CREATE INDEX IF NOT EXISTS temp.load_holdings_by_owner
         ON load_holdings (owner_kind, owner_id, company)",
    )
    .execute(&mut *conn)
    .await
    .context("import: cannot index the staged holdings")?;
    let mine = Side::staged();
    let mut years = AdjacentYears::default();
    for adjacent in [before, after].into_iter().flatten() {
        let other = Side::year(adjacent);
        let appeared = years.unlinked(candidates(conn, &mine, &other).await?);
        if appeared.is_empty() {
            continue;
        }
        let vanished = candidates(conn, &other, &mine).await?;
        let links = years.link(&appeared, &vanished);
        tracing::debug!(
            adjacent,
            candidates = appeared.len(),
            links = links.links.len(),
            ambiguous = links.ambiguous.len(),
            "persons linked"
        );
        rename(conn, &links.links).await?;
    }
    Ok((years.linked(), years.ambiguous()))
}

/// Gives each linked staged person (the first id of each pair) the id of the same person in
/// the adjacent year (the second): the pairs go into a temporary table, many to a statement,
/// and each staged table is updated once. No id is both renamed and a new name: a staged id
/// the adjacent year lacks is renamed to one the staged year lacks.
async fn rename(conn: &mut SqliteConnection, links: &[(PersonId, PersonId)]) -> anyhow::Result<()> {
    if links.is_empty() {
        return Ok(());
    }
    sqlx::raw_sql(
        "CREATE TEMP TABLE IF NOT EXISTS load_links (new_id TEXT PRIMARY KEY, old_id TEXT NOT NULL);
         DELETE FROM temp.load_links;",
    )
    .execute(&mut *conn)
    .await
    .context("import: cannot stage the links")?;
    let bind = |values: &mut Separated<'_, Sqlite, &'static str>,
                (new_id, old_id): &(PersonId, PersonId)| {
        values
            .push_bind(new_id.as_str().to_owned())
            .push_bind(old_id.as_str().to_owned());
    };
    let insert = "INSERT INTO temp.load_links (new_id, old_id) ";
    insert_rows(conn, insert, links, bind, "", "the links").await?;
    for sql in [
        "UPDATE temp.load_persons SET id = l.old_id FROM temp.load_links l
         WHERE load_persons.id = l.new_id",
        "UPDATE temp.load_holdings SET owner_id = l.old_id FROM temp.load_links l
         WHERE load_holdings.owner_kind = 'person' AND load_holdings.owner_id = l.new_id",
        "UPDATE temp.load_counts SET owner_id = l.old_id FROM temp.load_links l
         WHERE load_counts.owner_kind = 'person' AND load_counts.owner_id = l.new_id",
    ] {
        sqlx::query(sql)
            .execute(&mut *conn)
            .await
            .context("import: cannot link the persons")?;
    }
    Ok(())
}
