//! Linking a year's persons to the same persons in the adjacent imported years.
//!
//! SQL only narrows the candidates down (persons on one side only, with a person of the same
//! name, birth year and country on the other side only); the rule itself, and which adjacent
//! year a person is offered to, are the domain's ([`AdjacentYears`]).

use anyhow::Context as _;
use shareholders_domain::{AdjacentYears, MoverCandidate, MoverLinks, PersonId, RegisterYear};
use sqlx::postgres::PgConnection;
use sqlx::{AssertSqlSafe, Row as _};

use crate::rows;

/// The persons and holdings tables of one side.
#[derive(Clone, Copy, Debug)]
pub(super) struct Side<'a> {
    pub persons: &'a str,
    pub holdings: &'a str,
    /// The side's year: the holdings' index leads with it.
    pub year: i16,
}

/// Persons of `side` whose id `other` does not have, who have a person of the same name,
/// birth year and country in `other` whose id `side` does not have; with their companies.
async fn candidates(
    conn: &mut PgConnection,
    side: Side<'_>,
    other: Side<'_>,
) -> anyhow::Result<Vec<MoverCandidate>> {
    let sql = format!(
        "WITH only_here AS MATERIALIZED (
             SELECT a.id, a.name, a.birth_year, a.country FROM {here} a
             WHERE NOT EXISTS (SELECT 1 FROM {there} b WHERE b.id = a.id)
         ), only_there AS MATERIALIZED (
             SELECT DISTINCT b.name, coalesce(b.birth_year, -1) AS birth_year, b.country
             FROM {there} b
             WHERE NOT EXISTS (SELECT 1 FROM {here} a WHERE a.id = b.id)
         )
         SELECT h.id, h.name, h.birth_year, h.country,
                array(SELECT DISTINCT k.company FROM {holdings} k
                      WHERE k.year = {year} AND k.owner_kind = 'person' AND k.owner_id = h.id)
                  AS companies
         FROM only_here h
         JOIN only_there t
           ON t.name = h.name AND t.birth_year = coalesce(h.birth_year, -1)
          AND t.country = h.country
         ORDER BY h.id",
        here = side.persons,
        there = other.persons,
        holdings = side.holdings,
        year = side.year,
    );
    // Table names only: years are numbers.
    let rows = sqlx::query(AssertSqlSafe(sql))
        .fetch_all(&mut *conn)
        .await
        .context("import: cannot find the persons to link")?;
    rows.iter()
        .map(|row| {
            let id: String = row.try_get("id")?;
            let companies: Vec<String> = row.try_get("companies")?;
            Ok(MoverCandidate {
                id: PersonId::parse(&id).with_context(|| format!("stored person id {id:?}"))?,
                name: rows::name(&row.try_get::<String, _>("name")?)?,
                birth_year: rows::birth_year(row.try_get("birth_year")?)?,
                country: rows::country(&row.try_get::<String, _>("country")?)?,
                companies: companies
                    .iter()
                    .map(|c| rows::orgnr(c))
                    .collect::<anyhow::Result<_>>()?,
            })
        })
        .collect()
}

/// Gives the linked persons of the new year's tables the other year's ids.
async fn apply(
    conn: &mut PgConnection,
    links: &MoverLinks,
    tables: &[(&str, &str)],
) -> anyhow::Result<()> {
    if links.links.is_empty() {
        return Ok(());
    }
    let (new, old): (Vec<&str>, Vec<&str>) = links
        .links
        .iter()
        .map(|(new, old)| (new.as_str(), old.as_str()))
        .unzip();
    sqlx::raw_sql(
        "DROP TABLE IF EXISTS person_links;
         CREATE TEMP TABLE person_links (new_id text COLLATE \"C\" PRIMARY KEY,
                                         old_id text COLLATE \"C\" NOT NULL)",
    )
    .execute(&mut *conn)
    .await
    .context("import: cannot stage the person links")?;
    sqlx::query("INSERT INTO person_links SELECT * FROM unnest($1::text[], $2::text[])")
        .bind(new)
        .bind(old)
        .execute(&mut *conn)
        .await
        .context("import: cannot stage the person links")?;
    for (table, condition) in tables {
        let sql = format!(
            "UPDATE {table} t SET {column} = l.old_id FROM person_links l
             WHERE {condition} t.{column} = l.new_id",
            column = if table.contains("persons") {
                "id"
            } else {
                "owner_id"
            },
        );
        sqlx::query(AssertSqlSafe(sql))
            .execute(&mut *conn)
            .await
            .with_context(|| format!("import: cannot link the persons of {table}"))?;
    }
    sqlx::raw_sql("DROP TABLE person_links")
        .execute(&mut *conn)
        .await
        .context("import: cannot drop the person links")?;
    Ok(())
}

/// Links the persons of the year being imported (its fresh tables, suffix `new`) to the
/// nearest imported year before it, then those still unlinked to the nearest one after it.
/// Returns (links made, persons left unlinked as ambiguous).
pub(super) async fn link(
    conn: &mut PgConnection,
    year: RegisterYear,
    new: &super::Tables,
) -> anyhow::Result<(u64, u64)> {
    let before: Option<i16> =
        sqlx::query_scalar("SELECT max(year) FROM register_years WHERE year < $1")
            .bind(i16::try_from(year.get())?)
            .fetch_one(&mut *conn)
            .await
            .context("import: cannot find the year before")?;
    let after: Option<i16> =
        sqlx::query_scalar("SELECT min(year) FROM register_years WHERE year > $1")
            .bind(i16::try_from(year.get())?)
            .fetch_one(&mut *conn)
            .await
            .context("import: cannot find the year after")?;
    let mine = Side {
        persons: &new.persons,
        holdings: &new.holdings,
        year: i16::try_from(year.get())?,
    };
    let mut years = AdjacentYears::default();
    for adjacent in [before, after].into_iter().flatten() {
        let theirs = super::Tables::partitions(adjacent);
        let other = Side {
            persons: &theirs.persons,
            holdings: &theirs.holdings,
            year: adjacent,
        };
        let appeared = years.unlinked(candidates(conn, mine, other).await?);
        if appeared.is_empty() {
            continue;
        }
        let vanished = candidates(conn, other, mine).await?;
        let links = years.link(&appeared, &vanished);
        tracing::debug!(
            adjacent,
            candidates = appeared.len(),
            links = links.links.len(),
            ambiguous = links.ambiguous.len(),
            "persons linked"
        );
        apply(
            conn,
            &links,
            &[
                (new.persons.as_str(), ""),
                (new.holdings.as_str(), "t.owner_kind = 'person' AND"),
                (new.counts.as_str(), "t.owner_kind = 'person' AND"),
            ],
        )
        .await?;
    }
    Ok((years.linked(), years.ambiguous()))
}
