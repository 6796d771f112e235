//! Importing a year of the register into the embedded store.
//!
//! The parts are staged in this connection's own temporary tables, which take no lock on the
//! database, so API writes go on while a year loads. The commit then runs in one
//! `BEGIN IMMEDIATE` transaction: persons are linked to the adjacent years', the year's rows
//! replace its old ones, its provenance is recorded and, when it is the newest year, the live
//! register moves to it.

mod live;
mod movers;
mod stage;

use std::time::SystemTime;

use anyhow::Context as _;
use async_trait::async_trait;
use shareholders_domain::{Position, RegisterYear, YearPart, moves_live_register};
use shareholders_ports::{RegisterImport, YearImported, YearLoad, YearProvenance, YearRecord};
use sqlx::{AssertSqlSafe, Connection as _, SqliteConnection};
use tokio::sync::Mutex;

use crate::codec::count;
use crate::{SqliteStore, years};

/// The staging tables, created on the load's connection only.
const STAGING: &str = "
    DROP TABLE IF EXISTS temp.load_organisations;
    DROP TABLE IF EXISTS temp.load_persons;
    DROP TABLE IF EXISTS temp.load_holdings;
    DROP TABLE IF EXISTS temp.load_counts;
    CREATE TEMP TABLE load_organisations (
        orgnr TEXT NOT NULL PRIMARY KEY, name TEXT NOT NULL, postal_code TEXT, place TEXT,
        country TEXT NOT NULL, total_shares INTEGER, registered INTEGER NOT NULL,
        owner_count INTEGER NOT NULL, foreign_owner_count INTEGER NOT NULL) WITHOUT ROWID;
    CREATE TEMP TABLE load_persons (
        id TEXT NOT NULL PRIMARY KEY, name TEXT NOT NULL, birth_year INTEGER,
        postal_code TEXT, place TEXT, country TEXT NOT NULL) WITHOUT ROWID;
    CREATE TEMP TABLE load_holdings (
        company TEXT NOT NULL, owner_kind TEXT NOT NULL, owner_id TEXT NOT NULL,
        share_class TEXT NOT NULL, shares INTEGER NOT NULL,
        PRIMARY KEY (company, owner_kind, owner_id, share_class)) WITHOUT ROWID;
    CREATE TEMP TABLE load_counts (
        owner_kind TEXT NOT NULL, owner_id TEXT NOT NULL, holding_count INTEGER NOT NULL,
        PRIMARY KEY (owner_kind, owner_id)) WITHOUT ROWID;";

const DROP_STAGING: &str = "
    DROP TABLE IF EXISTS temp.load_mover_keys;
    DROP TABLE IF EXISTS temp.load_links;
    DROP TABLE IF EXISTS temp.load_organisations;
    DROP TABLE IF EXISTS temp.load_persons;
    DROP TABLE IF EXISTS temp.load_holdings;
    DROP TABLE IF EXISTS temp.load_counts;";

/// Replaces year `?1`'s rows by the staged ones.
const PUBLISH: &[(&str, &str)] = &[
    (
        "remove the year's organisations",
        "DELETE FROM year_organisations WHERE year = ?1",
    ),
    (
        "remove the year's persons",
        "DELETE FROM year_persons WHERE year = ?1",
    ),
    (
        "remove the year's holdings",
        "DELETE FROM year_holdings WHERE year = ?1",
    ),
    (
        "remove the year's holding counts",
        "DELETE FROM year_holding_counts WHERE year = ?1",
    ),
    (
        "write the year's organisations",
        "INSERT INTO year_organisations
         SELECT ?1, orgnr, name, postal_code, place, country, total_shares, registered,
                owner_count, foreign_owner_count
         FROM temp.load_organisations ORDER BY orgnr",
    ),
    (
        "write the year's persons",
        "INSERT INTO year_persons
         SELECT ?1, id, name, birth_year, postal_code, place, country
         FROM temp.load_persons ORDER BY id",
    ),
    (
        "write the year's holdings",
        "INSERT INTO year_holdings
         SELECT ?1, company, owner_kind, owner_id, share_class, shares
         FROM temp.load_holdings ORDER BY company, owner_kind, owner_id, share_class",
    ),
    (
        "write the year's holding counts",
        "INSERT INTO year_holding_counts
         SELECT ?1, owner_kind, owner_id, holding_count
         FROM temp.load_counts ORDER BY owner_kind, owner_id",
    ),
];

