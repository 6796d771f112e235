//! The queries, answered from the read model: the live register's tables, or a year's.

use std::sync::Arc;

use anyhow::Context as _;
use async_trait::async_trait;
use shareholders_domain::{
    OrgNr, OwnerKind, OwnerProfile, OwnerRef, PersonId, Position, RegisterYear, SearchQuery,
};
use shareholders_ports::{
    CompanyRecord, HoldingRecord, PageRequest, PersonRecord, ReadError, ReadStore, SearchMatches,
    YearRecord,
};
use sqlx::Row as _;
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

fn search_hit(row: &sqlx::sqlite::SqliteRow) -> anyhow::Result<OwnerProfile> {
    let kind: String = row.try_get("kind")?;
    let id: String = row.try_get("id")?;
    let name: String = row.try_get("name")?;
    let country: Option<String> = row.try_get("country")?;
    let birth_year: Option<i64> = row.try_get("birth_year")?;
    Ok(OwnerProfile {
        owner: codec::owner_ref(&kind, &id)?,
        name: codec::name(&name)?,
        country: codec::country(country.as_deref().unwrap_or_default())?,
        birth_year: codec::birth_year(birth_year)?,
    })
}

/// The ids of those of `owners` of `kind`.
fn ids_of(owners: &[OwnerRef], kind: OwnerKind) -> Vec<&str> {
    owners
        .iter()
        .filter(|owner| owner.kind() == kind)
        .map(OwnerRef::id)
        .collect()
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

    /// Through the FTS5 index of names (migration 0005), plus the orgnr's primary key for a
    /// query of digits.
    async fn search(&self, query: &SearchQuery, limit: u32) -> Result<SearchMatches, ReadError> {
        // Each word is folded letters and digits, so quoting it makes it a plain FTS5 string;
        // the trailing `*` makes it a prefix.
        let expression = query
            .words()
            .iter()
            .map(|word| format!("\"{}\"*", word.replace('"', "")))
            .collect::<Vec<_>>()
            .join(" AND ");
        let prefix = query.orgnr_prefix();
        // Every orgnr that starts with the prefix sorts before the prefix followed by ':'.
        let after = prefix.map(|prefix| format!("{prefix}:"));
        let ReadTables {
            organisations,
            persons,
            search,
            search_parties,
            ..
        } = &self.tables;
        let sql = format!(
            "WITH hits (kind, id) AS ( \
                 SELECT p.kind, p.id FROM {search} JOIN {search_parties} p \
                 ON p.rowid = {search}.rowid WHERE {search} MATCH ?1 \
                 UNION \
                 SELECT 'organization', orgnr FROM {organisations} \
                 WHERE ?2 IS NOT NULL AND orgnr >= ?2 AND orgnr < ?3 AND registered = 1), \
             found AS ( \
                 SELECT h.kind, h.id, o.name, o.country, NULL AS birth_year FROM hits h \
                 JOIN {organisations} o ON h.kind = 'organization' AND o.orgnr = h.id \
                 UNION ALL \
                 SELECT h.kind, h.id, p.name, p.country, p.birth_year FROM hits h \
                 JOIN {persons} p ON h.kind = 'person' AND p.id = h.id) \
             SELECT kind, id, name, country, birth_year, COUNT(*) OVER () AS total FROM found \
             WHERE ?4 IS NULL OR kind = ?4 \
             ORDER BY length(name), name, kind, id LIMIT ?5"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(expression)
            .bind(prefix)
            .bind(after)
            .bind(query.kind().map(OwnerKind::as_str))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .context("searching the register")?;
        let total = rows
            .first()
            .map(|row| row.try_get::<i64, _>("total"))
            .transpose()
            .context("reading a search's total")?
            .map_or(Ok(0), codec::count)?;
        let parties = rows.iter().map(search_hit).collect::<anyhow::Result<_>>()?;
        Ok(SearchMatches { total, parties })
    }

    /// Each owner's profile from one of its holdings: the first of its index, found by a
    /// seek an owner, then read by the holding's key. One query a kind of owner; the `CROSS
    /// JOIN` keeps the owners asked for as the outer loop (SQLite's planner would otherwise
    /// scan every holding of the kind for them).
    async fn owner_profiles(&self, owners: &[OwnerRef]) -> Result<Vec<OwnerProfile>, ReadError> {
        let mut all = Vec::with_capacity(owners.len());
        for kind in [OwnerKind::Organisation, OwnerKind::Person] {
            let keys = ids_of(owners, kind);
            if keys.is_empty() {
                continue;
            }
            let keys = serde_json::to_string(&keys).context("listing keys")?;
            let sql = format!(
                "SELECT h.owner_kind AS kind, h.owner_id AS id, h.owner_name AS name, \
                 h.owner_country AS country, h.owner_birth_year AS birth_year \
                 FROM json_each(?2) k CROSS JOIN {holdings} h \
                 ON h.owner_kind = ?1 AND h.owner_id = k.value AND h.company = ( \
                     SELECT f.company FROM {holdings} f \
                     WHERE f.owner_kind = ?1 AND f.owner_id = k.value LIMIT 1)",
                holdings = self.tables.holdings,
            );
            let rows = sqlx::query(AssertSqlSafe(sql))
                .bind(kind.as_str())
                .bind(keys)
                .fetch_all(&self.pool)
                .await
                .context("reading owners' profiles")?;
            for row in &rows {
                all.push(search_hit(row)?);
            }
        }
        Ok(all)
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
            let keys = ids_of(owners, kind);
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

    async fn owner_profiles(&self, owners: &[OwnerRef]) -> Result<Vec<OwnerProfile>, ReadError> {
        self.live_queries().owner_profiles(owners).await
    }

    async fn search(&self, query: &SearchQuery, limit: u32) -> Result<SearchMatches, ReadError> {
        self.live_queries().search(query, limit).await
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

    async fn owner_profiles(&self, owners: &[OwnerRef]) -> Result<Vec<OwnerProfile>, ReadError> {
        self.0.owner_profiles(owners).await
    }

    async fn search(&self, query: &SearchQuery, limit: u32) -> Result<SearchMatches, ReadError> {
        self.0.search(query, limit).await
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
