//! The use cases over the register's years: the imported years, a company's history, and what
//! changed in its ownership between two years.

use std::collections::BTreeMap;

use shareholders_domain::{
    ChangeKind, CompanyProfile, HoldingChange, OrgNr, OwnerProfile, OwnerRef, Percentage,
    RegisterYear, company_total, holding_changes, percentage,
};

use super::{PageInfo, QueryError, Service, holding_count, page_of};
use std::sync::Arc;

use crate::{CompanyRecord, HoldingRecord, PageRequest, ReadError, ReadStore, YearRecord};

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

/// One company whose shares an owner holds changed between two years.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct HoldingChangeEntry {
    /// As the later year lists the company (the earlier one when it was left).
    pub company: CompanyProfile,
    pub change: ChangeKind,
    pub shares: (u64, u64),
    /// Of the company's total in each year.
    pub percentage: (Percentage, Percentage),
}

/// What changed in an owner's holdings between two years.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct OwnerChangesView {
    pub owner: OwnerRef,
    pub from: RegisterYear,
    pub to: RegisterYear,
    pub changes: Vec<HoldingChangeEntry>,
    pub page: PageInfo,
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

/// One side of a comparison: per key (an owner, or a company), what to show of it, its shares
/// summed over classes, and the total its percentage is of.
type Side<K, P> = BTreeMap<K, (P, u64, u64)>;

/// Every page of a list, read `PageRequest::MAX_SIZE` at a time.
async fn every_page<F, Fut>(mut read: F) -> Result<Vec<HoldingRecord>, QueryError>
where
    F: FnMut(PageRequest) -> Fut,
    Fut: std::future::Future<Output = Result<Vec<HoldingRecord>, ReadError>>,
{
    let mut all = Vec::new();
    for page in 1.. {
        let request = PageRequest::new(Some(page), Some(PageRequest::MAX_SIZE))
            .map_err(|e| ReadError::Unknown(e.into()))?;
        let holdings = read(request).await?;
        let last = holdings.len() < PageRequest::MAX_SIZE as usize;
        all.extend(holdings);
        if last {
            break;
        }
    }
    Ok(all)
}

/// A changed entry as shown: its profile, the change, and its percentage in each year.
type Shown<K, P> = (P, HoldingChange<K>, Percentage, Percentage);

/// The changed entries between two sides, largest change first, and one page of them with
/// each side's percentage.
fn compare<K: Ord + Clone, P: Clone>(
    before: &Side<K, P>,
    after: &Side<K, P>,
    page: PageRequest,
) -> (Vec<Shown<K, P>>, u64) {
    let changes = holding_changes(
        before
            .iter()
            .map(|(key, (_, shares, _))| (key.clone(), *shares)),
        after
            .iter()
            .map(|(key, (_, shares, _))| (key.clone(), *shares)),
    );
    let (changes, shown_page) = page_of(changes, page);
    let shown = changes
        .into_iter()
        .filter_map(|change| {
            let earlier = before.get(&change.key);
            let later = after.get(&change.key);
            let profile = later.or(earlier).map(|(profile, _, _)| profile.clone())?;
            let of = |side: Option<&(P, u64, u64)>, shares| {
                percentage(shares, side.map_or(0, |(_, _, total)| *total))
            };
            let (from, to) = (of(earlier, change.from), of(later, change.to));
            Some((profile, change, from, to))
        })
        .collect();
    (shown, shown_page.total_items)
}

fn total(company: &CompanyRecord) -> u64 {
    company_total(
        company.organisation.total_shares(),
        company.registered_shares,
    )
}

impl Service {
    /// The read model of an imported year.
    async fn year_reader(&self, year: RegisterYear) -> Result<Arc<dyn ReadStore>, QueryError> {
        self.read
            .year(year)
            .await?
            .ok_or(QueryError::YearNotImported(year))
    }

    /// The companies whose shares the owner holds changed from year `from` to year `to`,
    /// largest change first, a page at a time; `None` when neither year lists the owner.
    ///
    /// # Errors
    /// [`QueryError::YearNotImported`] for a year the read model does not serve;
    /// [`QueryError::Read`] when the store fails.
    pub async fn owner_changes(
        &self,
        owner: &OwnerRef,
        from: RegisterYear,
        to: RegisterYear,
        page: PageRequest,
    ) -> Result<Option<OwnerChangesView>, QueryError> {
        let mut sides = Vec::with_capacity(2);
        let mut listed = false;
        for year in [from, to] {
            let read = self.year_reader(year).await?;
            let holding_count = holding_count(read.as_ref(), owner).await?;
            listed |= holding_count.is_some();
            let mut side = Side::new();
            if holding_count.is_some_and(|n| n > 0) {
                for holding in every_page(|page| read.holdings(owner, page)).await? {
                    let shares = holding.shares();
                    let company_total = company_total(
                        holding.company.total_shares,
                        holding.company_registered_shares,
                    );
                    side.insert(
                        holding.company.orgnr,
                        (holding.company, shares, company_total),
                    );
                }
            }
            sides.push(side);
        }
        if !listed {
            return Ok(None);
        }
        let (shown, all) = compare(&sides[0], &sides[1], page);
        Ok(Some(OwnerChangesView {
            owner: owner.clone(),
            from,
            to,
            changes: shown
                .into_iter()
                .map(|(company, change, from, to)| HoldingChangeEntry {
                    company,
                    change: change.kind,
                    shares: (change.from, change.to),
                    percentage: (from, to),
                })
                .collect(),
            page: PageInfo::new(page, all),
        }))
    }

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
        let mut sides = Vec::with_capacity(2);
        let mut totals = Vec::with_capacity(2);
        for year in [from, to] {
            let read = self.year_reader(year).await?;
            let company = read.organisation(orgnr).await?;
            let mut side = Side::new();
            if let Some(company) = company.as_ref().filter(|c| c.owner_count > 0) {
                let company_total = total(company);
                for holding in every_page(|page| read.owners(orgnr, page)).await? {
                    let shares = holding.shares();
                    side.insert(
                        holding.owner.owner.clone(),
                        (holding.owner, shares, company_total),
                    );
                }
            }
            totals.push(company.as_ref().map(total));
            sides.push(side);
        }
        let (total_from, total_to) = (totals[0], totals[1]);
        if total_from.is_none() && total_to.is_none() {
            return Ok(None);
        }
        let (shown, all) = compare(&sides[0], &sides[1], page);
        let changes = shown
            .into_iter()
            .map(|(owner, change, from, to)| ChangeEntry {
                owner,
                change: change.kind,
                shares: (change.from, change.to),
                percentage: (from, to),
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
