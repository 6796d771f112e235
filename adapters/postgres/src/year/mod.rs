//! Importing a year of the register: `COPY` into fresh tables, indexes after, persons linked,
//! then attached as the year's partitions in one short transaction that also moves the live
//! register when the year is the newest.

mod copy;
mod live;
mod movers;
mod snapshot;

use anyhow::Context as _;
use async_trait::async_trait;
use shareholders_domain::{Position, RegisterYear, YearPart, moves_live_register};
use shareholders_ports::{RegisterImport, YearImported, YearLoad, YearProvenance, YearRecord};
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnection, PgCopyIn, PgPool, PgPoolCopyExt as _};
use sqlx::{AssertSqlSafe, Connection as _, Postgres};

use crate::PostgresStore;
use crate::rows::{system_time, to_i64, to_u64};

/// Only one import runs at a time: the key of its session-level advisory lock.
const IMPORT_LOCK: i64 = 0x5348_4152_4559_4552; // "SHAREYER"

/// Send a table's `COPY` data once this many bytes wait, so memory stays bounded.
const FLUSH_BYTES: usize = 1 << 20;

/// The four tables of a year, by name: its partitions, or the fresh tables being loaded.
#[derive(Clone, Debug)]
pub(crate) struct Tables {
    pub organisations: String,
    pub persons: String,
    pub holdings: String,
    pub counts: String,
}

const PARENTS: [&str; 4] = [
    "year_organisations",
    "year_persons",
    "year_holdings",
    "year_holding_counts",
];

impl Tables {
    fn named(year: impl std::fmt::Display, suffix: &str) -> Self {
        let [organisations, persons, holdings, counts] =
            PARENTS.map(|parent| format!("{parent}_y{year}{suffix}"));
        Self {
            organisations,
            persons,
            holdings,
            counts,
        }
    }

    /// The partitions of an imported year.
    pub(crate) fn partitions(year: impl std::fmt::Display) -> Self {
        Self::named(year, "")
    }

    fn fresh(year: RegisterYear) -> Self {
        Self::named(year, "_new")
    }

    fn each(&self) -> [(&'static str, &str); 4] {
        [
            (PARENTS[0], &self.organisations),
            (PARENTS[1], &self.persons),
            (PARENTS[2], &self.holdings),
            (PARENTS[3], &self.counts),
        ]
    }
}

async fn run(conn: &mut PgConnection, what: &str, sql: &str) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    // Built from table names and years only.
    sqlx::raw_sql(AssertSqlSafe(sql.to_owned()))
        .execute(&mut *conn)
        .await
        .with_context(|| format!("import: cannot {what}"))?;
    tracing::debug!(step = what, elapsed = ?started.elapsed(), "import step");
    Ok(())
}

/// One table's `COPY`, fed in chunks.
struct CopyStream {
    copy: Option<PgCopyIn<PoolConnection<Postgres>>>,
    buffer: String,
}

impl CopyStream {
    async fn open(pool: &PgPool, table: &str, columns: &str) -> anyhow::Result<Self> {
        let copy = pool
            .copy_in_raw(&format!("COPY {table} {columns} FROM STDIN (FORMAT text)"))
            .await
            .with_context(|| format!("import: cannot start the COPY into {table}"))?;
        Ok(Self {
            copy: Some(copy),
            buffer: String::with_capacity(FLUSH_BYTES + 4096),
        })
    }

    async fn send(&mut self, at_least: usize) -> anyhow::Result<()> {
        if self.buffer.len() < at_least.max(1) {
            return Ok(());
        }
        if let Some(copy) = &mut self.copy {
            copy.send(self.buffer.as_bytes())
                .await
                .context("import: cannot send rows to COPY")?;
        }
        self.buffer.clear();
        Ok(())
    }

    async fn finish(&mut self) -> anyhow::Result<u64> {
        self.send(1).await?;
        match self.copy.take() {
            Some(copy) => copy.finish().await.context("import: the COPY failed"),
            None => Ok(0),
        }
    }
}

/// A year being loaded: a dedicated session holding the import lock, and a `COPY` per table.
struct PgYearLoad {
    /// Detached from the pool: closing it (also on drop) ends the session and its lock.
    session: Option<PgConnection>,
    year: RegisterYear,
    fresh: Tables,
    organisations: CopyStream,
    persons: CopyStream,
    holdings: CopyStream,
    counts: CopyStream,
    companies: u64,
    holding_count: u64,
}

