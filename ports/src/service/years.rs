//! The use cases over the register's years: the imported years, a company's history, and what
//! changed in its ownership between two years.

use std::collections::BTreeMap;

use shareholders_domain::{
    ChangeKind, OrgNr, OwnerProfile, OwnerRef, Percentage, RegisterYear, company_total,
    holding_changes, percentage,
};

use super::{PageInfo, QueryError, Service};
use crate::{CompanyRecord, PageRequest, ReadError, ReadStore, YearRecord};

/// A company in one imported year.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct HistoryEntry {
    pub year: RegisterYear,
    /// The declared total, or the registered shares when none is declared.
    pub total_shares: u64,
    pub registered_shares: u64,
    pub number_of_owners: u64,
    /// Companies it holds shares in that year.
    pub number_of_holdings: u64,
}

/// One owner whose share count in the company changed between two years.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ChangeEntry {
    /// As the later year lists the owner (the earlier one for an owner who exited).
    pub owner: OwnerProfile,
    pub change: ChangeKind,
    pub shares: (u64, u64),
    pub percentage: (Percentage, Percentage),
}

/// What changed in a company's ownership between two years.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ChangesView {
    pub orgnr: OrgNr,
    pub from: RegisterYear,
    pub to: RegisterYear,
    /// The company's total in each year; `None` in a year whose extract does not list it.
    pub total_shares: (Option<u64>, Option<u64>),
    /// A page of the changes, largest first.
    pub changes: Vec<ChangeEntry>,
    pub page: PageInfo,
}

/// A year's owners of a company, with their shares summed over classes, by owner.
type OwnersByRef = BTreeMap<OwnerRef, (OwnerProfile, u64)>;

async fn every_owner(read: &dyn ReadStore, orgnr: OrgNr) -> Result<OwnersByRef, QueryError> {
    let mut owners = BTreeMap::new();
    for page in 1.. {
        let request = PageRequest::new(Some(page), Some(PageRequest::MAX_SIZE))
            .map_err(|e| ReadError::Unknown(e.into()))?;
        let holdings = read.owners(orgnr, request).await?;
        let last = holdings.len() < PageRequest::MAX_SIZE as usize;
        for holding in holdings {
            let shares = holding.shares();
            owners.insert(holding.owner.owner.clone(), (holding.owner, shares));
        }
        if last {
            break;
        }
    }
    Ok(owners)
}

fn total(company: &CompanyRecord) -> u64 {
    company_total(
        company.organisation.total_shares(),
        company.registered_shares,
    )
}

impl Service {
    /// The imported years the read model serves, oldest first.
    ///
    /// # Errors
    /// [`QueryError::Read`] when the store fails.
    pub async fn years(&self) -> Result<Vec<YearRecord>, QueryError> {
        Ok(self.read.years().await?)
    }

    /// The company in every imported year that lists it, oldest first; `None` when no year
    /// lists it.
    ///
    /// # Errors
    /// [`QueryError::Read`] when the store fails.
    pub async fn history(&self, orgnr: OrgNr) -> Result<Option<Vec<HistoryEntry>>, QueryError> {
        let mut entries = Vec::new();
        for record in self.read.years().await? {
            let Some(read) = self.read.year(record.year).await? else {
                continue;
            };
            if let Some(company) = read.organisation(orgnr).await? {
                entries.push(HistoryEntry {
                    year: record.year,
                    total_shares: total(&company),
                    registered_shares: company.registered_shares,
                    number_of_owners: company.owner_count,
                    number_of_holdings: company.holding_count,
                });
            }
        }
        Ok((!entries.is_empty()).then_some(entries))
    }

    /// The owners of the company whose share count changed from year `from` to year `to`,
    /// largest change first, a page at a time; `None` when neither year lists the company.
    ///
    /// # Errors
    /// [`QueryError::YearNotImported`] for a year the read model does not serve;
    /// [`QueryError::Read`] when the store fails.
    pub async fn changes(
        &self,
        orgnr: OrgNr,
        from: RegisterYear,
        to: RegisterYear,
        page: PageRequest,
    ) -> Result<Option<ChangesView>, QueryError> {
        let mut years = Vec::with_capacity(2);
        for year in [from, to] {
            let read = self
                .read
                .year(year)
                .await?
                .ok_or(QueryError::YearNotImported(year))?;
            let company = read.organisation(orgnr).await?;
            let owners = match &company {
                Some(company) if company.owner_count > 0 => {
                    every_owner(read.as_ref(), orgnr).await?
                }
                _ => BTreeMap::new(),
            };
            years.push((company.as_ref().map(total), owners));
        }
        let [(total_from, before), (total_to, after)]: [(Option<u64>, OwnersByRef); 2] = years
            .try_into()
            .map_err(|_| ReadError::Unknown(anyhow::anyhow!("two years were read")))?;
        if total_from.is_none() && total_to.is_none() {
            return Ok(None);
        }
        let changes = holding_changes(
            before
                .iter()
                .map(|(owner, (_, shares))| (owner.clone(), *shares)),
            after
                .iter()
                .map(|(owner, (_, shares))| (owner.clone(), *shares)),
        );
        let all = changes.len() as u64;
        let start = usize::try_from(page.offset()).unwrap_or(usize::MAX);
        let changes = changes
            .into_iter()
            .skip(start)
            .take(page.size() as usize)
            .filter_map(|change| {
                let owner = after
                    .get(&change.key)
                    .or_else(|| before.get(&change.key))
                    .map(|(profile, _)| profile.clone())?;
                Some(ChangeEntry {
                    owner,
                    change: change.kind,
                    shares: (change.from, change.to),
                    percentage: (
                        percentage(change.from, total_from.unwrap_or(0)),
                        percentage(change.to, total_to.unwrap_or(0)),
                    ),
                })
            })
            .collect();
        Ok(Some(ChangesView {
            orgnr,
            from,
            to,
            total_shares: (total_from, total_to),
            changes,
            page: PageInfo::new(page, all),
        }))
    }
}