/// The tables with foreign keys that an import writes.
const REFERENCING: [&str; 3] = ["holdings", "company_classes", "live_register"];

/// Fails when a row an import wrote refers to a row that does not exist: the import's
/// transaction runs without SQLite checking each row.
async fn check_references(conn: &mut SqliteConnection) -> anyhow::Result<()> {
    for table in REFERENCING {
        let dangling = sqlx::query(AssertSqlSafe(format!("PRAGMA foreign_key_check({table})")))
            .fetch_all(&mut *conn)
            .await
            .with_context(|| format!("import: cannot check the references of {table}"))?;
        anyhow::ensure!(
            dangling.is_empty(),
            "import: {} row(s) of {table} refer to rows that do not exist",
            dangling.len()
        );
    }
    Ok(())
}

/// A year being loaded, on a connection of its own.
struct SqliteYearLoad {
    store: SqliteStore,
    /// Detached from the pool: its temporary tables die with it.
    conn: Option<SqliteConnection>,
    year: RegisterYear,
    companies: u64,
    holdings: u64,
}

impl std::fmt::Debug for SqliteYearLoad {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteYearLoad")
            .field("year", &self.year)
            .field("companies", &self.companies)
            .finish_non_exhaustive()
    }
}

/// Only one import runs at a time in a process; the write transaction of the commit
/// serialises imports from other processes.
static IMPORT_LOCK: Mutex<()> = Mutex::const_new(());

#[async_trait]
impl RegisterImport for SqliteStore {
    async fn begin_year(&self, year: RegisterYear) -> anyhow::Result<Box<dyn YearLoad>> {
        let mut conn = self
            .pool
            .acquire()
            .await
            .context("import: cannot open a connection")?
            .detach();
        sqlx::raw_sql(STAGING)
            .execute(&mut conn)
            .await
            .context("import: cannot create the staging tables")?;
        Ok(Box::new(SqliteYearLoad {
            store: self.clone(),
            conn: Some(conn),
            year,
            companies: 0,
            holdings: 0,
        }))
    }
}

impl SqliteYearLoad {
    fn conn(&mut self) -> anyhow::Result<&mut SqliteConnection> {
        self.conn
            .as_mut()
            .context("import: the connection is closed")
    }

    /// Links, publishes and records the year, in the caller's transaction.
    async fn publish(
        &mut self,
        provenance: &YearProvenance,
    ) -> anyhow::Result<(YearRecord, bool, Option<Position>)> {
        let (year, companies, holdings) = (self.year, self.companies, self.holdings);
        let year_value = i64::from(year.get());
        let conn = self.conn()?;
        let newest: Option<i64> = sqlx::query_scalar("SELECT max(year) FROM register_years")
            .fetch_one(&mut *conn)
            .await
            .context("import: cannot read the imported years")?;
        let newest = newest
            .map(RegisterYear::new)
            .transpose()
            .context("stored year")?;
        let started = std::time::Instant::now();
        let (linked, ambiguous) = movers::link(conn, year).await?;
        tracing::debug!(elapsed = ?started.elapsed(), "persons linked to the adjacent years");
        for (what, sql) in PUBLISH {
            let started = std::time::Instant::now();
            let rows = sqlx::query(*sql)
                .bind(year_value)
                .execute(&mut *conn)
                .await
                .with_context(|| format!("import: cannot {what}"))?
                .rows_affected();
            tracing::debug!(step = what, rows, elapsed = ?started.elapsed(), "year published");
        }
        let moves = moves_live_register(year, newest);
        let imported_at = SystemTime::now();
        let mut record = YearRecord {
            year,
            file_name: provenance.file_name.clone(),
            sha256: provenance.sha256.clone(),
            imported_at,
            lines: provenance.lines,
            rejects: provenance.rejects,
            companies,
            holdings,
            persons_linked: linked,
            persons_ambiguous: ambiguous,
            superseded_live_changes: 0,
            duration: provenance.duration,
        };
        // The year is recorded before the live register refers to it.
        years::save_record(conn, "register_years", &record, None).await?;
        if moves {
            record.superseded_live_changes = live::move_to(conn, year).await?;
            years::save_record(conn, "register_years", &record, None).await?;
        }
        check_references(conn).await?;
        let position: Option<i64> = sqlx::query_scalar("SELECT max(position) FROM outbox")
            .fetch_one(&mut *conn)
            .await
            .context("import: cannot read the last position")?;
        let position = position.map(|p| count(p).map(Position::new)).transpose()?;
        Ok((record, moves, position))
    }

