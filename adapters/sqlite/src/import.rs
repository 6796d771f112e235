//! The bulk import of a register extract: the lines go into a temporary staging table in
//! batches of prepared inserts, then set-based SQL replaces the listed companies' holdings,
//! all in one transaction.

use anyhow::Context as _;
use async_trait::async_trait;
use futures::StreamExt as _;
use futures::stream::BoxStream;
use shareholders_domain::{OrgNr, Position};
use shareholders_ports::{
    ImportReport, RegisterHolder, RegisterImport, RegisterLine, TotalConflict,
};
use sqlx::{QueryBuilder, Row as _, Sqlite, SqliteConnection};

use crate::SqliteStore;
use crate::codec::{count, int};

/// Lines per insert statement: 16 parameters each, well under SQLite's 32766.
const CHUNK: usize = 500;

const SETUP: &[&str] = &[
    "DROP TABLE IF EXISTS temp.import_lines",
    "DROP TABLE IF EXISTS temp.import_companies",
    "DROP TABLE IF EXISTS temp.import_holders",
    "DROP TABLE IF EXISTS temp.import_holdings",
    "DROP TABLE IF EXISTS temp.import_changed_holdings",
    "DROP TABLE IF EXISTS temp.import_changed_companies",
    "DROP TABLE IF EXISTS temp.import_owners",
    "CREATE TEMP TABLE import_lines (
        line INTEGER NOT NULL,
        company TEXT NOT NULL, company_name TEXT NOT NULL, company_postal_code TEXT,
        company_place TEXT, company_country TEXT NOT NULL, company_total INTEGER,
        holder_kind TEXT NOT NULL, holder_id TEXT NOT NULL, holder_name TEXT NOT NULL,
        holder_birth_year INTEGER, holder_postal_code TEXT, holder_place TEXT,
        holder_country TEXT NOT NULL,
        share_class TEXT NOT NULL, shares INTEGER NOT NULL)",
];

/// Set-based steps after the staging table is filled, in order. The counted inserts
/// (organisations and persons added) come separately.
const AGGREGATE: &[&str] = &[
    // One row per listed company: its declared totals, the sum of its lines, the total used,
    // and the first line that names it.
    "CREATE TEMP TABLE import_companies (
        company TEXT PRIMARY KEY, first_row INTEGER NOT NULL, declared_max INTEGER,
        declared_count INTEGER NOT NULL, declared_list TEXT, registered INTEGER NOT NULL,
        used INTEGER NOT NULL) WITHOUT ROWID",
    "INSERT INTO import_companies
     SELECT company, first_row, declared_max, declared_count, declared_list, registered,
            CASE WHEN declared_max > registered THEN declared_max ELSE registered END
     FROM (SELECT company, MIN(rowid) AS first_row, MAX(company_total) AS declared_max,
                  COUNT(DISTINCT company_total) AS declared_count,
                  group_concat(DISTINCT company_total) AS declared_list,
                  SUM(shares) AS registered
           FROM import_lines GROUP BY company)",
    // One row per holder, with the first line that names it.
    "CREATE TEMP TABLE import_holders (
        kind TEXT NOT NULL, id TEXT NOT NULL, first_row INTEGER NOT NULL,
        PRIMARY KEY (kind, id)) WITHOUT ROWID",
    "INSERT INTO import_holders
     SELECT holder_kind, holder_id, MIN(rowid) FROM import_lines GROUP BY holder_kind, holder_id",
    // The holdings the file gives: lines of the same company, holder and class add up.
    "CREATE TEMP TABLE import_holdings (
        company TEXT NOT NULL, owner_kind TEXT NOT NULL, owner_id TEXT NOT NULL,
        share_class TEXT NOT NULL, shares INTEGER NOT NULL,
        PRIMARY KEY (company, owner_kind, owner_id, share_class)) WITHOUT ROWID",
    "INSERT INTO import_holdings
     SELECT company, holder_kind, holder_id, share_class, SUM(shares)
     FROM import_lines GROUP BY company, holder_kind, holder_id, share_class",
];

const REGISTER_ISSUERS: &str = "INSERT INTO organisations
        (orgnr, name, postal_code, place, country, total_shares)
     SELECT c.company, l.company_name, l.company_postal_code, l.company_place,
            l.company_country, c.used
     FROM import_companies c JOIN import_lines l ON l.rowid = c.first_row
     WHERE true
     ON CONFLICT (orgnr) DO NOTHING";

