//! The read model's writer: events and snapshot batches, each group of fields overwritten only
//! by a strictly newer version of it.

use anyhow::Context as _;
use async_trait::async_trait;
use shareholders_domain::{
    ClassShares, CompanyProfile, Event, OwnerRef, Person, Position, RecordedEvent,
};
use shareholders_ports::{
    HoldingSnapshot, Projection, ProjectionError, ReadModelLoader, SnapshotBatch,
};
use sqlx::query_builder::Separated;
use sqlx::{Sqlite, SqliteConnection};

use crate::bulk::insert_rows;
use crate::codec::{classes_json, int};
use crate::{SqliteStore, ownership_log};

/// The secondary indexes of a holdings table named `table` (`read_holdings`, as migration 0001
/// creates them, or a year's): its owners by company and its holdings by owner, each in the
/// order of their pages.
pub(crate) fn holdings_indexes(table: &str) -> [String; 2] {
    [
        format!(
            "CREATE INDEX IF NOT EXISTS {table}_by_company \
             ON {table} (company, shares DESC, owner_kind, owner_id)"
        ),
        format!(
            "CREATE INDEX IF NOT EXISTS {table}_by_owner \
             ON {table} (owner_kind, owner_id, shares DESC, company)"
        ),
    ]
}

/// Builds the live holdings' secondary indexes where they are missing: after a load, or
/// after a process stopped between a clear and the end of its load.
pub(crate) async fn index_holdings(conn: &mut SqliteConnection) -> anyhow::Result<()> {
    for index in holdings_indexes("read_holdings") {
        // A fixed table name.
        sqlx::query(sqlx::AssertSqlSafe(index))
            .execute(&mut *conn)
            .await
            .context("indexing the read holdings")?;
    }
    Ok(())
}

/// "Not seen yet" for a versioned group.
const NONE: i64 = -1;

/// Everything a `read_organisations` row holds. `registered` is true when the static profile
/// is complete (the registration, or a snapshot of the write model).
struct OrganisationRow {
    orgnr: String,
    registered: bool,
    name: String,
    postal_code: Option<String>,
    place: Option<String>,
    country: Option<String>,
    version: i64,
    total_shares: Option<i64>,
    registered_shares: i64,
    owner_count: i64,
    foreign_owner_count: i64,
    classes: String,
    owner_version: i64,
    holding_count: i64,
}

impl OrganisationRow {
    fn minimal(orgnr: &str, name: &str) -> Self {
        Self {
            orgnr: orgnr.to_owned(),
            registered: false,
            name: name.to_owned(),
            postal_code: None,
            place: None,
            country: None,
            version: NONE,
            total_shares: None,
            registered_shares: 0,
            owner_count: 0,
            foreign_owner_count: 0,
            classes: "[]".to_owned(),
            owner_version: NONE,
            holding_count: 0,
        }
    }
}

/// Each versioned group of a `read_organisations` row is overwritten only by a newer version;
/// the static profile only by a registration.
const UPSERT_ORGANISATION: &str = " ON CONFLICT (orgnr) DO UPDATE SET \
     name = CASE WHEN excluded.registered = 1 THEN excluded.name ELSE name END, \
     postal_code = CASE WHEN excluded.registered = 1 THEN excluded.postal_code ELSE postal_code END, \
     place = CASE WHEN excluded.registered = 1 THEN excluded.place ELSE place END, \
     country = CASE WHEN excluded.registered = 1 THEN excluded.country \
         ELSE COALESCE(country, excluded.country) END, \
     registered = MAX(registered, excluded.registered), \
     total_shares = CASE WHEN excluded.version > version THEN excluded.total_shares ELSE total_shares END, \
     registered_shares = CASE WHEN excluded.version > version THEN excluded.registered_shares ELSE registered_shares END, \
     owner_count = CASE WHEN excluded.version > version THEN excluded.owner_count ELSE owner_count END, \
     foreign_owner_count = CASE WHEN excluded.version > version THEN excluded.foreign_owner_count ELSE foreign_owner_count END, \
     classes = CASE WHEN excluded.version > version THEN excluded.classes ELSE classes END, \
     version = MAX(version, excluded.version), \
     holding_count = CASE WHEN excluded.owner_version > owner_version THEN excluded.holding_count ELSE holding_count END, \
     owner_version = MAX(owner_version, excluded.owner_version)";

