//! The write model's whole state as sorted streams, read row by row from the server.

use anyhow::Context as _;
use async_trait::async_trait;
use futures::stream::{BoxStream, StreamExt};
use shareholders_domain::{CompanyProfile, OwnerProfile, Position};
use shareholders_ports::{
    CompanyRecord, CompanySnapshot, HoldingRecord, HoldingSnapshot, PersonRecord, PersonSnapshot,
    Snapshot,
};
use sqlx::Postgres;
use sqlx::Row as _;
use sqlx::postgres::{PgArguments, PgPool, PgRow};
use sqlx::query::Query;

use crate::rows::{self, OrganisationRow, PersonRow, to_u64};

/// The write model's state. Each stream reads one query's rows as they arrive (the server
/// sends them as the stream is polled), so memory stays flat whatever the register's size.
#[derive(Clone, Debug)]
pub struct PostgresSnapshot {
    pool: PgPool,
}

impl PostgresSnapshot {
    pub(crate) fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

const COMPANIES: &str = "
SELECT o.orgnr, o.name, o.postal_code, o.place, o.country, o.total_shares,
       c.version, c.registered, c.owner_count, c.foreign_owner_count,
       s.version AS owner_version, s.holding_count,
       coalesce(k.names, '{}') AS class_names, coalesce(k.shares, '{}') AS class_shares
FROM organisations o
JOIN company_state c ON c.orgnr = o.orgnr
JOIN owner_state s ON s.owner_kind = 'organization' AND s.owner_id = o.orgnr
LEFT JOIN LATERAL (
    SELECT array_agg(share_class ORDER BY share_class) AS names,
           array_agg(shares ORDER BY share_class) AS shares
    FROM company_classes WHERE company = o.orgnr
) k ON true
ORDER BY o.orgnr";

const PERSONS: &str = "
SELECT p.id, p.name, p.birth_year, p.postal_code, p.place, p.country,
       s.version AS owner_version, s.holding_count
FROM persons p
JOIN owner_state s ON s.owner_kind = 'person' AND s.owner_id = p.id
ORDER BY p.id";

const HOLDINGS: &str = "
SELECT h.company, co.name AS company_name, co.total_shares, cs.registered,
       h.owner_kind, h.owner_id,
       coalesce(oo.name, pp.name) AS owner_name,
       coalesce(oo.country, pp.country) AS owner_country,
       pp.birth_year AS owner_birth_year,
       h.class_names, h.class_shares, h.version
FROM (
    SELECT company, owner_kind, owner_id,
           array_agg(share_class ORDER BY share_class) AS class_names,
           array_agg(shares ORDER BY share_class) AS class_shares,
           max(version) AS version
    FROM holdings
    GROUP BY company, owner_kind, owner_id
) h
JOIN organisations co ON co.orgnr = h.company
JOIN company_state cs ON cs.orgnr = h.company
LEFT JOIN organisations oo ON h.owner_kind = 'organization' AND oo.orgnr = h.owner_id
LEFT JOIN persons pp ON h.owner_kind = 'person' AND pp.id = h.owner_id
ORDER BY h.company, h.owner_kind, h.owner_id";

pub(crate) fn company(row: &PgRow) -> anyhow::Result<CompanySnapshot> {
    let organisation = OrganisationRow {
        orgnr: row.try_get("orgnr")?,
        name: row.try_get("name")?,
        postal_code: row.try_get("postal_code")?,
        place: row.try_get("place")?,
        country: row.try_get("country")?,
        total_shares: row.try_get("total_shares")?,
    }
    .into_domain()?;
    Ok(CompanySnapshot {
        record: CompanyRecord {
            organisation,
            registered_shares: to_u64(row.try_get("registered")?, "registered")?,
            owner_count: to_u64(row.try_get("owner_count")?, "owner count")?,
            foreign_owner_count: to_u64(row.try_get("foreign_owner_count")?, "foreign count")?,
            holding_count: to_u64(row.try_get("holding_count")?, "holding count")?,
            classes: rows::classes(row.try_get("class_names")?, row.try_get("class_shares")?)?,
        },
        version: to_u64(row.try_get("version")?, "version")?,
        owner_version: to_u64(row.try_get("owner_version")?, "owner version")?,
        search: None,
    })
}

pub(crate) fn person(row: &PgRow) -> anyhow::Result<PersonSnapshot> {
    let person = PersonRow {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        birth_year: row.try_get("birth_year")?,
        postal_code: row.try_get("postal_code")?,
        place: row.try_get("place")?,
        country: row.try_get("country")?,
    }
    .into_domain()?;
    Ok(PersonSnapshot {
        record: PersonRecord {
            person,
            holding_count: to_u64(row.try_get("holding_count")?, "holding count")?,
        },
        owner_version: to_u64(row.try_get("owner_version")?, "owner version")?,
        search: None,
    })
}

pub(crate) fn holding(row: &PgRow) -> anyhow::Result<HoldingSnapshot> {
    let company: String = row.try_get("company")?;
    let kind: String = row.try_get("owner_kind")?;
    let owner_id: String = row.try_get("owner_id")?;
    let owner_name: Option<String> = row.try_get("owner_name")?;
    let owner_country: Option<String> = row.try_get("owner_country")?;
    let owner_name =
        owner_name.with_context(|| format!("holding of unregistered owner {kind} {owner_id}"))?;
    let owner_country = owner_country.unwrap_or_default();
    let classes = rows::classes(row.try_get("class_names")?, row.try_get("class_shares")?)?;
    Ok(HoldingSnapshot {
        shares: classes.iter().map(|class| class.shares).sum(),
        record: HoldingRecord {
            company: CompanyProfile {
                orgnr: rows::orgnr(&company)?,
                name: rows::name(&row.try_get::<String, _>("company_name")?)?,
                total_shares: rows::total(row.try_get("total_shares")?)?,
            },
            company_registered_shares: to_u64(row.try_get("registered")?, "registered")?,
            owner: OwnerProfile {
                owner: rows::owner(&kind, &owner_id)?,
                name: rows::name(&owner_name)?,
                country: rows::country(&owner_country)?,
                birth_year: rows::birth_year(row.try_get("owner_birth_year")?)?,
            },
            classes,
        },
        version: to_u64(row.try_get("version")?, "version")?,
    })
}

/// A query's rows as the server sends them, converted one by one: the live snapshot's and
/// each year's.
pub(crate) fn converted<'a, T: Send + 'static>(
    query: Query<'a, Postgres, PgArguments>,
    pool: &'a PgPool,
    what: &'static str,
    convert: fn(&PgRow) -> anyhow::Result<T>,
) -> BoxStream<'a, anyhow::Result<T>> {
    query
        .fetch(pool)
        .map(move |row| {
            let row = row.with_context(|| format!("cannot read the {what}"))?;
            convert(&row).with_context(|| format!("invalid stored {what}"))
        })
        .boxed()
}

#[async_trait]
impl Snapshot for PostgresSnapshot {
    fn companies(&self) -> BoxStream<'_, anyhow::Result<CompanySnapshot>> {
        converted(sqlx::query(COMPANIES), &self.pool, "organisations", company)
    }

    fn persons(&self) -> BoxStream<'_, anyhow::Result<PersonSnapshot>> {
        converted(sqlx::query(PERSONS), &self.pool, "persons", person)
    }

    fn holdings(&self) -> BoxStream<'_, anyhow::Result<HoldingSnapshot>> {
        converted(sqlx::query(HOLDINGS), &self.pool, "holdings", holding)
    }

    async fn position(&self) -> anyhow::Result<Option<Position>> {
        let position: Option<i64> = sqlx::query_scalar("SELECT max(position) FROM outbox")
            .fetch_one(&self.pool)
            .await
            .context("cannot read the outbox's last position")?;
        position
            .map(|p| to_u64(p, "position").map(Position::new))
            .transpose()
    }
}