const REGISTER_HOLDER_ORGANISATIONS: &str = "INSERT INTO organisations
        (orgnr, name, postal_code, place, country, total_shares)
     SELECT h.id, l.holder_name, l.holder_postal_code, l.holder_place, l.holder_country, NULL
     FROM import_holders h JOIN import_lines l ON l.rowid = h.first_row
     WHERE h.kind = 'organization'
     ON CONFLICT (orgnr) DO NOTHING";

const REGISTER_PERSONS: &str = "INSERT INTO persons
        (id, name, birth_year, postal_code, place, country)
     SELECT h.id, l.holder_name, l.holder_birth_year, l.holder_postal_code, l.holder_place,
            l.holder_country
     FROM import_holders h JOIN import_lines l ON l.rowid = h.first_row
     WHERE h.kind = 'person'
     ON CONFLICT (id) DO NOTHING";

const APPLY: &[&str] = &[
    // Holdings that differ between the write model and the file, in listed companies.
    "CREATE TEMP TABLE import_changed_holdings (
        company TEXT NOT NULL, owner_kind TEXT NOT NULL, owner_id TEXT NOT NULL,
        PRIMARY KEY (company, owner_kind, owner_id)) WITHOUT ROWID",
    "INSERT OR IGNORE INTO import_changed_holdings
     SELECT h.company, h.owner_kind, h.owner_id FROM holdings h
     WHERE h.company IN (SELECT company FROM import_companies)
       AND NOT EXISTS (SELECT 1 FROM import_holdings n
                       WHERE n.company = h.company AND n.owner_kind = h.owner_kind
                         AND n.owner_id = h.owner_id AND n.share_class = h.share_class
                         AND n.shares = h.shares)",
    "INSERT OR IGNORE INTO import_changed_holdings
     SELECT n.company, n.owner_kind, n.owner_id FROM import_holdings n
     WHERE NOT EXISTS (SELECT 1 FROM holdings h
                       WHERE h.company = n.company AND h.owner_kind = n.owner_kind
                         AND h.owner_id = n.owner_id AND h.share_class = n.share_class
                         AND h.shares = n.shares)",
    // Listed companies whose total or holdings change.
    "CREATE TEMP TABLE import_changed_companies (company TEXT PRIMARY KEY) WITHOUT ROWID",
    "INSERT INTO import_changed_companies
     SELECT c.company FROM import_companies c JOIN organisations o ON o.orgnr = c.company
     WHERE o.total_shares IS NOT c.used
        OR EXISTS (SELECT 1 FROM import_changed_holdings x WHERE x.company = c.company)",
    // Owners whose holdings change, so whose holding count may.
    "CREATE TEMP TABLE import_owners (
        owner_kind TEXT NOT NULL, owner_id TEXT NOT NULL,
        PRIMARY KEY (owner_kind, owner_id)) WITHOUT ROWID",
    "INSERT OR IGNORE INTO import_owners
     SELECT owner_kind, owner_id FROM import_changed_holdings",
    // Companies first: the new version is what their changed holdings get.
    "UPDATE organisations SET version = version + 1,
         total_shares = (SELECT used FROM import_companies c WHERE c.company = organisations.orgnr)
     WHERE orgnr IN (SELECT company FROM import_changed_companies)",
    "DELETE FROM holdings WHERE (company, owner_kind, owner_id) IN (
         SELECT company, owner_kind, owner_id FROM import_changed_holdings)",
    "INSERT INTO holdings (company, owner_kind, owner_id, share_class, shares, version)
     SELECT n.company, n.owner_kind, n.owner_id, n.share_class, n.shares, o.version
     FROM import_holdings n
     JOIN import_changed_holdings x
       ON x.company = n.company AND x.owner_kind = n.owner_kind AND x.owner_id = n.owner_id
     JOIN organisations o ON o.orgnr = n.company",
    // The changed companies' state, from their holdings.
    "DELETE FROM company_classes WHERE company IN (SELECT company FROM import_changed_companies)",
    "INSERT INTO company_classes (company, share_class, shares)
     SELECT company, share_class, SUM(shares) FROM holdings
     WHERE company IN (SELECT company FROM import_changed_companies)
     GROUP BY company, share_class",
    "UPDATE organisations SET
         registered_shares = COALESCE(
             (SELECT SUM(h.shares) FROM holdings h WHERE h.company = organisations.orgnr), 0),
         owner_count = (SELECT COUNT(DISTINCT h.owner_kind || ':' || h.owner_id)
                        FROM holdings h WHERE h.company = organisations.orgnr),
         foreign_owner_count = (
             SELECT COUNT(DISTINCT h.owner_kind || ':' || h.owner_id)
             FROM holdings h
             LEFT JOIN organisations oo ON h.owner_kind = 'organization' AND oo.orgnr = h.owner_id
             LEFT JOIN persons op ON h.owner_kind = 'person' AND op.id = h.owner_id
             WHERE h.company = organisations.orgnr
               AND COALESCE(oo.country, op.country) <> 'NO')
     WHERE orgnr IN (SELECT company FROM import_changed_companies)",
    // Owners whose holding count changed.
    "UPDATE organisations SET owner_version = owner_version + 1, holding_count = n.held
     FROM (SELECT io.owner_id AS id,
                  (SELECT COUNT(DISTINCT h.company) FROM holdings h
                   WHERE h.owner_kind = 'organization' AND h.owner_id = io.owner_id) AS held
           FROM import_owners io WHERE io.owner_kind = 'organization') AS n
     WHERE organisations.orgnr = n.id AND organisations.holding_count <> n.held",
    "UPDATE persons SET owner_version = owner_version + 1, holding_count = n.held
     FROM (SELECT io.owner_id AS id,
                  (SELECT COUNT(DISTINCT h.company) FROM holdings h
                   WHERE h.owner_kind = 'person' AND h.owner_id = io.owner_id) AS held
           FROM import_owners io WHERE io.owner_kind = 'person') AS n
     WHERE persons.id = n.id AND persons.holding_count <> n.held",
];

