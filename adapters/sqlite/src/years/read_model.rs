//! The read model of the years: a year's tables are built beside the served ones, then served
//! in one transaction that drops the previous generation.

use anyhow::Context as _;
use async_trait::async_trait;
use futures::stream::BoxStream;
use shareholders_domain::{Organisation, Person, Position, RegisterYear};
use shareholders_ports::{
    CompanySnapshot, HoldingRecord, HoldingSnapshot, PersonSnapshot, ReadModelLoader, Snapshot,
    SnapshotBatch, YearReadLoad, YearReadModel, YearRecord,
};
use sqlx::query_builder::Separated;
use sqlx::{AssertSqlSafe, Sqlite, SqliteConnection, SqlitePool};

use super::{ReadTables, save_record, served, served_tables};
use crate::SqliteStore;
use crate::bulk::insert_rows;
use crate::codec::{self, classes_json, int, kind_str};
use crate::projection::holdings_indexes;
use crate::snapshot::decoded;

async fn execute(conn: &mut SqliteConnection, sql: String, what: &str) -> anyhow::Result<()> {
    // Built from table names, which are numbers and fixed words.
    sqlx::query(AssertSqlSafe(sql))
        .execute(&mut *conn)
        .await
        .with_context(|| format!("year read model: cannot {what}"))?;
    Ok(())
}

/// The `CREATE TABLE` of a live read table, renamed.
async fn shaped_as(conn: &mut SqliteConnection, live: &str, table: &str) -> anyhow::Result<String> {
    let sql: String = sqlx::query_scalar("SELECT sql FROM sqlite_master WHERE name = ?")
        .bind(live)
        .fetch_one(&mut *conn)
        .await
        .with_context(|| format!("reading the shape of {live}"))?;
    Ok(sql.replacen(live, table, 1))
}

async fn drop_tables(conn: &mut SqliteConnection, tables: &ReadTables) -> anyhow::Result<()> {
    for table in [
        &tables.search,
        &tables.search_parties,
        &tables.holdings,
        &tables.organisations,
        &tables.persons,
    ] {
        execute(
            conn,
            format!("DROP TABLE IF EXISTS {table}"),
            "drop a year's table",
        )
        .await?;
    }
    Ok(())
}

/// Tables of `year` from loads that never published.
async fn abandoned(
    conn: &mut SqliteConnection,
    year: i64,
    served_generation: Option<i64>,
) -> anyhow::Result<Vec<ReadTables>> {
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE ? \
         AND name LIKE '%\\_organisations' ESCAPE '\\'",
    )
    .bind(format!("read\\_y{year}g%"))
    .fetch_all(&mut *conn)
    .await
    .context("listing a year's tables")?;
    Ok(names
        .iter()
        .filter_map(|name| {
            let generation = name
                .strip_prefix(&format!("read_y{year}g"))?
                .strip_suffix("_organisations")?
                .parse::<i64>()
                .ok()?;
            (Some(generation) != served_generation).then(|| ReadTables::year(year, generation))
        })
        .collect())
}

#[async_trait]
impl YearReadModel for SqliteStore {
    async fn begin_year(&self, year: RegisterYear) -> anyhow::Result<Box<dyn YearReadLoad>> {
        let year = i64::from(year.get());
        let mut writer = self.writer().await?;
        let conn = &mut *writer.tx;
        let served_generation: Option<i64> =
            sqlx::query_scalar("SELECT generation FROM read_years WHERE year = ?")
                .bind(year)
                .fetch_optional(&mut *conn)
                .await
                .context("reading a served year")?;
        for tables in abandoned(conn, year, served_generation).await? {
            drop_tables(conn, &tables).await?;
        }
        let generation: i64 = sqlx::query_scalar(
            "INSERT INTO read_year_generations (id, generation) VALUES (1, 1) \
             ON CONFLICT (id) DO UPDATE SET generation = generation + 1 RETURNING generation",
        )
        .fetch_one(&mut *conn)
        .await
        .context("allocating a year's generation")?;
        let tables = ReadTables::year(year, generation);
        let live = ReadTables::live();
        for (live, table) in [
            (&live.organisations, &tables.organisations),
            (&live.persons, &tables.persons),
            (&live.holdings, &tables.holdings),
        ] {
            let create = shaped_as(conn, live, table).await?;
            execute(conn, create, "create a year's table").await?;
        }
        writer.commit().await?;
        Ok(Box::new(SqliteYearReadLoad {
            store: self.clone(),
            year,
            generation,
            tables,
        }))
    }