/// Upserts `rows` in order (see [`insert_rows`]).
async fn upsert_organisations(
    conn: &mut SqliteConnection,
    rows: &[OrganisationRow],
) -> anyhow::Result<()> {
    let insert = "INSERT INTO read_organisations (orgnr, registered, name, postal_code, place, \
                  country, version, total_shares, registered_shares, owner_count, \
                  foreign_owner_count, classes, owner_version, holding_count) ";
    let bind = |values: &mut Separated<'_, Sqlite, &'static str>, row: &OrganisationRow| {
        values
            .push_bind(row.orgnr.clone())
            .push_bind(row.registered)
            .push_bind(row.name.clone())
            .push_bind(row.postal_code.clone())
            .push_bind(row.place.clone())
            .push_bind(row.country.clone())
            .push_bind(row.version)
            .push_bind(row.total_shares)
            .push_bind(row.registered_shares)
            .push_bind(row.owner_count)
            .push_bind(row.foreign_owner_count)
            .push_bind(row.classes.clone())
            .push_bind(row.owner_version)
            .push_bind(row.holding_count);
    };
    insert_rows(
        conn,
        insert,
        rows,
        bind,
        UPSERT_ORGANISATION,
        "read organisations",
    )
    .await
}

struct PersonRow {
    id: String,
    registered: bool,
    name: String,
    birth_year: Option<i64>,
    postal_code: Option<String>,
    place: Option<String>,
    country: String,
    owner_version: i64,
    holding_count: i64,
}

impl PersonRow {
    /// The row of a registered person, with its state as an owner.
    fn registered(person: &Person, owner_version: i64, holding_count: i64) -> Self {
        Self {
            id: person.id().as_str().to_owned(),
            registered: true,
            name: person.name().as_str().to_owned(),
            birth_year: person.birth_year().map(|y| i64::from(y.get())),
            postal_code: person.postal_code().map(|c| c.as_str().to_owned()),
            place: person.place().map(|c| c.as_str().to_owned()),
            country: person.country().alpha2().to_owned(),
            owner_version,
            holding_count,
        }
    }
}

/// A person's static profile is overwritten only by a registration, its holding count only by
/// a newer version.
const UPSERT_PERSON: &str = " ON CONFLICT (id) DO UPDATE SET \
     name = CASE WHEN excluded.registered = 1 THEN excluded.name ELSE name END, \
     birth_year = CASE WHEN excluded.registered = 1 THEN excluded.birth_year ELSE birth_year END, \
     postal_code = CASE WHEN excluded.registered = 1 THEN excluded.postal_code ELSE postal_code END, \
     place = CASE WHEN excluded.registered = 1 THEN excluded.place ELSE place END, \
     country = CASE WHEN excluded.registered = 1 THEN excluded.country ELSE country END, \
     registered = MAX(registered, excluded.registered), \
     holding_count = CASE WHEN excluded.owner_version > owner_version THEN excluded.holding_count ELSE holding_count END, \
     owner_version = MAX(owner_version, excluded.owner_version)";

/// Upserts `rows` in order (see [`insert_rows`]).
async fn upsert_persons(conn: &mut SqliteConnection, rows: &[PersonRow]) -> anyhow::Result<()> {
    let insert = "INSERT INTO read_persons (id, registered, name, birth_year, postal_code, place, \
                  country, owner_version, holding_count) ";
    let bind = |values: &mut Separated<'_, Sqlite, &'static str>, row: &PersonRow| {
        values
            .push_bind(row.id.clone())
            .push_bind(row.registered)
            .push_bind(row.name.clone())
            .push_bind(row.birth_year)
            .push_bind(row.postal_code.clone())
            .push_bind(row.place.clone())
            .push_bind(row.country.clone())
            .push_bind(row.owner_version)
            .push_bind(row.holding_count);
    };
    insert_rows(conn, insert, rows, bind, UPSERT_PERSON, "read persons").await
}

