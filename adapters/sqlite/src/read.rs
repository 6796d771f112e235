//! The queries, answered from the read model: the live register's tables, or a year's.

use std::sync::Arc;

use anyhow::Context as _;
use async_trait::async_trait;
use shareholders_domain::{OrgNr, OwnerKind, OwnerRef, PersonId, Position, RegisterYear};
use shareholders_ports::{
    CompanyRecord, HoldingRecord, PageRequest, PersonRecord, ReadError, ReadStore, YearRecord,
};
use sqlx::{AssertSqlSafe, SqlitePool};

use crate::SqliteStore;
use crate::codec::{self, int};
use crate::years::{self, ReadTables};

fn page_binds(page: PageRequest) -> anyhow::Result<(i64, i64)> {
    Ok((i64::from(page.size()), int(page.offset())?))
}

fn records(rows: &[sqlx::sqlite::SqliteRow]) -> Result<Vec<HoldingRecord>, ReadError> {
    Ok(rows
        .iter()
        .map(|row| codec::holding(row).map(|h| h.record))
        .collect::<anyhow::Result<_>>()?)
}

/// The queries over one register's read tables.
#[derive(Clone, Debug)]
pub(crate) struct Queries {
    pub(crate) pool: SqlitePool,
    pub(crate) tables: ReadTables,
}

impl Queries {
    async fn organisation(&self, orgnr: OrgNr) -> Result<Option<CompanyRecord>, ReadError> {
        let sql = format!(
            "SELECT orgnr, name, postal_code, place, country, total_shares, registered_shares, \
             owner_count, foreign_owner_count, classes, holding_count, version, owner_version \
             FROM {} WHERE orgnr = ? AND registered = 1",
            self.tables.organisations
        );
        // Table names only.
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(orgnr.as_str().to_owned())
            .fetch_optional(&self.pool)
            .await
            .context("reading an organisation")?;
        Ok(row
            .map(|row| codec::company(&row).map(|c| c.record))
            .transpose()?)
    }

    async fn person(&self, id: &PersonId) -> Result<Option<PersonRecord>, ReadError> {
        let sql = format!(
            "SELECT id, name, birth_year, postal_code, place, country, holding_count, \
             owner_version FROM {} WHERE id = ? AND registered = 1",
            self.tables.persons
        );
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(id.as_str().to_owned())
            .fetch_optional(&self.pool)
            .await
            .context("reading a person")?;
        Ok(row
            .map(|row| codec::person(&row).map(|p| p.record))
            .transpose()?)
    }

    fn holdings_sql(&self, filter_and_order: &str) -> String {
        format!(
            "SELECT h.company, o.name AS company_name, o.total_shares AS company_total, \
             o.registered_shares AS company_registered, h.owner_kind, h.owner_id, h.owner_name, \
             h.owner_country, h.owner_birth_year, h.classes, h.shares, h.version \
             FROM {holdings} h JOIN {organisations} o ON o.orgnr = h.company \
             {filter_and_order}",
            holdings = self.tables.holdings,
            organisations = self.tables.organisations,
        )
    }

    async fn owners(
        &self,
        company: OrgNr,
        page: PageRequest,
    ) -> Result<Vec<HoldingRecord>, ReadError> {
        let (limit, offset) = page_binds(page)?;
        let sql = self.holdings_sql(
            "WHERE h.company = ? ORDER BY h.shares DESC, h.owner_kind, h.owner_id LIMIT ? OFFSET ?",
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(company.as_str().to_owned())
            .bind(limit)
            .bind(offset)
            .fetch_all(&self.pool)
            .await
            .context("reading a company's owners")?;
        records(&rows)
    }

    async fn holdings(
        &self,
        owner: &OwnerRef,
        page: PageRequest,
    ) -> Result<Vec<HoldingRecord>, ReadError> {
        let (limit, offset) = page_binds(page)?;
        let sql = self.holdings_sql(
            "WHERE h.owner_kind = ? AND h.owner_id = ? ORDER BY h.shares DESC, h.company \
             LIMIT ? OFFSET ?",
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(owner.kind().as_str())
            .bind(owner.id().to_owned())
            .bind(limit)
            .bind(offset)
            .fetch_all(&self.pool)
            .await
            .context("reading an owner's holdings")?;
        records(&rows)
    }

    /// The holdings `filter` picks by the JSON array of `keys` (after `kind`, when given).
    async fn holdings_where_in(
        &self,
        filter: &str,
        kind: Option<&str>,
        keys: &[&str],
    ) -> Result<Vec<HoldingRecord>, ReadError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let keys = serde_json::to_string(keys).context("listing keys")?;
        let sql = self.holdings_sql(filter);
        let mut query = sqlx::query(AssertSqlSafe(sql));
        if let Some(kind) = kind {
            query = query.bind(kind.to_owned());
        }
        let rows = query
            .bind(keys)
            .fetch_all(&self.pool)
            .await
            .context("reading the holdings of a level of the ownership graph")?;
        records(&rows)
    }

    async fn owners_of(&self, companies: &[OrgNr]) -> Result<Vec<HoldingRecord>, ReadError> {
        let keys: Vec<&str> = companies.iter().map(OrgNr::as_str).collect();
        self.holdings_where_in(
            "WHERE h.company IN (SELECT value FROM json_each(?))",
            None,
            &keys,
        )
        .await
    }

    async fn holdings_of(&self, owners: &[OwnerRef]) -> Result<Vec<HoldingRecord>, ReadError> {
        let mut all = Vec::new();
        for kind in [OwnerKind::Organisation, OwnerKind::Person] {
            let keys: Vec<&str> = owners
                .iter()
                .filter(|owner| owner.kind() == kind)
                .map(OwnerRef::id)
                .collect();
            all.extend(
                self.holdings_where_in(
                    "WHERE h.owner_kind = ? AND h.owner_id IN (SELECT value FROM json_each(?))",
                    Some(kind.as_str()),
                    &keys,
                )
                .await?,
            );
        }
        Ok(all)
    }
}

#[async_trait]
impl ReadStore for SqliteStore {
    async fn organisation(&self, orgnr: OrgNr) -> Result<Option<CompanyRecord>, ReadError> {
        self.live_queries().organisation(orgnr).await
    }