    async fn served_years(&self) -> anyhow::Result<Vec<YearRecord>> {
        served(&self.pool).await
    }

    async fn year_snapshot(&self, year: RegisterYear) -> anyhow::Result<Option<Box<dyn Snapshot>>> {
        Ok(served_tables(&self.pool, year).await?.map(|tables| {
            Box::new(ReadYearSnapshot {
                pool: self.pool.clone(),
                tables,
            }) as Box<dyn Snapshot>
        }))
    }

    async fn drop_year(&self, year: RegisterYear) -> anyhow::Result<()> {
        let year = i64::from(year.get());
        let mut writer = self.writer().await?;
        let conn = &mut *writer.tx;
        for tables in abandoned(conn, year, None).await? {
            drop_tables(conn, &tables).await?;
        }
        sqlx::query("DELETE FROM read_years WHERE year = ?")
            .bind(year)
            .execute(&mut *conn)
            .await
            .context("removing a served year")?;
        writer.commit().await
    }
}

/// A year's read tables being filled.
#[derive(Debug)]
struct SqliteYearReadLoad {
    store: SqliteStore,
    year: i64,
    generation: i64,
    tables: ReadTables,
}

#[async_trait]
impl ReadModelLoader for SqliteYearReadLoad {
    async fn clear(&self) -> anyhow::Result<()> {
        Ok(())
    }

    async fn load(&self, batch: SnapshotBatch) -> anyhow::Result<()> {
        let mut writer = self.store.writer().await?;
        let conn = &mut *writer.tx;
        insert_companies(conn, &self.tables.organisations, &batch.companies).await?;
        insert_persons(conn, &self.tables.persons, &batch.persons).await?;
        insert_holdings(conn, &self.tables.holdings, &batch.holdings).await?;
        writer.commit().await
    }

    async fn mark_applied_through(&self, _position: Position) -> anyhow::Result<()> {
        Ok(())
    }
}

#[async_trait]
impl YearReadLoad for SqliteYearReadLoad {
    async fn publish(self: Box<Self>, record: YearRecord) -> anyhow::Result<()> {
        let mut writer = self.store.writer().await?;
        let conn = &mut *writer.tx;
        for index in holdings_indexes(&self.tables.holdings) {
            execute(conn, index, "index a year's holdings").await?;
        }
        index_names(conn, &self.tables).await?;
        let previous: Option<i64> =
            sqlx::query_scalar("SELECT generation FROM read_years WHERE year = ?")
                .bind(self.year)
                .fetch_optional(&mut *conn)
                .await
                .context("reading a served year")?;
        save_record(conn, "read_years", &record, Some(self.generation)).await?;
        if let Some(previous) = previous.filter(|&g| g != self.generation) {
            drop_tables(conn, &ReadTables::year(self.year, previous)).await?;
        }
        writer.commit().await
    }
}

/// `column` spelt twice, as `shareholders_domain::search_words` spells the Norwegian letters;
/// the FTS5 tokenizer does the rest of the folding (migration 0005 has the same expression).
fn folded_name(column: &str) -> String {
    let spelt = |oe: &str, aa: &str| {
        format!(
            "replace(replace(replace(replace(replace(replace(replace({column}, \
             'Æ', 'ae'), 'æ', 'ae'), 'Ø', '{oe}'), 'ø', '{oe}'), 'Å', '{aa}'), 'å', '{aa}'), \
             'ß', 'ss')"
        )
    };
    format!("{} || ' ' || {}", spelt("oe", "aa"), spelt("o", "a"))
}