struct HoldingRow<'a> {
    company: &'a str,
    owner: &'a OwnerRef,
    owner_name: &'a str,
    owner_country: &'a str,
    owner_birth_year: Option<i64>,
    classes: &'a [ClassShares],
    version: i64,
}

/// Upserts `rows` in order (see [`insert_rows`]); a holding is overwritten only by a newer
/// version.
async fn upsert_holdings(
    conn: &mut SqliteConnection,
    rows: &[HoldingRow<'_>],
) -> anyhow::Result<()> {
    let mut values = Vec::with_capacity(rows.len());
    for row in rows {
        values.push((row, int(row.classes.iter().map(|c| c.shares).sum::<u64>())?));
    }
    let insert = "INSERT INTO read_holdings (company, owner_kind, owner_id, owner_name, \
                  owner_country, owner_birth_year, classes, shares, version) ";
    let bind = |values: &mut Separated<'_, Sqlite, &'static str>,
                (row, shares): &(&HoldingRow<'_>, i64)| {
        values
            .push_bind(row.company.to_owned())
            .push_bind(row.owner.kind().as_str())
            .push_bind(row.owner.id().to_owned())
            .push_bind(row.owner_name.to_owned())
            .push_bind(row.owner_country.to_owned())
            .push_bind(row.owner_birth_year)
            .push_bind(classes_json(row.classes))
            .push_bind(*shares)
            .push_bind(row.version);
    };
    let on_conflict = " ON CONFLICT (company, owner_kind, owner_id) DO UPDATE SET \
                       classes = excluded.classes, shares = excluded.shares, \
                       version = excluded.version \
                       WHERE excluded.version > read_holdings.version";
    insert_rows(conn, insert, &values, bind, on_conflict, "read holdings").await
}

/// A placeholder `read_organisations` row for each company of `holdings` that has none: its
/// name and declared total, no versioned group, not registered.
async fn add_placeholders(
    conn: &mut SqliteConnection,
    holdings: &[HoldingSnapshot],
) -> anyhow::Result<()> {
    let mut companies = Vec::with_capacity(holdings.len());
    for holding in holdings {
        let company = &holding.record.company;
        if companies
            .last()
            .is_none_or(|(last, _): &(&CompanyProfile, _)| last.orgnr != company.orgnr)
        {
            companies.push((
                company,
                company.total_shares.map(|t| int(t.get())).transpose()?,
            ));
        }
    }
    let bind = |values: &mut Separated<'_, Sqlite, &'static str>,
                (company, total): &(&CompanyProfile, Option<i64>)| {
        values
            .push_bind(company.orgnr.as_str().to_owned())
            .push_bind(company.name.as_str().to_owned())
            .push_bind(*total);
    };
    insert_rows(
        conn,
        "INSERT INTO read_organisations (orgnr, name, total_shares) ",
        &companies,
        bind,
        " ON CONFLICT (orgnr) DO NOTHING",
        "placeholder read organisations",
    )
    .await
}

fn poison(error: anyhow::Error) -> ProjectionError {
    ProjectionError::Poison(format!("{error:#}"))
}

async fn apply_event(
    conn: &mut SqliteConnection,
    recorded: &RecordedEvent,
) -> Result<(), ProjectionError> {
    match &recorded.event {
        Event::OrganisationRegistered(o) => {
            let row = OrganisationRow {
                registered: true,
                postal_code: o.postal_code().map(|p| p.as_str().to_owned()),
                place: o.place().map(|p| p.as_str().to_owned()),
                country: Some(o.country().alpha2().to_owned()),
                version: 0,
                total_shares: o
                    .total_shares()
                    .map(|t| int(t.get()))
                    .transpose()
                    .map_err(poison)?,
                owner_version: 0,
                ..OrganisationRow::minimal(o.orgnr().as_str(), o.name().as_str())
            };
            upsert_organisations(conn, &[row]).await?;
            ownership_log::changed(conn, &o.orgnr()).await?;
        }
        Event::PersonRegistered(p) => {
            upsert_persons(conn, &[PersonRow::registered(p, 0, 0)]).await?;
            ownership_log::person_registered(conn, p.id()).await?;
        }
        Event::SharesPurchased(e) => {
            let state = &e.company_state;
            let company = OrganisationRow {
                version: int(state.version).map_err(poison)?,
                total_shares: e
                    .company
                    .total_shares
                    .map(|t| int(t.get()))
                    .transpose()
                    .map_err(poison)?,
                registered_shares: int(state.registered_shares).map_err(poison)?,
                owner_count: int(state.owner_count).map_err(poison)?,
                foreign_owner_count: int(state.foreign_owner_count).map_err(poison)?,
                classes: classes_json(&state.classes),
                ..OrganisationRow::minimal(e.company.orgnr.as_str(), e.company.name.as_str())
            };
            upsert_organisations(conn, &[company]).await?;
            let owner_version = int(e.owner_state.version).map_err(poison)?;
            let holding_count = int(e.owner_state.holding_count).map_err(poison)?;
            let owner = &e.owner;
            match &owner.owner {
                OwnerRef::Organisation(orgnr) => {
                    let row = OrganisationRow {
                        country: Some(owner.country.alpha2().to_owned()),
                        owner_version,
                        holding_count,
                        ..OrganisationRow::minimal(orgnr.as_str(), owner.name.as_str())
                    };
                    upsert_organisations(conn, &[row]).await?;
                    // Its row may be new: what its own holdings show of it.
                    ownership_log::changed(conn, orgnr).await?;
                }
                OwnerRef::Person(id) => {
                    upsert_persons(
                        conn,
                        &[PersonRow {
                            id: id.as_str().to_owned(),
                            registered: false,
                            name: owner.name.as_str().to_owned(),
                            birth_year: owner.birth_year.map(|y| i64::from(y.get())),
                            postal_code: None,
                            place: None,
                            country: owner.country.alpha2().to_owned(),
                            owner_version,
                            holding_count,
                        }],
                    )
                    .await?;
                }
            }
            upsert_holdings(
                conn,
                &[HoldingRow {
                    company: e.company.orgnr.as_str(),
                    owner: &owner.owner,
                    owner_name: owner.name.as_str(),
                    owner_country: owner.country.alpha2(),
                    owner_birth_year: owner.birth_year.map(|y| i64::from(y.get())),
                    classes: &e.holding,
                    version: int(state.version).map_err(poison)?,
                }],
            )
            .await?;
            ownership_log::changed(conn, &e.company.orgnr).await?;
        }
    }
    sqlx::query(
        "INSERT INTO read_applied (position, applied_at_ms) VALUES (?, ?) ON CONFLICT DO NOTHING",
    )
    .bind(int(recorded.position.get()).map_err(poison)?)
    .bind(crate::codec::millis(std::time::SystemTime::now()))
    .execute(&mut *conn)
    .await
    .context("recording an applied position")?;
    Ok(())
}

#[async_trait]
impl Projection for SqliteStore {
    async fn apply(&self, events: &[RecordedEvent]) -> Result<(), ProjectionError> {
        if events.is_empty() {
            return Ok(());
        }
        let mut writer = self.writer().await?;
        for event in events {
            apply_event(&mut writer.tx, event).await?;
        }
        writer.commit().await?;
        Ok(())
    }
}

#[async_trait]
impl ReadModelLoader for SqliteStore {
    /// Also drops the holdings' secondary indexes until [`finish`](Self::finish): a load in
    /// company order inserting into an index in owner order spends its time writing that
    /// index's pages, and building it once from the loaded rows is a sort.
    async fn clear(&self) -> anyhow::Result<()> {
        let mut writer = self.writer().await?;
        for sql in [
            "DROP INDEX IF EXISTS read_holdings_by_company",
            "DROP INDEX IF EXISTS read_holdings_by_owner",
            "DELETE FROM read_holdings",
            "DELETE FROM read_organisations",
            "DELETE FROM read_persons",
            "DELETE FROM read_applied",
            "DELETE FROM read_watermark",
        ] {
            sqlx::query(sql)
                .execute(&mut *writer.tx)
                .await
                .context("clearing the read model")?;
        }
        ownership_log::everything_changed(&mut writer.tx).await?;
        writer.commit().await
    }

    async fn load(&self, batch: SnapshotBatch) -> anyhow::Result<()> {
        let mut organisations = Vec::with_capacity(batch.companies.len());
        for company in &batch.companies {
            let record = &company.record;
            let o = &record.organisation;
            organisations.push(OrganisationRow {
                orgnr: o.orgnr().as_str().to_owned(),
                registered: true,
                name: o.name().as_str().to_owned(),
                postal_code: o.postal_code().map(|p| p.as_str().to_owned()),
                place: o.place().map(|p| p.as_str().to_owned()),
                country: Some(o.country().alpha2().to_owned()),
                version: int(company.version)?,
                total_shares: o.total_shares().map(|t| int(t.get())).transpose()?,
                registered_shares: int(record.registered_shares)?,
                owner_count: int(record.owner_count)?,
                foreign_owner_count: int(record.foreign_owner_count)?,
                classes: classes_json(&record.classes),
                owner_version: int(company.owner_version)?,
                holding_count: int(record.holding_count)?,
            });
        }
        let mut persons = Vec::with_capacity(batch.persons.len());
        for person in &batch.persons {
            persons.push(PersonRow::registered(
                &person.record.person,
                int(person.owner_version)?,
                int(person.record.holding_count)?,
            ));
        }
        let mut holdings = Vec::with_capacity(batch.holdings.len());
        for holding in &batch.holdings {
            let record = &holding.record;
            holdings.push(HoldingRow {
                company: record.company.orgnr.as_str(),
                owner: &record.owner.owner,
                owner_name: record.owner.name.as_str(),
                owner_country: record.owner.country.alpha2(),
                owner_birth_year: record.owner.birth_year.map(|y| i64::from(y.get())),
                classes: &record.classes,
                version: int(holding.version)?,
            });
        }
        let mut writer = self.writer().await?;
        let conn = &mut *writer.tx;
        upsert_organisations(conn, &organisations).await?;
        upsert_persons(conn, &persons).await?;
        // The companies' rows, in case a holding comes before its company: placeholders (no
        // versioned group, not registered) that the company's own write overrides.
        add_placeholders(conn, &batch.holdings).await?;
        upsert_holdings(conn, &holdings).await?;
        // One entry for the batch, not one per document: a held copy is read again whole.
        ownership_log::everything_changed(conn).await?;
        writer.commit().await
    }

    async fn finish(&self) -> anyhow::Result<()> {
        let mut writer = self.writer().await?;
        index_holdings(&mut writer.tx).await?;
        writer.commit().await
    }

    async fn mark_applied_through(&self, position: Position) -> anyhow::Result<()> {
        let mut writer = self.writer().await?;
        sqlx::query(
            "INSERT INTO read_watermark (id, position) VALUES (1, ?) \
             ON CONFLICT (id) DO UPDATE SET position = MAX(position, excluded.position)",
        )
        .bind(int(position.get())?)
        .execute(&mut *writer.tx)
        .await
        .context("raising the applied watermark")?;
        sqlx::query(
            "DELETE FROM read_applied \
             WHERE position <= (SELECT position FROM read_watermark WHERE id = 1)",
        )
        .execute(&mut *writer.tx)
        .await
        .context("pruning applied positions")?;
        writer.commit().await
    }
}