impl std::fmt::Debug for PgYearLoad {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgYearLoad")
            .field("year", &self.year)
            .field("companies", &self.companies)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl RegisterImport for PostgresStore {
    async fn begin_year(&self, year: RegisterYear) -> anyhow::Result<Box<dyn YearLoad>> {
        let mut session = self
            .pool
            .acquire()
            .await
            .context("import: cannot connect")?
            .detach();
        sqlx::query("SELECT pg_advisory_lock($1)")
            .bind(IMPORT_LOCK)
            .execute(&mut session)
            .await
            .context("import: cannot take the import lock")?;
        let fresh = Tables::fresh(year);
        for (parent, table) in fresh.each() {
            run(
                &mut session,
                "create the year's tables",
                &format!(
                    "DROP TABLE IF EXISTS {table};
                     CREATE TABLE {table} (LIKE {parent} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"
                ),
            )
            .await?;
        }
        Ok(Box::new(PgYearLoad {
            organisations: CopyStream::open(&self.pool, &fresh.organisations, copy::ORGANISATIONS)
                .await?,
            persons: CopyStream::open(&self.pool, &fresh.persons, copy::PERSONS).await?,
            holdings: CopyStream::open(&self.pool, &fresh.holdings, copy::HOLDINGS).await?,
            counts: CopyStream::open(&self.pool, &fresh.counts, copy::COUNTS).await?,
            session: Some(session),
            year,
            fresh,
            companies: 0,
            holding_count: 0,
        }))
    }
}

impl PgYearLoad {
    fn session(&mut self) -> anyhow::Result<&mut PgConnection> {
        self.session
            .as_mut()
            .context("import: the session is closed")
    }

    /// Builds the fresh tables' indexes (those of their parents, so that attaching them
    /// reuses them) and statistics.
    async fn index(&mut self) -> anyhow::Result<()> {
        let fresh = self.fresh.clone();
        let statements = [
            format!(
                "ALTER TABLE {} ADD PRIMARY KEY (year, orgnr)",
                fresh.organisations
            ),
            format!("ALTER TABLE {} ADD PRIMARY KEY (year, id)", fresh.persons),
            format!(
                "ALTER TABLE {} ADD PRIMARY KEY (year, company, owner_kind, owner_id, share_class)",
                fresh.holdings
            ),
            format!(
                "CREATE INDEX ON {} (year, owner_kind, owner_id, company)",
                fresh.holdings
            ),
            format!(
                "ALTER TABLE {} ADD PRIMARY KEY (year, owner_kind, owner_id)",
                fresh.counts
            ),
            format!(
                "ANALYZE {}, {}, {}, {}",
                fresh.organisations, fresh.persons, fresh.holdings, fresh.counts
            ),
        ];
        let session = self.session()?;
        run(
            session,
            "set the import's settings",
            "SET maintenance_work_mem = '512MB'; SET work_mem = '256MB'; SET jit = off",
        )
        .await?;
        for statement in &statements {
            run(session, "index the year's tables", statement).await?;
        }
        Ok(())
    }

    /// Makes the fresh tables the year's partitions, records the year and moves the live
    /// register when the year is the newest: one transaction.
    async fn publish(
        &mut self,
        provenance: &YearProvenance,
        linked: (u64, u64),
    ) -> anyhow::Result<(YearRecord, bool)> {
        let year = self.year;
        let year_value = i16::try_from(year.get())?;
        let fresh = self.fresh.clone();
        let old = Tables::partitions(year);
        let (companies, holdings) = (self.companies, self.holding_count);
        let session = self.session()?;
        let mut tx = session
            .begin()
            .await
            .context("import: cannot begin the transaction")?;
        let newest: Option<i16> = sqlx::query_scalar("SELECT max(year) FROM register_years")
            .fetch_one(&mut *tx)
            .await
            .context("import: cannot read the imported years")?;
        let newest = newest
            .map(|y| RegisterYear::new(i64::from(y)))
            .transpose()
            .context("stored year")?;
        for ((parent, table), (_, partition)) in fresh.each().into_iter().zip(old.each()) {
            run(
                &mut tx,
                "attach the year's tables",
                &format!(
                    "DROP TABLE IF EXISTS {partition};
                     ALTER TABLE {table} RENAME TO {partition};
                     ALTER TABLE {parent} ATTACH PARTITION {partition} FOR VALUES IN ({year})"
                ),
            )
            .await?;
        }
        let moves = moves_live_register(year, newest);
        let superseded = if moves {
            // The year must be recorded before the live register refers to it.
            record(
                &mut tx, year_value, provenance, companies, holdings, linked, 0,
            )
            .await?;
            live::move_to(&mut tx, year).await?.superseded
        } else {
            0
        };
        let imported_at_ms = record(
            &mut tx, year_value, provenance, companies, holdings, linked, superseded,
        )
        .await?;
        tx.commit()
            .await
            .context("import: cannot commit the transaction")?;
        let imported_at = system_time(imported_at_ms);
        Ok((
            YearRecord {
                year,
                file_name: provenance.file_name.clone(),
                sha256: provenance.sha256.clone(),
                imported_at,
                lines: provenance.lines,
                rejects: provenance.rejects,
                companies,
                holdings,
                persons_linked: linked.0,
                persons_ambiguous: linked.1,
                superseded_live_changes: superseded,
                duration: provenance.duration,
            },
            moves,
        ))
    }

    async fn close(&mut self) -> anyhow::Result<()> {
        if let Some(mut session) = self.session.take() {
            sqlx::query("SELECT pg_advisory_unlock($1)")
                .bind(IMPORT_LOCK)
                .execute(&mut session)
                .await
                .context("import: cannot release the import lock")?;
            session
                .close()
                .await
                .context("import: cannot close the session")?;
        }
        Ok(())
    }
}

/// Records (or re-records) the year's provenance; returns when it was imported, in
/// milliseconds since the epoch.
async fn record(
    conn: &mut PgConnection,
    year: i16,
    provenance: &YearProvenance,
    companies: u64,
    holdings: u64,
    (linked, ambiguous): (u64, u64),
    superseded: u64,
) -> anyhow::Result<i64> {
    let duration_ms = provenance
        .duration
        .map(|duration| i64::try_from(duration.as_millis()))
        .transpose()
        .context("import duration")?;
    sqlx::query_scalar(
        "INSERT INTO register_years (year, file_name, sha256, imported_at, lines, rejects,
                                     companies, holdings, persons_linked, persons_ambiguous,
                                     superseded_live_changes, duration_ms)
         VALUES ($1, $2, $3, now(), $4, $5, $6, $7, $8, $9, $10, $11)
         ON CONFLICT (year) DO UPDATE
         SET file_name = excluded.file_name, sha256 = excluded.sha256,
             imported_at = excluded.imported_at, lines = excluded.lines,
             rejects = excluded.rejects, companies = excluded.companies,
             holdings = excluded.holdings, persons_linked = excluded.persons_linked,
             persons_ambiguous = excluded.persons_ambiguous,
             superseded_live_changes = excluded.superseded_live_changes,
             duration_ms = excluded.duration_ms
         RETURNING (extract(epoch FROM imported_at) * 1000)::bigint",
    )
    .bind(year)
    .bind(&provenance.file_name)
    .bind(&provenance.sha256)
    .bind(to_i64(provenance.lines, "lines")?)
    .bind(to_i64(provenance.rejects, "rejects")?)
    .bind(to_i64(companies, "companies")?)
    .bind(to_i64(holdings, "holdings")?)
    .bind(to_i64(linked, "links")?)
    .bind(to_i64(ambiguous, "ambiguous persons")?)
    .bind(to_i64(superseded, "superseded changes")?)
    .bind(duration_ms)
    .fetch_one(&mut *conn)
    .await
    .context("import: cannot record the year")
}

#[async_trait]
impl YearLoad for PgYearLoad {
    async fn load(&mut self, parts: Vec<YearPart>) -> anyhow::Result<()> {
        let year = self.year;
        for part in &parts {
            match part {
                YearPart::Company(company) => {
                    self.companies += 1;
                    self.holding_count += company.holdings.len() as u64;
                    copy::company(&mut self.organisations.buffer, year, company);
                    copy::holdings(&mut self.holdings.buffer, year, company);
                }
                YearPart::Person(person) => copy::person(&mut self.persons.buffer, year, person),
                YearPart::HolderOrganisation(organisation) => {
                    copy::holder_organisation(&mut self.organisations.buffer, year, organisation);
                }
                YearPart::HoldingCount(owner, count) => {
                    copy::holding_count(&mut self.counts.buffer, year, owner, *count);
                }
            }
        }
        for stream in [
            &mut self.organisations,
            &mut self.persons,
            &mut self.holdings,
            &mut self.counts,
        ] {
            stream.send(FLUSH_BYTES).await?;
        }
        Ok(())
    }