    async fn person(&self, id: &PersonId) -> Result<Option<PersonRecord>, ReadError> {
        self.live_queries().person(id).await
    }

    async fn owners(
        &self,
        company: OrgNr,
        page: PageRequest,
    ) -> Result<Vec<HoldingRecord>, ReadError> {
        self.live_queries().owners(company, page).await
    }

    async fn holdings(
        &self,
        owner: &OwnerRef,
        page: PageRequest,
    ) -> Result<Vec<HoldingRecord>, ReadError> {
        self.live_queries().holdings(owner, page).await
    }

    async fn owners_of(&self, companies: &[OrgNr]) -> Result<Vec<HoldingRecord>, ReadError> {
        self.live_queries().owners_of(companies).await
    }

    async fn holdings_of(&self, owners: &[OwnerRef]) -> Result<Vec<HoldingRecord>, ReadError> {
        self.live_queries().holdings_of(owners).await
    }

    async fn years(&self) -> Result<Vec<YearRecord>, ReadError> {
        Ok(years::served(&self.pool).await?)
    }

    async fn year(&self, year: RegisterYear) -> Result<Option<Arc<dyn ReadStore>>, ReadError> {
        let tables = years::served_tables(&self.pool, year).await?;
        Ok(tables.map(|tables| {
            Arc::new(YearQueries(Queries {
                pool: self.pool.clone(),
                tables,
            })) as Arc<dyn ReadStore>
        }))
    }

    async fn applied(&self, position: Position) -> Result<bool, ReadError> {
        let position = int(position.get())?;
        let applied: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM read_applied WHERE position = ?) \
             OR COALESCE((SELECT position FROM read_watermark WHERE id = 1), 0) >= ?",
        )
        .bind(position)
        .bind(position)
        .fetch_one(&self.pool)
        .await
        .context("reading whether a position is applied")?;
        Ok(applied)
    }
}

impl SqliteStore {
    fn live_queries(&self) -> Queries {
        Queries {
            pool: self.pool.clone(),
            tables: ReadTables::live(),
        }
    }
}

/// The queries on one imported year's read model.
#[derive(Debug)]
struct YearQueries(Queries);

#[async_trait]
impl ReadStore for YearQueries {
    async fn organisation(&self, orgnr: OrgNr) -> Result<Option<CompanyRecord>, ReadError> {
        self.0.organisation(orgnr).await
    }

    async fn person(&self, id: &PersonId) -> Result<Option<PersonRecord>, ReadError> {
        self.0.person(id).await
    }

    async fn owners(
        &self,
        company: OrgNr,
        page: PageRequest,
    ) -> Result<Vec<HoldingRecord>, ReadError> {
        self.0.owners(company, page).await
    }

    async fn holdings(
        &self,
        owner: &OwnerRef,
        page: PageRequest,
    ) -> Result<Vec<HoldingRecord>, ReadError> {
        self.0.holdings(owner, page).await
    }

    async fn owners_of(&self, companies: &[OrgNr]) -> Result<Vec<HoldingRecord>, ReadError> {
        self.0.owners_of(companies).await
    }

    async fn holdings_of(&self, owners: &[OwnerRef]) -> Result<Vec<HoldingRecord>, ReadError> {
        self.0.holdings_of(owners).await
    }

    async fn years(&self) -> Result<Vec<YearRecord>, ReadError> {
        Ok(years::served(&self.0.pool).await?)
    }

    /// A year's view answers for its own year only.
    async fn year(&self, _year: RegisterYear) -> Result<Option<Arc<dyn ReadStore>>, ReadError> {
        Ok(None)
    }

    async fn applied(&self, _position: Position) -> Result<bool, ReadError> {
        Ok(true)
    }
}