/// Builds the search index of a year's names (the live register's is kept by the triggers of
/// migration 0005): a year's tables never change once loaded, so it is built once, whole.
async fn index_names(conn: &mut SqliteConnection, tables: &ReadTables) -> anyhow::Result<()> {
    let ReadTables {
        organisations,
        persons,
        search,
        search_parties,
        ..
    } = tables;
    let organisation_name = folded_name("o.name");
    let person_name = folded_name("p.name");
    for (sql, what) in [
        (
            format!(
                "CREATE TABLE {search_parties} (rowid INTEGER PRIMARY KEY, kind TEXT NOT NULL, \
                 id TEXT NOT NULL, UNIQUE (kind, id))"
            ),
            "create a year's search parties",
        ),
        (
            format!(
                "CREATE VIRTUAL TABLE {search} USING fts5(name, content = '', \
                 tokenize = 'unicode61 remove_diacritics 2')"
            ),
            "create a year's search index",
        ),
        (
            format!(
                "INSERT INTO {search_parties} (kind, id) \
                 SELECT 'organization', orgnr FROM {organisations} WHERE registered = 1 \
                 UNION ALL SELECT 'person', id FROM {persons} WHERE registered = 1"
            ),
            "list a year's parties for search",
        ),
        (
            format!(
                "INSERT INTO {search} (rowid, name) \
                 SELECT s.rowid, {organisation_name} FROM {search_parties} s \
                 JOIN {organisations} o ON s.kind = 'organization' AND o.orgnr = s.id \
                 UNION ALL SELECT s.rowid, {person_name} FROM {search_parties} s \
                 JOIN {persons} p ON s.kind = 'person' AND p.id = s.id"
            ),
            "index a year's names",
        ),
    ] {
        execute(conn, sql, what).await?;
    }
    Ok(())
}

/// Indexes the names of the served years published before search existed.
pub(crate) async fn index_served_years(store: &SqliteStore) -> anyhow::Result<()> {
    let unindexed: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT year, generation FROM read_years y WHERE NOT EXISTS \
         (SELECT 1 FROM sqlite_master WHERE type = 'table' \
          AND name = 'read_y' || y.year || 'g' || y.generation || '_search_parties')",
    )
    .fetch_all(&store.pool)
    .await
    .context("listing the years without a search index")?;
    for (year, generation) in unindexed {
        let mut writer = store.writer().await?;
        index_names(&mut writer.tx, &ReadTables::year(year, generation)).await?;
        writer.commit().await?;
        tracing::info!(year, "indexed the names of an imported year for search");
    }
    Ok(())
}

async fn insert_companies(
    conn: &mut SqliteConnection,
    table: &str,
    companies: &[CompanySnapshot],
) -> anyhow::Result<()> {
    let mut rows = Vec::with_capacity(companies.len());
    for company in companies {
        let record = &company.record;
        let o = &record.organisation;
        rows.push((
            o,
            o.total_shares().map(|t| int(t.get())).transpose()?,
            [
                int(company.version)?,
                int(record.registered_shares)?,
                int(record.owner_count)?,
                int(record.foreign_owner_count)?,
                int(company.owner_version)?,
                int(record.holding_count)?,
            ],
            classes_json(&record.classes),
        ));
    }
    let insert = format!(
        "INSERT INTO {table} (orgnr, registered, name, postal_code, place, country, version, \
         total_shares, registered_shares, owner_count, foreign_owner_count, owner_version, \
         holding_count, classes) "
    );
    let bind =
        |values: &mut Separated<'_, Sqlite, &'static str>,
         (o, total, numbers, classes): &(&Organisation, Option<i64>, [i64; 6], String)| {
            values
                .push_bind(o.orgnr().as_str().to_owned())
                .push_bind(1_i64)
                .push_bind(o.name().as_str().to_owned())
                .push_bind(o.postal_code().map(|p| p.as_str().to_owned()))
                .push_bind(o.place().map(|p| p.as_str().to_owned()))
                .push_bind(o.country().alpha2().to_owned())
                .push_bind(numbers[0])
                .push_bind(*total);
            for number in &numbers[1..] {
                values.push_bind(*number);
            }
            values.push_bind(classes.clone());
        };
    insert_rows(conn, &insert, &rows, bind, "", "a year's organisations").await
}