    async fn close(&mut self) -> anyhow::Result<()> {
        if let Some(mut conn) = self.conn.take() {
            sqlx::raw_sql(DROP_STAGING)
                .execute(&mut conn)
                .await
                .context("import: cannot drop the staging tables")?;
            conn.close()
                .await
                .context("import: cannot close the connection")?;
        }
        Ok(())
    }
}

#[async_trait]
impl YearLoad for SqliteYearLoad {
    async fn load(&mut self, parts: Vec<YearPart>) -> anyhow::Result<()> {
        for part in &parts {
            if let YearPart::Company(company) = part {
                self.companies += 1;
                self.holdings += company.holdings.len() as u64;
            }
        }
        let conn = self.conn()?;
        let mut tx = conn.begin().await.context("import: cannot begin staging")?;
        stage::parts(&mut tx, &parts).await?;
        tx.commit()
            .await
            .context("import: cannot stage the parts")?;
        Ok(())
    }

    async fn commit(
        mut self: Box<Self>,
        provenance: YearProvenance,
    ) -> anyhow::Result<YearImported> {
        let _import = IMPORT_LOCK.lock().await;
        let _writes = self.store.write_lock.clone().lock_owned().await;
        let started = std::time::Instant::now();
        // Foreign keys are checked once, before the commit (`check_references`), instead of row
        // by row: with them enforced, emptying the live holdings deletes row by row (1.0 s for
        // 300,000 holdings) where SQLite otherwise clears the table whole. The setting only
        // lasts as long as this connection, which is closed after the commit.
        sqlx::raw_sql("PRAGMA foreign_keys = OFF; BEGIN IMMEDIATE")
            .execute(self.conn()?)
            .await
            .context("import: cannot begin the transaction")?;
        let published = self.publish(&provenance).await;
        let conn = self.conn()?;
        let (record, live_moved, position) = match published {
            Ok(published) => {
                sqlx::raw_sql("COMMIT")
                    .execute(&mut *conn)
                    .await
                    .context("import: cannot commit the year")?;
                published
            }
            Err(error) => {
                let _ = sqlx::raw_sql("ROLLBACK").execute(&mut *conn).await;
                let _ = self.close().await;
                return Err(error);
            }
        };
        tracing::debug!(elapsed = ?started.elapsed(), "year published");
        self.close().await?;
        Ok(YearImported {
            record,
            live_moved,
            position,
        })
    }

    async fn abort(mut self: Box<Self>) -> anyhow::Result<()> {
        self.close().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A holding of a company the register does not have, written while SQLite does not
    /// check each row, as the import's transaction writes.
    #[tokio::test]
    async fn a_reference_to_a_missing_row_fails_the_check() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let store = SqliteStore::open(dir.path()).await.expect("open the store");
        let mut conn = store.pool.acquire().await.expect("a connection").detach();
        check_references(&mut conn)
            .await
            .expect("an empty register refers to nothing missing");
        sqlx::raw_sql(
            "PRAGMA foreign_keys = OFF;
             INSERT INTO holdings (company, owner_kind, owner_id, share_class, shares, version)
             VALUES ('923609016', 'person', 'p1', 'Ordinære aksjer', 10, 1);",
        )
        .execute(&mut conn)
        .await
        .expect("written unchecked");
        let error = check_references(&mut conn)
            .await
            .expect_err("the holding's company is missing");
        assert_eq!(
            error.to_string(),
            "import: 1 row(s) of holdings refer to rows that do not exist"
        );
        sqlx::raw_sql(
            "INSERT INTO organisations (orgnr, name, country) VALUES ('923609016', 'EQUINOR ASA', 'NO')",
        )
        .execute(&mut conn)
        .await
        .expect("the company");
        check_references(&mut conn)
            .await
            .expect("the holding's company is there now");
    }
}