const TEARDOWN: &[&str] = &[
    "DROP TABLE temp.import_lines",
    "DROP TABLE temp.import_companies",
    "DROP TABLE temp.import_holders",
    "DROP TABLE temp.import_holdings",
    "DROP TABLE temp.import_changed_holdings",
    "DROP TABLE temp.import_changed_companies",
    "DROP TABLE temp.import_owners",
];

async fn run_all(conn: &mut SqliteConnection, steps: &[&'static str]) -> anyhow::Result<()> {
    for step in steps {
        sqlx::query(*step)
            .execute(&mut *conn)
            .await
            .with_context(|| format!("import step: {}", first_line(step)))?;
    }
    Ok(())
}

fn first_line(sql: &str) -> &str {
    sql.lines().next().unwrap_or(sql)
}

async fn stage(conn: &mut SqliteConnection, lines: &[RegisterLine]) -> anyhow::Result<u64> {
    for chunk in lines.chunks(CHUNK) {
        let mut insert: QueryBuilder<Sqlite> = QueryBuilder::new(
            "INSERT INTO import_lines (line, company, company_name, company_postal_code, \
             company_place, company_country, company_total, holder_kind, holder_id, holder_name, \
             holder_birth_year, holder_postal_code, holder_place, holder_country, share_class, \
             shares) ",
        );
        let mut failure = None;
        insert.push_values(chunk, |mut row, line| {
            let company = &line.company;
            let (kind, id, name, birth_year, postal_code, place, country) = match &line.holder {
                RegisterHolder::Organisation(o) => (
                    "organization",
                    o.orgnr().as_str().to_owned(),
                    o.name().as_str().to_owned(),
                    None,
                    o.postal_code().map(|p| p.as_str().to_owned()),
                    o.place().map(|p| p.as_str().to_owned()),
                    o.country().alpha2().to_owned(),
                ),
                RegisterHolder::Person(p) => (
                    "person",
                    p.id().as_str().to_owned(),
                    p.name().as_str().to_owned(),
                    p.birth_year().map(|y| i64::from(y.get())),
                    p.postal_code().map(|c| c.as_str().to_owned()),
                    p.place().map(|c| c.as_str().to_owned()),
                    p.country().alpha2().to_owned(),
                ),
            };
            let numbers = (|| -> anyhow::Result<_> {
                Ok((
                    int(line.line)?,
                    company.total_shares().map(|t| int(t.get())).transpose()?,
                    int(line.shares.get())?,
                ))
            })();
            let (number, total, shares) = match numbers {
                Ok(numbers) => numbers,
                Err(error) => {
                    failure.get_or_insert(error);
                    (0, None, 0)
                }
            };
            row.push_bind(number)
                .push_bind(company.orgnr().as_str().to_owned())
                .push_bind(company.name().as_str().to_owned())
                .push_bind(company.postal_code().map(|p| p.as_str().to_owned()))
                .push_bind(company.place().map(|p| p.as_str().to_owned()))
                .push_bind(company.country().alpha2().to_owned())
                .push_bind(total)
                .push_bind(kind)
                .push_bind(id)
                .push_bind(name)
                .push_bind(birth_year)
                .push_bind(postal_code)
                .push_bind(place)
                .push_bind(country)
                .push_bind(line.share_class.as_str().to_owned())
                .push_bind(shares);
        });
        if let Some(error) = failure {
            return Err(error.context("staging register lines"));
        }
        insert
            .build()
            .persistent(true)
            .execute(&mut *conn)
            .await
            .context("staging register lines")?;
    }
    Ok(lines.len() as u64)
}

async fn conflicts(conn: &mut SqliteConnection) -> anyhow::Result<Vec<TotalConflict>> {
    let rows = sqlx::query(
        "SELECT company, declared_list, registered, used FROM import_companies \
         WHERE declared_count > 1 OR (declared_max IS NOT NULL AND registered > declared_max) \
         ORDER BY company",
    )
    .fetch_all(&mut *conn)
    .await
    .context("reading total conflicts")?;
    rows.iter()
        .map(|row| {
            let company: String = row.try_get("company")?;
            let list: Option<String> = row.try_get("declared_list")?;
            let mut declared = list
                .as_deref()
                .unwrap_or_default()
                .split(',')
                .filter(|s| !s.is_empty())
                .map(|s| {
                    s.trim()
                        .parse::<u64>()
                        .with_context(|| format!("declared total {s:?}"))
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            declared.sort_unstable();
            declared.dedup();
            Ok(TotalConflict {
                company: OrgNr::parse(&company)
                    .with_context(|| format!("staged orgnr {company:?}"))?,
                declared,
                registered: count(row.try_get("registered")?)?,
                used: count(row.try_get("used")?)?,
            })
        })
        .collect()
}

async fn scalar(conn: &mut SqliteConnection, sql: &'static str) -> anyhow::Result<u64> {
    let value: i64 = sqlx::query_scalar(sql)
        .fetch_one(&mut *conn)
        .await
        .with_context(|| format!("import count: {sql}"))?;
    count(value)
}

async fn inserted(conn: &mut SqliteConnection, sql: &'static str) -> anyhow::Result<u64> {
    let result = sqlx::query(sql)
        .execute(&mut *conn)
        .await
        .with_context(|| format!("import step: {}", first_line(sql)))?;
    Ok(result.rows_affected())
}

#[async_trait]
impl RegisterImport for SqliteStore {
    async fn import(
        &self,
        mut lines: BoxStream<'static, Vec<RegisterLine>>,
    ) -> anyhow::Result<ImportReport> {
        let mut writer = self.writer().await?;
        let conn = &mut *writer.tx;
        run_all(conn, SETUP).await?;
        let mut staged = 0;
        while let Some(batch) = lines.next().await {
            staged += stage(conn, &batch).await?;
        }
        run_all(conn, AGGREGATE).await?;
        let organisations_added = inserted(conn, REGISTER_ISSUERS).await?
            + inserted(conn, REGISTER_HOLDER_ORGANISATIONS).await?;
        let persons_added = inserted(conn, REGISTER_PERSONS).await?;
        run_all(conn, APPLY).await?;
        let report = ImportReport {
            lines: staged,
            companies: scalar(conn, "SELECT COUNT(*) FROM import_companies").await?,
            organisations_added,
            persons_added,
            holdings: scalar(
                conn,
                "SELECT COUNT(*) FROM (SELECT DISTINCT company, owner_kind, owner_id \
                 FROM import_holdings)",
            )
            .await?,
            total_conflicts: conflicts(conn).await?,
            position: {
                let last: Option<i64> = sqlx::query_scalar("SELECT MAX(position) FROM outbox")
                    .fetch_one(&mut *conn)
                    .await
                    .context("reading the last outbox position")?;
                last.map(|p| Ok::<_, anyhow::Error>(Position::new(count(p)?)))
                    .transpose()?
            },
        };
        run_all(conn, TEARDOWN).await?;
        writer.commit().await?;
        tracing::info!(
            lines = report.lines,
            companies = report.companies,
            organisations_added = report.organisations_added,
            persons_added = report.persons_added,
            conflicts = report.total_conflicts.len(),
            "imported a register extract"
        );
        Ok(report)
    }
}