    async fn commit(
        mut self: Box<Self>,
        provenance: YearProvenance,
    ) -> anyhow::Result<YearImported> {
        let started = std::time::Instant::now();
        for stream in [
            &mut self.organisations,
            &mut self.persons,
            &mut self.holdings,
            &mut self.counts,
        ] {
            stream.finish().await?;
        }
        tracing::debug!(elapsed = ?started.elapsed(), "year copied");
        self.index().await?;
        let fresh = self.fresh.clone();
        let year = self.year;
        let linked = movers::link(self.session()?, year, &fresh).await?;
        let (record, live_moved) = self.publish(&provenance, linked).await?;
        let position: Option<i64> = sqlx::query_scalar("SELECT max(position) FROM outbox")
            .fetch_one(self.session()?)
            .await
            .context("import: cannot read the last position")?;
        self.close().await?;
        Ok(YearImported {
            record,
            live_moved,
            position: position
                .map(|p| to_u64(p, "position").map(Position::new))
                .transpose()?,
        })
    }

    async fn abort(mut self: Box<Self>) -> anyhow::Result<()> {
        for stream in [
            &mut self.organisations,
            &mut self.persons,
            &mut self.holdings,
            &mut self.counts,
        ] {
            if let Some(copy) = stream.copy.take() {
                let _ = copy.abort("the import was aborted").await;
            }
        }
        let fresh = self.fresh.clone();
        let session = self.session()?;
        for (_, table) in fresh.each() {
            run(
                session,
                "drop the year's tables",
                &format!("DROP TABLE IF EXISTS {table}"),
            )
            .await?;
        }
        self.close().await
    }
}
