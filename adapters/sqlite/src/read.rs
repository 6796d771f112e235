//! The queries, answered from the read model.

use anyhow::Context as _;
use async_trait::async_trait;
use shareholders_domain::{OrgNr, OwnerRef, PersonId, Position};
use shareholders_ports::{
    CompanyRecord, HoldingRecord, PageRequest, PersonRecord, ReadError, ReadStore,
};

use crate::SqliteStore;
use crate::codec::{self, int};

fn page_binds(page: PageRequest) -> anyhow::Result<(i64, i64)> {
    Ok((i64::from(page.size()), int(page.offset())?))
}

#[async_trait]
impl ReadStore for SqliteStore {
    async fn organisation(&self, orgnr: OrgNr) -> Result<Option<CompanyRecord>, ReadError> {
        let row = sqlx::query(
            "SELECT orgnr, name, postal_code, place, country, total_shares, registered_shares, \
             owner_count, foreign_owner_count, classes, holding_count, version, owner_version \
             FROM read_organisations WHERE orgnr = ? AND registered = 1",
        )
        .bind(orgnr.as_str().to_owned())
        .fetch_optional(&self.pool)
        .await
        .context("reading an organisation")?;
        Ok(row
            .map(|row| codec::company(&row).map(|c| c.record))
            .transpose()?)
    }

    async fn person(&self, id: &PersonId) -> Result<Option<PersonRecord>, ReadError> {
        let row = sqlx::query(
            "SELECT id, name, birth_year, postal_code, place, country, holding_count, \
             owner_version FROM read_persons WHERE id = ? AND registered = 1",
        )
        .bind(id.as_str().to_owned())
        .fetch_optional(&self.pool)
        .await
        .context("reading a person")?;
        Ok(row
            .map(|row| codec::person(&row).map(|p| p.record))
            .transpose()?)
    }

    async fn owners(
        &self,
        company: OrgNr,
        page: PageRequest,
    ) -> Result<Vec<HoldingRecord>, ReadError> {
        let (limit, offset) = page_binds(page)?;
        let rows = sqlx::query(
            "SELECT h.company, o.name AS company_name, o.total_shares AS company_total, \
             o.registered_shares AS company_registered, h.owner_kind, h.owner_id, h.owner_name, \
             h.owner_country, h.owner_birth_year, h.classes, h.version \
             FROM read_holdings h JOIN read_organisations o ON o.orgnr = h.company \
             WHERE h.company = ? \
             ORDER BY h.shares DESC, h.owner_kind, h.owner_id LIMIT ? OFFSET ?",
        )
        .bind(company.as_str().to_owned())
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await
        .context("reading a company's owners")?;
        Ok(rows
            .iter()
            .map(|row| codec::holding(row).map(|h| h.record))
            .collect::<anyhow::Result<_>>()?)
    }

    async fn holdings(
        &self,
        owner: &OwnerRef,
        page: PageRequest,
    ) -> Result<Vec<HoldingRecord>, ReadError> {
        let (limit, offset) = page_binds(page)?;
        let rows = sqlx::query(
            "SELECT h.company, o.name AS company_name, o.total_shares AS company_total, \
             o.registered_shares AS company_registered, h.owner_kind, h.owner_id, h.owner_name, \
             h.owner_country, h.owner_birth_year, h.classes, h.version \
             FROM read_holdings h JOIN read_organisations o ON o.orgnr = h.company \
             WHERE h.owner_kind = ? AND h.owner_id = ? \
             ORDER BY h.shares DESC, h.company LIMIT ? OFFSET ?",
        )
        .bind(owner.kind().as_str())
        .bind(owner.id().to_owned())
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await
        .context("reading an owner's holdings")?;
        Ok(rows
            .iter()
            .map(|row| codec::holding(row).map(|h| h.record))
            .collect::<anyhow::Result<_>>()?)
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