async fn insert_persons(
    conn: &mut SqliteConnection,
    table: &str,
    persons: &[PersonSnapshot],
) -> anyhow::Result<()> {
    let mut rows = Vec::with_capacity(persons.len());
    for person in persons {
        rows.push((
            &person.record.person,
            int(person.owner_version)?,
            int(person.record.holding_count)?,
        ));
    }
    let insert = format!(
        "INSERT INTO {table} (id, registered, name, birth_year, postal_code, place, country, \
         owner_version, holding_count) "
    );
    let bind = |values: &mut Separated<'_, Sqlite, &'static str>,
                (p, owner_version, holding_count): &(&Person, i64, i64)| {
        values
            .push_bind(p.id().as_str().to_owned())
            .push_bind(1_i64)
            .push_bind(p.name().as_str().to_owned())
            .push_bind(p.birth_year().map(|y| i64::from(y.get())))
            .push_bind(p.postal_code().map(|c| c.as_str().to_owned()))
            .push_bind(p.place().map(|c| c.as_str().to_owned()))
            .push_bind(p.country().alpha2().to_owned())
            .push_bind(*owner_version)
            .push_bind(*holding_count);
    };
    insert_rows(conn, &insert, &rows, bind, "", "a year's persons").await
}

async fn insert_holdings(
    conn: &mut SqliteConnection,
    table: &str,
    holdings: &[HoldingSnapshot],
) -> anyhow::Result<()> {
    let mut rows = Vec::with_capacity(holdings.len());
    for holding in holdings {
        rows.push((
            &holding.record,
            int(holding.record.shares())?,
            int(holding.version)?,
        ));
    }
    let insert = format!(
        "INSERT INTO {table} (company, owner_kind, owner_id, owner_name, owner_country, \
         owner_birth_year, classes, shares, version) "
    );
    let bind = |values: &mut Separated<'_, Sqlite, &'static str>,
                (h, shares, version): &(&HoldingRecord, i64, i64)| {
        values
            .push_bind(h.company.orgnr.as_str().to_owned())
            .push_bind(kind_str(&h.owner.owner))
            .push_bind(h.owner.owner.id().to_owned())
            .push_bind(h.owner.name.as_str().to_owned())
            .push_bind(h.owner.country.alpha2().to_owned())
            .push_bind(h.owner.birth_year.map(|y| i64::from(y.get())))
            .push_bind(classes_json(&h.classes))
            .push_bind(*shares)
            .push_bind(*version);
    };
    insert_rows(conn, &insert, &rows, bind, "", "a year's holdings").await
}

/// A served year's read tables, as a snapshot.
#[derive(Clone, Debug)]
struct ReadYearSnapshot {
    pool: SqlitePool,
    tables: ReadTables,
}

#[async_trait]
impl Snapshot for ReadYearSnapshot {
    fn companies(&self) -> BoxStream<'_, anyhow::Result<CompanySnapshot>> {
        let sql = format!(
            "SELECT orgnr, name, postal_code, place, country, total_shares, registered_shares, \
             owner_count, foreign_owner_count, classes, holding_count, version, owner_version \
             FROM {} WHERE registered = 1 ORDER BY orgnr",
            self.tables.organisations
        );
        decoded(sqlx::query(AssertSqlSafe(sql)), &self.pool, codec::company)
    }

    fn persons(&self) -> BoxStream<'_, anyhow::Result<PersonSnapshot>> {
        let sql = format!(
            "SELECT id, name, birth_year, postal_code, place, country, holding_count, \
             owner_version FROM {} WHERE registered = 1 ORDER BY id",
            self.tables.persons
        );
        decoded(sqlx::query(AssertSqlSafe(sql)), &self.pool, codec::person)
    }

    fn holdings(&self) -> BoxStream<'_, anyhow::Result<HoldingSnapshot>> {
        let sql = format!(
            "SELECT h.company, o.name AS company_name, o.total_shares AS company_total, \
             o.registered_shares AS company_registered, h.owner_kind, h.owner_id, h.owner_name, \
             h.owner_country, h.owner_birth_year, h.classes, h.shares, h.version \
             FROM {} h JOIN {} o ON o.orgnr = h.company \
             ORDER BY h.company, h.owner_kind, h.owner_id",
            self.tables.holdings, self.tables.organisations
        );
        decoded(sqlx::query(AssertSqlSafe(sql)), &self.pool, codec::holding)
    }

    async fn position(&self) -> anyhow::Result<Option<Position>> {
        Ok(None)
    }
}
